"""How bench/gaps.py scores a replay: which topic each gap group is about, how well the groups follow the
topics (pair recall, purity, groups per removed topic), the top-10 coverage of the same recorded questions
grouped another way (the raw-cosine baseline, the threshold sweep), and the outcome figures computed
independently with pandas over the raw tables."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

# Language-centred reply cosine at which two replies count as one answer in the side-by-side figures: on the dev
# shop's FAQ answers 73 % of a topic's English-Chinese answer pairs reach it, 4 of 1740 other pairs do.
SIMILAR_REPLIES = 0.45


def pandas_outcomes(engine, now: datetime, timezone: str = "UTC") -> dict:
    """The outcome figures computed independently with pandas over the raw tables (days in the shop's `timezone`)."""
    import pandas as pd

    turns = pd.read_sql("SELECT * FROM insights_turns", engine, parse_dates=["time"])
    votes = pd.read_sql("SELECT * FROM app_votes", engine)
    turns = turns[turns.channel != "api"].sort_values(["time", "id"])
    down = votes[votes.vote < 0].set_index(["session_id", "message"]).index
    out = {}
    for sid, g in turns.groupby("session_id"):
        real = g[g.action != "small_talk"]
        if g.handoff.any() or (g.action == "handoff").any():
            outcome = "handed_off"
        elif len(real) and real.action.iloc[-1] not in ("decline", "clarify", "fallback", "refuse", "order_ask", "order_verify") \
                and (sid, real.message.iloc[-1]) not in down:
            outcome = "resolved"
        else:
            outcome = "abandoned"
        intent = next((i for i, a in zip(real.intent, real.action, strict=True) if i), g.intent.iloc[0] or "unknown")
        out[sid] = (g.time.iloc[0].tz_localize("UTC").tz_convert(timezone).strftime("%Y-%m-%d"), intent, outcome)
    frame = pd.DataFrame.from_dict(out, orient="index", columns=["day", "intent", "outcome"])
    return {"by_day": frame.groupby(["day", "outcome"]).size().to_dict(),
            "by_intent": frame.groupby(["intent", "outcome"]).size().to_dict(),
            "csat": float((votes.vote > 0).mean()) if len(votes) else None}


def ours_outcomes(result) -> dict:
    def pairs(table):
        return {(k, name): int(table.loc[k, name]) for k in table.index
                for name in ("resolved", "handed_off", "abandoned", "ongoing") if int(table.loc[k, name])}
    return {"by_day": pairs(result.by_day), "by_intent": pairs(result.by_intent), "csat": result.summary["csat"]}


def group_topics(groups, turns, topic_of: dict[str, str]) -> list[str | None]:
    """Each group's topic: the one most of its questions are about (None for noise)."""
    text = dict(zip(turns.id, turns.question, strict=True))
    out = []
    for g in groups:
        votes = Counter(topic_of.get(text.get(i, ""), None) for i in g.turn_ids)
        out.append(votes.most_common(1)[0][0])
    return out



def grouping_quality(groups, turns, topic_of: dict[str, str], removed: set[str]) -> dict:
    """How well all gap groups follow the topics: the share of same-topic question pairs put in one group
    (recall), the top-10 groups' purity, and into how many groups each removed topic's questions fell."""
    text = dict(zip(turns.id, turns.question, strict=True))
    members = [(topic_of.get(text.get(i, "")), n) for n, g in enumerate(groups) for i in g.turn_ids]
    same = [a[1] == b[1] for k, a in enumerate(members) for b in members[k + 1:] if a[0] and a[0] == b[0]]
    pure = []
    for g in groups[:10]:
        votes = Counter(topic_of.get(text.get(i, "")) for i in g.turn_ids)
        pure.append(votes.most_common(1)[0][1] / len(g.turn_ids))
    split = [len({n for t, n in members if t == topic}) for topic in removed if any(t == topic for t, _ in members)]
    return {"candidates": len(members), "groups": len(groups),
            "pair_recall": round(sum(same) / len(same), 3) if same else None,
            "top10_purity": round(sum(pure) / len(pure), 3) if pure else None,
            "groups_per_removed_topic": round(sum(split) / len(split), 2) if split else None}


def share(rows, topics: set, ok) -> float | None:
    """The share of the rows about `topics` for which `ok` holds (None when no row is about them)."""
    mine = [r for r in rows if r["topic"] in topics]
    return round(sum(bool(ok(r)) for r in mine) / len(mine), 3) if mine else None


def recorded_candidates(runtime, turns):
    """The gap candidates gaps.compute groups (before anything was published)."""
    from assistant.insights import gaps
    from assistant.insights.records import votes_frame
    from assistant.router import accepts

    cfg, router_cfg = runtime.settings.insights, runtime.settings.router
    return gaps.candidates(turns, votes_frame(runtime), runtime.kb.abstain_threshold, cfg.low_confidence_margin,
                           tuple(router_cfg.human_intents), accepts_offer=lambda text: accepts(text, router_cfg))


def coverage_with(runtime, cands, turns, topic_of, removed, reference=None, **overrides) -> dict:
    """Top-10 coverage and grouping quality of the same recorded candidates grouped another way."""
    from assistant.insights import gaps

    if reference is not None:
        overrides["reference"] = reference
    groups = gaps.build_groups_for(runtime, cands, **overrides)
    tops = group_topics(groups[:10], turns, topic_of)
    return {"coverage": round(len({t for t in tops if t in removed}) / len(removed), 3),
            **grouping_quality(groups, turns, topic_of, removed)}


def coverage_by_topic(cands, topic_of, removed) -> float:
    """Top-10 coverage had the report grouped every question with exactly the others of its topic (unrelated
    questions alone), ranked as the report ranks (conversations, then the latest question): the most any grouping
    can reach on these candidates. Removed-topic questions the chat answered without a thumbs-down never become
    candidates, and kept topics the chat failed compete for the ten places."""
    groups: dict[str, tuple[set, object]] = {}
    for q, session, when in zip(cands.question, cands.session_id, cands.time, strict=True):
        key = topic_of.get(q) or f"unrelated: {q}"
        sessions, latest = groups.get(key, (set(), when))
        groups[key] = (sessions | {session}, max(latest, when))
    top = sorted(groups, key=lambda k: (-len(groups[k][0]), -groups[k][1].timestamp()))[:10]
    return round(len(set(top) & set(removed)) / len(removed), 3)


def threshold_sweep(runtime, turns, topic_of, removed) -> dict:
    """Top-10 coverage and grouping quality at other thresholds and neighbour weights (and the raw cosine at
    its thresholds), on the same recorded questions."""
    from assistant.insights.grouping import reference_from_kb

    cands = recorded_candidates(runtime, turns)
    reference = reference_from_kb(runtime.kb)
    out = {}
    for threshold in (0.84, 0.88, 0.92):
        out[f"cosine {threshold:.2f}"] = coverage_with(runtime, cands, turns, topic_of, removed, grouping="cosine",
                                                      threshold=threshold)
    for weight in (0.0, 0.2, 0.3):
        for threshold in (0.1, 0.2, 0.3):
            out[f"shop w={weight} t={threshold}"] = coverage_with(
                runtime, cands, turns, topic_of, removed, reference, grouping="shop", threshold=threshold,
                neighbour_weight=weight)
    return out


def reply_merge_side_by_side(runtime, cands, turns, topic_of, removed) -> dict:
    """The same recorded questions grouped without and with merging groups whose tickets got the same human
    reply (insights.merge_by_reply), whatever the run itself uses: "on" at the configured reply_similarity,
    "similar" at SIMILAR_REPLIES (one answer in two languages also matches)."""
    from assistant.insights import gaps

    cfg = runtime.settings.insights
    replies = gaps.ticket_replies(runtime.handoff, cands)
    out = {"tickets_replied": sum(map(len, replies.values()))}
    for name, given, similarity in (("off", {}, 1.0), ("on", replies, cfg.reply_similarity),
                                    ("similar", replies, SIMILAR_REPLIES)):
        out[name] = coverage_with(runtime, cands, turns, topic_of, removed, replies=given,
                                  reply_similarity=similarity, reply_max_groups=cfg.reply_max_groups)
    return out

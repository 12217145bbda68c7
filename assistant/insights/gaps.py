"""Knowledge gaps: the customer questions the assistant did not answer well, grouped with their paraphrases
(Chinese and English together: assistant.insights.grouping) and ranked by how many conversations asked and
how recently.

A question is a gap candidate when its answer was a decline, a clarifying question (the router was unsure),
a hand-off (for "let me talk to a human", the question before it), an answer rated 👎, or an answer whose
best passage scored within `insights.low_confidence_margin` of the abstain threshold, or that the second reading
accepted only hesitantly (`knowledge_base.verify_unsure_below`). Questions whose group
was already turned into an FAQ answer (`assistant.insights.faq`) leave the list; new failures come back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from assistant.insights.replies import (  # noqa: F401 - re-exported: what people replied on the gaps' tickets
    TICKET_SLACK_S,
    attributed_tickets,
    human_replies,
    reply_text,
    ticket_replies,
)
from assistant.storage import utc_now

log = logging.getLogger(__name__)

REASONS = ("declined", "handed off", "rated bad", "low confidence", "unclear")
MAX_PHRASINGS = 20  # customers' phrasings kept per group (they become alternative FAQ questions)


@dataclass
class GapGroup:
    key: str  # stable while the group keeps its most typical question
    label: str  # the most typical question (closest to the others)
    count: int  # questions in the group
    sessions: int
    score: float  # recency-weighted number of conversations that asked: what the list is ranked by
    first_seen: datetime
    last_seen: datetime
    languages: dict[str, int]
    reasons: dict[str, int]
    examples: list[dict]  # the most recent distinct questions: {time, question, reason, answer, lang, session_id}
    turn_ids: list[int]
    session_ids: list[str]
    human_replies: list[dict] = field(default_factory=list)  # {ticket, status, text, kind: note|draft}
    # every distinct phrasing {question, lang, turn_ids, near_label}, latest first
    questions: list[dict] = field(default_factory=list)

    def as_row(self, rank: int) -> dict:
        return {"rank": rank, "question": self.label, "count": self.count, "sessions": self.sessions,
                "score": round(self.score, 2), "last seen (UTC)": self.last_seen.strftime("%Y-%m-%d %H:%M"),
                "languages": " ".join(f"{k}:{v}" for k, v in sorted(self.languages.items())),
                "why": ", ".join(f"{k} {v}" for k, v in self.reasons.items()),
                "human reply": reply_text(self.human_replies[0])[:120] if self.human_replies else "",
                "key": self.key}


def candidates(turns, votes, abstain_threshold: float | None, margin: float,
               human_intents: tuple[str, ...] = ("human_agent",), accepts_offer=None, handoffs=None):
    """The gap candidates among recorded turns: one row per question (turn id, question, reason, ...).

    `accepts_offer(text)`: whether a message only accepts the offer of a colleague ("好的", "yes please"; the
    router's accept words): its hand-off stands for the question before it, as "talk to a human" does. What a
    customer says while a colleague already has the conversation goes onto the ticket: no gap question of its own
    ("Sure, photo attached. Thanks" had been listed). `handoffs` (session_id, time: records.handoff_tickets): a
    ticket the "Talk to a human" button opened hands off the question asked last before it."""
    import pandas as pd

    cols = ["turn_id", "time", "session_id", "question", "language", "reason", "answer", "action", "message"]
    if not len(turns):
        return pd.DataFrame(columns=cols)
    down = set()
    if len(votes):
        down = {(s, int(m)) for s, m, v in zip(votes.session_id, votes.message, votes.vote, strict=True) if v < 0}
    rows: dict[int, list] = {}
    t = turns.sort_values(["time", "id"], kind="stable")
    previous: dict[str, object] = {}  # the session's previous turn with a question
    with_colleague: set[str] = set()  # sessions handed off already
    for r in t.itertuples(index=False):
        reason = None
        target = r
        handed = r.action == "handoff" or bool(r.handoff)
        if handed and r.session_id in with_colleague and (r.session_id, int(r.message)) not in down:
            continue
        if handed:
            with_colleague.add(r.session_id)
        if (r.session_id, int(r.message)) in down:
            reason = "rated bad"
        elif r.action == "decline":
            reason = "declined"
        elif r.action == "clarify":
            reason = "unclear"
        elif r.action == "handoff" or r.handoff:
            reason = "handed off"
            # "Talk to a human" is no knowledge gap: the question before it (if any) is.
            if r.intent in human_intents or not r.question or (accepts_offer is not None and accepts_offer(r.question)):
                target = previous.get(r.session_id)
        elif r.action == "kb_answer" and (
                bool(getattr(r, "unsure", 0)) or (abstain_threshold is not None and r.best_score is not None
                                                 and r.best_score == r.best_score
                                                 and r.best_score < abstain_threshold + margin)):
            reason = "low confidence"
        if r.question:
            previous[r.session_id] = r
        # The order desk's turns (order_ask, order_handoff when the order system is down, ...) are about one
        # customer's order, which no FAQ answer can give: "Where is my order?" topped the list of a shop with orders.
        if reason and target is not None and str(target.action).startswith("order_"):
            reason = None
        if reason and target is not None and target.question and target.id not in rows:
            rows[target.id] = _candidate(target, reason)
    if handoffs is not None and len(handoffs):
        for target in _asked_before_tickets(t, handoffs, human_intents, accepts_offer):
            if target.id not in rows and not str(target.action).startswith("order_"):
                rows[target.id] = _candidate(target, "handed off")
    return pd.DataFrame(list(rows.values()), columns=cols).sort_values(["time", "turn_id"], kind="stable") \
        .reset_index(drop=True)


def _candidate(turn, reason: str) -> list:
    return [turn.id, turn.time, turn.session_id, turn.question, turn.language, reason, turn.answer, turn.action,
            int(getattr(turn, "message", -1))]


def _asked_before_tickets(turns, handoffs, human_intents, accepts_offer) -> Iterator:
    """Per ticket, the conversation's question asked last before it opened (a request for a person or a "yes" to
    the offer of one stands for the question before it, as in candidates)."""
    asked = turns[turns.question.astype(bool)]
    by_session = {sid: g for sid, g in asked.groupby("session_id", sort=False)}
    for session_id, opened in zip(handoffs.session_id, handoffs.time, strict=True):
        before = by_session.get(session_id)
        if before is None:
            continue
        before = [r for r in before.itertuples(index=False) if r.time <= opened + timedelta(seconds=TICKET_SLACK_S)
                  and r.intent not in human_intents and not (accepts_offer is not None and accepts_offer(r.question))]
        if before:
            yield before[-1]


def unit_vectors(texts: list[str], embedder) -> dict[str, np.ndarray]:
    """Each text's unit vector; texts equal after normalising are embedded once."""
    from knowledge_base.embeddings import embed_queries
    from knowledge_base.text import normalize_question

    keys = {t: normalize_question(t) or t for t in texts}
    first = {k: t for t, k in reversed(list(keys.items()))}
    unique = list(first)
    if not unique:
        return {}
    m = np.asarray(embed_queries(embedder, [first[k] for k in unique]), dtype=np.float64)
    m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-12
    by_key = dict(zip(unique, m, strict=True))
    return {t: by_key[k] for t, k in keys.items()}


def group_questions(texts: list[str], embedder, threshold: float, vectors: dict | None = None,
                    langs: list[str] | None = None, reference=None, grouping: str = "shop",
                    neighbour_weight: float = 0.3, temperature: float = 0.01,
                    translations: dict[str, str] | None = None, translated_lang: str = "en",
                    translation_weight: float = 0.5, across: float = 0.25) -> list[int]:
    """Group label per text. grouping "paired": clusters of one language on the raw cosine (`threshold`), each
    joined to its nearest group of the other language (language-centred, at least `across`;
    grouping.paired_by_language); "shop": average-linkage clusters on the language-centred cosine blended
    with the knowledge-base neighbour overlap (assistant.insights.grouping; `reference` from the knowledge
    base, None = centring alone), and with `translations` ({text: its text in `translated_lang`}) the same
    similarity of the translations blended in with `translation_weight`; "cosine": on the embedder's raw
    cosine (the first version, for comparison)."""
    from assistant.insights.grouping import average_linkage, paired_by_language, question_similarity

    vectors = vectors if vectors is not None else unit_vectors(texts, embedder)
    langs = list(langs) if langs is not None else [_language(t) for t in texts]
    distinct = list(dict.fromkeys(texts))
    if len(distinct) <= 1:
        return [0] * len(texts)
    lang_of = dict(zip(texts, langs, strict=True))
    m = np.stack([vectors[t] for t in distinct])
    if grouping == "paired":
        labels = paired_by_language(m, [lang_of[t] for t in distinct], reference, threshold, across)
        by_text = dict(zip(distinct, labels, strict=True))
        return [int(by_text[t]) for t in texts]
    if grouping == "cosine":
        similarity = m @ m.T
    else:
        similarity = question_similarity(m, [lang_of[t] for t in distinct], reference, neighbour_weight,
                                         temperature)
        if translations and translation_weight > 0:
            # Both readings count: the translation joins what the embedder cannot match across languages, the
            # customer's own words keep a poor translation from carrying a question into another topic.
            # A question already in the pivot language is its own translation.
            pivot = [translations.get(t, t) for t in distinct]
            missing = unit_vectors([t for t in pivot if t not in vectors], embedder)
            mt = np.stack([vectors[t] if t in vectors else missing[t] for t in pivot])
            pivot_langs = [translated_lang if t in translations else lang_of[t] for t in distinct]
            translated = question_similarity(mt, pivot_langs, reference, neighbour_weight, temperature)
            similarity = (1.0 - translation_weight) * similarity + translation_weight * translated
    by_text = dict(zip(distinct, average_linkage(similarity, threshold), strict=True))
    return [int(by_text[t]) for t in texts]


def _language(text: str) -> str:
    from assistant.language import answer_language

    return answer_language(text)


def _medoid(texts: list[str], vectors: dict) -> str:
    """The member closest to all the others (weighted by how often each was asked): the most typical question."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) <= 2:
        return max(distinct, key=texts.count)
    m = np.stack([vectors[t] for t in distinct])
    weights = np.array([texts.count(t) for t in distinct], dtype=float)
    return distinct[int(np.argmax((m @ m.T) @ weights))]


def build_groups(cands, embedder, threshold: float, half_life_days: float, examples: int = 5,
                 now: datetime | None = None, reference=None, grouping: str = "shop",
                 neighbour_weight: float = 0.3, temperature: float = 0.01,
                 translations: dict[str, str] | None = None, translated_lang: str = "en",
                 translation_weight: float = 0.5, replies: dict[int, list[str]] | None = None,
                 reply_similarity: float = 1.0, reply_max_groups: int = 5, across: float = 0.25) -> list[GapGroup]:
    """Gap groups from candidates, best first: the recency-weighted number of conversations that asked (one
    customer repeating a question counts once), then the latest question. `translations` are compared along
    with the questions (group_questions); what the report shows (labels, examples, phrasings) stays in the
    customers' words. With `replies` ({turn id: what people replied on its tickets}: ticket_replies), groups
    whose questions got the same reply are merged before ranking (grouping.merge_by_replies)."""
    from assistant.insights.grouping import merge_by_replies, reply_vectors

    now = now or utc_now()
    if not len(cands):
        return []
    vectors = unit_vectors(list(cands.question), embedder)
    langs = [lang if lang else _language(q) for q, lang in zip(cands.question, cands.language, strict=True)]
    labels = group_questions(list(cands.question), embedder, threshold, vectors, langs, reference, grouping,
                             neighbour_weight, temperature, translations, translated_lang, translation_weight,
                             across)
    if replies:
        of_turn = [replies.get(int(t), []) for t in cands.turn_id]
        texts = [r for rs in of_turn for r in rs]
        matched = (reply_vectors(texts, [_language(r) for r in texts], embedder, reference)
                   if reply_similarity < 1.0 else None)
        labels = merge_by_replies(labels, of_turn, matched, reply_similarity, reply_max_groups)
    cands = cands.assign(group=labels)
    groups = []
    for _, g in cands.groupby("group"):
        g = g.sort_values("time", ascending=False, kind="stable")
        latest = g.drop_duplicates("session_id")  # sorted newest first: each conversation's latest question
        ages = np.array([(now - t).total_seconds() / 86400.0 for t in latest.time])
        score = float(np.sum(0.5 ** (np.maximum(ages, 0.0) / half_life_days)))
        label = _medoid(list(g.question), vectors)
        shown, seen = [], set()
        for r in g.itertuples(index=False):
            if r.question not in seen and len(shown) < examples:
                seen.add(r.question)
                shown.append({"time": r.time, "question": r.question, "reason": r.reason, "answer": r.answer,
                              "lang": r.language, "session_id": r.session_id})
        reasons = {k: int(v) for k, v in g.reason.value_counts().items()}
        turns_of: dict[tuple, list[int]] = {}  # each phrasing's questions: a reviewer's tick covers them all
        for q, lang, turn in zip(g.question, g.language, g.turn_id, strict=True):
            turns_of.setdefault((q, lang), []).append(int(turn))
        # near_label: cosine to the most typical question; within one language it says which phrasing is the
        # most typical there (across languages the raw cosine is lower for every pair alike).
        phrasings = [{"question": q, "lang": lang, "turn_ids": ids,
                      "near_label": round(float(vectors[q] @ vectors[label]), 4)}
                     for (q, lang), ids in list(turns_of.items())[:MAX_PHRASINGS]]
        groups.append(GapGroup(hashlib.sha256(label.encode()).hexdigest()[:12], label, len(g),
                               int(g.session_id.nunique()), score, g.time.min(), g.time.max(),
                               {k: int(v) for k, v in g.language.value_counts().items()},
                               reasons, shown, [int(i) for i in g.turn_id], list(dict.fromkeys(g.session_id)),
                               questions=phrasings))
    return ranked(groups)


def ranked(groups: list[GapGroup]) -> list[GapGroup]:
    """Best first: the score as the report shows it (two decimals), then the latest question. The unrounded score
    also weighs the seconds between questions asked minutes apart: groups asked equally often were ordered by how
    fast the questions happened to come, and a replay put different groups in the top 10 on a faster machine."""
    return sorted(groups, key=lambda g: (-round(g.score, 2), -g.last_seen.timestamp()))


def build_groups_for(runtime, cands, now: datetime | None = None, **overrides) -> list[GapGroup]:
    """build_groups with the runtime's settings and knowledge base (`overrides`: build_groups arguments)."""
    from assistant.insights.grouping import question_translator, reference_from_kb

    cfg = runtime.settings.insights
    kb = runtime.kb
    grouping = overrides.pop("grouping", cfg.grouping)
    threshold = {"shop": cfg.group_threshold, "paired": cfg.within_language_similarity}.get(grouping,
                                                                                         cfg.group_similarity)
    options = {"half_life_days": cfg.half_life_days, "examples": cfg.examples, "now": now,
               "grouping": grouping, "neighbour_weight": cfg.neighbour_weight,
               "temperature": cfg.neighbour_temperature, "translation_weight": cfg.translation_weight,
               "across": cfg.across_language_similarity, **overrides}
    if grouping in ("shop", "paired") and "reference" not in options and len(cands):
        options["reference"] = reference_from_kb(kb)
    if grouping == "shop" and "translations" not in options and len(cands):
        translator = question_translator(runtime)
        if translator is not None:
            langs = [lang or _language(q) for q, lang in zip(cands.question, cands.language, strict=True)]
            options["translations"] = translator.translate(list(cands.question), langs)
            options["translated_lang"] = translator.into
    if cfg.merge_by_reply and "replies" not in options and len(cands):
        options["replies"] = ticket_replies(runtime.handoff, cands)
        options.setdefault("reply_similarity", cfg.reply_similarity)
        options.setdefault("reply_max_groups", cfg.reply_max_groups)
    if grouping == "shop" and options.get("translations"):
        threshold = cfg.translated_group_threshold  # the blend scores paraphrases higher: its own threshold
    options.setdefault("threshold", threshold)
    return build_groups(cands, kb.embedder, **options)


def open_candidates(runtime):
    """The recorded gap questions no published answer covers yet, the newest insights.max_questions of them."""
    from assistant.insights.faq import answered_turns
    from assistant.insights.records import handoff_tickets, turns_frame, votes_frame

    cfg = runtime.settings.insights
    turns = turns_frame(runtime)
    if len(turns) > cfg.max_questions * 3:
        turns = turns.iloc[-cfg.max_questions * 3:]
    from assistant.router import accepts

    router_cfg = runtime.settings.router
    cands = candidates(turns, votes_frame(runtime), runtime.kb.abstain_threshold, cfg.low_confidence_margin,
                       tuple(router_cfg.human_intents), accepts_offer=lambda text: accepts(text, router_cfg),
                       handoffs=handoff_tickets(runtime))
    done = answered_turns(runtime)
    if len(cands) and done:
        cands = cands[~cands.turn_id.isin(done)]
    return cands.iloc[-cfg.max_questions:]


def compute(runtime, top: int | None = None, now: datetime | None = None) -> list[GapGroup]:
    """The ranked gap groups of everything recorded, with the human replies of the shown ones."""
    cfg = runtime.settings.insights
    if runtime.kb is None:
        from assistant.errors import StorageError

        raise StorageError(f"the knowledge base is unavailable: {runtime.degraded.get('knowledge_base', '')}")
    cands = open_candidates(runtime)
    queue = runtime.handoff
    # Each conversation's tickets are read once, for the grouping by reply and for every group's replies.
    attributed = list(attributed_tickets(queue, cands))
    overrides = {"replies": ticket_replies(queue, cands, attributed)} if cfg.merge_by_reply and len(cands) else {}
    groups = build_groups_for(runtime, cands, now, **overrides)
    groups = groups[:top] if top else groups
    if queue is not None:
        for g in groups:
            # all of them: the CSV gives each question its own ticket's reply (the tab shows the first few)
            g.human_replies = human_replies(queue, cands, g, limit=None, attributed=attributed)
    return groups


def groups_frame(groups: list[GapGroup]):
    import pandas as pd

    rows = [g.as_row(i) for i, g in enumerate(groups, 1)]
    return pd.DataFrame(rows, columns=["rank", "question", "count", "sessions", "score", "last seen (UTC)",
                                       "languages", "why", "human reply", "key"])


def export_csv(groups: list[GapGroup], path) -> None:
    """One row per example question, with its group's rank and figures (UTF-8 with BOM, for Excel): `human reply`
    is what a person wrote on that question's own ticket, `group's human reply` the one the tab shows first."""
    import pandas as pd

    rows = []
    for i, g in enumerate(groups, 1):
        reply = reply_text(g.human_replies[0]) if g.human_replies else ""
        turns_of = {(q["question"], q["lang"]): set(q["turn_ids"]) for q in g.questions}
        for e in g.examples:
            mine = turns_of.get((e["question"], e["lang"]), set())
            own = next((reply_text(h) for h in g.human_replies if h.get("turn_id") in mine), "")
            rows.append({"rank": i, "group": g.label, "count": g.count, "score": round(g.score, 3),
                         "question": e["question"], "lang": e["lang"], "reason": e["reason"],
                         "asked (UTC)": e["time"].strftime("%Y-%m-%d %H:%M"), "assistant said": e["answer"],
                         "human reply": own, "group's human reply": reply})
    from assistant.tables import spreadsheet_safe

    # the columns even without a gap: a day with none must not hand a headerless file to whatever reads the export
    columns = ["rank", "group", "count", "score", "question", "lang", "reason", "asked (UTC)", "assistant said",
               "human reply", "group's human reply"]
    spreadsheet_safe(pd.DataFrame(rows, columns=columns)).to_csv(path, index=False, encoding="utf-8-sig")

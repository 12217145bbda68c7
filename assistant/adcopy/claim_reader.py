"""A second reading of the word check's flags by a larger model: does the product info support this clause?
Clears the everyday wording the word check flags on fresh copy; exact-fact flags are never read.

The word check (support.py) flags every content word the row does not state, so it catches open-ended
inventions ("packs into its own pocket") and, on copy written by someone who never read it, ordinary wording
as well ("two sides you can sleep on"). Word lists tuned on one set of copy did not carry to the next; a
model asked one yes/no question per flagged clause tells a paraphrase from an invention the way a reviewer
would (the same idea as knowledge_base.second_reading.Verifier for answers). It fails closed: a flag is cleared only
on a plain YES, and kept on NO, on anything else and on any error. LogOddsReader asks the same question and keeps
the answer as a number (log P(YES) - log P(NO)), one signal of the calibrated score in flag_scorer.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from assistant.adcopy.checks import clauses
from assistant.adcopy.text import fold
from assistant.llm.base import Message
from knowledge_base.text import has_cjk

log = logging.getLogger(__name__)

PROMPT_EN = (
    "You check ad copy against the PRODUCT INFO a shop gave. Answer YES when the info supports the CLAIM: the "
    "same fact in other words, an everyday way of saying what the info states, or plain praise that states "
    "no fact. Answer NO when the CLAIM adds something the info does not state: a part, feature, accessory, "
    "material, origin, award, test, effect, duration or comparison. Answer with one word: YES or NO.")
PROMPT_ZH = (
    "你负责核对广告文案是否有商品信息支持。若“文案”说的是商品信息里的事实（换个说法、日常口语表达也算），或只是"
    "不含事实的夸赞，回答 YES；若“文案”多出了商品信息没有写的东西（部件、功能、配件、材质、产地、奖项、检测、"
    "功效、时长、比较），回答 NO。只回答一个词：YES 或 NO。")

# Invented products (none from the planted sets): one paraphrase and one invention per language, so the small
# model sees both answers before the real question.
EXAMPLES = (
    ("Bamboo cutting board, 40x30 cm, juice groove, easy to clean.",
     "Big enough for a whole roast and it wipes clean in seconds", ["roast", "wipes"], "YES"),
    ("Bamboo cutting board, 40x30 cm, juice groove, easy to clean.",
     "Comes with a free knife sharpener", ["knife", "sharpener"], "NO"),
    ("陶瓷马克杯，350毫升，可进洗碗机，哑光釉面。",
     "用完丢进洗碗机就行，拿在手里很温润", ["温润"], "YES"),
    ("陶瓷马克杯，350毫升，可进洗碗机，哑光釉面。",
     "杯底加了防滑垫", ["杯底", "防滑垫"], "NO"),
)


def _question(info: str, claim: str, words: list[str], zh: bool, added: bool = False) -> str:
    focus = "、".join(words) if zh else ", ".join(words)
    if zh:
        ask = "文案是否多出了商品信息没有写的东西？" if added else "商品信息是否支持这句文案？"
        return f"商品信息：\n{info}\n\n文案：{claim}\n（待核对的词：{focus}）\n{ask}YES 或 NO"
    ask = ("Does the CLAIM add anything the PRODUCT INFO does not state?" if added
           else "Does the PRODUCT INFO support the CLAIM?")
    return f"PRODUCT INFO:\n{info}\n\nCLAIM: {claim}\n(words in question: {focus})\n{ask} YES or NO"


def reader_messages(info: str, claim: str, words: list[str], zh: bool, added: bool = False,
                    examples: bool = True) -> list[Message]:
    """The reader's chat: rules, the few-shot pairs, then the question. Everything before the row is the same for
    every question, so llama.cpp reuses it from its cache; the row comes next, shared by one asset's questions."""
    prompt = PROMPT_ZH if zh else PROMPT_EN
    if added:  # the same rules with the answers swapped, to match the turned-round question
        prompt = prompt.replace("YES", "\0").replace("NO", "YES").replace("\0", "NO")
    msgs = [Message("system", prompt)]
    if examples:
        for ex_info, ex_claim, ex_words, answer in EXAMPLES:
            if added:
                answer = "NO" if answer == "YES" else "YES"
            msgs += [Message("user", _question(ex_info, ex_claim, ex_words, zh, added)), Message("assistant", answer)]
    return msgs + [Message("user", _question(info, claim, words, zh, added))]


def flags_by_clause(text: str, claims: list, whole_text: bool = False,
                    never_read: tuple[str, ...] = ()) -> tuple[list[tuple[str, list]], list]:
    """([(clause, its word flags)], the claims left as they are): a model reads each clause once about all its
    flags. Claims of other kinds, word flags whose `why` is in `never_read` and words found in no clause are left.
    `whole_text`: the text is one clause (also when it splits into none)."""
    parts = [] if whole_text else [c.strip() for c, _ in clauses(text) if c.strip()]
    groups: dict[str, list] = {}
    left = []
    for claim in claims:
        if claim.kind != "word" or claim.why in never_read:
            left.append(claim)
            continue
        where = next((p for p in parts if claim.text in fold(p)), None) if parts else text.strip()
        if where is None:
            left.append(claim)
        else:
            groups.setdefault(where, []).append(claim)
    return list(groups.items()), left


class ClaimReader:
    """`keep(text, info, claims)`: the word claims the model does not read as supported by `info`.

    `backend`: an LLM backend, or a no-argument function that builds one (called on the first read only, so a
    checker that never flags a word never loads the model). `language`: "auto" asks in Chinese about Chinese
    copy, "en" always in English. `context`: "clause" shows the clause that holds the flagged words, "asset"
    the whole text. `examples`: the few-shot pairs above go first (a fixed prefix llama.cpp keeps cached)."""

    def __init__(self, backend, language: str = "auto", context: str = "clause", examples: bool = True,
                 ask: str = "supported", cache_size: int = 4096):
        if language not in ("auto", "en") or context not in ("clause", "asset"):
            raise ValueError(f"language must be auto or en, context clause or asset; got {language!r}, {context!r}")
        self._backend, self._build = (None, backend) if callable(backend) and not hasattr(backend, "generate") \
            else (backend, None)
        if ask not in ("supported", "added"):
            raise ValueError(f"ask must be supported or added, got {ask!r}")
        # ask="added" turns the question round (does the clause add anything?) and clears on NO: a reader that
        # leans to YES then keeps flags instead of clearing them.
        self.language, self.context, self.examples, self.added = language, context, examples, ask == "added"
        self._cache: dict[tuple[str, str, tuple[str, ...]], bool] = {}
        self._cache_size = cache_size
        self._broken = False  # the model could not be built: every later flag is kept without trying again
        self.calls = 0

    @property
    def backend(self):
        if self._backend is None and self._build is not None and not self._broken:
            try:
                self._backend = self._build()
            except Exception as exc:  # noqa: BLE001 - any failure to load keeps the flags (fails closed)
                self._broken = True
                log.warning("claim reader unavailable, word flags kept: %s", exc)
        return self._backend

    def _messages(self, info: str, claim: str, words: list[str], zh: bool) -> list[Message]:
        return reader_messages(info, claim, words, zh, self.added, self.examples)

    def supported(self, info: str, claim: str, words: list[str]) -> bool:
        """One yes/no reading; True only on a reply that starts with YES (or 是), NO (否) when `ask` is "added"."""
        key = (info, claim, tuple(words))
        if key in self._cache:
            return self._cache[key]
        backend = self.backend
        if backend is None:
            return False
        zh = self.language == "auto" and has_cjk(claim)
        try:
            self.calls += 1
            reply = backend.generate(self._messages(info, claim, words, zh), max_tokens=2, temperature=0.0)
        except Exception as exc:  # noqa: BLE001 - a reader failure must never let a claim through
            log.warning("claim reader failed, word flag kept: %s", exc)
            return False  # not cached: the next asset tries again
        answer = reply.strip().upper()
        ok = answer.startswith(("NO", "否")) if self.added else answer.startswith(("YES", "是"))
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = ok
        return ok

    def keep(self, text: str, info: str, claims: list) -> list:
        """The claims still standing: word flags grouped by the clause that holds them, each clause read once;
        a clause read as supported clears its flags. Claims of other kinds, and words found in no clause, stay."""
        groups, kept = flags_by_clause(text, claims, whole_text=self.context == "asset")
        for where, flagged in groups:
            if not self.supported(info, where, [c.text for c in flagged]):
                kept += flagged
        return [c for c in claims if c in kept]


def claim_reader_for(model: str, backend=None, settings=None, flag_score: bool | None = None):
    """The second reading of word flags asked for: with `flag_score` (default: the settings' `adcopy.flag_score`)
    the calibrated score (flag_scorer.py, its reader model named by its weights file), else the reader `model`
    (`adcopy.claim_reader`) names, or None when it is ''. The chat backend serves the yes/no reader when it
    already runs that model on llama.cpp; otherwise a second llama.cpp model is built on the first word flag."""
    if flag_score is None:
        flag_score = getattr(getattr(settings, "adcopy", None), "flag_score", False)
    if flag_score:
        from assistant.adcopy.flag_scorer import flag_scorer_from_file

        llm = getattr(settings, "llm", None)
        return flag_scorer_from_file(threads=getattr(llm, "n_threads", 0), cache_dir=getattr(llm, "cache_dir", ""))
    if not model:
        return None
    cfg = getattr(backend, "cfg", None)
    if getattr(backend, "name", "") == "llamacpp" and getattr(cfg, "model", None) == model:
        return ClaimReader(backend)
    return ClaimReader(reader_backend(model, getattr(settings, "llm", None)))


def reader_backend(model: str, llm_cfg=None, n_ctx: int = 2048) -> Callable[[], object]:
    """A function that builds the reader's llama.cpp backend for `model` (an embedded profile or a GGUF file):
    greedy, two new tokens, a small context, no task adapter; threads and cache as the chat model's."""
    def build():
        import dataclasses

        from assistant.llm import LLMConfig, build_backend

        base = llm_cfg if llm_cfg is not None else LLMConfig()
        cfg = dataclasses.replace(base, backend="llamacpp", model=model, adapters={}, n_ctx=n_ctx, max_tokens=2,
                                  temperature=0.0, stop=[], fake_replies=[])
        return build_backend(cfg)
    return build


class LogOddsReader:
    """The reader's question answered as a number: log P(YES) - log P(NO) of the model's next token, read from its
    logits instead of sampled (the llama.cpp backend's `yes_log_odds`). A yes/no answer throws away how sure the
    model was; this keeps it, so a threshold can be set on data (flag_scorer.py) rather than where the model's own
    50 % happens to fall.

    `model`: an embedded profile (qwen2.5-0.5b, qwen2.5-1.5b) or a .gguf file, loaded on the first question in a
    llama.cpp context of its own (the weights are mmap-ed, so a chat model on the same file shares their pages).
    Questions about one asset share the prompt up to the row, which llama.cpp's prompt cache does not evaluate
    again."""

    def __init__(self, model: str, threads: int = 0, cache_dir: str = "", language: str = "auto",
                 examples: bool = True, n_ctx: int = 2048):
        if language not in ("auto", "en"):
            raise ValueError(f"language must be auto or en, got {language!r}")
        self.model, self.threads, self.cache_dir, self.n_ctx = model, threads, cache_dir, n_ctx
        self.language, self.examples = language, examples
        self._backend = None
        self._lock = threading.Lock()  # one llama.cpp context answers one question at a time
        self.calls = 0

    def _load(self):
        from assistant.llm.config import LLMConfig

        return reader_backend(self.model, LLMConfig(n_threads=self.threads, cache_dir=self.cache_dir,
                                                    startup_probe=False), n_ctx=self.n_ctx)()

    def log_odds(self, info: str, claim: str, words: list[str]) -> float:
        """log P(YES) - log P(NO) for "does the info support this claim?": high = supported. Raises on failure."""
        zh = self.language == "auto" and has_cjk(claim)
        with self._lock:
            if self._backend is None:
                self._backend = self._load()
            self.calls += 1
            return self._backend.yes_log_odds(reader_messages(info, claim, words, zh, examples=self.examples))

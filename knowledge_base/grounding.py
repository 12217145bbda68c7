"""From retrieved passages to what an answer may say: the sentences that state it (evidence), the checkable
facts in a text (numbers, prices, durations, percentages, model codes), and a check that a drafted answer
states no fact its evidence does not.

A small model phrases well and invents easily ("a 10-month warranty"); everything here is plain code so that
what reaches a customer is either supported by the shop's own sentences or not sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge_base.retrieval import SearchHit
from knowledge_base.text import has_cjk, tokenize

# Sentence ends: Chinese full stops (no space follows them), Latin ones before a space, and line breaks.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.;])\s+(?=[A-Z0-9\"'(\u4e00-\u9fff])|\n+")
_MARKUP = re.compile(r"^\s*(?:[-*•#>]+|\d+[.)])\s*")
MAX_SENTENCE_CHARS = 400


@dataclass
class Evidence:
    """One sentence of a retrieved passage and how well it matches the question."""

    text: str
    hit: SearchHit
    score: float  # cosine of question and sentence (with its heading), plus the shared-words bonus
    context: str = ""  # the passage's title / heading, so "It has a 2-year warranty" says what "it" is

    @property
    def quoted(self) -> str:
        return f"{self.context}: {self.text}" if self.context and self.context not in self.text else self.text


_SOFT_BREAK = re.compile(r"(?<![。！？.!?:;：；|\n])\n(?![\n\-*•#|>]|\d+[.)]\s)")


def _unwrap(text: str) -> str:
    """Line breaks inside a sentence (wrapped Markdown, HTML source lines) are spaces; list items, table rows
    and paragraphs stay apart. Between two Chinese characters a wrap is nothing at all."""
    def join(m: re.Match) -> str:
        before, after = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
        return "" if re.match(r"[\u4e00-\u9fff，、]", before) and re.match(r"[\u4e00-\u9fff]", after) else " "
    return _SOFT_BREAK.sub(join, text)


def sentences_of(hit: SearchHit) -> list[str]:
    """A passage cut into sentences (table rows and list items stay whole)."""
    if hit.metadata.get("kind") == "faq":
        answer = hit.metadata.get("answer") or hit.snippet
        return [" ".join(answer.split())] if answer.strip() else []
    out = []
    for piece in _SENTENCE_END.split(_unwrap(hit.snippet)):
        piece = _MARKUP.sub("", (piece or "").strip())
        if len(piece) >= 4:
            out.append(piece[:MAX_SENTENCE_CHARS])
    return out


def _context(hit: SearchHit) -> str:
    heading = (hit.metadata.get("heading") or "").strip()
    title = (hit.title or "").strip()
    if heading and title and heading not in title and title not in heading:
        return f"{title} – {heading}"
    return heading or title


def word_overlap(question: str, text: str) -> float:
    """Share of the question's content words (BM25 tokens) that the text contains."""
    q = set(tokenize(question))
    if not q:
        return 0.0
    return len(q & set(tokenize(text))) / len(q)


class EvidenceFinder:
    """Scores every sentence of the retrieved passages against the question; remembers sentence vectors
    (the same passages come back for many questions, and embedding is the costly part)."""

    def __init__(self, embedder, overlap_weight: float = 0.15, cache_size: int = 20000):
        self.embedder = embedder
        self.overlap_weight = overlap_weight
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            for text, vec in zip(missing, self.embedder.embed_documents(missing), strict=True):
                v = np.asarray(vec, dtype=np.float32)
                self._cache[text] = v / (np.linalg.norm(v) + 1e-12)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    def find(self, question: str, hits: Sequence[SearchHit], limit: int = 40) -> list[Evidence]:
        """Every candidate sentence, best first."""
        from knowledge_base.embeddings import embed_queries

        candidates: list[Evidence] = []
        seen: set[str] = set()
        for hit in hits:
            context = _context(hit)
            for sentence in sentences_of(hit):
                if sentence in seen:
                    continue
                seen.add(sentence)
                candidates.append(Evidence(sentence, hit, 0.0, context))
                if len(candidates) >= limit:
                    break
        if not candidates:
            return []
        q = np.asarray(embed_queries(self.embedder, [question])[0], dtype=np.float32)
        q /= np.linalg.norm(q) + 1e-12
        keyed = [f"{e.context}: {e.text}" if e.context else e.text for e in candidates]
        sims = self._vectors(keyed) @ q
        for e, sim, text in zip(candidates, sims, keyed, strict=True):
            e.score = float(sim) + self.overlap_weight * word_overlap(question, text)
        return sorted(candidates, key=lambda e: -e.score)


def pick_evidence(ranked: Sequence[Evidence], max_sentences: int = 3, margin: float = 0.04) -> list[Evidence]:
    """The best sentence and those close behind it (a second fact, usually from another passage)."""
    if not ranked:
        return []
    best = ranked[0].score
    return [e for e in ranked[:max_sentences] if e.score >= best - margin]


# --- facts an answer states ------------------------------------------------------------------------------
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
               "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100}
_EN_WORD = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\b", re.IGNORECASE)


def zh_number(text: str) -> int | None:
    """三十 -> 30, 两 -> 2, 一百二十 -> 120; None when it is not a plain number."""
    total, current = 0, 0
    for ch in text:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            unit = _ZH_UNITS[ch]
            total += (current or 1) * unit
            current = 0
        else:
            return None
    return total + current


def numbers_in(text: str) -> set[float]:
    """Every number a text states: digits (1,299 / 4.5 / full-width), Chinese numerals, English number words."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text or "")
    out: set[float] = set()
    for m in _NUMBER.finditer(text):
        raw = m.group()
        value = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw) else raw.replace(",", ".")
        try:
            out.add(float(value))
        except ValueError:
            continue
    for m in _ZH_NUMBER.finditer(text):
        value = zh_number(m.group())
        # A lone 一 is usually an article ("一款", "一下"), not a fact.
        if value is not None and not (m.group() == "一"):
            out.add(float(value))
    for m in _EN_WORD.finditer(text):
        out.add(float(_EN_NUMBERS[m.group().lower()]))
    return out


def codes_in(text: str) -> set[str]:
    """Model codes and SKUs (letters and digits together: K1, H2-Pro, AX3000)."""
    return {m.group().lower() for m in _CODE.finditer(text or "")}


def unsupported(answer: str, sources: Sequence[str], question: str = "") -> list[str]:
    """The facts `answer` states that neither the sources nor the question state: each is a reason to not send it."""
    backing = " ".join(sources) + " " + (question or "")
    have = numbers_in(backing)
    problems = [f"number {v:g}" for v in sorted(numbers_in(answer)) if v not in have
                and not (v == 1 and "1" not in answer)]  # "one of our colleagues" is not a fact
    known_codes = codes_in(backing)
    problems += [f"name {c}" for c in sorted(codes_in(answer)) if c not in known_codes]
    return problems


# --- follow-ups -------------------------------------------------------------------------------------------
_FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|also|then|so|but|and if|那|那么|还有|另外|它|这个|那个|"
                        r"这款|那款|如果是|要是)\b|^\s*(?:那|还有|另外|它|这个|那个|这款|那款|如果)", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:it|its|they|them|this|that|these|those|one)\b|它|这个|那个|这款|那款", re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    """'那退货呢？', 'and for Germany?', 'does it come in blue?': meaningful only with the turn before."""
    q = question.strip()
    short = len(q) <= 8 if re.search(r"[\u4e00-\u9fff]", q) else len(q.split()) <= 4
    return bool(_FOLLOW_UP.search(q)) or (short and bool(_PRONOUN.search(q))) or (short and q.endswith(("呢", "呢？", "呢?")))


# Words that make a message a follow-up and say nothing about what it asks.
_FOLLOW_UP_GLUE = {"那么", "那", "呢", "还有", "另外", "如果是", "如果", "要是", "它", "这个", "那个", "这款", "那款", "的",
                   "吗", "？",
                   "about", "also", "then", "so", "but", "if", "what", "how", "and"}


_REWRITE_EXAMPLES = (
    ("用过的耳机能退吗？", "那没用过的呢？", "没用过的耳机能退吗？"),
    ("这件T恤多少钱？", "那卫衣呢？", "卫衣多少钱？"),
)


def standalone_question(backend, prompt: str, previous: str, follow_up: str, max_tokens: int = 64) -> str | None:
    """The follow-up written as a question of its own ("古吉多少钱？" then "那低因的呢？" -> "低因的豆子多少钱？"), by the
    LLM `backend` under `prompt`: searched alone, it finds the new subject, where the two questions searched together
    find the old one. None when the reply is not one line or drops the follow-up's own words (the model answered,
    or repeated the earlier question): the caller then searches with both questions together."""
    from assistant.llm.base import Message

    def ask(before: str, after: str) -> Message:
        return Message("user", f"Previous question: {before.strip()}\nFollow-up: {after.strip()}")

    # Worked examples in the follow-up's language first: the small model rewrites Chinese far more faithfully
    # after seeing what is wanted (English examples made it repeat the previous question).
    shots = [m for before, after, rewritten in _REWRITE_EXAMPLES if has_cjk(after) == has_cjk(follow_up)
             for m in (ask(before, after), Message("assistant", rewritten))]
    reply = "".join(backend.stream([Message("system", prompt), *shots, ask(previous, follow_up)],
                                   max_tokens=max_tokens, temperature=0.0)).strip()
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    question = re.sub(r"^(?:standalone question|question|follow-up|问题)\s*[:：]\s*", "", lines[0], flags=re.I)
    question = question.strip("\"'“”「」 ")
    if not question or len(question) > 2 * (len(previous) + len(follow_up)) + 20:
        return None
    return question if _keeps_own_words(follow_up, question) else None


def _keeps_own_words(follow_up: str, rewritten: str) -> bool:
    """Does the rewrite keep the follow-up's own words (its new subject)? Chinese by character pairs: jieba cuts a
    short follow-up differently from the sentence it becomes ("那低因的呢" -> 那低/因, "低因的豆子" -> 低因)."""
    core = re.sub("|".join(sorted((g for g in _FOLLOW_UP_GLUE if not g.isascii()), key=len, reverse=True)), " ",
                  follow_up)
    pairs = {run[i:i + 2] for run in re.findall(r"[\u4e00-\u9fff]+", core) for i in range(max(1, len(run) - 1))}
    latin = {t for t in tokenize(re.sub(r"[\u4e00-\u9fff]", " ", follow_up)) if t not in _FOLLOW_UP_GLUE}
    # Every one of them: a rewrite that drops one ("那没拆封的呢" -> "拆封后还能退吗") can turn the question around.
    return all(p in rewritten for p in pairs) and latin <= set(tokenize(rewritten))


def with_context(question: str, earlier_questions: Sequence[str]) -> str:
    """What to search for: a follow-up carries the customer's previous question along."""
    earlier = [q for q in earlier_questions if q.strip()]
    if not earlier or not is_follow_up(question):
        return question
    return f"{earlier[-1].strip()} {question.strip()}"


# Two questions in one message ("How much is the H2, and how long is its warranty?", "能寄北京吗？开了能放几天"):
# each half is answered from its own sentence, or the better-scoring half crowds the other out.
_ZH_ASKS = re.compile(r"吗|呢|多少|几|什么|怎么|怎样|哪|能不能|可不可以|是不是|是否|有没有|多久|多长|如何|为什么|谁")
_EN_ASKS = re.compile(r"^\s*(?:how|what|which|when|where|who|why|do|does|did|is|are|can|could|will|would|should|"
                      r"has|have)\b", re.IGNORECASE)
_EN_AND = re.compile(r",?\s+and\s+(?=(?:how|what|which|when|where|who|why|do|does|is|are|can|will|would)\b)",
                     re.IGNORECASE)


def _asks(part: str) -> bool:
    if re.search(r"[\u4e00-\u9fff]", part):
        return bool(_ZH_ASKS.search(part)) or part.rstrip().endswith(("?", "？"))
    return bool(_EN_ASKS.search(part)) or part.rstrip().endswith("?")


def split_question(question: str, max_parts: int = 3) -> list[str]:
    """The questions one message asks, in order; one item when it asks one thing. Only splits where both sides
    are questions in their own right, so "I bought it 40 days ago, can I return it?" stays whole."""
    pieces = [p.strip(" ，,;；") for p in re.split(r"(?<=[?？])\s*|[；;]\s*", question.strip()) if p.strip(" ，,;；")]
    parts: list[str] = []
    for piece in pieces:
        if re.search(r"[\u4e00-\u9fff]", piece):
            clauses = [c.strip() for c in re.split(r"[，,]", piece) if c.strip()]
            if len(clauses) == 2 and all(_asks(c) and len(c) >= 4 for c in clauses):
                parts += clauses
                continue
        else:
            halves = [h.strip(" ,") for h in _EN_AND.split(piece) if h.strip(" ,")]
            if len(halves) > 1 and all(len(h.split()) >= 3 for h in halves):
                parts += halves
                continue
        parts.append(piece)
    if len(parts) < 2 or len(parts) > max_parts or not all(_asks(p) for p in parts):
        return [question.strip()]
    return parts


# --- the question inside a vented message ----------------------------------------------------------------------
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")
_REPEATED_END = re.compile(r"([!?！？。.~～])[!?！？。.~～]+")
_SHOUTED = re.compile(r"\b[A-Z]{3,}\b")  # "WHEN", not "K1" or "USB-C"
_CLAUSE_END = re.compile(r"(?<=[!?！？。])\s*|\s*[,，]\s*|\s*\n+\s*|\s*\x00\s*")


def question_core(message: str) -> str | None:
    """The question an annoyed message asks, without the venting around it: "seriously?? I've been calling all day,
    WHEN is your customer service even open 😡" -> "WHEN is..." lower-cased; "都三天了还没收到！！！到底怎么查物流啊😤" ->
    "到底怎么查物流啊". Emoji, repeated punctuation and shouting go; clauses that ask nothing go when another one asks.
    None when nothing would change (a plain question is searched as it is)."""
    text = _REPEATED_END.sub(r"\1", _EMOJI.sub("\x00", message))
    text = _SHOUTED.sub(lambda m: m.group().lower(), text)
    clauses = [c.strip(" \x00") for c in _CLAUSE_END.split(text) if c.strip(" \x00")]
    asking = [c for c in clauses if _asks(c)]
    core = " ".join(asking if asking and len(asking) < len(clauses) else clauses)
    core = re.sub(r"\s+", " ", core).strip()
    return core if core and core != message.strip() else None

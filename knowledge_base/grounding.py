"""From retrieved passages to what an answer may say: the sentences that state it (evidence), the checkable
facts in a text (numbers, prices, durations, percentages, model codes), and a check that a drafted answer
states no fact its evidence does not.

A small model phrases well and invents easily ("a 10-month warranty"); everything here is plain code so that
what reaches a customer is either supported by the shop's own sentences or not sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge_base.retrieval import SearchHit
from knowledge_base.text import has_cjk, tables_among, tokenize

# Sentence ends: Chinese full stops (no space follows them), Latin ones before a space, and line breaks.
SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.;])\s+(?=[A-Z0-9\"'(\u4e00-\u9fff])|\n+")
# How a list item opens a line: a bullet or a number ("- ", "2) "), not a number itself: "1.5公斤装售价 ¥128" lost
# its "1." (the 5 kg bag's price was sent for the 1.5 kg one), "-5 °C" its minus.
LIST_ITEM = r"(?m)^[ \t]*(?:-(?![\d.])|[*•]|\d+[.)](?!\d))"
_MARKUP = re.compile(r"^\s*(?:-+(?![\d.])|[*•#>]+|\d+[.)](?!\d))\s*")
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

    @property
    def faq_question(self) -> str:
        """The FAQ question when this is an FAQ row's answer (read whole, not cut into sentences); '' otherwise."""
        meta = self.hit.metadata
        return str(meta.get("question") or "").strip() if meta.get("kind") == "faq" else ""

    @property
    def list_item(self) -> bool:
        """The sentence opens an item of a bulleted or numbered list, whose meaning its heading carries: "礼品卡。"
        under "不支持退货的商品", "Limescale damage" under "Not covered"."""
        start = re.escape(self.text[:15])
        return bool(start) and re.search(rf"{LIST_ITEM}[ \t]*{start}", self.hit.snippet) is not None


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
    for line in _unwrap(hit.snippet).split("\n"):
        # a table row or label line is one fact, whatever semicolons list its values: "续航时间: 高亮 3.5 小时；中亮
        # 10 小时；…" cut at "；" left "中亮 10 小时" without the label, and it was sent for "开最亮能亮多久"
        pieces = [line] if _labelled_values(line) else SENTENCE_END.split(line)
        for piece in pieces:
            piece = _MARKUP.sub("", (piece or "").strip())
            if len(piece) >= 4:
                out.append(piece[:MAX_SENTENCE_CHARS])
    return out


# A spec line's label and value ("处理法: 日晒", "Bean capacity: 35 g"); a label has a letter (not "16" of "16:00")
LETTER = re.compile(r"[^\W\d_]")
SPEC_LABEL = re.compile(r"^\s*([^:：。.!?！？,，;；]{1,24})[:：]\s*(\S.*)$")
_SENTENCE_STOP = re.compile(r"[。！？!?]|\.(?=\s|$)")


def _labelled_values(line: str) -> bool:
    """Whether `line` is a label and values listed with semicolons, and nothing that ends a sentence before its end."""
    m = SPEC_LABEL.match(_MARKUP.sub("", line.strip()))
    if m is None or re.search(r"\d$", m.group(1)) and m.group(2)[:1].isdigit():  # "每天 16:00 前…" tells a time
        return False
    return re.search(r"[;；]", m.group(2)) is not None and LETTER.search(m.group(1)) is not None and not (
        _SENTENCE_STOP.search(m.group(2).rstrip("。.!?！？ ")))


def row_words(cells: list[str], header: list[str], zh: bool) -> str:
    """A table row as words: "电动磨豆机: 2 年"; with more than two columns each value says its column ("Ridgeline 2
    tent: per day ¥45, deposit ¥800"), else "¥45 / ¥800" says nothing of which is which."""
    first, values = cells[0], cells[1:]
    if len(values) > 1 and len(header) == len(cells):
        named = [f"{h}{'' if zh else ' '}{v}" if h else v for h, v in zip(header[1:], values, strict=True)
                 if v.strip("-–—/ ")]  # "Serves -": the row has no value there
        return f"{first}: {('，' if zh else ', ').join(named)}" if named else first
    return f"{first}: {' / '.join(values)}" if values else first


def named_rows(sentences: list[str]) -> list[str]:
    """A passage's sentences with its tables read as facts: the header row and the rule under it are no facts
    (a header alone, "Product | Size | Price | Allergens", was sent as the answer to "What allergens are in your
    cakes?"), and with more than two columns each row names its columns (row_words)."""
    out: list[str] = []
    for piece in tables_among(sentences):
        if isinstance(piece, str):
            out.append(piece)
            continue
        header, rows = piece
        zh = any(has_cjk(" ".join(cells)) for _, cells in rows)
        out += [row_words(cells, header, zh) if len(cells) > 2 and len(header) == len(cells) else line
                for line, cells in rows]
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


# Words a question shares with almost any sentence ("还能退吗" and "还需要 3-7 天到账" share 还; "报销需要票据" and
# "二次配送需要另收 10 元" share 需要): a second
# sentence that only adds one of these says nothing more of what was asked.
_WEAK_WORDS = frozenset("还 能 可 想 请 问 个 一个 这 那 这个 那个 多 很 再 又 吧 呀 哦 嗯 需要 需 also just still get need"
                        .split())


def adds_asked_words(question: str, first: str, context: str, candidate: str) -> bool:
    """Whether `first` and `candidate` together hold more of the question's content words than `first` with its
    heading `context` (a word only the heading holds counts for the first sentence alone)."""
    asked = set(tokenize(question)) - _WEAK_WORDS
    both = asked & set(tokenize(f"{first} {candidate}"))
    return len(both) > len(asked & set(tokenize(f"{first} {context}")))


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
        candidates: list[Evidence] = []
        seen: set[str] = set()
        for hit in hits:
            context = _context(hit)
            for sentence in named_rows(sentences_of(hit)):
                if sentence in seen:
                    continue
                seen.add(sentence)
                candidates.append(Evidence(sentence, hit, 0.0, context))
                if len(candidates) >= limit:
                    break
        if not candidates:
            return []
        scores = self.score(question, [f"{e.context}: {e.text}" if e.context else e.text for e in candidates])
        for e, score in zip(candidates, scores, strict=True):
            e.score = score
        return sorted(candidates, key=lambda e: -e.score)

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        """How well each text (a sentence, after its heading) matches the question: cosine plus the shared-words
        bonus."""
        from knowledge_base.embeddings import embed_queries

        if not texts:
            return []
        q = np.asarray(embed_queries(self.embedder, [question])[0], dtype=np.float32)
        q /= np.linalg.norm(q) + 1e-12
        sims = self._vectors(list(texts)) @ q
        return [float(sim) + self.overlap_weight * word_overlap(question, text) for sim, text in zip(sims, texts,
                                                                                                     strict=True)]


def pick_evidence(ranked: Sequence[Evidence], max_sentences: int = 3, margin: float = 0.04,
                  wanted: Callable[[str], bool] | None = None, wanted_margin: float = 0.06,
                  window: int = 8, faq_margin: float = 0.0, question: str = "") -> list[Evidence]:
    """The best sentence and those close behind it (a second fact, usually from another passage). When the question
    says what kind of fact answers it (`wanted`, from `answer_kind`) and the best sentence is not of that kind, the
    sentences of that kind a little further behind (`wanted_margin`) come first: "古吉种在多高的海拔" is answered by
    "海拔: 2100–2300 米", not by the bean's description that scores a hair higher. An FAQ row's answer within
    `faq_margin` of a document's best sentence comes first too: "How long do I have to return an item?" is the
    curated return-policy answer's question, while the exchange sentence under the heading "Returns and exchanges"
    scored a hair higher. A sentence that opens with an occasion the `question` does not name ("On public holidays
    we open 9:00-18:00") comes after a close one that does not: asked for the opening hours, the customer means the
    usual ones."""
    if not ranked:
        return []
    best = ranked[0].score
    close = [e for e in ranked[:max_sentences] if e.score >= best - margin]
    if wanted is not None and not wanted(close[0].text):
        typed = [e for e in ranked[:window] if e.score >= best - wanted_margin and wanted(e.text)]
        close = (typed + [e for e in close if e not in typed])[:max_sentences]
    first = close[0]
    if faq_margin > 0 and not _from_faq(first):
        curated = next((e for e in close[1:] if _from_faq(e) and e.score >= first.score - faq_margin), None)
        if curated is not None and (wanted is None or wanted(curated.text) or not wanted(first.text)):
            close = [curated] + [e for e in close if e is not curated]
    if question and len(close) > 1 and narrower_than(close[0].text, question):
        general = next((e for e in close[1:] if not narrower_than(e.text, question)
                        and (wanted is None or wanted(e.text) or not wanted(close[0].text))), None)
        if general is not None:
            close = [general] + [e for e in close if e is not general]
    return close


# A sentence that opens with the time it holds for: "On public holidays we ...", "During Spring Festival, ...",
# "春节期间…", "周末…". Conditions ("For orders over 200 CNY, shipping is free", "If ...") are answers themselves.
_OCCASION = (r"(?:public |bank |national )?holidays?|weekends?|festival|spring festival|new year|christmas|"
             r"national day|golden week|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|peak season|sales?")
_CIRCUMSTANCE_EN = re.compile(rf"^(?:on|during|over|at|in)\s+((?:the\s+)?(?:{_OCCASION})(?:\s+\w+)?)\b",
                              re.IGNORECASE)
_CIRCUMSTANCE_ZH = re.compile(r"^(?:在|每逢)?((?:法定)?节假日|假期|节日|春节|国庆|元旦|中秋|端午|周末|周[一二三四五六日天]|"
                              r"大促|双十一|双11|旺季)")


def narrower_than(sentence: str, question: str) -> bool:
    """Whether `sentence` opens with an occasion (holidays, weekends, a festival) none of whose words the question
    has."""
    m = _CIRCUMSTANCE_EN.match(sentence.strip()) or _CIRCUMSTANCE_ZH.match(sentence.strip())
    if m is None:
        return False
    return not set(tokenize(m.group(1))) & set(tokenize(question))


def _from_faq(e: Evidence) -> bool:
    return e.hit.metadata.get("kind") == "faq"


# --- facts an answer states ------------------------------------------------------------------------------
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
               "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100, "twice": 2}
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


# An hour of a time of day: "20:00", "8 PM", "8点" (a translation may say "8:00 PM" for the page's "20:00").
_CLOCK_HOUR = re.compile(r"(?<![\d.:：])(\d{1,2})(?=\s*(?:[:：]\d{2}|[ap]\.?m\b|点))", re.IGNORECASE)


def clock_hours(text: str) -> set[float]:
    """The hours of the times of day a text states."""
    import unicodedata

    return {float(h) for h in _CLOCK_HOUR.findall(unicodedata.normalize("NFKC", text or "")) if int(h) <= 24}


# Word prefixes a translation joins to a code ("non-220V" for "非 220V"); any other word joined to a code is a
# name of its own ("H2-Pro" is not the page's "H2").
_CODE_PREFIXES = {"non", "anti", "pre", "sub", "over", "under", "ultra", "multi", "dual", "semi"}


def _code_supported(code: str, known: set[str], compact_backing: str) -> bool:
    """A code is backed when the sources write it, also spaced or hyphenated otherwise ("6500 K" for "6500K")."""
    if code in known or re.search(rf"(?<!\d){re.escape(code.replace('-', ''))}(?!\d)", compact_backing):
        return True  # never a shorter code inside a longer one: "K1" is not the page's "K10"
    prefix, _, rest = code.partition("-")
    return prefix in _CODE_PREFIXES and bool(rest) and _code_supported(rest, known, compact_backing)


def unsupported(answer: str, sources: Sequence[str], question: str = "") -> list[str]:
    """The facts `answer` states that neither the sources nor the question state: each is a reason to not send it."""
    backing = " ".join(sources) + " " + (question or "")
    have = numbers_in(backing)
    # "8:00 PM" states the page's "20:00": an hour of the answer's times is backed by the same time on the other
    # clock, and, where the sources give times, only by one of them ("5:00 PM" is not backed by the 五 of 周五)
    source_times = {x for h in clock_hours(backing) for x in (h, h + 12, h - 12)}
    answer_times = clock_hours(answer)
    problems = [f"number {v:g}" for v in sorted(numbers_in(answer)) if v not in have and v not in source_times & answer_times
                and not (v == 1 and "1" not in answer)]  # "one of our colleagues" is not a fact
    if source_times:
        problems += [f"time {h:g}" for h in sorted(answer_times - source_times)
                     if f"number {h:g}" not in problems]
    known_codes = codes_in(backing)
    # spaces and hyphens between letters and digits dropped ("6500 K" -> "6500k"), never between two numbers
    compact = re.sub(r"(?<=[a-z])[\s-]+(?=\d)|(?<=\d)[\s-]+(?=[a-z])", "", backing.lower())
    problems += [f"name {c}" for c in sorted(codes_in(answer)) if not _code_supported(c, known_codes, compact)]
    # a place or person name in pinyin that the Chinese sources do not write ("Beihai" for 闵行)
    from knowledge_base.names import invented_names

    return problems + [p for p in invented_names(backing, answer) if p not in problems]


# A condition or a "no" of the shop's text: a translation that drops every one of them, or promises what the text
# does not ("无条件退货" for "unopened items within 30 days"), changes the policy though no number changed.
_CONDITION_EN = re.compile(r"\b(?:not|no|never|none|cannot|can't|won't|don't|doesn't|isn't|aren't|only|unless|except|"
                           r"excluding|without|un(?:opened|used|washed|worn|damaged|sealed)|non-[a-z]+)\b|n't\b",
                           re.IGNORECASE)
# "一只" is a measure word and "无线" wireless: neither says no
_CONDITION_ZH = re.compile(r"[不未没非仅]|无(?!线)|只(?:有|能|限|可)|除(?:了|外|非)")
_UNCONDITIONAL = re.compile(r"无条件|无理由|任何原因|随时都?可以|\b(?:unconditional(?:ly)?|no questions asked|any reason)\b",
                            re.IGNORECASE)


def translation_changes_conditions(source: str, translation: str) -> list[str]:
    """What a translation did to the text's conditions: dropped them all, or promised without condition what the
    text does not. [] when it kept them (or the text had none)."""
    problems = []
    zh_source = has_cjk(source)
    source_pattern, target_pattern = (_CONDITION_ZH, _CONDITION_EN) if zh_source else (_CONDITION_EN, _CONDITION_ZH)
    if source_pattern.search(source) and not target_pattern.search(translation):
        problems.append("the translation dropped the text's conditions")
    if _UNCONDITIONAL.search(translation) and not _UNCONDITIONAL.search(source):
        problems.append("the translation promises without condition")
    if currencies(translation) - currencies(source):  # "价格 58 元" became "Price $58": the number was kept
        problems.append("the translation changed the currency")
    return problems


_CURRENCIES = {"CNY": re.compile(r"[¥￥元]|\b(?:cny|rmb|yuan)\b|块钱|人民币", re.IGNORECASE),
               "USD": re.compile(r"(?<![A-Z])\$|\b(?:usd|us dollars?|dollars?)\b|美元|美金", re.IGNORECASE),
               "EUR": re.compile(r"€|\b(?:eur|euros?)\b|欧元", re.IGNORECASE),
               "GBP": re.compile(r"£|\bgbp\b|英镑", re.IGNORECASE)}


def currencies(text: str) -> set[str]:
    """The currencies `text` names prices in."""
    return {code for code, pattern in _CURRENCIES.items() if pattern.search(text)}

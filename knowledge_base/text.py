"""Language-aware text helpers shared by chunking, BM25 and the fake embedder.

Chinese has no spaces, so BM25 needs jieba's words; English gets lower-cased word tokens minus stopwords.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?", re.IGNORECASE)
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# Small on purpose: function words that only add noise to BM25 on short questions.
EN_STOPWORDS = frozenset(
    "a an and are as at be but by can could do does did for from has have how i if in into is it its "
    "me my of on or our so that the their them then there these this to was we were what when where "
    "which who why will with would you your".split()
)
ZH_STOPWORDS = frozenset("的 了 吗 呢 吧 啊 是 我 你 在 和 有 也 就 都 要 会 可以 怎么 什么 请问 一下 么".split())

_jieba_lock = threading.Lock()
_jieba = None


def _get_jieba():
    """jieba loads its dictionary (~1 s) on first use; do it once, quietly, thread-safely."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text or ""))


_stemmer = None


def _stem(words: list[str]) -> list[str]:
    """English words to their stems ("burrs" and "burr", "settings" and "setting" meet); Snowball via PyStemmer."""
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer("english")
    return _stemmer.stemWords(words)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba search-mode words for Chinese runs, lower-cased stemmed words for the rest."""
    text = (text or "").lower()
    latin: list[str] = []
    tokens: list[str] = []
    pos = 0
    for m in _CJK_RUN_RE.finditer(text):
        tokens.extend(_stem([w for w in _WORD_RE.findall(text[pos:m.start()]) if w not in EN_STOPWORDS]))
        words = _get_jieba().lcut_for_search(m.group())
        tokens.extend(w for w in words if w.strip() and w not in ZH_STOPWORDS)
        pos = m.end()
    latin = [w for w in _WORD_RE.findall(text[pos:]) if w not in EN_STOPWORDS]
    tokens.extend(_stem(latin))
    return tokens


def content_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def normalize_question(text: str) -> str:
    """For exact FAQ matches: case, spacing and trailing punctuation do not matter."""
    text = re.sub(r"\s+", " ", (text or "").strip().lower())
    return text.rstrip("?？!！。.，, ")


# What may close a sentence, optionally followed by closing quotes or brackets.
# Between a page's name and the site's in a title: "Returns — Aurora Home", "Ember H2 | Slow Ember".
_SITE_NAME = re.compile(r"\s+[—|·]\s+")


def page_name(title: str) -> str:
    """A page title without the site's name after it ("保修政策 — 慢焙咖啡茶社" -> "保修政策")."""
    return _SITE_NAME.split(title)[0].strip() or title


_SENTENCE_END = re.compile(r"[。！？.!?…][\"'”’」』）)\]】]*\s*$")


def end_sentence(text: str, zh: bool) -> str:
    """`text` closed as a sentence ("。" in Chinese, "." otherwise) when it ends without one: a spec line sent
    verbatim ("处理法: 日晒") must not run into the sentence after it ("日晒关于…")."""
    stripped = (text or "").rstrip()
    if not stripped or _SENTENCE_END.search(stripped) or stripped.endswith((":", "：")):
        return stripped
    # A list item's own separator ("水垢导致的故障；") gives way to the stop rather than standing before it.
    return stripped.rstrip(";；,，、") + ("。" if zh else ".")


def stop_after(text: str, zh: bool) -> str:
    """The mark to send after `text` already sent (streamed) so that what follows starts a new sentence: the stop
    end_sentence would add, '' when the text ends a sentence, a label or a list item (its separator stays)."""
    stripped = (text or "").rstrip()
    closed = end_sentence(stripped, zh)
    return "" if stripped.rstrip(";；,，、") != stripped else closed[len(stripped):]


# A yes/no question: an English clause that opens with an auxiliary ("do you…", "and is there…"), or a Chinese
# one with a question particle or an A-not-A form (有没有, 能不能, 是不是…).
_EN_FILLER = r"(?:(?:so|and|but|ok|okay|hi|hello|hey|please|also|then|well|um|uh)[,\s]+)*"
_EN_YES_NO = re.compile(rf"(?:^|[?.!,;:\-–—]\s*){_EN_FILLER}(?:do|does|did|is|are|was|were|am|can|could|will|would|"
                        r"should|shall|may|might|must|have|has|had|isn't|aren't|don't|doesn't|can't|won't)\b",
                        re.IGNORECASE)
_ZH_YES_NO = re.compile(r"吗|么[？?。!！]?\s*$|是否|能否|可否|有无|(.)[不没]\1|可不可以|或者不|还是不")
# A positive word opening an answer ("有。", "Yes, …"): right for "有门店吗？", odd for "门店在哪？".
_YES_LEAD = re.compile(r"^\s*(?:(?:yes|yep|yeah|sure|of course|certainly)\s*[,.!:;]|"
                       r"(?:有的|有|是的|是|可以的|可以|对|当然可以|当然|没问题|支持|能)\s*[。，！,.!：:])\s*",
                       re.IGNORECASE)


def asks_yes_or_no(question: str) -> bool:
    """Whether `question` (or a question of it) can be answered with yes or no."""
    text = (question or "").strip()
    return bool(_ZH_YES_NO.search(text) or _EN_YES_NO.search(text) or re.search(r"\bor not\b", text, re.I))


# What, where, when, how…: a question that asks one of these, and no yes or no, is not answered with "yes".
_WH = re.compile(r"\b(?:what|where|when|which|who|whom|whose|why|how)\b|哪|什么|多少|几|怎么|怎样|如何|多久|多长|为什么|谁|何时",
                 re.IGNORECASE)


def asks_what(question: str) -> bool:
    """Whether `question` asks what, where, when, how… (哪、什么、多久…)."""
    return _WH.search(question or "") is not None


def without_yes_lead(sentence: str) -> str:
    """`sentence` without a positive word opening it ("Yes. If the price drops…" -> "If the price drops…"), when
    something follows it."""
    m = _YES_LEAD.match(sentence or "")
    rest = sentence[m.end():] if m else ""
    return rest[:1].upper() + rest[1:] if m and len(rest.strip()) >= 4 else sentence


def without_unasked_yes(answer: str, *questions: str) -> str:
    """`answer` without a positive word opening it when `questions` ask what, where, how… and none asks yes or no:
    a curated answer written for "杭州有门店吗？" ("有。门店地址：…") also answers "门店在哪？", where the "有。" reads
    oddly. A question with neither ("voucher for a friend available?") keeps it: elliptical questions are yes/no."""
    asked = [q for q in questions if q]
    if not any(asks_what(q) for q in asked) or any(asks_yes_or_no(q) for q in asked):
        return answer
    return without_yes_lead(answer)


# --- tables as text: "| Burrs | 48 mm |" rows (Markdown), "Burrs | 48 mm | steel" rows (the HTML loader's) ------
TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")  # the line under a table's header: |---|:--:|


def is_table_line(line: str) -> bool:
    return line.count("|") >= 2


def table_cells(line: str) -> list[str]:
    """A table row's cells."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def has_header(rows: list[list[str]]) -> bool:
    """Whether a table without a rule names its columns in its first row: a row without a figure above one with
    figures (a table with a rule says so itself)."""
    return len(rows) > 1 and not re.search(r"\d", " ".join(rows[0])) and re.search(r"\d", " ".join(rows[1])) is not None


def split_tables(lines: list[str]) -> list[tuple[list[str], list[tuple[str, list[str]]]]]:
    """Consecutive table lines as tables: (header cells or [], [(line, cells) of each data row]). A rule makes the
    row above it the header of a new table, so two tables one after the other stay two."""
    tables: list[tuple[list[str], list[tuple[str, list[str]]]]] = []
    header: list[str] = []
    rows: list[tuple[str, list[str]]] = []
    for line in lines:
        if TABLE_RULE.match(line.strip()):
            above = rows.pop()[1] if rows else []
            if header or rows:
                tables.append((header, rows))
            header, rows = above, []
        else:
            rows.append((line, table_cells(line)))
    if header or rows:
        tables.append((header, rows))
    return [(h, r) if h or not has_header([c for _, c in r]) else (r[0][1], r[1:]) for h, r in tables]


def tables_among(lines: list[str]):
    """`lines` in order, each run of table lines as its tables (split_tables): a str or a (header, rows) tuple."""
    run: list[str] = []
    for line in [*lines, None]:
        if line is not None and is_table_line(line):
            run.append(line)
            continue
        yield from split_tables(run)
        run = []
        if line is not None:
            yield line

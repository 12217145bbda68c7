"""How bench/answers.py scores an answer: the shops' question files as read (`load_shop`), one answer's verdict
(`score_answer`, tested in tests/bench/test_answers_bench.py) and one system's figures on a shop (`summarize`).

Scoring:
- texts are normalised first: full-width to half-width, lower case, Chinese numerals before a measure word and
  English number words as digits ("三十天" = "30天", "five days" = "5 days"), ranges as "a-b" ("1–2", "1到2",
  "30 to 35"), no thousands separators, no spaces next to Chinese or between a number and its unit;
- answerable: right iff every expected fact matches one of its surface forms (numbers and words of up to four
  letters whole, longer forms also as prefixes: "5 day" matches "5 days"), no `forbid` form appears, and the
  answer does not decline; a `yes_no` question's first fact (its polarity) must be in the first two sentences;
- decline: a handoff/fallback/clarify/refuse route, the product's own abstain/fallback/handoff texts, or one of the
  phrases in `_DECLINE_PATTERNS` ("I don't know", "couldn't find", "没有找到", "未提及", ...);
- invented: an unanswerable question not declined, or a number stated that is in neither the shop's documents nor
  the conversation (nor the question's `allow_numbers`, for sums a right answer may state);
- misroute: an answerable question whose route is handoff, fallback, clarify or refuse;
- leak: "[1]"-style citation markup, a file name or path, or the question (6+ characters) echoed in the answer;
- other language: an answer (not a decline) in the other language than the question's (`other_language_answers`:
  a page's sentence sent untranslated; its facts are still scored);
- the product's note after the answer to a two-question message when one question has no answer in the documents
  (its catalog's `partly_unanswered`, which quotes that question) is taken off first: what is left is scored.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "answers"
SHOPS = {"dev": "slow-ember", "dev2": "trailhead", "heldout": "spokewise", "heldout2": "harbor-strings",
         "dev3": "nib-and-paper", "heldout3": "clear-sight"}
MIN_COUNTS = {"faq_paraphrase": 15, "prose_fact": 20, "two_fact": 8, "cross_language": 5, "unanswerable": 12,
              "followup": 4, "annoyed_faq": 4, "yes_no": 4}
KINDS = tuple(MIN_COUNTS)  # the kinds of the main question set
ALL_KINDS = (*KINDS, "overview", "item_policy")  # and the broad questions of overview.yaml, the items of item_policy.yaml
# Each shop's question sets: its main questions, and broad questions about a whole policy ("What is your return
# policy?"; overview.yaml, written later, blind to how the pipeline answers them), measured apart.
QUESTION_SETS = {"main": "questions.yaml", "overview": "overview.yaml", "item": "item_policy.yaml"}
# the question was not answered from the documents: "refuse" is the guardrails' off-topic reply ("That's outside
# what I can help with here…" to "明天苏州天气怎么样？"), which states nothing, as the English decline phrases already held
UNANSWERED_ROUTES = ("handoff", "fallback", "clarify", "refuse")


# --------------------------------------------------------------------------------------------- the shops
@dataclass
class Question:
    id: str
    lang: str
    kind: str
    turns: list[str]  # earlier user turns, then the question
    expect: list[list[str]] = field(default_factory=list)  # facts; each a list of acceptable surface forms
    decline: bool = False
    forbid: list[str] = field(default_factory=list)  # surface forms that make an answer wrong (flipped polarity)
    allow_numbers: list[str] = field(default_factory=list)  # derived figures a right answer may state (sums)

    @property
    def question(self) -> str:
        return self.turns[-1]


@dataclass
class Shop:
    key: str  # dev | heldout
    folder: Path
    meta: dict
    questions: list[Question]

    @property
    def docs(self) -> Path:
        return self.folder / "docs"

    @property
    def persona(self) -> str:
        return " ".join(str(self.meta["persona"]).split())


def load_shop(key: str, question_set: str = "main") -> Shop:
    import yaml

    folder = DATA / SHOPS[key]
    meta = yaml.safe_load((folder / "shop.yaml").read_text(encoding="utf-8"))
    raw = yaml.safe_load((folder / QUESTION_SETS[question_set]).read_text(encoding="utf-8"))
    questions, seen = [], set()
    for item in raw:
        qid = item["id"]
        turns = item.get("turns") or [item["question"]]
        q = Question(qid, item["lang"], item["kind"], [str(t) for t in turns], item.get("expect") or [],
                     bool(item.get("decline")), item.get("forbid") or [],
                     [str(n) for n in item.get("allow_numbers") or []])
        problems = [p for p, bad in (
            ("duplicate id", qid in seen), (f"unknown kind {q.kind!r}", q.kind not in ALL_KINDS),
            (f"unknown lang {q.lang!r}", q.lang not in ("zh", "en")),
            ("needs expect or decline (not both)", bool(q.expect) == q.decline),
            ("unanswerable must decline", (q.kind == "unanswerable") != q.decline),
            ("followup needs turns", q.kind == "followup" and len(q.turns) < 2)) if bad]
        if problems:
            raise ValueError(f"{folder.name}/{QUESTION_SETS[question_set]} {qid}: {'; '.join(problems)}")
        seen.add(qid)
        questions.append(q)
    return Shop(key, folder, meta, questions)


# --------------------------------------------------------------------------------------------- normalising
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "[零〇一二两三四五六七八九十百千万]"
# Chinese numerals are converted only before a measure word, so "一下" or "统一" stay words.
_MEASURE = ("天|日|年|个|月|周|星期|元|块|克|公斤|千克|升|毫升|度|分钟|分|秒|小时|次|期|袋|杯|泡|罐|件|台|辆|人|号|点|倍|折"
            "|公里|米|厘米|毫米|瓦|岁|码|速|级|种|款|位|层|楼|个工作日|工作日")
# A numeral starts with a digit or 十 ("十五天"); a lone 千 or 百 is a word ("千克").
_CN_NUMBER = re.compile(rf"[零〇一二两三四五六七八九十]{_CN}*(?=(?:\s*[到至~\-–—]\s*{_CN}+)?\s*(?:{_MEASURE}))")
_EN_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_EN_NUMBERS.update(fifteen="15", twenty="20", thirty="30", forty="40", fifty="50", sixty="60", ninety="90")
_EN_NUMBER = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\b")
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"


def cn_to_int(text: str) -> int:
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return total + section + digit


def normalize(text: str) -> str:
    """Lowercase, half-width, Chinese and English number words as digits, ranges as 'a-b', no thousands
    separators, and no spaces next to Chinese characters or between a number and its unit."""
    s = unicodedata.normalize("NFKC", text or "").lower()
    s = re.sub(rf"百分之({_CN}+)", lambda m: f"{cn_to_int(m.group(1))}%", s)
    s = _CN_NUMBER.sub(lambda m: str(cn_to_int(m.group(0))), s)
    s = _EN_NUMBER.sub(lambda m: _EN_NUMBERS[m.group(1)], s)
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(rf"\s*([{_CJK}])\s*", r"\1", s)
    s = re.sub(r"(?<=\d) (?=[a-z%°¥$])|(?<=[¥$]) (?=\d)", "", s)
    return re.sub(r"(\d)\s*(?:-|–|—|~|至|到|to)\s*(\d)", r"\1-\2", s)


def contains(text_norm: str, form: str) -> bool:
    """Is the surface form in the normalised text? Numbers and short words must stand alone ('15' is not in
    '150'; 'no' is not in 'not'); longer forms may be prefixes ('5 day' is in '5 days')."""
    f = normalize(form)
    if not f:
        return False
    start = r"(?<![\d.])" if f[0].isdigit() else r"(?<![a-z])" if f[0].isascii() and f[0].isalpha() else ""
    if f[-1].isdigit():
        end = r"(?![\d])(?!\.\d)"
    elif re.fullmatch(r"[a-z]{1,4}", f):
        end = r"(?![a-z])"
    else:
        end = ""
    return re.search(start + re.escape(f) + end, text_norm) is not None


# --------------------------------------------------------------------------------------------- scoring
_DECLINE_PATTERNS = [re.compile(p) for p in (
    r"\bi (?:don't|do not|dont) know\b",
    r"\b(?:don't|do not|doesn't|does not) (?:have|contain|include) (?:any |that |this |the |specific |more |enough |"
    r"relevant )?(?:information|info|details)\b",
    r"\bno (?:specific |relevant |further )?(?:information|details)\b",
    r"\b(?:not|isn't|is not|aren't|are not) (?:mentioned|stated|specified|listed|provided|available) in\b",
    r"\b(?:couldn't|could not|can't|cannot|unable to) (?:find|locate)\b",
    r"\bi(?:'m| am) (?:not sure|unsure)\b",
    r"\b(?:doesn't|does not|don't|do not) (?:say|mention|specify|state)\b",
    r"\bi (?:can't|cannot|can not|am unable to) (?:assist|help) with (?:that|this)\b",  # a refusal answers nothing
    r"不知道|不清楚|没有找到|未找到|找不到|没有相关|暂无相关|没有提到|未提到|未提及|没有提及|无法回答|无法确定|不确定"
    r"|没有这方面|资料里没有|资料中没有|信息中没有|没有具体|未说明|没有说明|没有明确|无法协助|无法帮助|不能协助",
)]


DECLINE_KEYS = ("abstain", "fallback", "clarify", "failed", "handoff_notice", "handoff_done", "handoff_offer",
                "handoff_unavailable")


def _product_declines(settings=None) -> list[str]:
    """The beginnings of the product's own abstain, fallback and handoff texts, in this shop's words, read live
    (a reworded text still counts); older code kept them in module constants."""
    texts: list[str] = []
    try:
        from assistant.shop import Shop as ProductShop

        product = ProductShop.from_config(getattr(settings, "shop", None))
        for key in DECLINE_KEYS:
            for lang in ("en", "zh"):
                try:
                    texts.append(product.text(key, lang, ticket="", n="", limit="", wait=""))
                except Exception:  # noqa: BLE001 - a key this version lacks
                    pass
    except ImportError:
        for load in (lambda: __import__("knowledge_base.answer", fromlist=["x"]).ABSTAIN_TEXT.values(),
                     lambda: [t for v in __import__("assistant.chat", fromlist=["x"]).CANNED.values()
                              for t in v.values()],
                     lambda: __import__("assistant.handoff", fromlist=["x"]).HandoffConfig().customer_message.values()):
            try:
                texts += list(load())
            except (ImportError, AttributeError, TypeError):
                pass
    return [t for t in (normalize(x)[:24] for x in texts) if t]


def is_decline(text: str, route: dict | None = None, product_texts: list[str] | None = None) -> bool:
    """A handoff/fallback/clarify route, one of the product's own abstain texts, or a decline phrase."""
    if route and route.get("action") in UNANSWERED_ROUTES:
        return True
    norm = normalize(text)
    if any(t in norm for t in (product_texts if product_texts is not None else _product_declines())):
        return True
    plain = " ".join(unicodedata.normalize("NFKC", text or "").lower().replace("’", "'").split())
    return any(p.search(plain) for p in _DECLINE_PATTERNS)


_CITATION = re.compile(r"\[\s*\d+(?:\s*[,，]\s*\d+)*\s*\]|【\s*\d+\s*】")
_PATH = re.compile(r"[\w.\\/-]*\b[\w-]+\.(?:md|markdown|html?|csv|xlsx|pdf|docx|txt|ya?ml)\b|(?:^|[\s(\"'])/(?:work|home|"
                   r"tmp|root|usr|opt|var|data)/", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def numbers_in(text: str) -> set[str]:
    """Canonical numbers of a text ('016' -> '16', '7.80' -> '7.8'), Chinese numerals included."""
    out = set()
    for n in _NUMBER.findall(normalize(_CITATION.sub(" ", text or ""))):
        n = n.lstrip("0") or "0"
        if "." in n:
            n = n.rstrip("0").rstrip(".") or "0"
            n = "0" + n if n.startswith(".") else n
        out.add(n)
    return out


def leaks_in(answer: str, question: str) -> list[str]:
    """What must never reach a customer: citation markup, file paths, the question echoed back."""
    found = []
    if _CITATION.search(answer or ""):
        found.append("citation_markup")
    if _PATH.search(answer or ""):
        found.append("file_path")
    q = re.sub(r"[\W_]+", "", normalize(question))
    if len(q) >= 6 and q in re.sub(r"[\W_]+", "", normalize(answer)):
        found.append("question_echo")
    return found


def lead(text: str, sentences: int = 2) -> str:
    """The answer's first sentences, citation markup dropped: where a yes/no answer must state its polarity
    (a "不能" further down, in a pasted passage about something else, is not an answer)."""
    parts = re.split(r"[。！？!?\n]|(?<!\d)\.(?!\d)", _CITATION.sub(" ", text or ""))
    return " ".join([p for p in parts if p.strip()][:sentences])


@functools.lru_cache(maxsize=1)
def _partial_notes() -> tuple[re.Pattern, ...]:
    """The product's note after a several-question message's answered part, on a question the documents do not
    answer ("I couldn't find an answer to "…" in our shop information. …"), as patterns read live from its
    catalog; () for a version without it."""
    try:
        from assistant.shop import Shop as ProductShop

        product = ProductShop.from_config(None)
        texts = [product.text("partly_unanswered", lang, question="\x00") for lang in ("en", "zh")]
    except Exception:  # noqa: BLE001 - an older product, or a catalog without the note
        return ()
    return tuple(re.compile(r"\s*" + r".+?".join(re.escape(x) for x in t.split("\x00")), re.DOTALL)
                 for t in texts if "\x00" in t)


def split_partial_note(answer: str) -> tuple[str, bool]:
    """(the answer without the product's partly-unanswered note, whether it had one): the answered part is scored
    on its own, so the note's decline words and its quote of the question are neither a decline nor an echo."""
    text = answer or ""
    for pattern in _partial_notes():
        text, n = pattern.subn("", text)
        if n:
            return text.strip(), True
    return text, False


def score_answer(q: Question, answer: str, route: dict | None, doc_numbers: set[str],
                 product_texts: list[str] | None = None) -> dict:
    """One answer's verdict. Answerable: correct iff every fact matches one of its forms (a yes/no question's
    first fact, its polarity, within the first two sentences), no forbidden form appears and it did not decline. Unanswerable: correct iff it declined. Invented: an unanswerable not
    declined, or a number stated that neither the shop's documents nor the conversation contain."""
    answer, partial = split_partial_note(answer)
    declined = is_decline(answer, route, product_texts)
    norm = normalize(answer)
    first = normalize(lead(answer))
    missing = [forms[0] for i, forms in enumerate(q.expect)
               if not any(contains(first if q.kind == "yes_no" and i == 0 else norm, f) for f in forms)]
    forbidden = [f for f in q.forbid if contains(norm, f)]
    allowed = doc_numbers | set(q.allow_numbers) | {n for t in q.turns for n in numbers_in(t)}
    unsupported = sorted(numbers_in(answer) - allowed)
    correct = declined if q.decline else not (missing or forbidden or declined)
    action = (route or {}).get("action")
    from assistant.language import answer_language
    from assistant.router import UNSURE_REASON

    unsure = UNSURE_REASON in ((route or {}).get("reasons") or [])
    return {"correct": bool(correct), "declined": declined, "partial": partial, "missing": missing,
            "unsure": unsure and not declined,
            "forbidden": forbidden,
            "unsupported_numbers": unsupported, "invented": bool(unsupported) or (q.decline and not declined),
            "misroute": (not q.decline and action in UNANSWERED_ROUTES) and action,
            "leaks": leaks_in(answer, q.question),
            # answered, but in the other language than the customer wrote (an untranslated page sentence)
            "other_language": bool(answer.strip()) and not declined and answer_language(answer, q.lang) != q.lang,
            "wrong_shop": bool(re.search(r"aurora home|极光家居", answer or "", re.IGNORECASE))}


def shop_numbers(shop: Shop) -> set[str]:
    """Every number the shop's documents (as the knowledge base reads them) and shop.yaml state."""
    from knowledge_base.faq_tables import load_table
    from knowledge_base.loaders import DOC_SUFFIXES, TABLE_SUFFIXES, TableOptions, load_document

    out = numbers_in(json.dumps(shop.meta.get("contact", {}), ensure_ascii=False))
    for path in sorted(shop.docs.rglob("*")):
        if path.suffix.lower() in DOC_SUFFIXES:
            sections, title = load_document(path, 20)
            out |= numbers_in(title + "\n" + "\n".join(s.heading + "\n" + s.text for s in sections))
        elif path.suffix.lower() in TABLE_SUFFIXES:
            out |= numbers_in("\n".join(r.question + "\n" + r.answer for r in load_table(path, 20, TableOptions())))
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(questions: list[Question], scores: list[dict], seconds: list[float], routed: bool,
              first_pieces: list[float | None] = ()) -> dict:
    """Figures of one system on one shop (all rates in [0, 1]). `first_pieces`: seconds to each answer's first
    piece of text, as the customer sees it stream (None: nothing streamed)."""
    pairs = list(zip(questions, scores, strict=True))
    answerable = [(q, s) for q, s in pairs if not q.decline]
    unanswerable = [s for q, s in pairs if q.decline]

    def rate(items):
        return round(sum(bool(x) for x in items) / len(items), 3) if items else None

    out = {"answerable_accuracy": rate([s["correct"] for _, s in answerable]),
           "answerable_accuracy_zh": rate([s["correct"] for q, s in answerable if q.lang == "zh"]),
           "answerable_accuracy_en": rate([s["correct"] for q, s in answerable if q.lang == "en"]),
           "decline_rate": rate([s["declined"] for s in unanswerable]),
           "invented_rate": rate([s["invented"] for _, s in pairs]),
           "invented_answers": sum(s["invented"] for _, s in pairs),
           # answerable questions answered, but not right: worse for a customer than an honest decline
           "wrong_answers": sum(not s["correct"] and not s["declined"] for _, s in answerable),
           # answers the second reading was unsure of (listed as knowledge gaps): how many of the wrong ones it
           # catches, and how many right ones it lists with them
           "unsure_wrong": sum(s.get("unsure", False) and not s["correct"] and not s["declined"] for _, s in pairs),
           "unsure_right": sum(s.get("unsure", False) and s["correct"] for q, s in pairs if not q.decline),
           "answered_wrong": sum(not s["correct"] and not s["declined"] for _, s in pairs)}
    if routed:
        out["misroute_rate"] = rate([s["misroute"] for _, s in answerable])
    out["leaks"] = sum(bool(s["leaks"]) for _, s in pairs)
    out["other_language_answers"] = sum(bool(s.get("other_language")) for _, s in pairs)
    out["wrong_shop_named"] = sum(s["wrong_shop"] for _, s in pairs)
    out["median_s"] = round(statistics.median(seconds), 2) if seconds else None
    out["p95_s"] = round(_pct(seconds, 0.95), 2) if seconds else None
    firsts = [f for f in first_pieces if f is not None]
    out["first_piece_median_s"] = round(statistics.median(firsts), 2) if firsts else None
    out["first_piece_p95_s"] = round(_pct(firsts, 0.95), 2) if firsts else None
    out["by_kind"] = {k: rate([s["correct"] for q, s in pairs if q.kind == k]) for k in ALL_KINDS
                      if any(q.kind == k for q in questions)}
    return out


def failing_ids(questions: list[Question], scores: list[dict]) -> dict:
    """Dev shop only: question ids grouped by what went wrong."""
    groups: dict[str, list[str]] = {"wrong_answer": [], "not_declined": [], "declined_answerable": [],
                                    "invented_number": [], "misroute": [], "leak": [], "wrong_shop": [],
                                    "other_language": []}
    for q, s in zip(questions, scores, strict=True):
        if q.decline and not s["declined"]:
            groups["not_declined"].append(q.id)
        elif not q.decline and s["declined"]:
            groups["declined_answerable"].append(q.id)
        elif not s["correct"]:
            groups["wrong_answer"].append(q.id)
        for key, hit in (("invented_number", s["unsupported_numbers"]), ("misroute", s["misroute"]),
                         ("leak", s["leaks"]), ("wrong_shop", s["wrong_shop"]),
                         ("other_language", s.get("other_language"))):
            if hit:
                groups[key].append(q.id)
    return {k: v for k, v in groups.items() if v}

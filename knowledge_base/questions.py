"""What a customer's message asks, in the shape the knowledge base can look it up: a follow-up written as a question
of its own, a message that asks two things cut into its questions (the later one given the first one's subject), the
question inside a vented message, and the kind of fact a question wants (a number, a day or time).

Plain code where plain code is reliable; the LLM only rewrites follow-ups, checked against the customer's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from knowledge_base.grounding import numbers_in
from knowledge_base.model_codes import model_codes
from knowledge_base.text import has_cjk, tokenize

# What kind of fact a question asks for, when its words say so. Only kinds that plain code can see in a sentence.
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|long|heavy|tall|big|far|old|often|wide|high|large|soon|quickly|fast|hot|warm)\b|"
    r"\bwhat(?:'s| is)? (?:the )?(?:size|weight|temperature|price|altitude|height|capacity|dimensions)\b|"
    r"多少|几(?:天|个|次|号|岁|年|月|周|小时|分钟|克|斤|度|种|款|档|折)|多[高重长久大远宽厚深]|价格|价钱|运费|尺寸|重量|温度",
    re.IGNORECASE)
_ASKS_DAY = re.compile(r"\b(?:which|what) days?\b|星期几|周几|哪几天|哪天", re.IGNORECASE)
_ASKS_TIME = re.compile(r"\b(?:when|what time|what hours)\b|什么时候|几点", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\bweekends?\b|\bbusiness days?\b|"
                      r"周[一二三四五六日末]|星期[一二三四五六日天]|工作日", re.IGNORECASE)


_NAMED_CODE = re.compile(r"\b[A-Za-z]+-?\d[\w-]*")  # "H2", "SE-G02": a name, not a quantity ("640g" is one)


def answer_kind(question: str) -> Callable[[str], bool] | None:
    """A test for sentences of the kind that answers `question` (a number, a weekday, or a day or time), or None when the
    question does not say. Numbers the question itself states ("250 g") and model names ("H2") are not answers."""
    def quantities(text: str) -> set[float]:
        return numbers_in(_NAMED_CODE.sub(" ", text))

    asked = quantities(question)
    if _ASKS_DAY.search(question):
        return lambda text: bool(_WEEKDAY.search(text))
    if _ASKS_TIME.search(question):
        return lambda text: bool(_WEEKDAY.search(text) or quantities(text) - asked)
    if _ASKS_NUMBER.search(question):
        return lambda text: bool(quantities(text) - asked)
    return None


# --- the unit a question asks for -------------------------------------------------------------------------
# "How heavy is the sleeping bag?" is answered by a weight and nothing else: a sentence of the right product that
# states its packed size, or a filter's life in litres for "how long is the warranty?", is a near miss the reader
# model confirms as often as not. Only kinds whose units plain code reads reliably, only in questions that ask for
# the value (not yes/no questions: "来回运费要我自己出吗" is answered by who pays, without a figure).
_NUM = r"(?:\d+(?:[.,]\d+)?|[零〇一二两三四五六七八九十百千万半几]+|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|" \
       r"eleven|twelve|fifteen|twenty|thirty|sixty|ninety|a few|several|a|an))"
_UNITS = {
    "weight": (r"how heavy|\bweigh(?:s|t)?\b|多重|重量|承重|多少克|几克|几斤|多少斤|多少公斤|几公斤",
               _NUM + r"\s*(?:kg|g|grams?|kilos?|kilograms?|lbs?|pounds?|oz|ounces?)\b|"
               + _NUM + r"\s*(?:克|千克|公斤|斤)"),
    "duration": (r"how long (?:does|do|did|will|would|can|could|should|until|before|after|have|has|must)\b|"
                 r"how long (?:is|are) (?:the |your |its |a |an )?(?:[\w-]+ ){0,3}(?:warranty|guarantee|trial|"
                 r"returns?|delivery|shipping|period|window|rental|wait|battery life|shelf life|lead time|turnaround)\b|"
                 r"how many (?:days|weeks|months|years|hours|minutes)\b|"
                 r"多久|多长时间|几天|几年|几个月|几周|几个星期|几(?:个)?小时|几分钟|多少天|多少年|多少(?:个)?小时|多少分钟",
                 _NUM + r"[\s-]*(?:business |working )?(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?)\b|"
                 # a month is a duration with 个 ("3 个月"; "6 月至 9 月" are months of the year), a day with 日 not
                 # in a date ("7 日内", not "3 月 1 日"), a year under 1000 ("2 年", not "2024 年")
                 + _NUM + r"\s*(?:个)?(?:天|周|星期|小时|钟头|分钟|个工作日|工作日)|" + _NUM + r"\s*个月|"
                 r"(?<![月\d])(?<!月\s)(?:\d+|[零〇一二两三四五六七八九十百千万半几]+)\s*日|"
                 r"(?<!\d)(?:\d{1,3}|[零〇一二两三四五六七八九十百千万半几]+)\s*(?:个)?年|"
                 r"\b(?:lifetime|forever|never expires?|overnight|same[- ]day|next[- ](?:(?:business|working) )?day)\b|永久|终身|当天|次日|隔天"),
    "price": (r"how much (?:is|are|does|do|did|will|would|to|for)\b(?!.*\b(?:weigh|hold|holds|fit|fits|water|fill|"
              r"down|space|room|load)\b)|what(?:'s| is| are| does| do)? (?:the |your |a |an )?(?:[\w-]+ ){0,3}"
              r"(?:price|prices|cost|costs|fee|fees|deposit|rent)\b|多少钱|几块钱|"
              r"(?:价格|价钱|费用|运费|押金|租金|收费|售价|报名费)[^，。？?！!]{0,4}(?:多少|几)|"
              r"(?:交|付|花|收|要)多少(?![天年月周克斤度个小分])",
              r"[¥￥$€£]\s*\d|\d(?:[\d,.]*)\s*(?:元|块|yuan|rmb|cny|usd|eur|dollars?|euros?)|[零一二两三四五六七八九十百千万]+\s*(?:元|块)|"
              # "港澳台订单不参与满额包邮" says what is not free, not what it costs
              r"\bfree\b|\bno (?:extra )?(?:charge|cost|fee)\b|免费|(?<![不没无])(?<!不参与)(?<!不参与满额)(?<!不享受)(?<!不享)"
              r"包邮|不收费|不另收"),
    "temperature": (r"how (?:hot|warm|cold)\b|what(?:'s| is)? (?:the )?(?:[\w-]+ ){0,2}temperature|"
                    r"temperature (?:rating|range|limit)|多少度|几度|温度[^，。？?！!]{0,4}(?:多少|几)",
                    r"-?\d+(?:\.\d+)?\s*(?:°\s*[cf]?|℃|℉|degrees?|度)"),
    # names of colours are the shop's own ("Slate", "岩石灰"): a sentence passes with a colour word, a label that
    # says colour, or a basic colour character; "Product number: TH-B40" for "what colours?" does not, nor a
    # lamp's colour temperatures (色温)
    "colour": (r"what colou?rs?|which colou?rs?|how many colou?rs?|colou?r options|come in (?:what|which)|什么颜色|哪些颜色|哪几种颜色|"
               r"几种颜色|几个颜色|颜色有哪些|有哪些颜色|什么色|哪个颜色|哪种颜色|什么配色|哪些配色|几种配色",
               r"\bcolou?rs?\b(?!\s+temperatures?)|\bshades?\b|\bfinish(?:es)?\b|\b(?:black|white|grey|gray|silver|gold|red|orange|"
               r"yellow|green|blue|navy|purple|violet|pink|brown|beige|tan|khaki|olive|teal|cream|ivory|charcoal|"
               r"burgundy|maroon|turquoise|natural|walnut|oak|clear|transparent)\b|颜色|配色|色(?!温)|[黑白灰红橙黄绿青蓝紫粉棕褐金银]"),
}
_UNIT_ASKS = {kind: (re.compile(asks, re.IGNORECASE), re.compile(states, re.IGNORECASE))
              for kind, (asks, states) in _UNITS.items()}
_YES_NO_EN = re.compile(r"^\s*(?:do|does|did|is|are|was|were|can|could|will|would|should|shall|may|might|has|have|"
                        r"had|am)\b", re.IGNORECASE)
# a value is asked for with a question word: "the price dropped right after I bought it" asks no price
_ASKS_WHAT = re.compile(r"\b(?:how|what|what's|which)\b|多|几|什么|哪", re.IGNORECASE)
_YES_NO_ZH = re.compile(r"[吗么][\s?？!！。~～]*$|是不是|有没有|能不能|可不可以|会不会|要不要|是否")


@dataclass(frozen=True)
class AskedUnit:
    """The kind of value a question asks for, and what a sentence stating one looks like."""

    kind: str  # weight | duration | price | temperature | colour | count
    pattern: re.Pattern

    def states(self, text: str) -> bool:
        return bool(self.pattern.search(text))


def asks_for_value(question: str) -> bool:
    """Whether `question` asks for a value with a question word ("How long…", "多少钱") rather than yes or no."""
    q = question.strip()
    return not (_YES_NO_EN.search(q) or _YES_NO_ZH.search(q)) and bool(_ASKS_WHAT.search(q))


def asked_unit(question: str) -> AskedUnit | None:
    """What `question` asks for when it is a weight, a duration, a price, a temperature or the colours; None
    otherwise, for yes/no questions, and for a question asking for two of them (two-fact questions are split before
    this is asked)."""
    q = question.strip()
    if not asks_for_value(q):
        return None
    kinds = [kind for kind, (asks, _) in _UNIT_ASKS.items() if asks.search(q)]
    if not kinds:
        return _asked_count(q)
    return AskedUnit(kinds[0], _UNIT_ASKS[kinds[0]][1]) if len(kinds) == 1 else None


# "一盒有几支", "最多能放几瓶", "有几节课": a count of things, stated with the same measure word ("5 支装", "4 瓶", "共 4 节",
# "页数: 192"). The Hong Kong fee and delivery days had answered "寄到香港的订单，每单最多能放几瓶墨水？". English nouns
# are not checked: a count is named in other words too often ("How many grind settings?" - "40 clicks"); nor kinds
# (几种, 哪几款: answered by a list) or units of measure (几克: the weight).
_COUNT_ZH = re.compile(r"(?:几|多少)\s*([瓶支张本件盒包节页层杯泡袋罐把双套片粒颗根条只台位人])")


def _asked_count(question: str) -> AskedUnit | None:
    m = _COUNT_ZH.search(question)
    if m is None:
        return None
    word = re.escape(m.group(1))
    return AskedUnit("count", re.compile(rf"{_NUM}\s*{word}|{word}数\s*[:：]?\s*{_NUM}"))


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


# "and the stove?" after "How much does it cost to rent the Ridgeline 2 tent?": the follow-up names a new thing for
# the old question. The LLM joined them ("…rent the Ridgeline 2 tent and the stove?") and the tent's price was sent.
_EN_NEW_THING = re.compile(r"^\s*(?:and|what about|how about|and what about|and how about)\s+"
                           r"(?P<thing>(?:the|your|a|an)\s+[\w'-]+(?:\s+[\w'-]+){0,2})\s*[?.!]*\s*$", re.IGNORECASE)
# a thing named: a determiner and the words after it, up to a preposition or a verb that follows a subject ("does the
# hoodie come in grey?")
_EN_THING = re.compile(r"\b(?:the|your|a|an)\s+(?:(?!(?:for|to|in|on|at|of|with|from|after|before|without|if|when|and|"
                       r"or|per|each|every|come|comes|have|has|fit|fits|work|works|cost|costs|take|takes|need|needs|include|includes|"
                       r"ship|ships|hold|holds|last|lasts|weigh|weighs|run|runs|use|uses|go|goes|look|looks|feel|feels|"
                       r"charge|charges|support|supports|get|gets|arrive|arrives|cover|covers|stay|stays)\b)"
                       r"[\w'-]+\s*)+", re.IGNORECASE)


_VARIANT_WORDS = frozenset({"version", "edition", "model", "variant", "one", "size", "option", "type"})


def substituted_follow_up(previous: str, follow_up: str) -> str | None:
    """An English follow-up that names a new thing ("and the stove?") asked as the previous question about it: the
    thing the previous question named (the one with a capitalised product name, else its only "the …" or "your …",
    else its only thing) is replaced.
    None when the follow-up is of another form, or the previous question names no one thing to replace."""
    m = _EN_NEW_THING.match(follow_up)
    if m is None or has_cjk(previous):
        return None
    things = [t for t in _EN_THING.finditer(previous.rstrip(" ?？.!")) if t.group(0).strip()]
    named = [t for t in things if re.search(r"\b[A-Z][\w-]*", t.group(0)[t.group(0).index(" "):])]
    # the one product named, else the one thing named with "the" / "your" ("a warranty" is rarely what "and the desk
    # lamp?" replaces): with two, which one the follow-up replaces is a guess
    definite = [t for t in things if t.group(0).split()[0].lower() in ("the", "your")]
    candidates = named or (definite if len(definite) == 1 else things)
    if len(candidates) != 1:
        return None
    chosen = candidates[0]
    head, tail = previous[:chosen.start()], previous[chosen.end():]
    thing = m.group("thing").strip()
    words = thing.split()
    if words[-1].lower() in _VARIANT_WORDS and len(words) > 2:
        # "the thin-paper Lite version" of "the Canal A5 notebook": a variant of the thing, which keeps its name
        # (replaced, "What does the thin-paper Lite version cost?" found nothing to answer with)
        thing = f"{chosen.group(0).strip()}, {' '.join(words[1:])}"
    return f"{head}{thing}{' ' if tail[:1].isalnum() else ''}{tail.lstrip()}".strip()


def _keeps_own_words(follow_up: str, rewritten: str) -> bool:
    """Does the rewrite keep the follow-up's own words (its new subject)? Chinese by character pairs: jieba cuts a
    short follow-up differently from the sentence it becomes ("那低因的呢" -> 那低/因, "低因的豆子" -> 低因)."""
    pairs = {run[i:i + 2] for run in re.findall(r"[\u4e00-\u9fff]+", _without_glue(follow_up))
             for i in range(max(1, len(run) - 1))}
    # Every one of them: a rewrite that drops one ("那没拆封的呢" -> "拆封后还能退吗") can turn the question around.
    return all(p in rewritten for p in pairs) and _own_latin_words(follow_up) <= set(tokenize(rewritten))


def _without_glue(follow_up: str) -> str:
    return re.sub("|".join(sorted((g for g in _FOLLOW_UP_GLUE if not g.isascii()), key=len, reverse=True)), " ",
                  follow_up)


def _own_latin_words(follow_up: str) -> set[str]:
    return {t for t in tokenize(re.sub(r"[\u4e00-\u9fff]", " ", follow_up)) if t not in _FOLLOW_UP_GLUE}


def names_a_subject(follow_up: str) -> bool:
    """Does the follow-up name what it asks about ("那退货呢？", "what about returns?"), rather than point back at it
    ("does it come in blue?")?"""
    if not is_follow_up(follow_up) or _PRONOUN.search(follow_up):
        return False
    core = _without_glue(follow_up)
    return bool(re.search(r"[\u4e00-\u9fff]{2}", core)) or bool(_own_latin_words(follow_up))


def own_words_in(follow_up: str, texts: Sequence[str]) -> bool:
    """Do the `texts` (an answer's sources) name every one of the follow-up's own words?"""
    return _keeps_own_words(follow_up, "\n".join(texts))


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


# One question asking two things of one subject ("what's the price and the weight of the Cirrus 40?", "Cirrus 40
# 的价格和重量是多少"): read whole, one sentence answers it (the price) and the other fact is lost.
_EN_TWO_OF = re.compile(r"^(?P<ask>what(?:'s|’s| is| are| was)\s+)(?:the\s+)?(?P<a>[a-z]+(?:[ -][a-z]+)?)\s*,?\s+and\s+"
                        r"(?:the\s+)?(?P<b>[a-z]+(?:[ -][a-z]+)?)\s+(?P<rest>(?:of|for|on)\s+[^,，;；]*[^\s,，;；])\s*$",
                        re.IGNORECASE)
_ZH_TWO_OF = re.compile(r"^(?P<subject>.+?)的(?P<a>[\u4e00-\u9fff]{2,4}?)(?:和|与|跟|以及)(?P<b>[\u4e00-\u9fff]{2,4}?)"
                        r"(?:分别|各)?(?P<rest>(?:是|有)?(?:多少|什么|几|多[重长大高宽]|怎样|如何).*)$")
# pairs that name one thing, not two facts
_ONE_THING = frozenset({"terms conditions", "pros cons", "ins outs", "shipping handling", "dos don'ts",
                        "size shape", "make model", "wear tear", "care maintenance", "return exchange"})
# "the return and exchange policy", "退货和换货政策": one policy of two things, asked as a whole
_SHARED_HEAD = re.compile(r"(?:polic(?:y|ies)|process|rules|terms|service|政策|规则|规定|流程|条款|制度|服务)$", re.IGNORECASE)
_ZH_TOTAL = re.compile(r"总共|一共|加起来|合计|总计|总价")  # "价格和运费一共多少": one sum, not two facts


def _two_facts_of_one_subject(piece: str) -> list[str] | None:
    """The two questions of "what's the A and the B of X" / "X的A和B是多少", or None."""
    m = _EN_TWO_OF.match(piece.strip())
    if m:
        a, b = m["a"].lower(), m["b"].lower()
        if {f"{a} {b}", f"{a} {re.split(r'[ -]', b)[0]}"} & _ONE_THING or _SHARED_HEAD.search(b):
            return None
        return [f"{m['ask']}the {m['a']} {m['rest']}", f"{m['ask']}the {m['b']} {m['rest']}"]
    m = _ZH_TWO_OF.match(piece.strip())
    if m and not _SHARED_HEAD.search(m["b"]) and not _ZH_TOTAL.search(piece):
        return [f"{m['subject']}的{m['a']}{m['rest']}", f"{m['subject']}的{m['b']}{m['rest']}"]
    return None


def _asks(part: str) -> bool:
    if re.search(r"[\u4e00-\u9fff]", part):
        return bool(_ZH_ASKS.search(part)) or part.rstrip().endswith(("?", "？"))
    return bool(_EN_ASKS.search(part)) or part.rstrip().endswith("?")


def split_question(question: str, max_parts: int = 3) -> list[str]:
    """The questions one message asks, in order; one item when it asks one thing. Only splits where both sides
    are questions in their own right, so "I bought it 40 days ago, can I return it?" stays whole."""
    # a piece must have a word: "can I still fix it??" is one question, not one and "?"
    pieces = [p.strip(" ，,;；") for p in re.split(r"(?<=[?？])\s*|[；;]\s*", question.strip()) if re.search(r"\w", p)]
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
        parts = [question.strip()]
    # then each question asking two facts of one subject, while the message stays within max_parts
    out: list[str] = []
    for i, part in enumerate(parts):
        two = _two_facts_of_one_subject(part)
        if two and len(out) + len(two) + len(parts) - i - 1 <= max_parts:
            out += two
        else:
            out.append(part)
    return out


# Where a Chinese question's subject ends: the first verb of asking or being ("冷萃咖啡液|能寄到北京吗", "古吉|是什么处理法").
_ZH_PREDICATE = re.compile(r"是|能|可以|可不可以|有没有|有|会|要|需要|怎么|怎样|如何|多少|多[高重长久大远宽]|几|什么|哪|吗|呢|"
                           r"适合|支持|包括|含|用")
_ZH_LEAD = re.compile(r"^(?:请问|你好|您好|我想问一下|我想问|想问一下|想问|那么|那|还有)[，, ]*")


def carry_subject(first: str, later: str) -> str:
    """The later question of a Chinese message that asks two things, with the first one's subject in front when it
    does not name it ("冷萃咖啡液能寄到北京吗？" + "开了以后能放几天" -> "冷萃咖啡液开了以后能放几天"): read alone, "能放几天"
    is answered by any product's shelf life. The subject is what the first question says before its first verb
    of asking or being; nothing is carried when that is empty, too long to be a name, or opens with a verb. English later halves say
    "it" or name their subject and are left as they are."""
    if not has_cjk(later) or not has_cjk(first):
        return later
    head = _ZH_LEAD.sub("", first.strip())
    m = _ZH_PREDICATE.search(head)
    subject = head[:m.start()].strip(" ，,、") if m else ""
    if not (2 <= len(subject) <= 16) or subject in later or _starts_with_verb(subject):
        return later
    return f"{subject}{later.lstrip()}"


def _starts_with_verb(text: str) -> bool:
    """"泡龙井水温…" opens with what is done, not with what it is done to: no subject to carry."""
    import jieba.posseg as pseg

    first = next(iter(pseg.cut(text)), None)
    return first is not None and first.flag[:1] in ("v", "d", "p", "c", "u")


# --- the question inside a vented message ----------------------------------------------------------------------
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")
_REPEATED_END = re.compile(r"([!?！？。.~～])[!?！？。.~～]+")
_SHOUTED = re.compile(r"\b[A-Z]{3,}\b")  # "WHEN", not "K1" or "USB-C"
_CLAUSE_END = re.compile(r"(?<=[!?！？。])\s*|(?<=[a-z]\.)\s+(?=[A-Z])|\s*[,，]\s*|\s*\n+\s*|\s*\x00\s*")


def sounds_annoyed(message: str) -> bool:
    """Emoji, repeated punctuation or a shouted word: the marks of venting that question_core takes away."""
    return bool(_EMOJI.search(message) or _REPEATED_END.search(message) or _SHOUTED.search(message))


def question_core(message: str) -> str | None:
    """The question an annoyed message asks, without the venting around it: "seriously?? I've been calling all day,
    WHEN is your customer service even open 😡" -> "WHEN is..." lower-cased; "都三天了还没收到！！！到底怎么查物流啊😤" ->
    "到底怎么查物流啊". Emoji, repeated punctuation and shouting go; clauses that ask nothing go when another one asks.
    None when nothing would change (a plain question is searched as it is)."""
    text = _REPEATED_END.sub(r"\1", _EMOJI.sub("\x00", message))
    text = _SHOUTED.sub(lambda m: m.group().lower(), text)
    clauses = [c.strip(" \x00") for c in _CLAUSE_END.split(text) if c.strip(" \x00")]
    asking = [c for c in clauses if _asks(c)]
    if asking and len(asking) < len(clauses):
        # a clause that names the model ("沧浪 14K 的笔杆摔裂了，换一根笔杆要多少钱") stays: without it, the question
        # inside asked for any barrel, and the P70's price was sent
        codes = model_codes(" ".join(asking))
        asking = [c for c in clauses if c in asking or model_codes(c) - codes]
    core = " ".join(asking if asking and len(asking) < len(clauses) else clauses)
    core = re.sub(r"\s+", " ", core).strip()
    return core if core and core != message.strip() else None

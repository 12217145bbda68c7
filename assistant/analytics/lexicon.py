"""A small zh+en sentiment lexicon and the aspect vocabulary of online shops.

The lexicon model is the FALLBACK when the project's trained classifier (`assistant.classifiers`) is not
available; results made with it say so. It also scores single clauses for aspect-level sentiment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Aspect -> keywords (zh words are matched on jieba tokens, en words on lower-cased word tokens).
ASPECTS: dict[str, tuple[str, ...]] = {
    "shipping": ("物流", "快递", "发货", "送货", "配送", "到货", "速度", "运输", "快递员", "包邮", "顺丰",
                 "shipping", "delivery", "delivered", "courier", "arrived", "arrival", "shipped", "dispatch"),
    "quality": ("质量", "品质", "做工", "材质", "面料", "正品", "假货", "耐用", "瑕疵", "用料", "性能", "效果",
                "quality", "material", "build", "durable", "fake", "defect", "defective", "broken", "sturdy"),
    "price": ("价格", "价钱", "性价比", "便宜", "贵", "实惠", "划算", "优惠", "价位", "降价",
              "price", "cheap", "expensive", "value", "cost", "overpriced", "discount", "pricey"),
    "service": ("客服", "服务", "态度", "售后", "卖家", "商家", "退货", "退款", "回复", "换货",
                "service", "support", "seller", "refund", "return", "staff", "response", "agent"),
    "packaging": ("包装", "盒子", "外包装", "纸箱", "破损", "包装盒",
                  "packaging", "package", "box", "packed", "wrapping", "damaged"),
    "size_fit": ("尺码", "大小", "尺寸", "合身", "偏大", "偏小",
                 "size", "fit", "fits", "small", "large", "tight", "loose"),
    "taste": ("味道", "口感", "好吃", "难吃", "新鲜", "口味", "taste", "flavor", "fresh", "delicious", "stale"),
}

ASPECT_NAMES_ZH = {"shipping": "物流", "quality": "质量", "price": "价格", "service": "客服/售后",
                   "packaging": "包装", "size_fit": "尺码", "taste": "口味"}

_ZH_POS = ("好", "不错", "满意", "喜欢", "推荐", "值得", "划算", "实惠", "便宜", "漂亮", "舒服", "清晰", "流畅",
           "给力", "赞", "完美", "好评", "耐用", "正品", "及时", "热情", "耐心", "精致", "结实", "快", "很快",
           "超快", "好用", "好吃", "新鲜", "合身", "惊喜", "放心", "贴心", "专业", "省心", "方便", "值",
           "性价比高", "性价比很高", "高性价比", "完好", "准时")
_ZH_NEG = ("差", "失望", "垃圾", "慢", "贵", "坏", "破", "退货", "退款", "投诉", "假货", "烂", "糟糕", "后悔",
           "差评", "瑕疵", "脏", "臭", "卡", "没用", "骗", "漏", "碎", "掉色", "起球", "发霉", "过期", "难吃",
           "不值", "太慢", "破损", "问题", "敷衍", "生气", "恶心", "难用", "偏小", "偏大", "坑", "慢死", "缺货",
           "延误", "延迟", "压坏", "不回复", "没人回", "粗糙", "等了")
_ZH_NEGATORS = ("不", "没", "没有", "不太", "不够", "别", "并不", "一点也不")

_EN_POS = ("good", "great", "excellent", "love", "loved", "like", "nice", "perfect", "fast", "quick", "happy",
           "recommend", "amazing", "awesome", "best", "worth", "fair", "solved", "quickly", "nicely", "intact", "sturdy", "durable", "friendly",
           "helpful", "satisfied", "fresh", "delicious", "beautiful", "comfortable", "easy", "well", "fine")
_EN_NEG = ("bad", "terrible", "awful", "poor", "slow", "late", "broken", "damaged", "worst", "hate", "refund",
           "disappointed", "disappointing", "expensive", "overpriced", "fake", "defective", "rude",
           "useless", "cheaply", "waste", "missing", "wrong", "stale", "dirty", "complaint", "problem", "issue",
           "unhelpful", "horrible", "return", "returned", "leaking", "smells", "tight", "broke", "crushed",
           "delayed", "forever", "flimsy")
_EN_NEGATORS = {"not", "no", "never", "dont", "don't", "didn't", "didnt", "isn't", "isnt", "wasn't", "wasnt",
                "hardly", "without", "won't", "cannot", "can't"}


def _zh_lexicon() -> dict[str, float]:
    lex = {w: 1.0 for w in _ZH_POS}
    lex.update({w: -1.0 for w in _ZH_NEG})
    # Negated forms as whole entries: the longest-first regex then reads "不好" before "好".
    for neg in _ZH_NEGATORS:
        for w in _ZH_POS:
            lex.setdefault(neg + w, -1.0)
        for w in _ZH_NEG:
            lex.setdefault(neg + w, 0.5)
        for adv in ("很", "太", "非常", "特别"):
            for w in _ZH_POS:
                lex.setdefault(neg + adv + w, -1.0)
    # Words that merely contain a sentiment character ("快递" holds "快", "好几天" holds "好") weigh nothing.
    for w in ("快递", "快递员", "好几", "好像", "差不多", "坏了吗", "值班"):
        lex[w] = 0.0
    lex["不错"] = 1.0
    lex["不慢"] = 0.5
    lex["好慢"] = -1.0
    lex["好差"] = -1.0
    lex["好贵"] = -1.0
    return lex


_ZH_LEX = _zh_lexicon()
_ZH_RE = re.compile("|".join(sorted(map(re.escape, _ZH_LEX), key=len, reverse=True)))
_EN_LEX = {**{w: 1.0 for w in _EN_POS}, **{w: -1.0 for w in _EN_NEG}}
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
CLAUSE_SPLIT = re.compile(r"[，,。.!！?？;；~～\n]+|\s+but\s+|\s+however\s+|但是|不过|可是|但")


@dataclass
class LexiconPrediction:
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)


def polarity(text: str) -> float:
    """Sum of lexicon weights in `text` (negation handled); > 0 positive, < 0 negative."""
    if not isinstance(text, str) or not text:
        return 0.0
    total = 0.0
    if _CJK.search(text):
        total += sum(_ZH_LEX[m] for m in _ZH_RE.findall(text))
    lower = text.lower()
    if re.search(r"[a-z]", lower):
        # Per clause, so a negator never reaches across a comma ("never late, great").
        for clause in CLAUSE_SPLIT.split(lower):
            tokens = _EN_TOKEN.findall(clause)
            for i, tok in enumerate(tokens):
                w = _EN_LEX.get(tok)
                if w is None:
                    continue
                if any(t in _EN_NEGATORS for t in tokens[max(0, i - 3):i]):  # "not good", "never late"
                    w = -w
                total += w
    return total


class LexiconSentiment:
    """Fallback sentiment model with the classifier's interface: `predict(texts) -> [prediction]`."""

    name = "lexicon fallback"

    def predict(self, texts: list[str]) -> list[LexiconPrediction]:
        return [self._one(t) for t in texts]

    @staticmethod
    def _one(text: str) -> LexiconPrediction:
        p = polarity(text)
        # A squashed score so confidence grows with the number of cues, never reaching 1.
        conf = abs(p) / (abs(p) + 1.0)
        if p > 0:
            label = "positive"
        elif p < 0:
            label = "negative"
        else:
            label = "neutral"
        pos = 0.5 + conf / 2 if p > 0 else (0.5 - conf / 2 if p < 0 else 0.5)
        neutral = 1.0 if p == 0 else 0.0
        return LexiconPrediction(label, 0.5 + conf / 2 if p else 0.5,
                                 {"positive": pos * (1 - neutral), "negative": (1 - pos) * (1 - neutral),
                                  "neutral": neutral})


def aspect_index() -> dict[str, str]:
    """keyword -> aspect."""
    return {kw: aspect for aspect, kws in ASPECTS.items() for kw in kws}

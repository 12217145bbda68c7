"""Text rules shared by checks and scores: script-folding for word lists, length units, readability.

Banned and required words are matched on a folded form (NFKC, case-folded, traditional Chinese mapped to
simplified), so "ＦＲＥＥ", "Free" and "free" are one word and so are 最優惠 and 最优惠.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Traditional -> simplified for the characters that matter in ad copy (prices, offers, superlatives,
# home goods, common function words). OpenCC's full table (a pinned dependency) is applied first; this one adds
# variants it keeps (傢俱) and serves alone when OpenCC cannot be imported.
_TRAD = (
    "價費優買賣錢體國會員級務風質專絕對無為這們點從發現當與時樣實驚貨廣極勁爭獎劵券滿減贈禮條"
    "產廠業張長門開關閉問題讓給說話語請謝們個來過還進選擇變設計線網頁電腦機車東區總統計劃劃"
    "號碼單雙層廳臥廚衛燈櫃桌椅傢俱飾紡織綿絲棉麻鋪墊簾窗壓殼鍋壺碗盤盞蓋鏡畫鐘錶陽臺淨潔衝擊"
    "環保護膚潤髮鬆軟緊適舒療醫藥愛歡樂溫暖靜聽見觀看視聲響顏顯亮麗華貴純濃藝術韓紅綠藍黃銀鐵銅鋁"
    "輕氣將後滅寶寵壞舊養爾盡區別則應該嗎麼麵湯鹽雞魚鳥龍龜傳統歷遠運動達邊連週導準備頭髮讀寫書"
    "筆記錄檔夠狀況權證據複雜雲霧縣鄉親戚隊臉聯繫係數據圖樣節慶誕歲萬億兩幾團購補貼領搶訂閱戶"
)
_SIMP = (
    "价费优买卖钱体国会员级务风质专绝对无为这们点从发现当与时样实惊货广极劲争奖券券满减赠礼条"
    "产厂业张长门开关闭问题让给说话语请谢们个来过还进选择变设计线网页电脑机车东区总统计划划"
    "号码单双层厅卧厨卫灯柜桌椅家具饰纺织绵丝棉麻铺垫帘窗压壳锅壶碗盘盏盖镜画钟表阳台净洁冲击"
    "环保护肤润发松软紧适舒疗医药爱欢乐温暖静听见观看视声响颜显亮丽华贵纯浓艺术韩红绿蓝黄银铁铜铝"
    "轻气将后灭宝宠坏旧养尔尽区别则应该吗么面汤盐鸡鱼鸟龙龟传统历远运动达边连周导准备头发读写书"
    "笔记录档够状况权证据复杂云雾县乡亲戚队脸联系系数据图样节庆诞岁万亿两几团购补贴领抢订阅户"
)
assert len(_TRAD) == len(_SIMP), "the traditional/simplified tables must stay aligned"
_T2S = {ord(t): s for t, s in zip(_TRAD, _SIMP, strict=True) if t != s}
_T2S[ord("傢")] = "家"
_T2S[ord("俱")] = "具"

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]")
# GSM 03.38 basic set (+ the extension table, whose characters cost two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = set("^{}\\[~]|€")


def fold(text: str) -> str:
    """The form word lists are matched on: NFKC, case-folded, traditional Chinese made simplified."""
    return _simplified(unicodedata.normalize("NFKC", text).casefold())


def _simplified(text: str) -> str:
    """OpenCC's full Traditional -> Simplified table (a few microseconds), then the table above, which also
    covers the variants OpenCC keeps (傢俱) and serves when OpenCC is missing."""
    from assistant.guardrails.normalize import to_simplified

    return to_simplified(text).translate(_T2S)


_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])[\s\u3000]+(?=[\u4e00-\u9fff])")


def script_variants(text: str) -> list[str]:
    """`text`, and its simplified-Chinese, half-width reading (NFKC, traditional characters made simplified, and
    spaces between Chinese characters taken out) when that differs: what word rules must read besides the text as
    written. "最 好喝" and "顶 级 茶 叶" break the same rules as 最好喝 and 顶级茶叶."""
    plain = _CJK_GAP.sub("", _simplified(unicodedata.normalize("NFKC", text)))
    return [text] if plain == text else [text, plain]


def contains_term(text: str, term: str) -> bool:
    """Case/script-insensitive containment; Latin words match whole words only ('free' not in 'freedom')."""
    return count_term(text, term) > 0


def count_term(text: str, term: str) -> int:
    """How many times `term` occurs in `text`, matched as contains_term matches it."""
    t, w = fold(text), fold(term).strip()
    if not w:
        return 0
    if _LATIN_WORD.match(w[0]) or _LATIN_WORD.match(w[-1]):
        pattern = (r"(?<![a-z0-9])" if _LATIN_WORD.match(w[0]) else "") + re.escape(w)
        pattern += r"(?![a-z0-9])" if _LATIN_WORD.match(w[-1]) else ""
        return len(re.findall(pattern, t))
    return t.count(w)


def find_terms(text: str, terms) -> list[str]:
    return [w for w in terms if contains_term(text, w)]


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if _CJK.match(c)) / len(letters) if letters else 0.0


def detect_language(text: str) -> str:
    """zh or en, by the product's one rule (assistant.language)."""
    from assistant.language import answer_language

    return answer_language(text)


def display_width(text: str) -> int:
    """Google Ads' count: wide and full-width characters are 2, the rest 1."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def sms_is_gsm(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXT for c in text)


def sms_segments(text: str) -> int:
    """How many SMS a text costs: 160/153 GSM-7 septets or 70/67 UCS-2 characters per segment."""
    if not text:
        return 0
    if sms_is_gsm(text):
        septets = sum(2 if c in _GSM_EXT else 1 for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
    return 1 if units <= 70 else math.ceil(units / 67)


def sms_capacity(text: str, segments: int) -> int:
    """Characters that fit in `segments` SMS for a text in this text's encoding."""
    gsm = sms_is_gsm(text)
    if segments <= 1:
        return 160 if gsm else 70
    return segments * (153 if gsm else 67)


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    n = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, n)


def readability(text: str, language: str) -> float:
    """0..1, higher reads easier. English: Flesch reading ease; Chinese: clause length (shorter is easier).

    Both then lose points for things a reader trips over in an ad: shouting, piled-up punctuation, markup.
    """
    text = text.strip()
    if not text:
        return 0.0
    if language == "zh":
        clauses = [c for c in re.split(r"[，。！？；、,.!?;:：\s|｜/]+", text) if c]
        avg = sum(len(c) for c in clauses) / max(1, len(clauses))
        score = 1.0 if avg <= 12 else max(0.0, 1.0 - (avg - 12) / 24)
    else:
        words = re.findall(r"[A-Za-z']+", text)
        if not words:
            return 0.3
        sentences = max(1, len(re.findall(r"[.!?]+", text)))
        syl = sum(_syllables(w) for w in words)
        flesch = 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syl / len(words))
        score = min(1.0, max(0.0, flesch / 100))
    if len(re.findall(r"\b[A-Z]{4,}\b", text)) >= 2:
        score -= 0.2
    if re.search(r"[!！?？]{2,}", text):
        score -= 0.1
    if re.search(r"[*#`<>{}\[\]]", text):
        score -= 0.2
    return round(max(0.0, min(1.0, score)), 3)


def char_ngrams(text: str, n: int = 2) -> set[str]:
    t = re.sub(r"\s+", " ", fold(text)).strip()
    if len(t) <= n:
        return {t} if t else set()
    return {t[i:i + n] for i in range(len(t) - n + 1)}


def jaccard(a: str, b: str, n: int = 2) -> float:
    ga, gb = char_ngrams(a, n), char_ngrams(b, n)
    if not ga and not gb:
        return 1.0
    return len(ga & gb) / len(ga | gb)

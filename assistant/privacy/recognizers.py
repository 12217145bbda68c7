"""PII recognizers: regular expressions for candidates, checksums and phonenumbers to confirm them.

Each recognizer yields `(start, end)` spans of one entity type. Structured types (card, Chinese ID, IBAN,
IP) are confirmed by their checksum or parser, which is what keeps order numbers and prices out.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Callable, Iterator

Span = tuple[int, int]

# Full-width forms (what a Chinese keyboard types in full-width mode: "１３８…", "ｚｗ＠１２６．ｃｏｍ"), the
# ideographic space and typographic dashes, as ASCII. One character for one, so spans found in the folded text
# are spans of the original: recognizers run on `fold_width(text)` and the placeholder replaces what was written.
_WIDTH = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " ",
                        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63", "-")})


def fold_width(text: str) -> str:
    return text.translate(_WIDTH)

# ----------------------------------------------------------------------------------------------- e-mail
# ASCII-only classes (not \w, which includes Han): in "邮箱是a@b.com谢谢" the address is only a@b.com.
_EMAIL = re.compile(r"(?<![A-Za-z0-9_.+'-])[A-Za-z0-9][A-Za-z0-9._%+'-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.(?!(?:png|jpe?g|gif|svg|webp|pdf)\b)[A-Za-z]{2,24}(?![A-Za-z0-9-])")


def find_emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield m.span()


# ------------------------------------------------------------------------------------------ bank cards
# 13-19 digits, optionally grouped by single spaces or dashes ("6222 0212 3456 7890").
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_length_ok(digits: str) -> bool:
    """Issuer prefix and length agree: 13 digits only for old Visa, 15 for Amex, 14 for Diners, ..."""
    n, first = len(digits), digits[0]
    if first == "4":
        return n in (13, 16, 19)
    if first in "25":
        return n == 16
    if digits[:2] in ("34", "37"):
        return n == 15
    if digits[:2] in ("30", "36", "38"):
        return 14 <= n <= 19
    if first in "36":
        return 16 <= n <= 19
    return False


def find_cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        raw = m.group()
        digits = re.sub(r"\D", "", raw)
        # Issuer prefix + length + Luhn: leaves well under 1 in 20 random digit strings, and no 13-digit
        # barcode (EAN-13 starting 690-699) or order number of the wrong length.
        if not 13 <= len(digits) <= 19 or not _card_length_ok(digits) or not luhn_valid(digits):
            continue
        seps = set(re.findall(r"[ -]", raw))
        if len(seps) > 1:  # "1234-5678 9012..." mixes separators: two numbers side by side, not a card
            continue
        yield m.span()


# ------------------------------------------------------------------------------------- Chinese ID card
# Also written in groups, region / birth date / sequence: "110101 19900307 4514", "110101-1990-0307-4514".
_CN_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}[ -]?(?:18|19|20)\d{2}[ -]?(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                    r"[ -]?\d{3}[\dXx](?![0-9A-Za-z])")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_valid(number: str) -> bool:
    """GB 11643-1999: 17 digits weighted mod 11 give the check character; the birth date must exist."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    check = "10X98765432"[sum(int(c) * w for c, w in zip(number[:17], _CN_ID_WEIGHTS, strict=True)) % 11]
    return number[17].upper() == check


def find_cn_ids(text: str) -> Iterator[Span]:
    for m in _CN_ID.finditer(text):
        if len(set(re.findall(r"[ -]", m.group()))) < 2 and cn_id_valid(re.sub(r"[ -]", "", m.group())):
            yield m.span()


# ------------------------------------------------------------------------------------------------ IBAN
# ISO 13616 lengths of the countries a shop is likely to see; the mod-97 check does the rest.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28, "CZ": 24,
    "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}
# Any case: a customer types "de89 3704 …" as readily as "DE89 3704 …"; the length and mod-97 check decide.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})\d{2}")


def iban_valid(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def find_ibans(text: str) -> Iterator[Span]:
    for m in _IBAN_START.finditer(text):
        want = IBAN_LENGTHS.get(m.group(1).upper())
        if want is None:
            continue
        # Walk exactly `want` alphanumerics, allowing single spaces (or dashes) between them ("DE89 3704 0044 ...").
        i, n, chars = m.start(), 0, []
        while i < len(text) and n < want:
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                chars.append(ch)
                n += 1
            elif not (ch in " -" and n and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum()):
                break
            i += 1
        if n == want and not (i < len(text) and text[i].isascii() and text[i].isalnum()):
            if iban_valid("".join(chars).upper()):
                yield m.start(), i


# ------------------------------------------------------------------------------------------- IP address
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")


# Words right before a number that say it is something else: an order, a version, a barcode.
NOT_PII_BEFORE = re.compile(
    r"(?:order|tracking|invoice|sku|serial|model|version|firmware|build|release|item|ticket|ref(?:erence)?|"
    r"订单|单号|编号|会员号|条形码|条码|货号|型号|版本|发票号)"
    # "order number: …", "Order ID …", "my order is …", "tracking no. …": the label's own words in between
    r"(?:[\s#:：.号为是]|\b(?:no|nr|number|num|id|is|was|code)\b)*$",
    re.IGNORECASE,
)


def _labelled_as_other(text: str, start: int) -> bool:
    return NOT_PII_BEFORE.search(text[max(0, start - 20):start]) is not None or _inside_identifier(text, start)


def _inside_identifier(text: str, start: int) -> bool:
    """The digits continue a code such as INV-2024-000123 or AB/2024/77: part of an identifier, not a number."""
    return start >= 2 and text[start - 1] in "-_/" and text[start - 2].isascii() and text[start - 2].isalnum()


def find_ips(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        if _labelled_as_other(text, m.start()):
            continue
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:  # 999.1.1.1, leading zeros
            continue
        yield m.span()
    for m in _IPV6.finditer(text):
        if len(m.group()) < 6:  # "12::" or a clock time are not worth a placeholder
            continue
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        yield m.span()


# ----------------------------------------------------------------------------------------------- phones
# Chinese mobiles, also as 138 1234 5678 / 138-1234-5678 and with +86 / 0086.
_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")


_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ \-.]?\(?\d{1,5}\)?){2,6}(?!\d)")
# A national-format number of any country ("0161 496 0000", "030 1234 5678") is confirmed by a word before it
# that says it is a phone (presidio's context words): the configured regions cannot list every country.
_NATIONAL = re.compile(r"(?<![\w+-])0\d{1,4}(?:[ \-.]?\d{2,4}){2,4}(?![\w-])")
_PHONE_CONTEXT = re.compile(
    r"(?:phone|tel|telephone|landline|mobile|cell|fax|call|ring|whatsapp|电话|手机|座机|联系方式|致电|拨打)"
    r"[\s#:：.()（）a-z]{0,12}$",
    re.IGNORECASE,
)


def _chunks(text: str, size: int = 1000) -> Iterator[tuple[int, str]]:
    """(offset, piece) of about `size` characters, cut at white space that is not inside a number.

    PhoneNumberMatcher slices the rest of the text at every candidate (quadratic on a long log) and gives
    up after 65,535 tries; pieces keep it linear and complete.
    """
    start = 0
    while len(text) - start > size:
        cut = start + size
        while cut < len(text) and not (text[cut].isspace() and not text[cut - 1].isdigit()
                                       and text[cut + 1:cut + 2] not in set("0123456789+(")):
            cut += 1
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


def find_phones(text: str, regions: tuple[str, ...] = ("CN", "US")) -> Iterator[Span]:
    # a mobile-shaped number labelled as an order number or SKU ("订单13812345678") is that, as below
    yield from (m.span() for m in _CN_MOBILE.finditer(text)
                if m.group().startswith(("+", "00")) or not _labelled_as_other(text, m.start()))
    import phonenumbers  # imported here: ~50 ms, and only the phone recognizer needs it

    # Numbers with a +country prefix are found whatever the region; the regions add national formats
    # such as 010-6552 9988 (CN) or (415) 555-2671 (US). VALID leniency checks the number plan.
    for offset, chunk in _chunks(text):
        for region in regions or ("ZZ",):
            for match in phonenumbers.PhoneNumberMatcher(chunk, region, leniency=phonenumbers.Leniency.VALID):
                start = offset + match.start
                if match.raw_string.startswith("+") or not _labelled_as_other(text, start):
                    yield start, offset + match.end
    # "+country ..." is a phone even when the number plan calls it unassigned (e.g. UK drama numbers
    # +44 7700 900xxx): for privacy a possible number is enough once the "+" says what it is.
    for m in _INTL.finditer(text):
        try:
            number = phonenumbers.parse(m.group(), None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            yield m.span()
    for m in _NATIONAL.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group())
        if (9 <= digits <= 12 and _PHONE_CONTEXT.search(text[max(0, m.start() - 24):m.start()])
                and not _labelled_as_other(text, m.start())):
            yield m.span()


# -------------------------------------------------------------------------------------------- addresses
_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|"
    "贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
_HAN = r"[\u4e00-\u9fff]"
_ZH_ADDRESS = re.compile(
    rf"(?:(?:{_PROVINCES})(?:省|市|自治区|特别行政区)?)?"
    rf"(?:{_HAN}{{1,6}}?(?:市|州|盟))?"
    rf"(?:{_HAN}{{1,6}}?(?:区|县|旗))?"
    rf"(?:{_HAN}{{1,8}}?(?:镇|乡|街道))?"
    # not 道 or 里 alone: "我想知道3号能到吗" (I'd like to know if it arrives on the 3rd) is no address
    rf"[\u4e00-\u9fff0-9A-Za-z]{{1,14}}?(?:大道|大街|路|街|巷|弄|胡同)(?:[东南西北中一二三四五六七八九十0-9]+段)?"
    r"\s*[0-9０-９一二三四五六七八九十百零]+(?:[-之][0-9]+)?\s*号"
    # a building's name after the house number ("88号SOHO现代城5号楼1201室"), only when a building or room follows
    r"(?:\s*[\u4e00-\u9fffA-Za-z]{1,10}?(?=\s*(?:[0-9A-Za-z]+|[一二三四五六七八九十]+)\s?(?:号楼|栋|幢|座|单元|楼|层|室|房)))?"
    # spaced like the house number may be: "88 号 3 楼 301 室"
    r"(?:\s*(?:[0-9A-Za-z]+|[一二三四五六七八九十]+)\s?(?:号楼|栋|幢|座|单元|楼|层|室|号|房))*"
)
# Characters that end the words before an address ("我住在", "寄到", "地址是：") and never start one.
_ZH_LEAD = re.compile(r"^.*[在是到往至寄送址：:，,。；;、为填改的住]")
_EN_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|"
    r"Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Close|Crescent|Gardens|Row|Alley)"
)
_EN_ADDRESS = re.compile(
    r"(?<![\w#-])\d{1,6}[A-Za-z]?,?\s+(?:(?:[NSEW]|North|South|East|West)\.?\s+)?"
    r"(?:(?:\d{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'-]*\.?)\s+){1,5}"
    rf"{_EN_SUFFIX}\b(?:(?<=St|Rd|Dr|Ln|Ct|Pl|Sq)\.|(?<=Ave|Hwy)\.|(?<=Blvd|Pkwy)\.)?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat|#)\.?\s*#?\w{1,6})?"
    # the town, then a UK postcode ("NW1 6XE") or a US state and ZIP
    r"(?:,\s+[A-Z][A-Za-z]+\b(?:\s[A-Z][A-Za-z]+\b){0,2}"
    r"(?:\s+[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b|(?:,?\s+[A-Z]{2}\b)?(?:\s+\d{5}(?:-\d{4})?)?))?"
)


def find_addresses(text: str) -> Iterator[Span]:
    for m in _ZH_ADDRESS.finditer(text):
        start, end = m.span()
        lead = _ZH_LEAD.match(text[start:end])
        if lead:
            start += lead.end()
        if end - start >= 5:
            yield start, end
    for m in _EN_ADDRESS.finditer(text):
        yield m.span()


RECOGNIZERS: dict[str, Callable[..., Iterator[Span]]] = {
    "EMAIL": find_emails,
    "CARD": find_cards,
    "CN_ID": find_cn_ids,
    "IBAN": find_ibans,
    "IP": find_ips,
    "PHONE": find_phones,
    "ADDRESS": find_addresses,
}

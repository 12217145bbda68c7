"""What a customer's message says about orders, in zh and en, by rules that can be read and tested:
the order intent (status, cancel, change_address, return), an order number typed loosely ("#100234",
"订单号100234", "order no. 100234"), a verification factor (an e-mail, or a phone's last 4 digits), a new
address (also as a correction: "Actually make it …", "不对，改成……"), the words naming each item of a return
("the mug and the teapot"), and "never mind". A question about the policy itself ("what is your return policy?", "可以退货吗")
is not an order request: the knowledge base answers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.orders.model import clean_number, digits

_I = re.IGNORECASE
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# A number after an order word or "#": the strongest sign of an order number, in either language.
_NUMBER_AFTER_WORD = re.compile(
    r"(?:#|＃|\bno\.?|\bnumber|\bnr\.?|订单号码?|订单编号|单号|订单|\border)\s*(?:is|:|：|是|为)?\s*[#＃]?\s*"
    # "order 100 234": a number typed in groups of 3-4 digits is one number (it was read as order 100); "订单
    # 100235 200元" is order 100235
    r"([A-Za-z]{0,4}-?(?:\d{3,4}(?:[ \u3000]\d{3,4})+|\d{3,20}))(?![A-Za-z0-9])", _I)
_BARE_NUMBER = re.compile(r"(?<![A-Za-z0-9.@])(?<![A-Za-z]-)[#＃]?(\d{4,20})(?![A-Za-z0-9])")
# "SO-1001", "AH1001": a number with the shop's prefix, typed alone when the desk asked for it (a product's model
# such as "RTX4090" in a sentence is no order number, so only then)
_PREFIXED_NUMBER = re.compile(r"(?<![A-Za-z0-9.@\-])[#＃]?(?!(?:tel|tlf|mob|cell|fax|ph)\d)([A-Za-z]{1,4}-?\d{3,20})"
                              r"(?![A-Za-z0-9])", re.I)
_LAST4 = re.compile(r"(?:last\s*(?:4|four)(?:\s*digits)?|ending\s+(?:in|with)|ends\s+with|尾号|后\s*(?:四|4)\s*位|"
                    r"末\s*(?:四|4)\s*位)\D{0,16}?(\d{4})(?!\d)", _I)
_PHONE = re.compile(r"(?:phone|mobile|tel|cell|手机号?码?|电话号?码?)\D{0,12}?(\+?\d[\d\s\-]{5,18}\d)", _I)
_PHONE_WORD = re.compile(r"phone|mobile|tel\b|cell|digits|手机|电话|尾号|后\s*(?:四|4)\s*位|末\s*(?:四|4)\s*位", _I)

_EN = {
    "status": [r"\bwhere(?:'s| is| are)\s+(?:my|our)\s+(?:order|parcel|package|delivery|shipment|stuff|items?)",
               r"\b(?:check|track|look up)\b\D{0,12}\d{5,}",
               r"\b(?:track|tracking)\b.{0,30}\b(?:order|parcel|package|shipment)", r"\btracking (?:number|info)",
               r"\border status\b", r"\bstatus of (?:my |the |this )?order", r"\bcheck (?:on )?(?:my|the) order",
               r"\bhas my (?:order|parcel|package) (?:been )?(?:shipped|sent|arrived|dispatched)",
               r"\bwhen (?:will|does|is|do) (?:my|the) (?:order|parcel|package|delivery)",
               r"\bmy (?:order|parcel|package) (?:still )?(?:hasn'?t|has not|didn'?t|did not|never) "
               r"(?:arrived|come|shipped|turned up)",
               r"\b(?:what(?:'s| is) happening|any news|any update) (?:with|on|about) my order",
               r"\bis my order (?:shipped|on (?:its|the) way|coming)"],
    "cancel": [r"\bcancel\b.{0,25}\b(?:my|this|the|an?) ?(?:order|purchase)", r"\bcancel (?:it|order)\b",
               r"\b(?:order|purchase)\b.{0,20}\bcancel", r"\bcancel\s+(?:no\.?\s*|number\s*)?[#＃]?\s*\d{4,}"],
    "change_address": [r"\b(?:change|update|correct|edit|fix|modify)\b.{0,30}\baddress",
                       r"\bwrong (?:shipping |delivery )?address", r"\b(?:different|another|new) (?:delivery |shipping )?address",
                       r"\bsend it to (?:a different|another)"],
    "return": [r"\b(?:want|like|need|wish|going) to return\b",
               r"\breturn (?:this|the|my|an?|one|it|these|those|them|both|two|\d)\b",
               r"\bstart a return\b", r"\bsend (?:it|this|them|these|those|both|the [\w ,&]{1,60}?) back\b", r"\breturn (?:item|order)s?\b",
               r"\brefund (?:for )?(?:my|this|the) (?:order|item)"],
}
_ZH = {
    # An order number may stand between the noun and the question ("订单号 100234 到哪了").
    "status": [r"(?:订单|包裹|快递|货|东西)(?:号|编号|单号)?[\s#:：]*\d{0,20}.{0,6}(?:到哪|在哪|到了吗|什么时候到|啥时候到|何时到|状态|进度|发货了吗|发了吗|"
               r"怎么还没|还没到|还没发|没收到)",
               r"(?:查|查询|查一下|看看|看一下|跟踪|追踪).{0,4}(?:订单|物流|快递|包裹)",
               r"物流(?:信息|进度|状态|单号)", r"快递单号", r"(?:我的|我).{0,8}什么时候(?:能)?(?:到|发货|送到)",
               r"(?:查|查询|查一下|查下|看看|看一下)[^\d]{0,4}\d{5,}"],
    "cancel": [r"(?:我要|我想|帮我|请|麻烦|申请|想要|需要|要|把).{0,8}(?:取消|撤销|撤回)", r"(?:取消|撤销)(?:这个|这笔|我的)?订单",
               r"(?:取消|撤销)\s*[#＃]?\s*\d{4,}",
               r"(?:能|可以|能不能|可不可以)取消"],
    # "修改订单5001的收货地址": an order number may stand between the verb and a delivery address.
    "change_address": [r"(?:改|修改|更改|换|更换|变更).{0,6}(?:收货|配送|送货|邮寄|快递)?地址",
                       r"(?:改|修改|更改|换|更换|变更).{0,20}?(?:收货|配送|送货|邮寄|快递)地址",
                       r"地址(?:写错|填错|错了|不对|有误)", r"地址.{0,4}(?:改|换|更改|修改|变更)"],
    "return": [r"(?:我要|我想|帮我|申请|想要|需要|要|想|请).{0,6}(?:退货|退掉|退回|退了|退款)", r"退货申请",
               r"(?:把|将)[^。！？!?]{0,30}?退(?:掉|了|回)", r"(?:我要|我想|想要|需要|要)退(?:$|[，。！!,.\s])",
               # "退货：订单100234里的杯子和茶壶" (a heading, then what), "我想退订单100234的杯子" (an order named after 退)
               r"(?:^|[，。！？,.!?\s])退货\s*[：:]", r"退货\s*[，,]\s*(?:订单|单号|[#＃]?\s*\d)", r"(?:我要|我想|帮我|想要|需要|请)退(?![出订休役房票烧步群圈])",
               r"(?:我要|我想|帮我|想要|需要|请)退.{0,6}(?:订单|单号)\s*[#＃]?\s*\d"],
}
# A question about the policy itself, unless the customer says "my"/gives a number/asks us to act.
_POLICY_EN = re.compile(r"\b(?:policy|policies|how (?:do|can|long|much)|is it possible|can i|can you|do you|what if)\b", _I)
_POLICY_ZH = re.compile(r"政策|规定|怎么|如何|多久|多少|能不能|可不可以|可以.{0,12}吗|吗[？?]?$")
_MINE_EN = re.compile(r"\bmy\b", _I)
_ACT_ZH = re.compile(r"我要|我想|帮我|麻烦|申请|我的|请")
_STOP = re.compile(r"\b(?:never ?mind|forget (?:it|about it)|no thanks|not now|that'?s all)\b|算了|不用了|没事了|不查了|先不用", _I)
_NO_NUMBER = re.compile(r"(?:don'?t|do not|can'?t|cannot) (?:know|have|remember|find) (?:my |the )?order (?:number|no)|"
                        r"(?:忘了|忘记|不记得|不知道|找不到|没有).{0,4}(?:订单号|单号|订单编号)|"
                        r"(?:订单号|单号|订单编号).{0,4}(?:找不到|忘了|不记得|不知道)", _I)
# "Please send order 5001 to 12 Elm Road" / "把订单5001寄到南京市…": the customer's order (it, the order, a number)
# sent to a place; an address change only when what follows looks like an address (parse() checks), so "Do you ship
# to Canada?" stays a question for the knowledge base.
_SEND_TO = (r"\b(?:send|ship|deliver|post|redirect)\s+(?:it|them|(?:my|the|this) (?:order|package|parcel)|"
            r"order\s*(?:no\.?|number)?\s*#?\s*[A-Za-z]{0,3}\d{3,20}|#\s*\d{3,20})\b.{0,15}?\bto\b|"
            r"订单.{0,24}?(?:寄到|送到|发到|寄往|送往)")
_SEND_TO_ORDER = re.compile(_SEND_TO, _I)
# ... a street, not just a number ("ship it to Beijing 100000" names a city and a postcode, and is a question), and
# no question of how long, how much or whether it was done ("订单寄到北京市朝阳区建国路88号要几天？").
_STREET = re.compile(r"[路号街巷弄道]|\b(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|court|ct|"
                     r"square|sq|terrace|crescent|highway|hwy|apartment|apt|flat|suite|unit|floor|building|block|"
                     r"tower|estate)\b", _I)
_ASKS_ABOUT_SENDING = re.compile(r"\b(?:how (?:long|much|many|soon)|when|did you|have you|has it|will it|does it|"
                                 r"is it|what(?:'s| is) the (?:cost|fee|price))\b|几天|多久|多少|多长时间|什么时候|了吗|"
                                 r"没有|是否|能不能到|可以到吗", _I)
_ADDRESS_AFTER = re.compile(r"(?:address\b.{0,30}?\bto\b|" + _SEND_TO + r"|new address(?: is)?|address is|改成|改为|"
                            r"换成|换到|改到|寄到|送到|发到|新地址(?:是|为)?)\s*[:：]?\s*(.{6,})$", _I)

# What makes the words after "to" / "改成" an address: a number, or a word for a street, a district, a city
# ("a different city after ordering" and "别的城市" name none: 城市 is no city's name).
_LOOKS_LIKE_ADDRESS = re.compile(
    r"\d|[路号街巷弄区县镇村省]|(?<!城)市|(?<!知)道|\b(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|"
    r"drive|dr|court|ct|square|sq|terrace|crescent|highway|hwy|apartment|apt|flat|suite|"
    r"unit|floor|building|block|tower|estate|postcode|zip)\b", _I)
# A question about changing an address at all ("is it possible … after ordering?", "once it has shipped?"):
# the knowledge base's, unless it names the new address. Words of when or of the rules make it one even with "my"
# ("Can I change my address after it has shipped?"); "can I / how" only without "my" / 帮我: "可以帮我改一下收货地址吗"
# asks for the change.
_ADDRESS_WHEN = re.compile(r"\b(?:after|once|policy|policies|ever)\b|多久|政策|规定|之后|以后", _I)
_ADDRESS_QUESTION = re.compile(r"\b(?:possible|how)\b|能否|可以.{0,12}吗|能不能", _I)
_ADDRESS_TAIL = re.compile(r"(?:[,，]?\s*(?:好吗|可以吗|行吗|行不行|吗|呢|谢谢|please|thanks|thank you))?[\s。.?？!！]*$", _I)

_COMPILED = {lang: {k: [re.compile(p, _I) for p in v] for k, v in rules.items()} for lang, rules in
             (("en", _EN), ("zh", _ZH))}
INTENTS = ("status", "cancel", "change_address", "return")


@dataclass
class Parsed:
    intent: str = ""  # one of INTENTS, or ""
    number: str = ""  # an order number
    factor: str = ""  # an e-mail or 4 digits
    stop: bool = False
    no_number: bool = False
    policy_question: bool = False  # about the policy, not about an order: the knowledge base's
    address: str = ""  # a new delivery address the message gives ("" = none)
    correction: bool = False  # it corrects what the customer said before ("Actually make it …", "不对，改成……")


def _intent(text: str) -> str:
    for lang in ("en", "zh"):
        for intent in ("change_address", "cancel", "return", "status"):  # most specific first
            if any(p.search(text) for p in _COMPILED[lang][intent]):
                return intent
    return ""


def other_numbers(text: str, chosen: str) -> list[str]:
    """Order numbers the message names besides `chosen` ("Where are my orders 100234 and 100235?"): 5-20 digits
    after an order word or standing alone, not a phone's, an e-mail's or a factor's."""
    text = EMAIL.sub(" ", text)
    found = []
    for m in [*_NUMBER_AFTER_WORD.finditer(text), *_BARE_NUMBER.finditer(text)]:
        number = clean_number(m.group(1))
        if (len(digits(number)) >= 5 and number != chosen and number not in found
                and not _PHONE_WORD.search(text[max(0, m.start() - 16):m.start()])):
            found.append(number)
    return found


def find_number(text: str, *, bare: bool = False, asked: bool = False) -> str:
    """An order number in `text`: after an order word or "#"; with `bare`, also a lone 4-20 digit number
    (not an e-mail's, a phone's or a factor's digits); with `asked` (the desk asked for the number), also one
    with a letter prefix ("SO-1001": not "1001")."""
    text = EMAIL.sub(" ", text)
    for m in _NUMBER_AFTER_WORD.finditer(text):
        if not _PHONE_WORD.search(text[max(0, m.start() - 12):m.start()]):
            return clean_number(m.group(1))
    # a plain number first: "100235, the lamp model AL200" names order 100235, not the lamp's model code
    for pattern, wanted in ((_BARE_NUMBER, bare or asked), (_PREFIXED_NUMBER, asked)):
        if not wanted:
            continue
        for m in pattern.finditer(text):
            if not _PHONE_WORD.search(text[max(0, m.start() - 16):m.start()]):
                return clean_number(m.group(1))
    return ""


def find_factor(text: str, *, bare: bool = False) -> str:
    """An e-mail address, or the last 4 digits of a phone number; with `bare`, a message that is only 4 digits
    or only a phone number counts too (the desk has just asked for one)."""
    if m := EMAIL.search(text):
        return m.group(0)
    if m := _LAST4.search(text):
        return digits(m.group(1))
    if m := _PHONE.search(text):
        return digits(m.group(1))[-4:]
    if bare:
        only = re.sub(r"[\s\-+()。.,，!！]", "", text)
        if only.isdecimal() and (len(only) == 4 or len(only) >= 7):
            return digits(only)[-4:]
    return ""


def looks_like_address(text: str) -> bool:
    """A house number, a street word or an address character ("ok thank you" is no address)."""
    return bool(_LOOKS_LIKE_ADDRESS.search(text))


def new_address(text: str) -> str:
    """The address after "to" / "改成" in a change-address request ("" when the message names none, or words that
    name no place: "to another place once it has shipped"), without the question or courtesy that may close the
    message ("…1000号吗？", "…Shanghai, please?")."""
    m = _ADDRESS_AFTER.search(text.strip())
    address = _ADDRESS_TAIL.sub("", _CLOSING.sub("", m.group(1))).strip(" 。.") if m else ""
    return address if _LOOKS_LIKE_ADDRESS.search(address) else ""


# What opens a correction, each ending where the corrected value begins: "Actually make it …", "sorry, I meant …",
# "no wait, it should be …", "不对，改成……", "应该是……". English words end at a word's end ("no" is not "North"
# or "No. 5", "um" not "Umbria").
_FIX_EN = (r"(?:no+|nope|oh|oops|sorry|wait|hold on|hang on|actually|hmm+|um+|correction|my (?:bad|mistake)|"
           r"i'?m sorry|i (?:meant|mean)|(?:it|that) should (?:be|read|have been)|should (?:be|read)|make (?:it|that)|"
           r"change (?:it|that)(?: to)?|(?:that'?s|that is|it'?s|it is) (?:wrong|not right|incorrect)|"
           r"(?:the |my )?(?:address|one) (?:is|was) wrong|i made a (?:typo|mistake)|instead)(?![A-Za-z'.])")
_FIX_ZH = (r"不对|我?(?:说|写|填|打|搞|弄)错了|错了|抱歉|不好意思|对不起|等一下|等等|其实|我是说|我的意思是|应该是|"
           r"应该为|应该|改成|改为|换成|改到|更正为|更正|地址(?:写错了|填错了|错了|不对|有误)")
# Words that may stand before an address without correcting anything ("it's …", "the new address is …", "是……").
_FILLER = (r"(?:(?:could|can|would|will) you(?: please)?|it'?s|it is|"
           r"the (?:new |correct |right )?(?:delivery |shipping )?address (?:is|should be)|"
           r"(?:new |correct )?address(?: is)?|to|please|ok(?:ay)?|so|then|send it to|deliver (?:it )?to)(?![A-Za-z'.])|"
           r"(?:能不能|可不可以|可以|能否|麻烦|请)(?:帮我|帮忙)?|帮我|帮忙|新地址(?:是|为)?|地址(?:是|为)|寄到|送到|发到|是|为")
_PUNCT = r"[\s,，.。!！:：;；、—\-]*"
_FIX_LEAD = re.compile(_PUNCT + "(?:" + _FIX_EN + "|" + _FIX_ZH + ")", _I)
_FILLER_LEAD = re.compile(_PUNCT + "(?:" + _FILLER + ")", _I)
# "not 1 Old Road but 2 New Road", "不是老地址，而是……": the second one is meant.
_NOT_BUT = re.compile(r"^(?:not\b|不是).+?(?:[,，;；]?\s*(?:\bbut(?: rather)?\b|而是)|[,，;；]\s*(?:是|it'?s\b))", _I)
_CLOSING = re.compile(r"(?:[,，]?\s*(?:instead|please|thanks|thank you|thx|才对|吧|哈|哦|呢|谢谢你?))+[\s。.!！?？]*$", _I)
# An order number is no address ("sorry, I meant order 100235"), and neither are digits alone.
_ORDER_REF = re.compile(r"(?:\border\b|订单|单号|[#＃])\s*(?:no\.?|number|nr\.?|号码?|编号)?\s*(?:is|:|：|是)?\s*[#＃]?"
                        r"\s*[A-Za-z]{0,4}-?\d", _I)
# Words no address has: what holds them asks something ("Sorry, Do you deliver to 11 Downing Street?").
_NOT_ADDRESS = re.compile(r"\b(?:you|your|we|do|does|did|is|are|can|could|will|would|deliver|ship|shipping)\b|"
                          r"你|吗|能不能|可不可以|是否|多久|多少", _I)
# A corrected address begins like one: a number, a capital, a Chinese character, a flat / unit / building word
# ("wait, is 11 Downing Street in your area" is a question, not a correction).
_ADDRESS_START = re.compile(r"[\dA-Z\u4e00-\u9fff]|(?i:no\.|flat|apt|apartment|unit|suite|room|floor|building|block|"
                            r"house)\b")


def spoken_address(text: str) -> tuple[str, bool]:
    """(the address a message gives after the words that open it, whether one of them corrects what was said):
    "Actually make it 11 Downing Street, London" -> ("11 Downing Street, London", True), "It's 5 Elm Road, thanks"
    -> ("5 Elm Road", False). The address is "" when what is left names no place, or names an order."""
    rest, fixed = text.strip(), False
    while m := _FIX_LEAD.match(rest) or _FILLER_LEAD.match(rest):
        fixed = fixed or m.re is _FIX_LEAD
        rest = rest[m.end():]
    if m := _NOT_BUT.match(rest):
        rest, fixed = rest[m.end():], True
    rest = _ADDRESS_TAIL.sub("", _CLOSING.sub("", re.sub("^" + _PUNCT, "", rest))).strip(" ,，。.:：")
    named = (_LOOKS_LIKE_ADDRESS.search(rest) and not _ORDER_REF.search(rest) and not _NOT_ADDRESS.search(rest)
             and not re.fullmatch(r"[\d\s\-]+", rest) and (not fixed or _ADDRESS_START.match(rest)))
    return (rest if named else ""), fixed


# The words a return names its items by: after the verb ("return the mug and the teapot from order 100234", "退货：
# 订单100234里的杯子和茶壶"), between 把 and 退 ("把杯子和茶壶退了") or before 退 ("记忆棉枕头我要退"); the order named
# in them taken out, cut where the sentence goes on ("…, they arrived broken"), split where the customer lists.
_ITEMS_ORDER = re.compile(r"(?:\b(?:from|of|in|on|for)\s+)?(?:\b(?:my|the|this|that)\s+)?(?:\border\b|订单号?|单号)"
                          r"(?:\s*(?:no\.?|number|nr\.?|编号)?\s*(?:is|:|：|是)?\s*[#＃]?\s*[A-Za-z]{0,4}-?\d[\d\u3000 ]*)?"
                          r"(?:里面|里|中|内)?的?|(?:\b(?:from|of|in|on|for)\s+)?[#＃]\s*\d+", _I)
_RETURN_EN = re.compile(r"\b(?:return(?:ing)?|send(?:ing)?|refund(?:ing)?)\b", _I)
_RETURN_BA = re.compile(r"(?:把|将)(.+?)(?:都|全部|全)?退")
_RETURN_ZH = re.compile(r"退(?:货|掉|回|了|款)?")
_WANT_ZH = re.compile(r"(?:我|我们)?(?:要|想|想要|需要|申请|打算)?[\s，,：:]*$")
# Where the list of items ends: a stop, a reason, another verb ("…the mug and get a refund", "…and exchange the
# teapot"), or a comma that starts a clause of its own ("the mug, the tea was fine": "tea" is no item to return)
_ITEMS_END = re.compile(r"[.!?;。！？；]|\b(?:because|since|(?<!well )as(?! well as\b)|but|they|it|which|who|please|"
                        r"thanks|thank you|back|for (?:a )?refund|due to|get|exchange|swap|keep|is|was|were|are|"
                        r"arrived|came|looks?|looked|seems?)\b|[,，](?=\s*(?:(?:the|my|this|that|your)\s+)?[a-z]+\s+"
                        r"(?:is|was|were|are|arrived|came|looks?|looked|seems?)\b)|因为|由于|坏了|破了|有问题|质量|谢谢|麻烦", _I)
_ITEMS_LIST = re.compile(r"\s*(?:,|、|/|&|\+|\band\b|\bplus\b|\bas well as\b|和|跟|与|以及|及|还有)\s*", _I)
_ITEM_LEAD = re.compile(r"^(?:(?:both|the|my|a|an|these|those|this|that|also|items?|products?|things?)\b|[:：,，\s]|"
                        r"这个|那个|这件|那件|一个|一件|的|这|那|个|件|只)+", _I)
_NO_ITEM = re.compile(r"(?:it|them|something|items?|products?|things?|order|stuff|商品|东西|货|\d{3,})?", _I)


def item_phrases(text: str) -> list[str]:
    """The customer's words for each item a return names: "I want to return the mug and the teapot from order
    100234" -> ["mug", "teapot"], "退货：订单100234里的杯子和茶壶" -> ["杯子", "茶壶"], an answer "1 and 3" -> ["1", "3"];
    [] when it names none ("I'd like to return an item", "我要退货")."""
    def clause(words: str) -> str:
        end = _ITEMS_END.search(words)
        return words[:end.start()] if end else words

    text = _ITEMS_ORDER.sub(" ", EMAIL.sub(" ", text))
    if m := _RETURN_BA.search(text):
        region = m.group(1)
    elif re.search(r"[\u4e00-\u9fff]", text) and (m := _RETURN_ZH.search(text)):
        after = clause(text[m.end():])  # "退货：杯子和茶壶", or else before it: "杯子和茶壶要退货，因为……"
        region = after if after.strip(" ，,。：:") else clause(_WANT_ZH.sub("", text[:m.start()]))
    elif m := _RETURN_EN.search(text):
        region = clause(text[m.end():])
    else:
        region = clause(text)  # an answer to "which item?"
    phrases = [_ITEM_LEAD.sub("", words).strip(" ,，。.:：") for words in _ITEMS_LIST.split(region)]
    return [words for words in dict.fromkeys(phrases) if words and not _NO_ITEM.fullmatch(words)]


def parse(text: str, awaiting: str = "") -> Parsed:
    """Everything the desk reads from one message; `awaiting` (number / factor) lets a bare reply count."""
    intent = _intent(text)
    if (not intent and _SEND_TO_ORDER.search(text) and _STREET.search(new_address(text))
            and not _ASKS_ABOUT_SENDING.search(text)):
        intent = "change_address"  # "Please send order 5001 to 12 Elm Road, Springfield"
    p = Parsed(stop=bool(_STOP.search(text)), no_number=bool(_NO_NUMBER.search(text)))
    p.factor = find_factor(text, bare=awaiting == "factor")
    address = new_address(text) if intent == "change_address" or awaiting == "address" else ""
    spoken, p.correction = spoken_address(text)
    # An address given alone when asked for, or a corrected one ("Actually make it …", "地址不对，应该是……")
    if not address and intent in ("", "change_address") and (p.correction or (awaiting == "address" and not intent)):
        address = spoken
    p.address = address
    # Digits of a new address (a postcode, a house number) are no order number.
    scope = text[:text.rfind(address)] if address else ("" if awaiting == "address" else text)
    number = find_number(scope, bare=bool(intent), asked=awaiting == "number")
    # While a factor is awaited, a 4-digit answer is the factor, not another order number.
    if number and awaiting == "factor" and p.factor and digits(number)[-4:] == p.factor and len(number) <= 4:
        number = ""
    if number and p.factor and number == p.factor:
        number = ""
    p.number = number
    # "Can I change the delivery address to 99 Huaihai Road?" names its own new address: no policy question asks
    # that, so it is a request about the customer's order even without "my".
    if intent and not number and not (intent == "change_address" and address):
        zh = bool(re.search(r"[\u4e00-\u9fff]", text))
        mine = _ACT_ZH.search(text) if zh else _MINE_EN.search(text)
        policy = (_POLICY_ZH if zh else _POLICY_EN).search(text)
        if policy and not mine and intent != "status":
            p.policy_question, intent = True, ""
        elif intent == "change_address" and (_ADDRESS_WHEN.search(text) or (not mine and _ADDRESS_QUESTION.search(text))):
            p.policy_question, intent = True, ""  # "Can I change my address after it has shipped?"
    p.intent = intent
    return p

"""Small talk that stays small: what the router may treat as small talk, and which small-talk replies must not be sent.

The router sends greetings and chatty messages to small talk, where the model replies from the persona alone.
Two things went wrong there:

- a greeting ("hi", "谢谢", "在吗") always retrieves some passage; the second reading turned it down (or, worse, said
  yes to the store-address row) and the customer who said hello got "I don't know the answer to that".
  `chit_chat` and `about_assistant` say which greetings are small talk whatever the documents near them say;
- a shop question that sounds like small talk ("Are you open on Sunday?", read as a greeting by the intent
  classifier) got an answer with nothing behind it ("Yes, we are open on Sunday." from a shop closed on Sundays).
  `answers_from_nothing`: a reply to a real question that speaks for the shop ("we"/"我们", or a yes/no) is not
  sent; the customer gets the honest "I don't know" with the offer of a colleague.

A question about the assistant itself may not be answered with a lie about what it is (`misstates_identity`:
"No, I am a human being.", "我是由阿里云开发的…").
"""

from __future__ import annotations

import re

# A clause that asks: a question mark, a Chinese question particle or word, or an English question opening.
_ZH_ASKS = re.compile(r"[吗么嘛][呀啊哈]?\s*$|几|多少|什么|怎么|哪|是否|能不能|有没有|可不可以|会不会|是不是")
_EN_ASKS = re.compile(r"^(?:hi|hey|hello|hiya|good (?:morning|afternoon|evening))?[\s,!.]*"
                      r"(?:are|is|do|does|did|can|could|will|would|when|what|where|how|why|which|who|any|anyone|"
                      r"anybody)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.!;，。！；\n]+")
# The reply speaks for the shop: first person plural ...
_SHOP_VOICE = re.compile(r"\b(?:we|we're|we've|we'll|we'd|our|ours|us)\b|我们|本店|咱们|我店|小店", re.IGNORECASE)
# ... or opens with an answer to a yes/no question.
_EN_POLARITY = re.compile(r"^\W*(?:yes|yeah|yep|no|nope|sure|of course|absolutely|definitely|certainly|"
                          r"unfortunately)\b", re.IGNORECASE)
_ZH_POLARITY = re.compile(r"^\W*(?:是的|是|对的|对|可以|能|不能|不|没有|有的|有|当然|暂时|目前)")
_WORDS = re.compile(r"[A-Za-z']+|\d+|[\u4e00-\u9fff]")
# Questions about the assistant itself, not the shop: who or what it is, its name, how it is.
_ABOUT_ASSISTANT = re.compile(
    r"\b(?:who are you|what are you|what(?:'s| is) your name|your name|how are you|are you (?:a |an )?(?:real |"
    r"actual )?(?:robot|bot|human|person|ai|machine|chatbot|computer)|are you real)\b"
    r"|你是谁|你叫什么|你的名字|你是(?:不是)?(?:真人|机器人|人工智能|ai|AI|人)|你好吗|你是真的|是机器人吗|是真人吗",
    re.IGNORECASE)
# Whether the assistant is a person ("Are you a real person?", "Am I talking to a bot?", "你是真人吗？"): its identity
# text answers that. The words "real person"/"真人" in such a question are no request for one: the router had opened a
# ticket for it and told the customer a colleague would follow up.
_WHAT = r"(?:human being|human|person|bot|robot|ai|machine|chatbot|computer)"
# "Is it a robot?" / "Is this a computer?" may ask about a product (a robot vacuum, a laptop shop): after "is this"
# only the words for a person or a chat bot count, and "is it" not at all.
_THIS_WHAT = r"(?:human being|human|person|bot|chatbot)"
_ASKS_IF_PERSON = re.compile(
    r"\b(?:(?:are you|am i (?:talking|speaking|chatting) (?:to|with))\s+(?:a |an )?(?:real |actual |live )?" + _WHAT
    + r"|is this\s+(?:a |an )?(?:real |actual |live )?" + _THIS_WHAT + r")\b"
    r"(?:\s+or\s+(?:not|(?:a |an )?(?:real |actual |live )?" + _WHAT + r")\b)?"
    r"(?=\s*(?:[?？.!！,，;；]|$))"  # the clause ends there: "is this a person to person sale" asks more
    r"|[你您]是(?:不是)?(?:真人|真的人|机器人|人工智能|人工|ai|人)(?:还是(?:真人|机器人|人工智能|人工|ai|人))?"
    r"|^\s*(?:请问\s*)?是(?:真人|机器人)(?:吗|还是(?:真人|机器人))",  # not "这个扫地机是机器人吗？", a product question
    re.IGNORECASE)
# Questions for the shop's name ("What's your store called?", "你们店叫什么名字？"): its identity text names it. A
# shop's config states its name while its documents often do not, so the knowledge base had nothing to answer with.
_SHOP_NAME = re.compile(
    r"\bwhat(?:'s| is) the name of (?:your|this) (?:shop|store|company|business|website|site)\s*[?？.!]*$"
    r"|\bwhat(?:'s| is) (?:your|this) (?:shop|store|company|business)(?:'s)? (?:name|called)\b"
    r"|\bwhat are you called\b|\bwhat (?:shop|store) is this\s*[?？.!]*$"
    r"|\bwho am i (?:talking|speaking|chatting) (?:to|with)\b"
    r"|(?:你们|你们店|你们家|这家店|本店)的?(?:店名|名字|名称)(?:是|叫)?(?:什么|啥)|店名(?:是|叫)(?:什么|啥)"
    r"|(?:你们|你们店|你们家|这家店|这个店)叫(?:什么|啥)|你们是(?:什么|哪家)店", re.IGNORECASE)
# What the shop sells, asked of the shop as a whole ("What do you sell?", "你们店卖什么的？"): the shop's description in
# its config answers it. Its documents seldom say it in one sentence, and a description read as a document came first
# for questions it does not answer; "Do you sell bikes?" names a product and is the documents' to answer.
_WHAT_SHOP_SELLS = re.compile(
    r"^\W*(?:(?:hi|hey|hello|hiya)\b[\s,!.]*)?(?:so\s+)?(?:what|which)\s+(?:(?:kinds?|sorts?|types?)\s+of\s+)?"
    r"(?:products?\s+|things\s+|stuff\s+|goods\s+|items\s+)?(?:do|does|can)\s+(?:you|your (?:shop|store)|this (?:shop|store))"
    r"(?:\s+guys)?\s+(?:sell|offer|carry|stock|have)(?:\s+here)?\s*[?？.!]*$"
    r"|^\W*(?:hi|hey|hello)?[\s,!.]*what(?:'s| is) (?:your|this) (?:shop|store|business|company) about\s*[?？.!]*$"
    r"|^\W*(?:hi|hey|hello)?[\s,!.]*what (?:kind|sort|type) of (?:shop|store|business|company) (?:is this|are you)\s*[?？.!]*$"
    r"|^\W*(?:你好|您好|hi|hello)?[\s,，!！]*(?:请问)?(?:你们|你们店|你们家|这家店|这个店|本店|贵店)?(?:都|主要)?"
    r"(?:卖|经营|售卖|销售|做)(?:些|的是)?(?:什么|啥|哪些)(?:东西|产品|商品|的)?(?:呀|啊|呢)?\s*[?？。!！]*$"
    r"|^\W*(?:你好|您好)?[\s,，!！]*(?:请问)?(?:你们|你们店|你们家|这家店)(?:都)?有(?:什么|啥|哪些)(?:产品|商品|东西)"
    r"(?:呀|啊|呢)?\s*[?？。!！]*$"
    r"|^\W*(?:请问)?(?:你们|你们店|这家店)?是(?:做什么|干什么|卖什么)的(?:店)?(?:呀|啊|呢)?\s*[?？。!！]*$",
    re.IGNORECASE)
# A reply that says it is a person, or made by someone other than the shop.
_IDENTITY_LIE = re.compile(
    r"\b(?:i am|i'm) (?:a |an )?(?:real )?(?:human|person|human being)\b|\bnot (?:a |an )?(?:robot|bot|ai|machine)\b"
    r"|\b(?:alibaba|openai|anthropic|chatgpt|gpt-?\d|qwen|tongyi)\b"
    r"|我是(?:一个)?真人|我是人类|不是机器人|阿里云|阿里巴巴|通义|千问|OpenAI", re.IGNORECASE)


def asks_something(message: str) -> bool:
    """Whether the customer's message asks a question (any of its clauses)."""
    text = (message or "").strip()
    if text.endswith(("?", "？")):
        return True
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    return any(_ZH_ASKS.search(c) or _EN_ASKS.match(c) for c in clauses)


def chit_chat(message: str) -> bool:
    """A greeting, thanks or goodbye rather than a question: it asks nothing, or is three words (characters) or
    fewer ("在吗", "how are you?")."""
    return not asks_something(message) or len(_WORDS.findall(message or "")) <= 3


def about_assistant(message: str) -> bool:
    """Whether the message asks about the assistant itself ("Are you a robot?", "你是谁？"), the shop's name or what
    it sells."""
    return (_ABOUT_ASSISTANT.search(message or "") is not None or asks_if_person(message) or asks_shop_name(message)
            or asks_what_shop_sells(message))


def asks_if_person(message: str) -> bool:
    """Whether the message asks if the assistant is a person or a machine ("Are you a real person?", "你是真人吗？")."""
    return _ASKS_IF_PERSON.search(message or "") is not None


def without_person_question(message: str) -> str:
    """`message` without its question whether the assistant is a person: what is left may still ask for one
    ("Are you a bot? I want a real person")."""
    return _ASKS_IF_PERSON.sub(" ", message or "")


# What may stand around that question and ask nothing more: punctuation, particles, a greeting.
_FILLER = re.compile(r"[\W_]+|\b(?:hi|hey|hello|so|ok|okay|please|honestly|really|seriously|just|lol)\b|[吗呢啊呀吧嘛哈哦喂]",
                     re.IGNORECASE)


def only_asks_if_person(message: str) -> bool:
    """Whether the message asks if the assistant is a person and nothing more ("Hey, are you a bot?", "你是真人吗？");
    "Are you human? Connect me to one please" asks more."""
    return asks_if_person(message) and not _FILLER.sub("", without_person_question(message))


def asks_shop_name(message: str) -> bool:
    """Whether the message asks what the shop is called ("What's your store called?", "你们店叫什么名字？")."""
    return _SHOP_NAME.search(message or "") is not None


def asks_what_shop_sells(message: str) -> bool:
    """Whether the message asks what the shop sells, naming no product ("What do you sell?", "你们店卖什么的？")."""
    return _WHAT_SHOP_SELLS.search((message or "").strip()) is not None


def speaks_for_shop(reply: str) -> bool:
    """Whether a reply states something on the shop's behalf: "we"/"我们", or opens with a yes or no."""
    text = (reply or "").strip()
    return bool(_SHOP_VOICE.search(text) or _EN_POLARITY.match(text) or _ZH_POLARITY.match(text))


def answers_from_nothing(message: str, reply: str) -> bool:
    """A small-talk reply that must not be sent: the customer asked about the shop (not chit-chat, not about the
    assistant), and the reply speaks for the shop."""
    return not chit_chat(message) and not about_assistant(message) and speaks_for_shop(reply)


def misstates_identity(reply: str) -> bool:
    """Whether a reply says the assistant is a person, or names another maker ("我是由阿里云开发的")."""
    return _IDENTITY_LIE.search(reply or "") is not None

"""Yes/no questions whether a policy covers one item ("Can I return the lamp?", "星芒H400头灯没用过，不想要了能退吗",
"Does the kettle come with a warranty?"), answered from what the shop says about the policy.

Sentence scoring picks whatever sentence shares the most words with such a question, and most of its words name
the item: the lamp page's "The LED cannot be replaced by the user.", the headlamp's "红光模式不会影响夜视", a grinder's
"Colours: graphite grey and sand" for "I don't like the colour, can I return it?". The customer asks about the
policy, so the sentences read are those that name it (with their heading: a line of the returns page names
returns), from the retrieved passages and from the whole page on the policy (a warranty table's headlamp row is
rarely retrieved for a question full of the headlamp's name):
- first those that also name the item or the customer's words about it ("Opened coffee and tea cannot be
  returned" for an opened tin of tea, "Water filters that have been used cannot be returned");
- then the policy's main terms (knowledge_base.overview: the general rule, "within 30 days of delivery if
  unused");
- then the other sentences about the policy.
When no sentence names the item with the policy, the main terms are the answer, as for a broad policy question;
unless the page on the policy is in the other language than the question, where the customer's words for the item
cannot be found: the question is then answered as any other (and retried translated), since the page may well
have an exception for the item that the general rule would contradict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.language import answer_language
from knowledge_base.grounding import Evidence
from knowledge_base.overview import (
    GENERIC_WORDS,
    TOPIC_WORDS,
    Page,
    Topic,
    names_word,
    overview_evidence,
    page_hit,
    page_title,
)
from knowledge_base.text import asks_what, tokenize

# Sections whose leads answer "Can I return the lamp?" when nothing more specific is said about the lamp: the general
# rule, short enough to translate quickly for a customer writing the page's other language
TERM_SECTIONS = 2
# A clause asking whether something can be returned, exchanged, refunded, or has a warranty, and the topic word
# (overview.TOPIC_WORDS) it asks about
_EN_ASKS = [(re.compile(p, re.IGNORECASE), topic) for p, topic in (
    # "return to the store" and "exchange my points for a voucher" ask no policy
    (r"\b(?:can|could|may) (?:i|we) (?:still |please )?(?:return (?!to\b)|send\b.{0,40}\bback\b|get (?:a )?refund\b)",
     "return"),
    (r"\b(?:can|could|may) (?:i|we) (?:still |please )?exchange (?:it|this|that|these|them|the|my|a|an)\b"
     r"(?!.{0,30}\b(?:points?|currency|money|cash|voucher|coupon)s?\b)", "exchange"),
    (r"\b(?:is|are)\b.{0,60}\b(?:returnable|refundable)\b", "return"),
    (r"\b(?:can|could)\b.{0,60}\bbe (?:returned|refunded|sent back)\b", "return"),
    (r"\b(?:can|could)\b.{0,60}\bbe exchanged\b", "exchange"),
    (r"\b(?:does|do|is|are)\b.{0,60}\b(?:come with|have|covered by|under|carry)\b.{0,12}\b(?:warranty|guarantee)\b",
     "warranty"),
)]
# "能换电池吗", "可以换收货地址吗" ask no exchange: only 换货/调换/退换, a size or colour, or 换 asked about on its own
_ZH_ASKS = [(re.compile(p), topic) for p, topic in (
    (r"(?:可以|能|还能|能不能|可不可以|支持|可否|能否)?(?:退货|退换货|退换|退款|退)(?:吗|嘛|么|不|[？?]|$)", "退货"),
    (r"(?:可以|能|还能|能不能|可不可以|支持|可否|能否)(?:换货|调换|换(?:吗|么|不|[？?]|$)|换(?:个|一个|成)?(?:尺码|码|"
     r"颜色|大一|小一|同款))", "换货"),
    (r"(?:有|有没有|带|包)(?:保修|质保)", "保修"),
)]
# The words of the policy itself, and those that point at the item rather than say anything about it
_POLICY_WORD = re.compile(r"^(?:return|refund|exchang|send|back|warrant|guarante|sent)|退|换|保修|质保")
# (negations and light words, which nearly every sentence of a policy has too, and what jieba leaves of the question's
# own words: 头灯能不能退 -> 不能; "used" and "unused" are the general rule's own conditions: "The Taste Guarantee can
# be used once a year" says nothing about a grinder).
_NOT_ITEM = frozenset("i me my it its this that these those them they one your you the a an can could may "
                      "still pleas get got bought buy come don't not haven't hasn't didn't doesn't isn't no never "
                      "just realli like need want anymor use unus under cover".split()) | frozenset(
    ("能", "可以", "还", "还能", "能不能", "可不可以", "是否", "吗", "了", "的", "我", "你们", "这个", "那个", "不", "没",
     "着", "太", "多", "买", "想要", "不想", "已经", "一次", "看看", "喜欢", "要", "不能", "可不", "不可", "我能",
     "有没有", "没有", "不了", "那", "这"))
# Sentences that state a returns rule without its word ("The Oslo sofa is final sale", "定制商品售出不退")
_RETURNS_RULE = re.compile(r"final sale|non-?returnable|non-?refundable|不退|不予退|不可退|不支持退|不接受退", re.IGNORECASE)


@dataclass
class ItemQuestion:
    topic: Topic  # the policy asked about ("return"; "保修")
    words: tuple[str, ...]  # the message's other words: the item and what the customer says about it


def item_question(question: str) -> ItemQuestion | None:
    """The policy and the item of a yes/no question whether a policy covers one item; None for any other question,
    and for one that names no item ("Can I return it?", "能退吗": the goods in general, or a follow-up)."""
    text = " ".join((question or "").split())
    if asks_what(text):  # "How long is the warranty on…", "退款多久到账": one fact of the policy, read as any question
        return None
    topic = next((t for p, t in (*_EN_ASKS, *_ZH_ASKS) if p.search(text)), None)
    if topic is None:
        return None
    words = tuple(dict.fromkeys(w for w in tokenize(text) if w not in _NOT_ITEM | GENERIC_WORDS
                                and not _POLICY_WORD.search(w) and w.strip()))
    return ItemQuestion(Topic((topic,)), words) if words else None


def names_policy(topic: Topic, sentence: Evidence) -> bool:
    """Whether the sentence, with its heading and page title, names the policy (in either language; a warranty by
    its looser words too, "repair", "维修"), or states a returns rule ("final sale", "售出不退")."""
    low = sentence.quoted.lower()
    return any(names_word(w, low, 2) for w in topic.words) or (
        any(w in TOPIC_WORDS["returns"] for w in topic.words) and _RETURNS_RULE.search(low) is not None)


def names_item(item: ItemQuestion, sentence: Evidence, words: set[str] | None = None) -> bool:
    """Whether the sentence, with its heading, names the item or what the customer says about it (`words`: the
    item's words to look for, default all). The title of the policy's own page does not count ("Returns — Slow
    Ember Roasters" names no Ember grinder); a product page's does (its "Returns" section is about that product)."""
    title, _, section = sentence.context.partition(">")
    if any(names_word(w, title.lower(), 1) for w in item.topic.words):
        title = ""
    return bool((set(item.words) if words is None else words) & set(tokenize(f"{title} {section} {sentence.text}")))


def policy_page_sentences(question: str, terms: Sequence[Evidence], chunks_of: Callable[[str], list],
                          finder) -> list[Evidence]:
    """Every sentence of the policy's page (the one `terms` come from), scored by `finder` against the question: a
    warranty table's row for the headlamp is rarely among the passages retrieved for a question full of the
    headlamp's name, which its product page matches better."""
    if not terms:
        return []
    return finder.find(question, [page_hit(*chunk) for chunk in chunks_of(terms[0].hit.source)])


READ, TERMS = "read", "terms"


def item_evidence(item: ItemQuestion, ranked: Sequence[Evidence], terms: Sequence[Evidence], count: int,
                  language: str = "") -> tuple[list[Evidence], str]:
    """(the evidence, how to answer from it). READ: the sentences naming the policy and the item, then the main terms
    (`terms`: overview_evidence), then the other sentences naming the policy, `count` at most, for the second
    reading; [] (the usual evidence stays) when the shop has no page on the policy, or when nothing names the item
    with the policy on a page in another language than the question (`language`): the customer's words for the
    item cannot be found there, so the page may well have an exception for it ("Gift cards cannot be refunded"
    for "礼品卡买了不想要，可以退款吗") that the general rule would contradict. TERMS: the main terms alone, sent as
    they are, when no sentence names the item with the policy."""
    if not terms:
        return [], READ
    # words of the policy page's title name the shop or the policy ("Slow Ember Roasters"), not the item
    words = set(item.words) - set(tokenize(page_title(terms[0].hit)))
    about = [e for e in ranked if names_policy(item.topic, e)]
    own = sorted((e for e in about if names_item(item, e, words)), key=lambda e: -e.score)
    if not own:
        page_language = str(terms[0].hit.metadata.get("lang") or "")
        return ([], READ) if language and page_language and page_language != language else (list(terms), TERMS)
    out, seen = [], set()
    for e in (*own, *terms, *about):
        if (e.hit.chunk_id, e.text) not in seen:
            seen.add((e.hit.chunk_id, e.text))
            out.append(e)
    return out[:count], READ


def item_policy_evidence(item: ItemQuestion, question: str, hits: Sequence, ranked: Sequence[Evidence],
                         chunks_of: Callable[[str], list], finder, pages: Sequence[Page], language: str,
                         count: int, overview_sentences: int) -> tuple[list[Evidence], str]:
    """item_evidence for `question` (item_question's `item`) with the shop's store: the policy's main terms from the
    page on it, that page's sentences beside the retrieved ones (`ranked`)."""
    read: dict[str, list] = {}  # each page's chunks fetched from the store once, for the terms and the sentences

    def chunks(source: str) -> list:
        if source not in read:
            read[source] = chunks_of(source)
        return read[source]

    terms = overview_evidence(question, item.topic, hits, chunks, finder, min(overview_sentences, TERM_SECTIONS),
                              pages, language)
    page = policy_page_sentences(question, terms, chunks, finder)
    written_in = answer_language(question)  # a retry asks in the other language than the customer's
    return item_evidence(item, [*ranked, *page], terms, count, written_in)

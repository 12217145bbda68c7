"""Broad questions about a whole policy ("What is your return policy?", "退货政策是什么？"), answered with the main
terms of the shop's page on it.

Such a question names a topic and asks for no one fact, so sentence scoring picks whatever sentence shares the most
words with it: on a coffee shop "你们的退货政策是什么？" got the line about unsubscribing from text messages (退订),
"What is your return policy?" the return-shipping fee, "What's your shipping policy?" the cold-chain note of one
product. A customer who asks for the policy wants its main terms: the leads of the first sections of the page whose
title (or a section heading) names the topic, each section's first sentence and, when that states no figure, its
first figure (a time window, a fee); a table or a list as one. The answer cites the page, where the rest is.

A question that names more than the topic ("What is your return policy for opened coffee?", "What's the warranty on
the grinder?") is no broad question: it is answered sentence by sentence as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from knowledge_base.grounding import LIST_ITEM, Evidence, row_words, sentences_of
from knowledge_base.retrieval import SearchHit
from knowledge_base.text import has_cjk, page_name, tables_among, tokenize

# Topics a shop's policy pages are about, with the words that name each in a question or a page title, in both
# languages: a Chinese question about an English-only returns page ("退货政策" and "Returns, refunds and
# cancellations") meets it through them. A topic outside this list is still matched within one language, by its
# own words.
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "returns": ("return", "returns", "refund", "refunds", "exchange", "exchanges", "退货", "退换", "退换货", "退款",
                "换货"),
    "shipping": ("shipping", "ship", "delivery", "deliveries", "deliver", "dispatch", "postage", "配送", "发货",
                 "运费", "快递", "物流", "邮费", "送货", "邮寄"),
    "warranty": ("warranty", "warranties", "guarantee", "保修", "质保", "保固"),
    "payment": ("payment", "payments", "pay", "paying", "支付", "付款", "付费", "结算"),
    "privacy": ("privacy", "隐私", "个人信息"),
    "cancellation": ("cancellation", "cancellations", "cancel", "cancelling", "取消"),
    "subscription": ("subscription", "subscriptions", "subscribe", "订阅"),
    "contact": ("contact", "联系", "联系我们"),
    "rental": ("rental", "rentals", "rent", "renting", "租赁", "租用", "出租", "租借", "租"),
}
# Words that also name a topic, more loosely: a page titled with one ("维修服务价目表", "Puncture Repair Kit") is the
# topic's page only when no page is titled with the question's own word or a word above.
WEAK_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "warranty": ("repair", "repairs", "维修", "售后"), "shipping": ("courier",), "contact": ("store", "stores", "门店"),
}
_WORD_TOPIC = {w: topic for topic, words in TOPIC_WORDS.items() for w in words}
_WORD_TOPIC.update({w: topic for topic, words in WEAK_TOPIC_WORDS.items() for w in words if topic != "contact"})
# A question for one fact of a policy is no broad question: "What is your return address?", "发货时间是怎样的？"
_FACT_WORDS = frozenset(
    "address addresses hours hour email e-mail phone number time times status fee fees cost costs price prices rate "
    "rates period window date dates deadline charge charges limit limits".split()) | frozenset(
    ("地址", "时间", "电话", "邮箱", "费用", "价格", "状态", "期限", "时效", "号码", "多少钱", "多久"))

_POLICY_EN = r"polic(?:y|ies)|terms(?: and conditions)?|rules|process|procedure|options|guarantee|service"
_EN = re.compile(
    r"^(?:(?:hi|hello|hey)\b[\s,!.]*)?(?:please\s+)?"
    r"(?:what(?:'s| is| are)|tell me(?: more)? about|(?:can|could) you (?:explain|tell me about)|explain|"
    r"how (?:does|do))\s+(?:your|the|you guys'?)\s+(?P<topic>(?:[a-z-]+\s+){0,2}?[a-z-]+?)"
    rf"(?:\s+(?P<policy>{_POLICY_EN}))?(?:\s+work|\s+like)?(?:,?\s+please)?\s*[?.!]*\s*$", re.IGNORECASE)
# "What payment options do you have?"
_EN_OFFERED = re.compile(r"^what (?P<topic>[a-z-]+) (?P<policy>options|methods) do you (?:have|offer|accept|support)"
                         r"\s*[?.!]*\s*$", re.IGNORECASE)
# "What is your policy on shipping?"
_EN_ON = re.compile(r"^what(?:'s| is| are) (?:your|the) (?P<policy>polic(?:y|ies)|rules|terms) (?:on|for|about) "
                    r"(?P<topic>[a-z-]+(?: [a-z-]+)?)\s*[?.!]*\s*$", re.IGNORECASE)
# "How do returns work?" has no "your".
_EN_BARE = re.compile(r"^(?:how (?:do|does)|what about)\s+(?P<topic>[a-z-]+)(?:\s+work)?\s*[?.!]*\s*$", re.IGNORECASE)
_ZH = re.compile(
    r"^(?:请问|你好|您好)?[，,\s]*(?:(?:请)?(?:介绍|说明|讲|说)(?:一下)?)?(?:你们|贵店|你家|店里|本店)?(?:的)?"
    r"(?P<topic>[\u4e00-\u9fff]{2,6}?)(?:有哪些|有什么|的)?(?P<policy>政策|规定|规则|流程|条款|办法)"
    r"(?:是什么|是怎样的|是怎么样的|是啥|怎么样|有哪些|呢|介绍)?(?:呀|啊)?[？?。！!\s]*$")
# "运费怎么算？", "退货流程是怎样的" has the policy word; "保修是怎样的？" names a known topic only.
_ZH_BARE = re.compile(r"^(?:你们|你家)?(?:的)?(?P<topic>[\u4e00-\u9fff]{2,4}?)(?:是怎样的|是怎么样的|怎么算|是怎么算的|怎么收|是怎么收的|怎么弄|怎么样)"
                      r"[？?。\s]*$")
# Words that make the "topic" a narrower question ("the warranty on the grinder").
_NARROWING = frozenset("on for of with about if when to in at from by after before".split())
_TRAILING = frozenset({"policy", "policies", "and", "or", "&", "a", "an"})
# Words for the goods in general narrow no topic: "租装备" is renting, "product returns" returns.
GENERIC_WORDS = frozenset("item items product products goods gear order orders purchase purchases".split()) | frozenset(
    ("装备", "商品", "产品", "东西", "货品", "物品", "订单"))


def _has(word: str, text: str) -> bool:
    """`word` in lower-cased `text`: a Chinese word anywhere, an English one as a word."""
    if has_cjk(word):
        return word in text
    return re.search(rf"\b{re.escape(word)}\b", text) is not None


def names_word(word: str, text: str, strength: int = 2) -> bool:
    """Whether `text` (lower-cased) names what `word` of a question names: the word itself (or its stem), then
    (strength 1 and up) a word of its topic in either language, then (strength 2) a looser word of it."""
    if _has(word, text) or (word.isascii() and set(tokenize(word)) <= set(tokenize(text))):
        return True
    topic = _WORD_TOPIC.get(word)
    if topic is None or strength < 1:
        return False
    words = TOPIC_WORDS[topic] + (WEAK_TOPIC_WORDS.get(topic, ()) if strength >= 2 else ())
    return any(_has(w, text) for w in words)


@dataclass
class Topic:
    words: tuple[str, ...]  # the question's words for it ("return"; "coffee", "subscription"; "退货")

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if w in _WORD_TOPIC)

    @property
    def extra(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if w not in _WORD_TOPIC)

    def titles(self, title: str, strength: int = 2) -> bool:
        """Whether a title (or heading) is about the topic: it names each known topic the question does ("Returns"
        for "return"), or, for a topic of none, all of the question's words ("Price match"). `strength`: 0 = the
        question's own words only, 1 = their topics' words too, 2 = and the looser ones."""
        low = (title or "").lower()
        return all(names_word(w, low, strength) for w in (self.known or self.words))

    def stated_in(self, text: str) -> bool:
        """Whether a text states the question's other words: "international shipping" needs more than a page
        about shipping at home, while "coffee subscription" is the subscription page that speaks of coffee."""
        low = (text or "").lower()
        return all(names_word(w, low, 0) for w in self.extra)


def _zh_words(topic: str) -> tuple[str, ...]:
    """A Chinese topic as its known words and the rest ("退货运费" -> 退货, 运费; "以旧换新" stays whole)."""
    words, rest = [], topic
    for w in sorted((w for w in _WORD_TOPIC if has_cjk(w)), key=len, reverse=True):
        if w in rest:
            words.append(w)
            rest = rest.replace(w, " ")
    rest = "".join(rest.split())
    for generic in (g for g in GENERIC_WORDS if has_cjk(g)):
        rest = rest.replace(generic, "")
    return tuple(words) + ((rest,) if len(rest) >= 2 else ())


def policy_topic(question: str) -> Topic | None:
    """The topic of a broad policy question, or None for any other question."""
    text = " ".join((question or "").split())
    for pattern in (_EN, _EN_OFFERED, _EN_ON, _EN_BARE):
        m = pattern.match(text)
        if m is None:
            continue
        words = tuple(w for w in m.group("topic").lower().split() if w not in _TRAILING | GENERIC_WORDS)
        # "What is your address?" or "What are the dimensions?" name no policy: only a policy word or a known topic
        # makes the question a broad one; "the warranty on the grinder" or "return address" a narrower one
        if words and not (_NARROWING | _FACT_WORDS) & set(words) and (
                any(w in _WORD_TOPIC for w in words) or m.groupdict().get("policy")):
            return Topic(words)
    for pattern in (_ZH, _ZH_BARE):
        m = pattern.match(text)
        if m is None:
            continue
        words = _zh_words(m.group("topic"))
        if words and not any(f in m.group("topic") for f in _FACT_WORDS if not f.isascii()) and (
                any(w in _WORD_TOPIC for w in words) or m.groupdict().get("policy")):
            return Topic(words)
    return None


_FIGURE = re.compile(r"\d|[一二两三四五六七八九十百千]+\s*(?:天|日|小时|个月|年|元|周)|\b(?:free|one|two|three|seven|"
                     r"fourteen|thirty|sixty|ninety)\b|包邮|免费", re.IGNORECASE)


def section_of(heading: str) -> str:
    """The top-level section of a chunk's heading ("Title > Section > Sub" -> "Section")."""
    parts = [p.strip() for p in (heading or "").split(">")]
    return parts[1] if len(parts) > 1 else parts[0]


def page_hit(chunk_id: str, text: str, meta: dict) -> SearchHit:
    source = str(meta.get("source", ""))
    return SearchHit(id=str(meta.get("doc_id", source)), score=0.0, text=text, source=source,
                     title=str(meta.get("title", "")), chunk_id=chunk_id, metadata=meta)


@dataclass
class Page:
    source: str
    title: str  # the page's own title: its headings' first part ("Returns, refunds and cancellations — …")
    language: str


def page_title(hit_or_meta) -> str:
    meta = hit_or_meta.metadata if isinstance(hit_or_meta, SearchHit) else hit_or_meta
    heading = str(meta.get("heading") or meta.get("title") or "")
    return heading.split(">")[0].strip()


class PageIndex:
    """The title of every document in the store (FAQ rows are no pages), rebuilt when the store's size changes:
    a broad question's page is often not among the few passages retrieved for it, above all a page in the other
    language ("你们的退货政策是什么？" and an English-only returns page)."""

    def __init__(self, store):
        self.store = store
        self._pages: list[Page] = []
        self._count = -1

    def pages(self) -> list[Page]:
        count = self.store.count()
        if count != self._count:
            seen: dict[str, Page] = {}
            for _, _, meta in self.store.iter_all(documents=False):
                source = str(meta.get("source", ""))
                if meta.get("kind") != "faq" and source and source not in seen:
                    seen[source] = Page(source, page_title(meta), str(meta.get("lang", "")))
            self._pages, self._count = list(seen.values()), count
        return self._pages

    def names(self, language: str, limit: int = 60) -> list[str]:
        """The titles of the `language` pages without the shop's name after a dash ("Cold Brew Concentrate",
        "Returns, refunds and cancellations"), at most `limit`: what a question translated into `language` should
        call things ("冷萃液" is the shop's "Cold Brew Concentrate", "古吉" its "古吉")."""
        names = dict.fromkeys(page_name(p.title) for p in self.pages() if p.language == language and p.title)
        return [n for n in names if n][:limit]


def topic_page(topic: Topic, hits: Sequence[SearchHit], pages: Sequence[Page] = (), language: str = "",
               chunks_of: Callable[[str], list] | None = None) -> tuple[str, str] | None:
    """(source, section) of the page on the topic: a page whose title names it with the question's own word, then
    with a word of its topic, then with a looser one ("维修" for a warranty; each time a retrieved page first, then
    any page of the store, one in the customer's language first), section "" for the whole page; else the first
    retrieved section whose heading names it ("Return shipping" of the returns page); None when none does. The
    question's other words ("coffee subscription") must be on the page, which a page in the other language cannot
    show: then None, and the question is answered as any other."""
    languages = {p.source: p.language for p in pages}

    def states(source: str) -> bool:
        if not topic.extra:
            return True
        if language and languages.get(source, language) != language:
            return False
        return chunks_of is not None and topic.stated_in(" ".join(text for _, text, _ in chunks_of(source)))

    documents = [h for h in hits if h.metadata.get("kind") != "faq"]
    in_store = sorted(pages, key=lambda p: p.language != language)
    for strength in (0, 1, 2):
        titled = [h.source for h in documents if topic.titles(page_title(h), strength)]
        titled += [p.source for p in in_store if topic.titles(p.title, strength)]
        for source in dict.fromkeys(titled):
            if states(source):
                return source, ""
    for hit in documents:
        title = page_title(hit)
        section = section_of(hit.metadata.get("heading") or "")
        if section and section != title and topic.titles(f"{title} {section}") and states(hit.source):
            return hit.source, section
    return None


# A section of exceptions is no main term: "Items that cannot be returned", "不在保修范围内的情况", "Final sale".
_EXCEPTIONS = re.compile(r"\b(?:not|cannot|can't|excluded|exclusions?|exceptions?|final sale|non-returnable|"
                         r"non-refundable|ineligible)\b|不(?:在|可|能|支持|适用|包括|予|参与|含)|无法|除外|例外",
                         re.IGNORECASE)
_LIST_LINE = re.compile(LIST_ITEM + r"[ \t]+(.{1,15})")


def lead_sentences(chunks: Sequence[tuple[str, str, dict]], section: str = "") -> list[tuple[SearchHit, list[str]]]:
    """Each section's lead (or the one `section`'s): its first sentence, and when that states no figure (a time
    window, a fee), the first of its next two that does ("Food is returned only unopened." and "You can return
    unopened coffee within 7 days."); a table or a list counts as one sentence with all its rows; sections of
    exceptions are left out while others are there. `chunks` = (chunk id, text, metadata) of one page; returns
    (the section's first chunk, its lead) in page order."""
    firsts: dict[str, tuple[str, str, dict]] = {}
    for cid, text, meta in sorted(chunks, key=lambda c: int(c[2].get("chunk_index", 0))):
        name = section_of(meta.get("heading") or "")
        if not section or name == section:
            firsts.setdefault(name, (cid, text, meta))
    kept = [c for name, c in firsts.items() if not _EXCEPTIONS.search(name)] or list(firsts.values())
    if len(kept) > 1 and section_of(kept[0][2].get("heading") or "") == page_title(kept[0][2]) \
            and not _FIGURE.search(kept[0][1]):
        kept = kept[1:]  # the page's opening words before its first section, with no figure: a greeting, no term
    out = []
    for cid, text, meta in kept:
        hit = page_hit(cid, text, meta)
        items = {m.group(1) for m in _LIST_LINE.finditer(hit.snippet)}
        name = section_of(meta.get("heading") or "")
        units = _units(sentences_of(hit), items, label=name if name != page_title(meta) else "")[:3]
        if not units:
            continue
        lead = units[:1]
        if not _FIGURE.search(units[0]):
            lead += [u for u in units[1:] if _FIGURE.search(u)][:1]
        out.append((hit, lead))
    return out


def _units(sentences: list[str], list_items: set[str] = frozenset(), max_rows: int = 6, label: str = "") -> list[str]:
    """A section's sentences, a table as one (its data rows as "cell: cell", "电动磨豆机: 2 年；手摇磨豆机…: 机身 1 年…")
    and a list as one, after its section's `label` ("Final sale items: Gift cards; Clearance items."): one row or
    item alone would read as the whole of it ("the warranty is 2 years"), a list without its heading as anything.
    `list_items`: how the section's list items begin."""
    units: list[str] = []
    items: list[str] = []

    def close(parts: list[str]) -> str:
        zh = any(has_cjk(p) for p in parts)
        return ("；" if zh else "; ").join(p.rstrip("。.;；") for p in parts) + ("。" if zh else ".")

    for sentence in [*tables_among(sentences), ""]:
        if not isinstance(sentence, str):
            header, rows = sentence
            zh = any(has_cjk(" ".join(cells)) for _, cells in rows)
            if rows:
                units.append(close([row_words(cells, header, zh) for _, cells in rows[:max_rows] if any(cells)]))
            continue
        if sentence and any(sentence.startswith(i) for i in list_items):
            items.append(sentence)
            continue
        if items:
            listed = close(items[:max_rows])
            zh = has_cjk(listed)
            units.append(f"{label}{'：' if zh else ': '}{listed}" if label else listed)
            items = []
        if sentence:
            units.append(sentence)
    return units


def overview_evidence(question: str, topic: Topic | None, hits: Sequence[SearchHit], chunks_of: Callable[[str], list],
                      finder, count: int = 2, pages: Sequence[Page] = (), language: str = "",
                      position_weight: float = 0.01) -> list[Evidence]:
    """The evidence that answers a broad policy question: the leads of the first `count` sections of the page on its
    topic (those that state the question's other words, "cold brew" of "cold brew shipping policy", when some
    do), or, on a page of several topics, of the `count` sections the question is most about (scored by `finder`,
    knowledge_base.grounding.EvidenceFinder, less `position_weight` a section down the page), in page order, at
    most `count` + 1 sentences; [] when `topic` (policy_topic of `question`) is None or no page is about it.
    `chunks_of(source)` gives (chunk id, text, metadata) of every chunk of a page; `pages`, every page of the
    store."""
    if topic is None or count < 1:
        return []
    page = topic_page(topic, hits, pages, language, chunks_of)
    if page is None:
        return []
    source, section = page
    leads = lead_sentences(chunks_of(source), section)
    # A section about another topic is no term of this one ("联系我们" on a page of contact and privacy details,
    # "Cancelling an order" on the returns page)
    asked = {_WORD_TOPIC[w] for w in topic.words if w in _WORD_TOPIC}
    leads = [(h, t) for h, t in leads if not (_topics(section_of(h.metadata.get("heading") or "")) - asked)] or leads
    if topic.extra:
        leads = [(h, t) for h, t in leads if topic.stated_in(h.text)] or leads
    if not leads:
        return []
    scores = finder.score(question, [f"{section_of(hit.metadata.get('heading') or '')}: {' '.join(lead)}"
                                     for hit, lead in leads])
    if _topics(page_title(leads[0][0])) - asked:
        # a page of several topics ("联系我们与隐私政策"): the sections the question is most about, an earlier one
        # before a later one that scores a little higher; then in page order
        ranked = sorted(range(len(leads)), key=lambda i: -(scores[i] - position_weight * i))[:count]
    else:  # a page on the topic opens with its main terms
        ranked = list(range(min(count, len(leads))))
    evidence = []
    for i in sorted(ranked):
        hit, lead = leads[i]
        title, own = page_title(hit), section_of(hit.metadata.get("heading") or "")
        # the section names what a list is ("Final sale items: Gift cards; …")
        context = f"{title} – {own}" if own and own != title else title
        if not hit.score and hit.vector_score is None:  # a section read from the store, not retrieved: its citation
            hit = replace(hit, score=round(scores[i], 4))  # scores how well it matched, not 0
        evidence += [Evidence(sentence, hit, scores[i], context) for sentence in lead]
    return evidence[:count + 1]


def _topics(text: str) -> set[str]:
    """The topics `text` names, with the looser words ("门店服务与活动" is the shop's contact details)."""
    low = text.lower()
    return {topic for topic in TOPIC_WORDS
            if any(_has(w, low) for w in TOPIC_WORDS[topic] + WEAK_TOPIC_WORDS.get(topic, ()))}

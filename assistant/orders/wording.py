"""The desk's customer-facing sentences, built only from the shop's message catalog and the order record:
every fact in them (status, carrier, tracking number, dates, item names) is a record field quoted as is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.orders.model import Order, OrderItem
from assistant.orders.parse import item_phrases

if TYPE_CHECKING:
    from assistant.orders.filing import Filed

_ISO_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]")


def day(value: str) -> str:
    """The date part of an ISO timestamp from the record ("2026-11-20T10:00:00+08:00" -> "2026-11-20")."""
    value = str(value or "").strip()
    m = _ISO_DAY.match(value)
    return m.group(1) if m else value


def joiner(lang: str) -> str:
    return "" if lang == "zh" else " "


def items_text(items: Sequence[OrderItem], lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{i.quantity} × {i.name}" for i in items)


def numbered_items(items: Sequence[OrderItem], lang: str) -> str:
    sep = "；" if lang == "zh" else "; "
    return sep.join(f"{n}. {i.name}" for n, i in enumerate(items, 1))


def listing(values: Sequence[str], lang: str) -> str:
    """"100234 or 100240" / "100234还是100240": the choices of a question."""
    values = list(values)
    if len(values) < 2:
        return "".join(values)
    return ("、" if lang == "zh" else ", ").join(values[:-1]) + ("还是" if lang == "zh" else " or ") + values[-1]


def status_label(shop, order: Order, lang: str) -> str:
    if order.status and order.status != "unknown":
        return shop.text(f"order_state_{order.status}", lang)
    return order.status_text or order.status


def kind_label(shop, kind: str, lang: str) -> str:
    return shop.text(f"order_kind_{kind}", lang)


def request_status(shop, status: str, lang: str) -> str:
    status = "pending" if status == "approving" else status
    return shop.text(f"order_request_{status}", lang)


def request_text(shop, kind: str, order: Order, filed: Sequence[Filed], lang: str) -> str:
    """The reply to a request: a sentence per outcome naming its request numbers ("request 7, 8"), and for a return
    the items it covers, as the customer can check them ("Items: 1 × Stoneware mug, 1 × Cast iron teapot."): the
    record's names, or the customer's own words where the order on record has no line items."""
    sentences = []
    for outcome in ("created", "updated", "exists"):
        mine = [f for f in filed if f.outcome == outcome]
        if mine:
            sentences.append(shop.text(f"order_request_{outcome}", lang, number=order.number,
                                       kind=kind_label(shop, kind, lang), address=mine[-1].details.get("address", ""),
                                       request=("、" if lang == "zh" else ", ").join(str(f.request_id) for f in mine)))
    if kind == "return":
        asked = [OrderItem(f.details.get("item", ""), f.details.get("quantity", 1)) for f in filed]
        if any(i.name == "(whole order)" for i in asked):
            asked = list(order.items)
        if asked:
            sentences.append(shop.text("order_items", lang, items=items_text(asked, lang)))
    return joiner(lang).join(sentences)


def status_text(shop, order: Order, lang: str, requests: Sequence = ()) -> str:
    """Status, order date, each shipment's carrier and tracking number (or ship date), its delivery date or
    expected delivery, the items, returns on record and this order's requests: one sentence each."""
    t = shop.text
    lines = [t("order_status_head", lang, number=order.number, status=status_label(shop, order, lang))]
    if order.placed_at:
        lines.append(t("order_placed", lang, date=day(order.placed_at)))
    for s in order.shipments:
        if s.tracking_number:
            lines.append(t("order_shipment", lang, carrier=s.carrier or "—", tracking=s.tracking_number))
        elif s.shipped_at:
            lines.append(t("order_shipment_date", lang, date=day(s.shipped_at)))
        if s.delivered_at:
            lines.append(t("order_delivered", lang, date=day(s.delivered_at)))
        elif s.expected_delivery and order.status not in ("cancelled", "refunded"):
            lines.append(t("order_expected", lang, date=day(s.expected_delivery)))
    if order.items:
        lines.append(t("order_items", lang, items=items_text(order.items, lang)))
    for r in order.returns:
        lines.append(t("order_return_line", lang, item=r.item, status=r.status))
    for req in requests:
        lines.append(t("order_request_line", lang, kind=kind_label(shop, req.kind, lang), request=req.id,
                       status=request_status(shop, req.status, lang)))
    return joiner(lang).join(lines)


_ALL = re.compile(r"\b(?:all|everything|whole order|entire order|all of them)\b|全部|所有|整单|都退", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "第一": 1, "第二": 2, "第三": 3, "第四": 4,
             "第1": 1, "第2": 2, "第3": 3, "第4": 4}


def _singular(word: str) -> str:
    """"towels" names the "Bamboo bath towel set", "jar" the "Glass storage jars": compared without the plural's
    ending (both sides, so "glass" and "glas" never meet a word of their own)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _tokens(name: str) -> set[str]:
    words = {_singular(w) for w in re.findall(r"[a-z0-9]{3,}", name.lower())}
    han = re.sub(r"[^\u4e00-\u9fff]", "", name)
    return words | {han[i:i + 2] for i in range(len(han) - 1)}


def choose_item(order: Order, text: str) -> str:
    """The item of `order` that `text` names (by words of its name, "the second", "2"), "(whole order)" for
    "all of them", or "" when it names none or several equally."""
    if _ALL.search(text):
        return "(whole order)"
    lowered = text.lower()
    for word, n in _ORDINALS.items():
        if word in lowered and n <= len(order.items):
            return order.items[n - 1].name
    only = re.fullmatch(r"\s*#?(\d)\s*[.。]?\s*", text)
    if only and 1 <= int(only.group(1)) <= len(order.items):
        return order.items[int(only.group(1)) - 1].name
    text_tokens = _tokens(text)
    scores = [(len(_tokens(i.name) & text_tokens), i.name) for i in order.items]
    scores.sort(reverse=True)
    if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1]
    return ""


def _names_its_noun(words: str, item: str) -> bool:
    """Whether `words` name `item` by its last word (its noun: "mug" of "Stoneware mug", 茶壶 of 紫砂茶壶) or by its
    place ("1", "the second")."""
    if not item:
        return False
    if re.fullmatch(r"\s*#?\d\s*", words) or any(w in words.lower() for w in _ORDINALS) or item == "(whole order)":
        return True
    han = re.sub(r"[^\u4e00-\u9fff]", "", item)
    noun = han[-2:] if han else (re.findall(r"[a-z0-9]+", item.lower()) or [""])[-1]
    return bool(noun) and (_singular(noun) in {_singular(w) for w in re.findall(r"[a-z0-9]+", words.lower())}
                           or (bool(han) and noun in words))


def choose_items(order: Order, text: str) -> list[str]:
    """The items of `order` that `text` names, one or several ("the mug and the teapot", "1 and 3", "杯子和茶壶");
    ["(whole order)"] for "all of them". An order on record without its line items gets the customer's own words
    for them. [] when the text names none, or names one the order does not have (the customer is asked: an item
    is never dropped in silence)."""
    if _ALL.search(text):
        return ["(whole order)"]
    named = item_phrases(text)
    if not order.items:
        return named
    if len(named) > 1:
        # Each phrase must name its item by the item's own noun ("mug" for Stoneware mug, 茶壶 for 紫砂茶壶) or its
        # place in the list, and no two the same one: "the black and white mug" is one item, not the Black tea tin
        # and the mug, and asking which is better than filing a return nobody asked for.
        chosen = [item if _names_its_noun(words, item := choose_item(order, words)) else "" for words in named]
        return chosen if all(chosen) and len(set(chosen)) == len(chosen) else []
    one = (choose_item(order, named[0]) if named else "") or choose_item(order, text)  # the words of the list first
    return [one] if one else []

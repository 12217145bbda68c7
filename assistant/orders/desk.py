"""The order desk: the chat pipeline's `orders.handle(text, session, language)` step, across turns.

    intent ("where is my order", cancel, change address, return) -> order number -> verification factor
    (the order's e-mail or its phone's last 4 digits) -> the record, quoted | a request for staff approval

Nothing about an order is shown before its verification; a wrong factor and an unknown number get the same
answer. Wrong verifications are limited per conversation, per order number (across conversations) and per
client address (when the web layer tells it, `note_client`). Cancel, address change and return never act:
they open a request for an agent (assistant.orders.approvals). A backend that is down or slow hands off.
A message that is not about an order returns None: the knowledge base answers it, and a policy question
("what is your return policy?") is always the knowledge base's. State lives per session (assistant.orders.
state); a stateless /v1 client's conversation is replayed from the user turns it sends, held to the small record
its id keeps (when a verification was last used, the wrong tries, the lock: it restricts, it never verifies).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.citations import Citation
from assistant.errors import AssistantError, StorageError
from assistant.orders import wording
from assistant.orders.config import OrdersConfig
from assistant.orders.filing import file_request, transcript
from assistant.orders.limits import FailureWindows
from assistant.orders.model import Order, factor_matches
from assistant.orders.parse import EMAIL, other_numbers, parse
from assistant.orders.state import (
    DialogueStore,
    OrderState,
    hold_to_record,
    next_record,
    stateless_record_key,
)

log = logging.getLogger(__name__)

SHIPPED = ("shipped", "partially_shipped", "delivered")
REQUEST_KINDS = ("cancel", "change_address", "return")  # tasks that act on an order: never on a guessed one
REPLAY_TURNS = 40  # a stateless client's earlier messages read back, at most
_QUESTION = re.compile(r"[?？]\s*$|吗[。!！]?\s*$")


# Every OrderReply.action (the test-suite's expectations are checked against this list).
ACTIONS = ("order_ask", "order_verify", "order_status", "order_request", "order_info", "order_handoff")


@dataclass
class OrderReply:
    text: str
    action: str  # order_ask | order_verify | order_status | order_request | order_info | order_handoff
    reasons: list[str]
    citations: list[Citation] = field(default_factory=list)
    handoff: bool = False
    ticket_id: int | None = None
    request_id: int | None = None
    shown: str = ""  # the order number whose record this reply quotes ("" = none)


class OrderDesk:
    def __init__(self, backend, cfg: OrdersConfig | None = None, shop=None, *, states: DialogueStore | None = None,
                 requests=None, handoff=None, policy: Callable[[str, str], tuple[str, list[Citation]] | None] | None = None,
                 redact: Callable[[str], str] | None = None, clock: Callable[[], float] = time.time):
        from assistant.shop import Shop

        self.backend, self.cfg, self.shop = backend, cfg or OrdersConfig(), shop or Shop()
        self.states = states or DialogueStore()
        self.requests, self.handoff, self.policy = requests, handoff, policy
        self.redact = redact or (lambda text: text)
        self.clock = clock
        self.per_order = FailureWindows(self.cfg.max_wrong_per_order_per_hour)
        self.per_client = FailureWindows(self.cfg.max_wrong_per_client_per_hour)
        self._clients: OrderedDict[str, str] = OrderedDict()
        self._active_until, self._active = 0.0, True

    # -- wiring -----------------------------------------------------------------------------------------------
    def note_client(self, session_id: str, client: str | None) -> None:
        """The client address behind a session (the web layer knows it; the chat pipeline does not)."""
        if session_id and client:
            self._clients[session_id] = client
            self._clients.move_to_end(session_id)
            while len(self._clients) > 100_000:
                self._clients.popitem(last=False)

    def active(self) -> bool:
        """Off when disabled, and while an embedded store holds no orders (nothing to look up: the knowledge
        base and the router answer order questions as before). Re-checked once a minute."""
        if not self.cfg.enabled:
            return False
        count = getattr(self.backend, "count", None)
        if count is None:
            return True
        now = time.monotonic()
        if now >= self._active_until:
            try:
                self._active = count() > 0
            except AssistantError:
                self._active = True  # the desk will say the system is down, politely
            self._active_until = now + 60
        return self._active

    # -- the step -----------------------------------------------------------------------------------------
    def handle(self, text: str, session, language: str) -> OrderReply | None:
        if not self.active():
            return None
        # A stateless client's session id (the hashed `user` of /v1) may be shared by several conversations: its
        # state comes from the messages of this request alone, or a new conversation would inherit a verification.
        stateless = getattr(session, "stateless", False)
        state = None if stateless else self.states.load(session.id)
        memo: dict[str, Order | None] = {}
        record_key = stateless_record_key(session) if stateless else ""
        record = self.states.load(record_key) if record_key else None
        if state is None:
            state = OrderState()
            # A replayed verification was last used when the id's record says, not now: it expires as it would have.
            stamp = record.verified_at if record is not None else 0.0
            for earlier in [m.content for m in session.history if m.role == "user"][-REPLAY_TURNS:]:
                try:
                    self._step(state, earlier, self.shop.language_of(earlier), session, memo, live=False, stamp=stamp)
                except AssistantError:
                    break  # the system is down: the live turn says so
        hold_to_record(state, record, self.clock())
        before = state.to_json()
        reply = self._step(state, text, language, session, memo, live=True)
        if not stateless and (reply is not None or state.to_json() != before):
            self.states.save(session.id, state)
        if record_key and (record is not None or state.verified or state.wrong or state.locked):
            self.states.save(record_key, next_record(state, record, self.clock()))
        return reply

    def _step(self, st: OrderState, text: str, lang: str, session, memo, live: bool,
              stamp: float = 0.0) -> OrderReply | None:
        """One customer message; `stamp`: when a verification it uses counts as used (0: now)."""
        from assistant.language import detect_language

        if detect_language(EMAIL.sub(" ", text)) in ("zh", "en"):
            st.lang = lang
        else:  # a bare number or e-mail says no language: answer in the one the conversation is in
            lang = st.lang or lang
        p = parse(text, "factor" if st.locked else st.awaiting)  # once locked, more digits get the same answer
        now = self.clock()
        if st.verified and now - st.verified_at > self.cfg.verified_minutes * 60:
            st.verified = []
        if p.stop and st.active:
            st.done()
            return self._say("order_dropped", lang, "order_info", ["the customer dropped the order question"])
        if p.policy_question:
            return None
        # A reply to "which address / which item?" is any message that is not a question of its own.
        answering = (st.awaiting in ("address", "item") and not _QUESTION.search(text)
                     and len(text.strip()) >= (5 if st.awaiting == "address" else 1))
        # "Actually make it 11 Downing Street" / "不对，改成……": the new address of the change in hand or just requested
        fixing = bool(not p.intent and p.correction and p.address and not p.number
                      and "change_address" in (st.intent, st.filed))
        engaged = bool(p.intent or p.number or answering or fixing or (st.awaiting == "number" and p.no_number)
                       or (p.factor and st.number and (st.intent or st.locked)))
        if not engaged:
            return None
        if st.locked:
            return self._say("order_locked", lang, "order_handoff", ["verification locked in this conversation"],
                             handoff=True)
        if p.intent and (p.intent != st.intent or (p.number and p.number != st.number)):
            st.start(p.intent)
            # "Can I change the delivery address to …?" after verifying: the order verified here is meant; with
            # several, the customer says which (acting on the last one talked about is a guess). Not when the
            # conversation has moved on to an order not verified yet: "And order 100234?" → "Please cancel it"
            # is about 100234, which is verified first.
            if (p.intent in REQUEST_KINDS and not p.number and st.verified
                    and (not st.number or st.number in st.verified)):
                if len(st.verified) > 1:
                    st.number, st.awaiting = "", "number"
                    st.address = p.address if p.intent == "change_address" else ""
                    st.item = text if p.intent == "return" else ""
                    return self._say("order_ask_which", lang, "order_ask", [f"order intent: {st.intent}",
                                     f"{len(st.verified)} orders verified in this conversation"],
                                     numbers=wording.listing(st.verified, lang))
                st.number = st.verified[0]
        if p.number:
            st.more = other_numbers(text, p.number)
        if p.number and p.number != st.number:
            if st.number:  # another order: what was said for the first one is not for it
                st.address, st.item, st.filed = "", "", ""
            st.number = p.number
            st.awaiting = "" if st.awaiting in ("address", "item") else st.awaiting
        st.intent = "change_address" if fixing else st.intent or "status"
        if p.intent == "change_address" or fixing:
            st.address = p.address or st.address
        elif p.intent == "return":
            st.item = text
        elif answering and not p.number and st.awaiting == "address":
            st.address = p.address or st.address  # "ok thank you", "hold on" name none: it is asked again
        elif answering and not p.number:
            st.item = text  # "the mug and the teapot", "1 and 3": matched to the order's items in _act
        if not st.number:
            st.awaiting = "number"
            st.factor = p.factor or st.factor  # "my e-mail is …, where is my order?": used when the number comes
            if p.no_number:
                return self._say("order_no_number", lang, "order_info", ["the customer has no order number"])
            if fixing and len(st.verified) > 1:  # corrected while "which order?" waits for its answer: asked again
                return self._say("order_ask_which", lang, "order_ask", [f"order intent: {st.intent}"],
                                 numbers=wording.listing(st.verified, lang))
            return self._with_policy(self._say("order_ask_number", lang, "order_ask", [f"order intent: {st.intent}"]),
                                     st.intent, lang)
        if st.number not in st.verified:
            factor, st.factor = p.factor or st.factor, ""
            if not factor:
                st.awaiting = "factor"
                return self._say("order_ask_verify", lang, "order_verify",
                                 [f"order intent: {st.intent}", "verification needed before any order detail"],
                                 number=st.number)
            failed = self._verify(st, factor, lang, session, memo, live)
            if failed is not None:
                return failed
        try:
            order = self._lookup(st.number, memo)
        except StorageError as exc:
            return self._down(exc, lang, session, text, live)
        if order is None:  # verified a moment ago, gone now: say nothing about it
            st.verified.remove(st.number)
            return self._down(StorageError(f"order {st.number} disappeared"), lang, session, text, live)
        st.verified_at = stamp or now
        return self._act(st, order, text, lang, session, live)

    def _lookup(self, number: str, memo) -> Order | None:
        if number not in memo:
            memo[number] = self.backend.find(number)
        return memo[number]

    def _verify(self, st: OrderState, factor: str, lang: str, session, memo, live: bool) -> OrderReply | None:
        """None when `factor` verifies the order; otherwise the reply (try again / locked / system down)."""
        now, client = self.clock(), self._clients.get(session.id, "")
        # Replayed tries (a /v1 history) count too: otherwise each request could carry fresh guesses unlimited.
        if self.per_order.exceeded(st.number, now) or self.per_client.exceeded(client, now):
            st.locked = True
            return self._locked(lang, session, st, "too many wrong verifications for this order or client", live)
        try:
            order = self._lookup(st.number, memo)
        except StorageError as exc:
            if not live:
                raise
            return self._down(exc, lang, session, "", live)
        if order is not None and factor_matches(order, factor):
            st.verified = [n for n in st.verified if n != st.number][-4:] + [st.number]
            st.verified_at, st.awaiting = now, ""
            return None
        st.wrong += 1
        attempt = hashlib.sha256(f"{st.number}\0{factor.strip().lower()}".encode()).hexdigest()[:16]
        self.per_order.add(st.number, now, attempt)
        self.per_client.add(client, now, attempt)
        if live:
            log.info("order %s: wrong verification (%d in this conversation)", st.number, st.wrong)
        left = self.cfg.max_wrong_per_session - st.wrong
        if left <= 0:
            st.locked = True
            return self._locked(lang, session, st, f"{st.wrong} wrong verifications in this conversation", live)
        st.awaiting = "factor"
        return self._say("order_verify_failed", lang, "order_verify", ["the verification did not match"],
                         number=st.number, left=left)

    def _act(self, st: OrderState, order: Order, text: str, lang: str, session, live: bool) -> OrderReply:
        kind, why = st.intent, [f"order intent: {st.intent}", f"order {order.number} verified"]
        if kind == "status":
            more = [n for n in st.more if n != order.number]
            st.done()
            requests = self.requests.for_order(order.number) if self.requests is not None and live else []
            text_out = wording.status_text(self.shop, order, lang, requests)
            if more:  # one order per answer, each verified on its own: the others are not silently dropped
                text_out += "\n" + self.shop.text("order_one_at_a_time", lang,
                                                   numbers=("、" if lang == "zh" else ", ").join(more))
            return OrderReply(text_out, "order_status", why, shown=order.number)
        status = wording.status_label(self.shop, order, lang)
        if kind == "cancel" and order.status in SHIPPED:
            st.done()
            # What the customer can do now is the shop's return policy's to say (a florist takes no flowers back):
            # quoted when the knowledge base has it, else a pointer to it and a colleague, never a promise.
            return self._with_policy(self._say("order_cancel_too_late", lang, "order_info", why, number=order.number,
                                               status=status), "return", lang, head="order_return_policy",
                                     otherwise="order_return_policy_unknown")
        if kind == "cancel" and order.status in ("cancelled", "refunded"):
            st.done()
            return self._say("order_already_cancelled", lang, "order_info", why, number=order.number)
        if kind == "change_address":
            if order.status in ("delivered", "cancelled", "refunded"):
                st.done()
                return self._say("order_address_too_late", lang, "order_info", why, number=order.number,
                                 status=status)
            if not st.address:
                st.awaiting = "address"
                return self._say("order_ask_address", lang, "order_ask", why, number=order.number)
            return self._request(st, "change_address", order, [{"address": st.address}], lang, session, text, live)
        if kind == "return":
            if order.status in ("cancelled", "refunded"):
                st.done()
                return self._say("order_return_cancelled", lang, "order_info", why, number=order.number,
                                 status=status)
            if order.status not in SHIPPED and not order.delivered_at:
                st.done()
                return self._with_policy(self._say("order_return_too_early", lang, "order_info", why,
                                                   number=order.number, status=status), "return", lang,
                                         head="order_return_policy")
            items = wording.choose_items(order, st.item)
            if not items and text != st.item and order.items and (named := wording.choose_item(order, text)):
                items = [named]  # named in a later message, beside the verification ("5678, the teapot")
            if not items and len(order.items) == 1:
                items = [order.items[0].name]
            if not items:
                st.awaiting = "item"
                return self._say("order_ask_item", lang, "order_ask", why, number=order.number,
                                 items=wording.numbered_items(order.items, lang))
            # one request per item ("the mug and the teapot"): each is approved, carried out and told on its own
            return self._request(st, "return", order, [
                {"item": item, "quantity": next((i.quantity for i in order.items if i.name == item), 1)}
                for item in items], lang, session, text, live)
        return self._request(st, "cancel", order, [{}], lang, session, text, live)

    # -- outcomes -------------------------------------------------------------------------------------------
    def _request(self, st: OrderState, kind: str, order: Order, wanted: list[dict], lang: str, session, text: str,
                 live: bool) -> OrderReply:
        """One request per entry of `wanted` (its details: the address, an item to return), then one reply."""
        st.done()
        st.filed = kind  # a correction that follows ("Actually make it …") amends this request
        why = [f"order intent: {kind}", f"order {order.number} verified", "a request for staff approval"]
        if not live:
            return OrderReply("", "order_request", why)
        if self.requests is None:
            return self._down(StorageError("no store for order requests"), lang, session, text, live)
        try:
            filed = [file_request(self.requests, self.handoff, kind, order, details, session, lang, text, self.redact)
                     for details in wanted]
        except AssistantError as exc:
            return self._down(exc, lang, session, text, live)
        reply = OrderReply(wording.request_text(self.shop, kind, order, filed, lang), "order_request", why)
        reply.request_id, reply.ticket_id = filed[0].request_id, filed[0].ticket_id
        return self._with_policy(reply, kind, lang) if kind == "return" else reply

    def _ticket(self, session, text: str, reasons: list[str], lang: str) -> int | None:
        if self.handoff is None:
            return None
        from assistant.handoff import open_ticket

        try:
            return open_ticket(self.handoff, session.id, transcript(session, text, self.redact), intent="order_status",
                               reasons=reasons, language=lang).id
        except AssistantError as exc:
            log.error("order hand-off ticket failed: %s", exc.one_line())
            return None

    def _locked(self, lang: str, session, st: OrderState, reason: str, live: bool = True) -> OrderReply:
        st.done()
        reply = self._say("order_locked", lang, "order_handoff", [reason], handoff=True)
        if live:
            reply.ticket_id = self._ticket(session, "", [f"order {st.number}: {reason}"], lang)
        return reply

    def _down(self, exc: AssistantError, lang: str, session, text: str, live: bool) -> OrderReply:
        if not live:
            raise exc
        log.error("order backend failed: %s", exc.one_line())
        reply = self._say("order_backend_down", lang, "order_handoff", [f"the order system failed: {exc.one_line()}"],
                          handoff=True)
        reply.ticket_id = self._ticket(session, text, ["the order system is unavailable"], lang)
        return reply

    def _say(self, key: str, lang: str, action: str, reasons: list[str], handoff: bool = False, **values) -> OrderReply:
        return OrderReply(self.shop.text(key, lang, **values), action, list(reasons), handoff=handoff)

    def _with_policy(self, reply: OrderReply, kind: str, lang: str, head: str = "order_policy",
                     otherwise: str = "") -> OrderReply:
        """The shop's own policy on `kind` (return window, when cancelling is possible), cited from the
        knowledge base and introduced by the text `head`; when it has none, the text `otherwise` (or nothing)."""
        found = None
        if self.policy is not None and kind in ("cancel", "return"):
            try:
                found = self.policy(kind, lang)
            except AssistantError as exc:
                log.warning("policy lookup failed: %s", exc.one_line())
        if found:
            text, citations = found
            reply.text += wording.joiner(lang) + self.shop.text(head, lang, policy=text)
            reply.citations = list(citations)
        elif otherwise:
            reply.text += wording.joiner(lang) + self.shop.text(otherwise, lang)
        return reply

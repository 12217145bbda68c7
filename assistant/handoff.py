"""Human hand-off: tickets in the shared store and the agent queue, most urgent first.

A ticket holds the customer's session, transcript, intent, sentiment, the router's reasons and a draft reply
grounded in the knowledge base (with citations) for the agent to edit and send. Creating a ticket is one
transaction keyed by (session, message): a retry after a crash or a double click returns the same ticket.
`open_ticket` is the one way in, for the chat pipeline's hand-off and the "Talk to a human" button alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Float, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.citations import Citation
from assistant.errors import AssistantError, ConfigError, InputError, NotFoundError, StorageError
from assistant.storage import Base, add_missing_columns, ensure_tables, session_factory, utc_now

if TYPE_CHECKING:
    from assistant.router import RouterConfig

log = logging.getLogger(__name__)

STATUSES = ("open", "in_progress", "resolved", "closed")
AGENT_ROLE = "agent"  # a ticket transcript's turn written by a colleague (HandoffQueue.reply)
WAITING = ("open", "in_progress")
# The message_key of an order request's ticket (assistant.orders.desk): approving or rejecting the request resolves it
ORDER_REQUEST_KEY = "order-request:"


@dataclass
class HandoffConfig:
    intent_priority: dict[str, float] = field(
        default_factory=lambda: {"complaint": 3.0, "human_agent": 2.5, "payment": 2.0, "returns_refund": 1.8,
                                 "order_status": 1.5, "shipping": 1.5, "account": 1.5, "product_question": 1.0,
                                 "greeting": 0.5, "out_of_scope": 0.5,
                                 # order requests wait on an agent's approval: a changed address is the most urgent
                                 "order_change_address": 2.2, "order_cancel": 2.0, "order_return": 1.5},
        metadata={"help": "weight of each intent in the queue order (others: default_priority)"})
    default_priority: float = field(default=1.0, metadata={"help": "weight of intents not listed"})
    negative_weight: float = field(default=2.0,
                                   metadata={"help": "urgency x (1 + negative_weight x P(negative sentiment))"})
    wait_minutes_scale: float = field(default=30.0,
                                      metadata={"help": "urgency x (1 + minutes waiting / wait_minutes_scale)"})
    negative_labels: list[str] = field(default_factory=lambda: ["negative", "neg", "0"],
                                       metadata={"help": "sentiment labels that count as negative"})
    notify_url: str = field(default="", metadata={
        "help": "a webhook (http/https) that gets a JSON POST {text, ticket} for every new ticket, e.g. a Slack or "
                "chat-bridge incoming webhook; '' = none (assistant/handoff_notify.py)"})

    def __post_init__(self):
        if self.default_priority <= 0:
            raise ConfigError(f"default_priority must be > 0, got {self.default_priority:g}")
        bad = {k: v for k, v in self.intent_priority.items() if not float(v) > 0}
        if bad:
            raise ConfigError(f"intent_priority values must be > 0, got {bad}")
        if self.negative_weight < 0:
            raise ConfigError(f"negative_weight must be >= 0, got {self.negative_weight:g}")
        if self.wait_minutes_scale <= 0:
            raise ConfigError(f"wait_minutes_scale must be > 0, got {self.wait_minutes_scale:g}")
        if self.notify_url and not self.notify_url.startswith(("http://", "https://")):
            raise ConfigError(f"notify_url must be an http:// or https:// URL, got {self.notify_url!r}")


class TicketRow(Base):
    __tablename__ = "handoff_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # sha256(session, message)
    session_id: Mapped[str] = mapped_column(String(200), index=True)
    message_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True, default="open")
    intent: Mapped[str] = mapped_column(String(100), default="")
    sentiment: Mapped[str] = mapped_column(String(50), default="")
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str] = mapped_column(String(10), default="")
    transcript: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{role, content}]
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON [str]
    draft_reply: Mapped[str] = mapped_column(Text, default="")
    citations: Mapped[str] = mapped_column(Text, default="[]")  # JSON [Citation.as_dict()]
    agent_note: Mapped[str] = mapped_column(Text, default="")
    # What the agent answered the customer (the draft as sent or corrected): gap reports and support retraining
    # learn from it. Added after the first release: HandoffQueue adds the column to older stores.
    agent_reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive: SQLite keeps no zone
    updated_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass
class Ticket:
    id: int
    session_id: str
    message_key: str
    status: str
    intent: str
    sentiment: str
    sentiment_score: float
    language: str
    transcript: list[dict[str, str]]
    reasons: list[str]
    draft_reply: str
    citations: list[Citation]
    agent_note: str
    created_at: datetime
    updated_at: datetime
    urgency: float = 0.0
    agent_reply: str = ""

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["citations"] = [c.as_dict() for c in self.citations]
        d["created_at"], d["updated_at"] = self.created_at.isoformat(), self.updated_at.isoformat()
        return d



def _transcript(transcript) -> list[dict[str, str]]:
    if isinstance(transcript, str):
        return [{"role": "user", "content": transcript}]
    out = []
    for m in transcript or []:
        if isinstance(m, dict):
            out.append({"role": str(m.get("role", "user")), "content": str(m.get("content", "")),
                        **({"as_sent": True} if m.get("as_sent") else {})})  # an API client's own history
        else:  # assistant.llm.Message or anything with role/content
            out.append({"role": str(m.role), "content": str(m.content)})
    return out


def default_message_key(transcript: list[dict[str, str]]) -> str:
    """Same conversation, same last customer message -> same key: a retried hand-off finds its ticket."""
    users = [m["content"] for m in transcript if m["role"] == "user"]
    digest = hashlib.sha256((users[-1] if users else "").encode("utf-8")).hexdigest()[:16]
    return f"{len(users)}:{digest}"


# A ticket's transcript is read, extended and written back: two writers at once (two agents replying, a customer
# writing while an agent replies) would each write what they read, and one of them would be lost. Writes to
# tickets are few; one lock in the process, plus the row lock where the database has one (PostgreSQL).
_TICKET_WRITES = threading.RLock()


def _append_turns(row, turns: list[dict]) -> None:
    row.transcript = json.dumps(json.loads(row.transcript or "[]") + turns, ensure_ascii=False)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")


def _ticket_id(ticket_id) -> int:
    try:
        number = int(ticket_id)
    except (TypeError, ValueError):
        raise InputError(f"a ticket id is a number, got {ticket_id!r}") from None
    if not 0 < number < 2**63:  # beyond the database's integers: no ticket has it
        raise NotFoundError(f"no handoff ticket {ticket_id}")
    return number


class HandoffQueue:
    """Tickets for human agents, in the store behind `engine` (see assistant.storage)."""

    def __init__(self, engine: Engine, cfg: HandoffConfig | None = None):
        self.cfg = cfg or HandoffConfig()
        ensure_tables(engine)
        add_missing_columns(engine, TicketRow.__tablename__, {"agent_reply": "TEXT DEFAULT ''"})
        self._sessions = session_factory(engine)
        from assistant.handoff_notify import TicketNotifier

        self.notifier = TicketNotifier(self.cfg.notify_url) if self.cfg.notify_url else None

    def _to_ticket(self, row: TicketRow, now: datetime | None = None) -> Ticket:
        ticket = Ticket(row.id, row.session_id, row.message_key, row.status, row.intent, row.sentiment,
                        row.sentiment_score, row.language, json.loads(row.transcript), json.loads(row.reasons),
                        row.draft_reply, [Citation(**c) for c in json.loads(row.citations)], row.agent_note,
                        row.created_at, row.updated_at, agent_reply=row.agent_reply or "")
        ticket.urgency = self.urgency(ticket, now)
        return ticket

    def urgency(self, ticket: Ticket, now: datetime | None = None) -> float:
        """negative sentiment x intent priority x waiting time: each factor >= 1 except low-priority intents."""
        negative = ticket.sentiment_score if ticket.sentiment.lower() in self.cfg.negative_labels else 0.0
        priority = float(self.cfg.intent_priority.get(ticket.intent, self.cfg.default_priority))
        minutes = max(0.0, ((now or utc_now()) - ticket.created_at).total_seconds() / 60.0)
        return (1.0 + self.cfg.negative_weight * negative) * priority * (1.0 + minutes / self.cfg.wait_minutes_scale)

    def _find(self, session, key: str) -> TicketRow | None:
        return session.scalar(select(TicketRow).where(TicketRow.ticket_key == key))

    def create_ticket(self, session_id: str, transcript, intent: str = "", sentiment: str = "",
                      reasons: Sequence[str] = (), draft_reply: str | None = None,
                      citations: Sequence[Citation | dict] = (), *, message_key: str | None = None,
                      sentiment_score: float = 1.0, language: str = "",
                      draft_fn: Callable[[list[dict[str, str]]], tuple[str, Sequence[Citation]]] | None = None
                      ) -> Ticket:
        """One ticket per (session_id, message_key); calling again with the same pair returns that ticket.

        `message_key` defaults to the number of customer messages plus a hash of the last one. When no
        `draft_reply` is given, `draft_fn(transcript) -> (draft, citations)` writes one (only for new tickets).
        """
        if not session_id or not str(session_id).strip():
            raise InputError("session_id must not be empty")
        turns = _transcript(transcript)
        message_key = message_key or default_message_key(turns)
        key = hashlib.sha256(f"{session_id}\x00{message_key}".encode()).hexdigest()
        try:
            with self._sessions() as s:
                existing = self._find(s, key)
                if existing is not None:
                    return self._to_ticket(existing)
            if draft_reply is None and draft_fn is not None:
                draft_reply, citations = draft_fn(turns)  # slow (LLM): outside any transaction
            cites = [c.as_dict() if isinstance(c, Citation) else Citation(**c).as_dict() for c in citations]
            now = utc_now()
            row = TicketRow(ticket_key=key, session_id=str(session_id), message_key=message_key, status="open",
                            intent=intent or "", sentiment=sentiment or "", sentiment_score=float(sentiment_score),
                            language=language or "", transcript=json.dumps(turns, ensure_ascii=False),
                            reasons=json.dumps(list(reasons), ensure_ascii=False), draft_reply=draft_reply or "",
                            citations=json.dumps(cites, ensure_ascii=False), agent_note="", agent_reply="",
                            created_at=now,
                            updated_at=now)
            try:
                with self._sessions.begin() as s:  # one commit: the ticket is there whole, or not at all
                    s.add(row)
            except IntegrityError:  # another worker created it between our look-up and insert
                with self._sessions() as s:
                    return self._to_ticket(self._find(s, key))
            log.info("handoff ticket %s for session %s… (intent %s, sentiment %s)", row.id, str(session_id)[:8],
                     intent, sentiment)
            ticket = self._to_ticket(row)
            if self.notifier is not None:
                self.notifier.notify(ticket)
            return ticket
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot save the handoff ticket: {exc.__class__.__name__}: {exc}") from None

    def get(self, ticket_id: int) -> Ticket:
        with self._sessions() as s:
            row = s.get(TicketRow, _ticket_id(ticket_id))
            if row is None:
                raise NotFoundError(f"no handoff ticket {ticket_id}")
            return self._to_ticket(row)

    def queue(self, statuses: Sequence[str] = WAITING, now: datetime | None = None,
              limit: int | None = None) -> list[Ticket]:
        """Waiting tickets, most urgent first (ties: the older first)."""
        now = now or utc_now()
        with self._sessions() as s:
            rows = s.scalars(select(TicketRow).where(TicketRow.status.in_(list(statuses)))).all()
            tickets = [self._to_ticket(r, now) for r in rows]
        tickets.sort(key=lambda t: (-t.urgency, t.created_at, t.id))
        return tickets[:limit] if limit else tickets

    def _edit(self, ticket_id: int, change) -> Ticket:
        """Apply `change(row)` to one ticket in one transaction, no other ticket write in between."""
        number = _ticket_id(ticket_id)
        try:
            with _TICKET_WRITES, self._sessions.begin() as s:
                row = s.get(TicketRow, number, with_for_update=True)
                if row is None:
                    raise NotFoundError(f"no handoff ticket {ticket_id}")
                change(row)
                row.updated_at = utc_now()
            return self._to_ticket(row)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot update ticket {ticket_id}: {exc}") from None

    def _change(self, ticket_id: int, status: str, **fields: str) -> Ticket:
        """Set the status and the given columns of one ticket, in one transaction."""
        _check_status(status)

        def change(row):
            for name, value in {**fields, "status": status}.items():
                setattr(row, name, value)
        return self._edit(ticket_id, change)

    def update_status(self, ticket_id: int, status: str, note: str | None = None) -> Ticket:
        return self._change(ticket_id, status, **({"agent_note": note} if note is not None else {}))

    def reply(self, ticket_id: int, text: str, status: str = "resolved") -> Ticket:
        """Record the agent's answer to the customer (and, by default, resolve the ticket; `in_progress` keeps it
        open for the customer's answer). Each reply also joins the transcript as an `agent` turn; `agent_reply`
        holds the latest."""
        text = str(text or "").strip()
        if not text:
            raise InputError("the reply is empty: write what the customer should read")
        _check_status(status)

        def change(row):
            # checked and written in one step: two agents answering at once each got "sent", and the ticket kept
            # the status of one and the reply of the other
            if row.status not in WAITING:  # a second "resolve" had replaced the reply the customer read
                raise InputError(f"ticket {ticket_id} is already {row.status}: its reply stays as the customer read "
                                 "it (a new question from the customer opens a new ticket)")
            _append_turns(row, [{"role": AGENT_ROLE, "content": text, "later": True}])
            row.agent_reply, row.status = text, status
        return self._edit(ticket_id, change)

    def add_turns(self, ticket_id: int, turns) -> Ticket:
        """Append what was said after the ticket was opened (the customer's later messages, the assistant's answers
        meanwhile, the agent's replies) to its transcript, so the colleague who takes it reads the whole
        conversation. They are marked `later`: the question the ticket was opened for stays the last unmarked
        customer turn (the draft answers it; support retraining pairs it with the agent's reply)."""
        new = [{**t, "later": True} for t in _transcript(turns)]
        if not new:
            return self.get(ticket_id)

        return self._edit(ticket_id, lambda row: _append_turns(row, new))

    def waiting_ticket(self, session_id: str) -> Ticket | None:
        """The session's ticket still waiting for a colleague (open or in progress), the latest; None when none.
        An order request's ticket counts only once a colleague has answered on it and waits for the customer (in
        progress): until then it waits for an approval, which resolves it, and a "Talk to a human" or a question
        joined to it would be resolved with the order, unanswered."""
        waiting = [t for t in self.tickets_for_session(session_id) if t.status in WAITING
                   and not (t.message_key.startswith(ORDER_REQUEST_KEY) and t.status == "open")] if session_id else []
        return waiting[-1] if waiting else None

    def continued_session(self, user_turns: Sequence[str], prefix: str) -> str | None:
        """The session (id starting with `prefix`) whose waiting ticket these customer turns continue: its customer
        turns are where `user_turns` begin. For a client that sends the whole conversation with no id of its own.
        None when no ticket or more than one matches (two customers who wrote the very same words are not one), and
        when the ticket's customer turns say little more than asking for a person: "I want to talk to a human" is how
        many customers begin, and a second one's message had joined the first one's ticket."""
        with self._sessions() as s:
            rows = s.scalars(select(TicketRow).where(TicketRow.session_id.startswith(prefix, autoescape=True),
                                                     TicketRow.status.in_(WAITING))).all()
            said = list(user_turns)
            found = {r.session_id: asked for r in rows
                     if (asked := [t.get("content", "") for t in json.loads(r.transcript) if t.get("role") == "user"])
                     and said[:len(asked)] == asked}
        if len(found) != 1:
            return None
        (session_id, asked), = found.items()
        return session_id if _own_letters(asked) >= MIN_OWN_LETTERS else None

    def tickets_for_session(self, session_id: str) -> list[Ticket]:
        with self._sessions() as s:
            rows = s.scalars(select(TicketRow).where(TicketRow.session_id == session_id)
                             .order_by(TicketRow.id)).all()
            return [self._to_ticket(r) for r in rows]


# Words that go with a request for a person and ask nothing more ("I'd like to talk to a real person now, please",
# "麻烦帮我转一下人工吧"): what a message says besides them and the router's own phrases is a question of its own.
_PERSON_REQUEST_WORDS = re.compile(
    r"\b(?:i|i'?d|i'?m|me|we|want|wanna|would|like|need|to|talk|speak|chat|with|a|an|the|some|one|someone|somebody|"
    r"anyone|real|actual|live|human|person|agent|staff|representative|operator|colleague|member|of|your|you|please|"
    r"pls|plz|can|could|may|let|get|put|connect|transfer|through|now|right|away|just|asap|instead|thanks|thank|hi|"
    r"hello|hey|ok|okay|yes|yeah|sure|go|ahead|do|is|there)\b"
    r"|我|要|想|请|帮|给|麻烦|转|接|找|一下|吧|呢|啊|呀|了|谢谢|你好|您好|人工|客服|真人|服务|好的|好|直接|现在|马上|可以|吗",
    re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
# Letters of a customer's own words (besides asking for a person) that make a conversation theirs and no one else's
MIN_OWN_LETTERS = 12


def _own_letters(turns: Sequence[str]) -> int:
    """Letters the customer wrote besides the words that ask for a person (a Chinese character counts 2)."""
    text = _PERSON_REQUEST_WORDS.sub(" ", " ".join(turns))
    return sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in _LETTER.findall(text))


def asks_only_for_a_person(text: str, router_cfg: RouterConfig | None = None) -> bool:
    """"I want to talk to a person", "转人工", or "yes please" after the offer of a colleague: the router's request
    for a person (its phrases and accepting replies, `router_cfg`: the shop's router section) and no other question.
    "Is this tent big enough for 4 people?", "客服电话是多少？", "Can someone deliver on Sunday?" ask their own."""
    from assistant.router import RouterConfig, accepts, asks_for_human

    cfg = router_cfg or RouterConfig()
    if not (asks_for_human(text, cfg) or accepts(text, cfg)):
        return False
    rest = text.lower()
    for phrase in sorted((*cfg.human_keywords, *cfg.accept_words), key=len, reverse=True):
        rest = rest.replace(phrase.lower(), " ")
    return not _LETTER.search(_PERSON_REQUEST_WORDS.sub(" ", rest))


def grounded_draft(kb, transcript: Sequence[dict[str, str]], lookup=None, shop=None, language: str = "",
                   router_cfg: RouterConfig | None = None) -> tuple[str, list[Citation]]:
    """A reply for the agent to edit: the shop's own sentences answering the question the ticket is about (no LLM,
    so opening a ticket never waits on the model), in the customer's `language`. "" when the documents do not
    answer that question, or answer it only in the other language: an empty box is better than a pre-filled
    answer to another question (an earlier one, or the near miss a second reading turned down).

    The question is the customer's latest message that is more than a request for a person (in the words of
    `router_cfg`, the shop's router section); `lookup` is the pipeline's for the latest message (with its second
    reading), used when that message is the question."""
    from assistant.language import answer_language
    from assistant.shop import Shop

    shop = shop or Shop()
    turns = [t for t in transcript if str(t.get("content", "")).strip()]
    users = [i for i, t in enumerate(turns) if t.get("role") == "user"]
    asked = next((i for i in reversed(users) if not asks_only_for_a_person(turns[i]["content"], router_cfg)), None)
    if kb is None or asked is None:
        return "", []
    question = turns[asked]["content"]
    answered = next((t["content"] for t in turns[asked + 1:] if t.get("role") == "assistant"), "")
    if any(answered.strip().startswith(shop.text("abstain", lang)) for lang in ("en", "zh")):
        return "", []  # the assistant said then that the documents do not answer it
    language = language or shop.language_of_conversation([turns[i]["content"] for i in users if i <= asked])
    if lookup is None or asked != users[-1]:
        try:
            lookup = kb.lookup(question, language, earlier_questions=[turns[i]["content"] for i in users
                                                                      if i < asked])
        except AssistantError as exc:
            log.error("could not draft a reply for the agent: %s", exc.one_line())
            return "", []
    if lookup is None or not lookup.answerable:
        return "", []
    draft = kb.answerer(shop).extractive(lookup)
    if not draft or answer_language(draft, language) != language:
        return "", []  # the documents' sentence in the other language: the agent writes the reply
    return draft, lookup.citations


def open_ticket(queue: HandoffQueue, session_id: str, transcript, *, kb=None, lookup=None, shop=None,
                intent: str = "", sentiment: str = "", sentiment_score: float = 1.0, reasons: Sequence[str] = (),
                language: str = "", router_cfg: RouterConfig | None = None) -> Ticket:
    """The conversation's ticket: while one is waiting (open or in progress), asking again returns it, whether
    the pipeline handed off or the customer pressed the button, with what the customer said since added to it;
    otherwise a new one with a grounded draft in the customer's language (`router_cfg`: the shop's router section,
    whose words say which message only asks for a person; its defaults when not given)."""
    turns = _transcript(transcript)
    users = [t["content"] for t in turns if t["role"] == "user"]
    if shop is not None and users and not shop.says_language(users[-1]):
        # "1111" says no language (a caller reading it alone gets the shop's default): the conversation's counts
        language = shop.language_of_conversation(users)
    waiting = queue.waiting_ticket(session_id) if session_id else None
    if waiting is not None:
        # what the customer said since the ticket was opened goes onto it
        known = [(t["role"], t["content"]) for t in waiting.transcript]
        given = [(t["role"], t["content"]) for t in turns]
        said = turns[len(known):] if given[:len(known)] == known else [
            t for t, k in zip(turns[-1:], given[-1:], strict=True) if k not in known[-1:]]
        return queue.add_turns(waiting.id, said) if said else waiting
    if not any(t["role"] == "user" for t in turns):
        turns = [{"role": "user", "content": "(the customer asked for a human before writing anything)"}]
    return queue.create_ticket(session_id or "anonymous", turns, intent=intent, sentiment=sentiment, reasons=list(reasons),
                               sentiment_score=sentiment_score, language=language,
                               draft_fn=lambda t: grounded_draft(kb, t, lookup, shop, language, router_cfg))

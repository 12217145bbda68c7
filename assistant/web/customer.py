"""Customer chat for the UI tab and the widget: sessions, streaming, sources, language, "talk to a human".

Everything here is plain Python over `runtime.chat.respond()`, so the Gradio tab, the widget's endpoint and
the tests share one code path. A session id is the only thing a browser holds; history stays on the server.
Messages, handoff tickets and votes are limited per client address as well as per session (`client_limits`),
so a client that drops its session id starts a new conversation but not a new budget.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.chat import ChatSession, Reply
from assistant.citations import Citation
from assistant.errors import AssistantError, InputError, NotFoundError, RateLimitError
from assistant.rate_limit import RateLimiter, limit_key

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")


def t(runtime, lang: str, key: str, **kw) -> str:
    """A customer-facing text of the configured shop (assistant/shop/messages.yaml + the shop's overrides)."""
    return runtime.shop.text(key, lang, **kw)


@dataclass
class ClientLimits:
    """Per-client-address budgets of one app (built once per runtime; bounded tables)."""

    messages: RateLimiter
    tickets: RateLimiter
    votes: RateLimiter


def client_limits(runtime) -> ClientLimits:
    cfg = runtime.settings.app
    return runtime.component("client_limits", lambda: ClientLimits(
        RateLimiter(cfg.client_rate_limit_per_minute, what="messages"),
        RateLimiter(cfg.handoffs_per_client_per_hour, window=3600.0, what="requests for a human"),
        RateLimiter(cfg.votes_per_client_per_minute, what="votes")))


def _client_key(client: str | None) -> str | None:
    return limit_key(client) if client else None


def session_for(runtime, session_id: str | None) -> ChatSession:
    """The caller's session; an id that is not a server-made one starts a fresh session (no id guessing)."""
    if not session_id or not SESSION_ID.fullmatch(str(session_id)):
        session_id = uuid.uuid4().hex
    return runtime.chat.sessions.get(session_id)


def citation_dicts(citations: list[Citation]) -> list[dict]:
    """Citations as customers may see them: document name and title, never the server's file path."""
    return [c.for_customer() if hasattr(c, "for_customer") else Citation(**c).for_customer() for c in citations]


@dataclass
class ChatEvent:
    """One step of a streamed answer: text so far, and once finished the whole Reply."""

    text: str
    session_id: str
    lang: str
    reply: Reply | None = None
    done: bool = False
    extra: dict = field(default_factory=dict)


def stream_answer(runtime, session_id: str | None, message: Any, channel: str = "ui",
                  client: str | None = None, checked: bool = False) -> Iterator[ChatEvent]:
    """Validate, answer through the whole chat pipeline, yield growing text; the last event has `.reply`.
    `checked`: the caller ran `precheck` already (the client's message is counted once).

    Bad input raises InputError before anything streams (a RateLimitError when this client address, given
    as `client`, or this session sent too many); a failing model never raises here (the chat service turns
    it into a polite reply), other errors become a friendly final event.
    """
    if not checked:
        precheck(runtime, message, client)
    text = message.strip()  # its length is checked once, by the chat pipeline (app.max_message_chars)
    if not session_id or not SESSION_ID.fullmatch(str(session_id)):
        session_id = uuid.uuid4().hex
    try:
        # one message of a conversation at a time: two sent at once would each save their own copy of its history
        with runtime.chat.sessions.turn_lock(session_id):
            yield from _answer_in_session(runtime, session_for(runtime, session_id), text, channel, client)
    except RateLimitError as exc:  # raised before anything streamed (this address's or this session's limit)
        raise for_customer(runtime, exc, text) from None


def precheck(runtime, message: Any, client: str | None = None) -> None:
    """What refuses a message before any work is queued for it: an empty one, and one past this client address's
    limit (in the shop's words). The widget runs it before taking a place in the generation queue."""
    if not isinstance(message, str) or not message.strip():
        raise InputError(t(runtime, runtime.shop.cfg.default_language, "empty"))
    if client:
        try:
            client_limits(runtime).messages.check(_client_key(client))
        except RateLimitError as exc:
            raise for_customer(runtime, exc, message.strip()) from None


def for_customer(runtime, exc: RateLimitError, text: str) -> RateLimitError:
    """`exc` with `customer_text`: the shop's own "please wait" in the customer's language, what the widget page
    shows (the error's message is a developer's English: "too many messages: at most 20 a minute...")."""
    lang = runtime.shop.language_of_conversation([text])
    exc.customer_text = t(runtime, lang, "rate_limited", wait=getattr(exc, "retry_after_s", None) or 60)
    return exc


def _answer_in_session(runtime, session: ChatSession, text: str, channel: str,
                       client: str | None) -> Iterator[ChatEvent]:
    # "1111" or an e-mail says no language: the conversation's is kept (what the chat pipeline answers in)
    lang = runtime.shop.language_of_conversation([*(m.content for m in session.history if m.role == "user"), text])
    orders = runtime.orders if client else None
    if orders is not None:  # the order desk limits wrong verifications per client address too
        orders.note_client(session.id, client)
    sofar = ""
    try:
        stream = runtime.chat.respond(text, session)
        for piece in stream:
            sofar += piece
            yield ChatEvent(sofar, session.id, lang)
        reply = stream.reply
    except InputError:
        raise
    except AssistantError as exc:
        # the id's head only, as everywhere: the whole id reads the conversation's replies (/widget/api/replies)
        log.error("chat failed for session %s: %s", session.id[:8], exc.one_line())
        reply = Reply(text=t(runtime, lang, "failed"), handoff=True, error=exc.one_line())
    except Exception as exc:  # noqa: BLE001 - the server stays up and the customer gets an answer
        log.exception("unexpected chat failure for session %s", session.id[:8])
        reply = Reply(text=t(runtime, lang, "failed"), handoff=True, error=f"{type(exc).__name__}: {exc}")
    from assistant.web.events import record_answer

    record_answer(runtime, session.id, reply, lang, channel, question=text)
    yield ChatEvent(reply.text, session.id, lang, reply=reply, done=True)


def transcript(runtime, session_id: str | None) -> list[dict]:
    if not session_id or not SESSION_ID.fullmatch(str(session_id)):
        return []
    return [m.as_dict() for m in runtime.chat.sessions.get(session_id).history]


def request_handoff(runtime, session_id: str | None, reason: str = "customer asked for a human",
                    client: str | None = None) -> dict:
    """Open a handoff ticket with the session's transcript; says plainly when no queue is available.

    One open ticket per conversation (asking again returns it); `client` (the address) gets
    app.handoffs_per_client_per_hour new requests: beyond that, a RateLimitError. A ticket needs a conversation
    to hand over: no session id is an InputError, an id of no conversation with a customer message a
    NotFoundError (else any made-up id would put an empty ticket in the agents' queue).
    """
    valid = bool(session_id) and bool(SESSION_ID.fullmatch(str(session_id)))
    history = transcript(runtime, session_id) if valid else []
    said = [m["content"] for m in history if m["role"] == "user"]
    last_user = said[-1] if said else ""
    lang = runtime.shop.language_of_conversation(said)
    if client:  # counted before the checks below: probing made-up ids uses up the same budget
        try:
            client_limits(runtime).tickets.check(_client_key(client))
        except RateLimitError as exc:  # the widget and the tab show the shop's words, not "at most 10 an hour"
            wait = getattr(exc, "retry_after_s", None) or 3600
            exc.customer_text = t(runtime, lang, "handoff_rate_limited", minutes=max(1, -(-int(wait) // 60)))
            raise
    if not session_id:
        raise InputError(t(runtime, lang, "empty"))
    if not last_user:
        exc = NotFoundError(f"no conversation with this session_id to hand over; {t(runtime, lang, 'empty')}")
        exc.customer_text = t(runtime, lang, "empty")  # what the widget shows in the chat: no developer words
        raise exc
    try:
        from assistant.web.staff import open_ticket

        redactor = runtime.redactor  # as the chat's own handoff does (privacy.apply_to.tickets)
        if redactor is not None:
            history = [{**m, "content": redactor.redact_for("tickets", m["content"])} for m in history]
        ticket = open_ticket(runtime, session_id, history, reason)
    except Exception as exc:  # noqa: BLE001 - the button must answer even if the queue is down
        log.warning("handoff unavailable: %s", exc)
        return {"ok": False, "ticket": None, "message": t(runtime, lang, "handoff_unavailable"), "lang": lang}
    _mark_handed_off(runtime, session_id)
    return {"ok": True, "ticket": ticket, "message": t(runtime, lang, "handoff_done", ticket=ticket), "lang": lang}


def _mark_handed_off(runtime, session_id: str) -> None:
    """The conversation is with a colleague now, as when the router hands off: what the customer says next goes
    onto the ticket, and only what the documents answer is answered meanwhile."""
    from assistant.router import ConversationState

    sessions = runtime.chat.sessions
    session = sessions.get(session_id)
    session.state = session.state or ConversationState()
    session.state.handed_off = True
    sessions.save(session)


def deliver_agent_reply(runtime, ticket) -> None:
    """A colleague's reply joins the customer's conversation: the widget shows it (`agent_replies`), the assistant
    and any later ticket read it in the history. A resolved ticket gives the conversation back to the assistant;
    one kept open keeps it with the colleague (the customer's answer goes onto the ticket)."""
    from assistant.handoff import WAITING
    from assistant.llm.base import Message

    sessions = runtime.chat.sessions
    session = sessions.get(ticket.session_id)
    if not session.history:  # not a conversation this server holds (e.g. a stateless /v1 client's)
        return
    session.history.append(Message("assistant", ticket.agent_reply))
    if session.state is not None:
        # with the colleague while any of the conversation's tickets waits for them, not only this one: an order
        # request approved while a "Talk to a human" ticket of its own waits leaves the conversation with them
        waiting = ticket.status in WAITING or (runtime.handoff is not None
                                               and runtime.handoff.waiting_ticket(ticket.session_id) is not None)
        session.state.handed_off = waiting
    sessions.save(session)


def agent_replies(runtime, session_id: str | None) -> list[dict]:
    """What colleagues replied to this conversation's tickets, oldest first: [{id, ticket, text}] (the widget polls
    this while it holds a conversation and shows each id once). Only for a well-formed session id."""
    from assistant.handoff import AGENT_ROLE

    if not session_id or not SESSION_ID.fullmatch(str(session_id)) or runtime.handoff is None:
        return []
    out = []
    for ticket in runtime.handoff.tickets_for_session(session_id):
        said = [m["content"] for m in ticket.transcript if m.get("role") == AGENT_ROLE]
        if not said and ticket.agent_reply:  # replied before replies joined the transcript
            said = [ticket.agent_reply]
        out += [{"id": f"{ticket.id}-{k}", "ticket": ticket.id, "text": text} for k, text in enumerate(said, 1)]
    return out


def sources_message(runtime, citations: list[Citation], lang: str) -> dict:
    """A collapsed "thought" message in gr.Chatbot: the sources (document names, never server paths) expand
    on click."""
    lines = []
    for i, c in enumerate(citation_dicts(citations), 1):
        where = c["source"] + (f", p. {c['page']}" if c.get("page") else "")
        snippet = " ".join((c["snippet"] or "").split())[:400]
        lines.append(f"**[{i}] {c['title'] or where}** — {where}\n\n> {snippet}")
    return {"role": "assistant", "content": "\n\n".join(lines),
            "metadata": {"title": f"📚 {t(runtime, lang, 'sources')} ({len(citations)})", "status": "done"}}


def chat_ui_turn(runtime, message: Any, history: list | None, session_id: str | None, client: str | None = None):
    """The Gradio customer tab's submit handler: yields (chat history, session id, status line, textbox).

    History is gr.Chatbot's message list; the server-side session holds the real memory. Bad input leaves
    the history as it was and says why in the status line. `client` is the browser's address.
    """
    history = list(history or [])
    events = stream_answer(runtime, session_id, message, client=client)
    try:
        event = next(events)
    except InputError as exc:  # a rate limit carries the shop's own words in the customer's language
        yield history, session_id, f"⚠️ {getattr(exc, 'customer_text', None) or exc}", ""
        return
    history += [{"role": "user", "content": str(message).strip()}, {"role": "assistant", "content": event.text}]
    yield list(history), event.session_id, "", ""
    for event in events:
        history[-1] = {"role": "assistant", "content": event.text}
        if event.done:
            reply = event.reply
            if reply.citations:
                history.append(sources_message(runtime, reply.citations, event.lang))
            ticket = getattr(reply, "ticket_id", None)
            status = (t(runtime, event.lang, "handoff_done", ticket=ticket) if ticket is not None
                      else t(runtime, event.lang, "handoff_offer") if reply.handoff else "")
            yield list(history), event.session_id, status, ""
            return
        yield list(history), event.session_id, "", ""  # a copy per step: each is a snapshot of the stream


def vote(runtime, session_id: str | None, up: bool, channel: str, message: int | None = None,
         client: str | None = None) -> None:
    """Record a thumbs up/down on one answer of a conversation: one vote per answer (a second one replaces the
    first), only on answers that exist, and app.votes_per_client_per_minute per client address.

    `message` is the answer's number in the conversation (0 = the first answer); None = the latest one.
    """
    from assistant.web.events import record_vote

    valid = bool(session_id) and bool(SESSION_ID.fullmatch(str(session_id)))
    answers = runtime.chat.sessions.get(session_id).answers if valid else 0  # older turns' answers counted too
    if not answers:
        raise InputError("there is no answer to vote on in this conversation")
    number = answers - 1 if message is None else message
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < answers:
        raise InputError(f"message must be an answer number between 0 and {answers - 1}")
    if client:
        client_limits(runtime).votes.check(_client_key(client))
    record_vote(runtime, session_id, 1 if up else -1, channel, message=number)


def _is_answer(message) -> bool:
    """An answer in gr.Chatbot's history as the server numbers them: the assistant's, and a colleague's reply (which
    `replies_ui` shows as "🧑‍💼 **Our team**: …" and the server's transcript holds as an assistant turn: left out, every
    vote after one landed on the answer before); not the sources block nor the handoff button's notice."""
    content = str(message.get("content", "")) if isinstance(message, dict) else ""
    return (isinstance(message, dict) and message.get("role") == "assistant" and not message.get("metadata")
            and (not content.startswith("🧑‍💼") or content.startswith("🧑‍💼 **")))


def vote_ui(runtime, session_id: str | None, liked, index=None, history: list | None = None,
            client: str | None = None) -> None:
    """A thumbs up/down in the customer tab (gr.LikeData: `liked` True/False or the option name, `index` the
    liked message's position in the chat, whose `history` tells which answer that is)."""
    up = liked is True or (isinstance(liked, str) and liked.lower() in ("like", "up", "true"))
    position = index[0] if isinstance(index, list | tuple) and index else index
    number = None
    if history and isinstance(position, int) and not isinstance(position, bool) and 0 <= position < len(history):
        # Votes on the sources block count for the answer they belong to (the one before).
        number = sum(_is_answer(m) for m in history[:position + 1]) - 1
        if number < 0:
            raise InputError("there is no answer to vote on there")
    vote(runtime, session_id, up, "ui", number, client)


def replies_ui(runtime, history: list | None, session_id: str | None, shown: list | None):
    """The customer tab's poll: colleagues' replies this browser has not shown yet, added to the chat as
    (history, shown ticket ids); None when there is nothing to add, or while an answer is on its way (the
    streaming turn would overwrite the chat: the reply comes at the next poll)."""
    shown = list(shown or [])
    new = [r for r in agent_replies(runtime, session_id) if r["id"] not in shown]
    history = list(history or [])
    # an answer on its way: the browser shows a question the server has not stored yet. Compared by how many, or,
    # as a long conversation's stored history keeps its latest turns only, by the last question
    stored = [m["content"].strip() for m in transcript(runtime, session_id) if m["role"] == "user"]
    asked = [_chat_text(m.get("content")) for m in history if isinstance(m, dict) and m.get("role") == "user"]
    if not new or not (len(asked) == len(stored) or (asked and stored and asked[-1] == stored[-1])):
        return None
    for r in new:
        label = t(runtime, runtime.shop.language_of(r["text"]), "colleague")
        history.append({"role": "assistant", "content": f"🧑‍💼 **{label}**: {r['text']}"})
        shown.append(r["id"])
    return history, shown


def _chat_text(content) -> str:
    """A gr.Chatbot message's text: Gradio hands a message back as a list of blocks ({"type": "text", "text": …})."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, dict):
        return str(content.get("text", "")).strip()
    if isinstance(content, list):
        return "".join(_chat_text(c) for c in content).strip()
    return ""


def handoff_ui(runtime, history: list | None, session_id: str | None, client: str | None = None):
    """The "Talk to a human" button: opens a ticket and says so in the chat (before the first message, it asks
    for one; past this address's hourly budget, it says when to try again)."""
    try:
        message = request_handoff(runtime, session_id, client=client)["message"]
    except RateLimitError as exc:  # too many requests from this address: said in the chat, in the shop's words
        message = getattr(exc, "customer_text", None) or str(exc)
    except (InputError, NotFoundError):  # no conversation yet (or a stale id): the customer is asked to write
        message = t(runtime, runtime.shop.cfg.default_language, "empty")
    history = list(history or []) + [{"role": "assistant", "content": f"🧑‍💼 {message}"}]
    return history, message

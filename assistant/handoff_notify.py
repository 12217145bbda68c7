"""Tell someone a customer is waiting: a new hand-off ticket POSTed to the shop's webhook (`handoff.notify_url`).

A small shop does not watch the Agent tab all day; a ticket nobody sees waits until the customer gives up. The
body carries `text` (a one-line summary, the shape Slack, Mattermost and many chat bridges post as it is) and
`ticket` (the fields an integration needs). Sent from a background thread with a short timeout: a slow or
broken webhook never delays the customer's answer, and a failure is only logged.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


def ticket_message(ticket) -> dict:
    """The webhook's JSON body for `ticket` (assistant.handoff.Ticket): its transcript is already redacted. The
    session id goes as its head only, as in the logs: the whole id is the customer's key to the conversation
    (the widget continues it, its orders verified in it included), and a chat channel is read by many."""
    last = next((m["content"] for m in reversed(ticket.transcript) if m.get("role") == "user"), "")
    last = " ".join(last.split())
    short = last if len(last) <= 200 else last[:200] + "…"
    return {"text": f"New hand-off ticket #{ticket.id} ({ticket.intent or 'no intent'}, urgency "
                    f"{ticket.urgency:.1f}): {short}",
            "ticket": {"id": ticket.id, "session_id": str(ticket.session_id)[:8], "intent": ticket.intent,
                       "sentiment": ticket.sentiment, "language": ticket.language,
                       "urgency": round(ticket.urgency, 2), "last_message": last,
                       "created_at": ticket.created_at.isoformat() if ticket.created_at else None}}


class TicketNotifier:
    """`notify(ticket)`: POST the ticket to `url` in a daemon thread; `wait()` joins the threads (tests, shutdown)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S):
        self.url, self.timeout = url, timeout
        self._threads: list[threading.Thread] = []

    def notify(self, ticket) -> None:
        body = ticket_message(ticket)
        thread = threading.Thread(target=self._post, args=(body,), name=f"ticket-notify-{ticket.id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _post(self, body: dict) -> None:
        import httpx

        try:
            httpx.post(self.url, json=body, timeout=self.timeout).raise_for_status()
        except Exception as exc:  # noqa: BLE001 - a webhook's failure must never reach the customer
            # A Slack-style webhook's path is its secret, and httpx's messages quote the URL (as it normalised it,
            # so no replace() catches every spelling): the log names the host, the error kind and the HTTP status
            host = httpx.URL(self.url).host or "the webhook"
            status = getattr(getattr(exc, "response", None), "status_code", None)
            log.warning("could not notify %s of ticket %s: %s%s", host, body["ticket"]["id"], type(exc).__name__,
                        f" (HTTP {status})" if status else "")

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

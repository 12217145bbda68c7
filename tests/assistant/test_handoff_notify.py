"""A new hand-off ticket is POSTed to the shop's webhook; a broken webhook never costs the ticket or the answer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assistant.errors import ConfigError
from assistant.handoff import HandoffConfig, HandoffQueue
from assistant.storage import get_engine


@pytest.fixture
def webhook():
    """A local webhook that records the JSON bodies it is sent; answers `status` (200 by default)."""
    received, status = [], {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server hook's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, status
    server.shutdown()


def test_every_new_ticket_is_posted_once(tmp_path, webhook):
    url, received, _ = webhook
    queue = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 't.db'}"), HandoffConfig(notify_url=url))
    turns = [{"role": "user", "content": "My lamp arrived broken and I want my money back"}]
    ticket = queue.create_ticket("s1", turns, intent="complaint", sentiment="negative", sentiment_score=0.9)
    again = queue.create_ticket("s1", turns, intent="complaint")  # the same message again: the same ticket
    queue.notifier.wait(10)
    assert again.id == ticket.id and len(received) == 1
    body = received[0]
    assert body["ticket"]["id"] == ticket.id and body["ticket"]["intent"] == "complaint"
    assert f"#{ticket.id}" in body["text"] and "lamp arrived broken" in body["text"]
    assert body["ticket"]["last_message"] == "My lamp arrived broken and I want my money back"


def test_a_failing_webhook_costs_nothing_but_a_log_line(tmp_path, webhook, caplog):
    url, received, status = webhook
    status["code"] = 500
    queue = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 't.db'}"), HandoffConfig(notify_url=url))
    ticket = queue.create_ticket("s2", [{"role": "user", "content": "help"}])
    queue.notifier.wait(10)
    assert queue.get(ticket.id).status == "open" and len(received) == 1
    assert any("could not notify" in r.getMessage() for r in caplog.records)
    nowhere = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 'n.db'}"),
                           HandoffConfig(notify_url="http://127.0.0.1:9/closed"))
    assert nowhere.create_ticket("s3", [{"role": "user", "content": "help"}]).id  # refused connection: still a ticket
    nowhere.notifier.wait(10)


def test_notify_url_must_be_a_web_address():
    with pytest.raises(ConfigError, match="notify_url"):
        HandoffConfig(notify_url="ftp://example.com/hook")


def test_the_webhook_gets_no_session_key_and_the_log_no_webhook_secret(tmp_path, webhook, caplog):
    """The whole session id continues the customer's conversation (and its verified orders) in the widget; a Slack
    webhook's path is its token. Neither belongs in a chat channel or a log."""
    url, received, status = webhook
    status["code"] = 500
    secret_url = url + "/T000/B000/XXXXSECRET"
    queue = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 't.db'}"), HandoffConfig(notify_url=secret_url))
    sid = "7f3a9c0e5b2d4e6f8a1b3c5d7e9f0a2b"
    queue.create_ticket(sid, [{"role": "user", "content": "where is my order 100234?"}])
    queue.notifier.wait(10)
    assert received and sid not in json.dumps(received[0]) and received[0]["ticket"]["session_id"] == sid[:8]
    logged = " ".join(r.getMessage() for r in caplog.records if "could not notify" in r.getMessage())
    assert logged and "XXXXSECRET" not in logged and "127.0.0.1" in logged and "HTTP 500" in logged
    # a URL written otherwise than httpx prints it (upper-case host) kept its secret in the message's copy
    caplog.clear()
    other = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 'u.db'}"),
                         HandoffConfig(notify_url=secret_url.replace("127.0.0.1", "LOCALHOST")))
    other.create_ticket(sid, [{"role": "user", "content": "hello?"}])
    other.notifier.wait(10)
    logged = " ".join(r.getMessage() for r in caplog.records if "could not notify" in r.getMessage())
    assert logged and "XXXXSECRET" not in logged

"""Limits per client address as well as per session, checked against the running app: chat messages (widget
and Gradio chat), handoff tickets, votes and login guesses; X-Forwarded-For counts only from trusted proxies;
every table is bounded."""

from __future__ import annotations

import base64
import json
import threading

import httpx
import pytest

from assistant.app_config import AppConfig
from assistant.errors import ConfigError
from assistant.rate_limit import RateLimiter, client_address, limit_key
from assistant.web import auth as auth_module
from assistant.web.auth import Authenticator, LoginThrottle, hash_password
from tests.app.test_exposed_defaults import served


def widget_chat(url, message="hello", session_id=None, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    r = httpx.post(f"{url}/widget/api/chat", json={"message": message, "session_id": session_id},
                   headers=headers, timeout=30)
    if r.status_code != 200:
        return r.status_code, r.json(), None
    events = [json.loads(line[6:]) for line in r.text.split("\n\n") if line.startswith("data: ")]
    return 200, events, events[0]["session_id"]


def test_dropping_the_session_id_does_not_reset_the_widget_limit(tmp_path):
    with served(tmp_path, client_rate_limit_per_minute=3) as server:
        assert [widget_chat(server.url)[0] for _ in range(3)] == [200, 200, 200]  # three fresh sessions
        status, body, _ = widget_chat(server.url)
        assert status == 429 and "at most 3 a minute" in body["error"]["message"]
        status, _, _ = widget_chat(server.url, session_id="0" * 32)
        assert status == 429  # a made-up session id does not help either
        # A forged X-Forwarded-For is ignored: no proxy is trusted
        assert widget_chat(server.url, forwarded="198.51.100.7")[0] == 429


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path):
    with served(tmp_path, client_rate_limit_per_minute=2, trusted_proxies=["127.0.0.1/32"]) as server:
        assert [widget_chat(server.url, forwarded="198.51.100.7")[0] for _ in range(3)] == [200, 200, 429]
        # another customer behind the same proxy has their own budget
        assert widget_chat(server.url, forwarded="198.51.100.8")[0] == 200
        # the client cannot prepend its way out: the proxy appends the real address, which is read from the right
        assert widget_chat(server.url, forwarded="203.0.113.1, 198.51.100.7")[0] == 429


def test_gradio_chat_is_limited_per_client_address_too(tmp_path):
    from gradio_client import Client

    from app import CSS, build_demo
    from assistant.llm import FakeBackend
    from assistant.web.server import BackgroundServer, create_app
    from tests.app.conftest import FakeRuntime
    from tests.app.test_exposed_defaults import settings_for

    settings = settings_for(tmp_path, client_rate_limit_per_minute=2, handoffs_per_client_per_hour=2)
    runtime = FakeRuntime(settings, FakeBackend())
    auth = Authenticator.from_config(settings.app)
    with BackgroundServer(create_app(runtime, build_demo(runtime, auth), auth, css=CSS)) as server:
        statuses = []
        for _ in range(3):  # a new gradio session each time: a new chat session id each time
            history, status, _box = Client(server.url, verbose=False).predict("hello", [], api_name="/turn")
            statuses.append(status)
        # the shop's own words, not the developer's "too many messages: at most 2 a minute"
        assert statuses[:2] == ["", ""] and statuses[2].startswith("⚠️ You're sending messages very quickly")
        # "Talk to a human" from fresh browser sessions: the address's budget, not the session's
        for _ in range(2):
            Client(server.url, verbose=False).predict([], api_name="/human")
        history, _ = Client(server.url, verbose=False).predict([], api_name="/human")
        assert "多次请求人工客服" in str(history[-1]["content"])  # the shop's words (the demo shop answers in Chinese), in the chat


def test_one_open_ticket_per_conversation_and_tickets_limited_per_client(tmp_path):
    with served(tmp_path, handoffs_per_client_per_hour=2) as server:
        _, _, sid = widget_chat(server.url, "my parcel is lost")
        first = httpx.post(f"{server.url}/widget/api/handoff", json={"session_id": sid}, timeout=60).json()
        widget_chat(server.url, "still lost, and another question", session_id=sid)
        again = httpx.post(f"{server.url}/widget/api/handoff", json={"session_id": sid}, timeout=60).json()
        assert first["ok"] and again["ticket"] == first["ticket"]  # the conversation's open ticket, not a new one
        _, _, other = widget_chat(server.url, "a new conversation")
        r = httpx.post(f"{server.url}/widget/api/handoff", json={"session_id": other}, timeout=60)
        assert r.status_code == 429 and "at most 2 an hour" in r.json()["error"]["message"]
        from assistant.web.staff import handoff_queue

        assert len(handoff_queue(server.runtime)) == 1


def test_one_vote_per_answer_and_votes_limited_per_client(tmp_path):
    with served(tmp_path, votes_per_client_per_minute=3) as server:
        from assistant.web.events import summary

        runtime = server.runtime
        _, _, sid = widget_chat(server.url, "hello")

        def vote(value, **extra):
            return httpx.post(f"{server.url}/widget/api/feedback",
                              json={"session_id": sid, "vote": value, **extra}, timeout=30)

        assert vote(1).status_code == 200 and vote(-1).status_code == 200  # the second replaces the first
        stats = summary(runtime)
        assert (stats["thumbs_up"], stats["thumbs_down"]) == (0, 1)
        assert vote(1, message=5).status_code == 400  # no such answer
        no_session = httpx.post(f"{server.url}/widget/api/feedback", json={"vote": 1}, timeout=30)
        assert no_session.status_code == 400  # nothing to vote on
        assert vote(1).status_code == 200
        r = vote(1)
        assert r.status_code == 429 and "votes" in r.json()["error"]["message"]
        assert summary(runtime)["thumbs_up"] == 1


# --- login lockout ----------------------------------------------------------------------------------------
def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_stranger_cannot_lock_the_real_admin_out_and_parallel_guesses_are_counted(tmp_path, monkeypatch):
    users = {"alice": "admin:" + hash_password("alice-real-pass", 1000)}
    checked = []
    real_verify = auth_module.verify_password
    monkeypatch.setattr(auth_module, "verify_password", lambda p, h: checked.append(p) or real_verify(p, h))
    # A stopped clock: however slowly 2 busy cores serve the burst, no back-off expires during it.
    auth = Authenticator.from_config(AppConfig(users=users, demo_mode=False))
    auth.throttle = LoginThrottle(clock=lambda: 1000.0)
    with served(tmp_path, auth=auth, trusted_proxies=["127.0.0.1"]) as server:
        url = f"{server.url}/api/admin/tickets"
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        results = []

        def guess(i):
            r = httpx.get(url, headers={**basic("alice", f"guess-{i}"), **attacker}, timeout=30)
            results.append(r.status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(401) == 24
        guesses_checked = len([p for p in checked if p.startswith("guess-")])
        assert guesses_checked <= auth_module.LOCK_AFTER  # the rest were refused before any hash was computed
        # the attacker, even with the right password now, waits; the real admin from their address gets in
        assert httpx.get(url, headers={**basic("alice", "alice-real-pass"), **attacker}).status_code == 401
        admin = {"X-Forwarded-For": "198.51.100.10"}
        assert httpx.get(url, headers={**basic("alice", "alice-real-pass"), **admin}).status_code == 200


def test_login_throttle_is_bounded_and_forgives_a_success():
    clock = [0.0]
    throttle = LoginThrottle(max_keys=50, clock=lambda: clock[0])
    for i in range(500):  # a flood of addresses
        assert throttle.begin(f"10.0.{i // 250}.{i % 250}", "admin")
    assert len(throttle) <= 50
    for _ in range(auth_module.LOCK_AFTER):
        assert throttle.begin("192.0.2.1", "bob")
    assert not throttle.begin("192.0.2.1", "bob")  # waiting now
    clock[0] += 1.5
    assert throttle.begin("192.0.2.1", "bob")
    throttle.succeeded("192.0.2.1", "bob")
    clock[0] += 61
    assert throttle.begin("192.0.2.1", "bob")
    # one address trying many usernames is slowed down as a whole
    for i in range(auth_module.ADDRESS_LOCK_AFTER):
        throttle.begin("192.0.2.99", f"user{i}")
    assert not throttle.begin("192.0.2.99", "someone-new")


def test_authenticator_keys_lockout_by_address():
    auth = Authenticator.from_config(AppConfig(users={"alice": "admin:" + hash_password("right-pass", 1000)}))
    for _ in range(8):
        assert auth.login("alice", "wrong", address="203.0.113.5") is None
    assert auth.login("alice", "right-pass", address="203.0.113.5") is None  # that address waits
    assert auth.login("alice", "right-pass", address="198.51.100.1") == "admin"  # another does not
    # IPv6 clients are counted per /64: rotating the interface id does not buy more guesses
    for i in range(8):
        auth.login("alice", "wrong", address=f"2001:db8:1:2::{i + 1}")
    assert auth.login("alice", "right-pass", address="2001:db8:1:2::99") is None


# --- the address itself ---------------------------------------------------------------------------------
def test_client_address_rules():
    assert client_address("10.0.0.5", {"x-forwarded-for": "1.2.3.4"}, []) == "10.0.0.5"
    assert client_address("10.0.0.5", {"x-forwarded-for": "1.2.3.4"}, ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("10.0.0.5", {"x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.9"},
                          ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address("10.0.0.5", {"x-forwarded-for": "garbage"}, ["10.0.0.0/8"]) == "10.0.0.5"
    assert client_address("10.0.0.5", {}, ["10.0.0.0/8"]) == "10.0.0.5"
    assert client_address(None, {}, []) == "unknown"
    assert limit_key("2001:db8::1") == limit_key("2001:db8::2") == "2001:db8::/64"
    assert limit_key("::ffff:1.2.3.4") == "1.2.3.4"
    with pytest.raises(ConfigError, match="trusted_proxies"):
        AppConfig(trusted_proxies=["not-an-address"])
    with pytest.raises(ConfigError, match="client_rate_limit_per_minute"):
        AppConfig(client_rate_limit_per_minute=-1)


def test_rate_limiter_tables_stay_bounded_and_windows_can_be_an_hour():
    lim = RateLimiter(1, max_keys=100, window=3600.0, what="requests for a human")
    for i in range(1000):
        lim.check(f"10.0.{i // 250}.{i % 250}", now=float(i))
    assert len(lim) == 100
    with pytest.raises(Exception, match="at most 1 an hour"):
        lim.check("10.0.3.249", now=1000.0)

"""Staff credentials: hashes only, no default password in production, demo accounts with a warning."""

from __future__ import annotations

import pytest

from assistant.app_config import AppConfig
from assistant.config import load_config
from assistant.errors import ConfigError, InputError
from assistant.web.auth import Authenticator, allows, hash_password, verify_password
from tests.conftest import run_module


def test_hash_roundtrip_and_salting():
    h1, h2 = hash_password("correct horse", 1000), hash_password("correct horse", 1000)
    assert h1 != h2 and "correct horse" not in h1  # salted, never the password itself
    assert verify_password("correct horse", h1) and not verify_password("wrong horse", h1)
    assert not verify_password("x", "not-a-hash")
    with pytest.raises(InputError):
        hash_password("short")


def test_config_accepts_only_hashes():
    with pytest.raises(ConfigError, match="users.alice"):
        AppConfig(users={"alice": "admin:plaintext-password"})
    with pytest.raises(ConfigError, match="users.bob"):
        AppConfig(users={"bob": "superuser:" + hash_password("password123", 1000)})


def test_configured_accounts_from_env_and_roles():
    hashed = hash_password("s3cret-pass", 1000)
    settings = load_config(env={"ASSISTANT_APP__USERS": f'{{alice: "admin:{hashed}"}}',
                                "ASSISTANT_APP__DEMO_MODE": "false"})
    auth = Authenticator.from_config(settings.app)
    assert not auth.demo
    assert auth.login("alice", "s3cret-pass") == "admin"
    assert auth.login("alice", "wrong") is None
    assert auth.login("agent", "demo-agent") is None  # no demo account once real ones exist
    assert allows("admin", "agent") and not allows("agent", "admin") and not allows(None, "agent")


def test_production_mode_has_no_default_password():
    auth = Authenticator.from_config(AppConfig(demo_mode=False))
    assert not auth.enabled
    assert auth.login("admin", "demo-admin") is None and auth.login("admin", "") is None


def test_demo_mode_has_demo_accounts_and_warns(caplog):
    auth = Authenticator.from_config(AppConfig(demo_mode=True))
    assert auth.demo and auth.login("agent", "demo-agent") == "agent"
    assert auth.login("admin", "demo-admin") == "admin"
    assert "Demo mode" in caplog.text


def test_repeated_failures_lock_the_username_for_a_while():
    auth = Authenticator.from_config(AppConfig(demo_mode=True))
    for _ in range(6):
        assert auth.login("admin", "guess") is None
    assert auth.login("admin", "demo-admin") is None  # right password, but still in the back-off window
    assert auth.login("agent", "demo-agent") == "agent"  # other users are not affected


def test_hash_password_cli():
    done = run_module("assistant.web", "hash-password", "--role", "admin", "--stdin", input="longenough1\n")
    assert done.returncode == 0, done.stderr
    role, _, hashed = done.stdout.strip().partition(":")
    assert role == "admin" and verify_password("longenough1", hashed)
    short = run_module("assistant.web", "hash-password", "--stdin", input="short\n")
    assert short.returncode != 0 and "Traceback" not in short.stderr and "8 characters" in short.stderr
    assert run_module("assistant.web", "--help").returncode == 0


def test_new_api_key_cli_prints_a_key_and_the_hash_to_configure():
    from assistant.web.auth import hash_api_key

    done = run_module("assistant.web", "new-api-key")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.strip().splitlines())
    key, hashed = lines["key (give to the API client, shown once)"], lines["app.api_keys entry"]
    assert key.startswith("sk-shop-") and hashed == hash_api_key(key)


def test_hash_password_reads_a_piped_password_without_stdin_flag(monkeypatch, capsys):
    # `echo pw | python -m assistant.web hash-password` (as the shop's README shows) ended in an EOFError traceback
    import io

    from assistant.cli_support import run_cli
    from assistant.web.__main__ import main

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert run_cli(main, ["hash-password", "--role", "agent"]) == 0
    role, hashed = capsys.readouterr().out.strip().split(":", 1)
    assert role == "agent" and verify_password("correct horse battery", hashed)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run_cli(main, ["hash-password"]) == 2
    assert "no password on standard input" in capsys.readouterr().err

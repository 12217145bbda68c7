"""bench/trust_load.py: the bounded local load test runs in seconds on loopback and every limit holds."""

from __future__ import annotations

from bench.trust_load import run


def test_quick_load_run_holds_every_limit_and_the_admin_gets_in():
    result = run(quick=True)
    assert all(result["holds"].values()), result["holds"]
    assert result["seconds"] < 60
    rotating = result["rotating_sessions_one_address"]
    assert rotating["accepted"] == result["limits"]["client_per_minute"] and rotating["limited"] > 0
    several = result["several_addresses"]
    assert several["accepted"] == several["addresses"] * result["limits"]["client_per_minute"]
    logins = result["logins"]
    assert logins["admin_logins_ok"] == logins["admin_logins"] and logins["guesses_accepted"] == 0
    for phase in ("one_session", "rotating_sessions_one_address", "several_addresses"):
        assert result[phase]["accepted_p50_ms"] is not None and result[phase]["limited_p50_ms"] is not None

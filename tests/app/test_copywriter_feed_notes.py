"""Feed runs in the Copywriter tab, as in `python -m assistant.adcopy feed`: a language that is not the feed's
is a warning in the status (the run goes on), and a run whose every row is done builds no generator."""

from __future__ import annotations

import pytest

from assistant.web import copywriter
from tests.app.test_copywriter import DESCRIPTIONS, FEED_CSV, HEADLINES, numbered


def run_feed(runtime, tmp_path, language="en"):
    """test_copywriter's run_feed with the language as a parameter: google_rsa, 3 variants a row."""
    runtime.settings.adcopy.feed_dir = str(tmp_path / "feeds")
    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    runtime.backend.default = numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    return list(copywriter.run_feed(runtime, "agent", str(feed), "google_rsa", language, 3))


def test_a_fully_resumed_feed_run_builds_no_generator(fake_runtime, tmp_path, monkeypatch):
    built = []
    real = copywriter.generator
    monkeypatch.setattr(copywriter, "generator", lambda *a, **kw: built.append(1) or real(*a, **kw))
    steps = run_feed(fake_runtime, tmp_path)
    assert built == [1] and "0 resumed" in steps[-1][1]  # built once, on the first row to write

    def no_model(*_, **__):
        pytest.fail("a fully resumed run built the generator")

    monkeypatch.setattr(copywriter, "generator", no_model)
    again = run_feed(fake_runtime, tmp_path)
    table, status, state, sheet = again[-1]
    assert "2 resumed" in status and "no model loaded" in status
    assert len(table) == len(steps[-1][0]) and sheet and state["assets"]


def test_the_language_warning_is_shown_and_the_run_goes_on(fake_runtime, tmp_path):
    steps = run_feed(fake_runtime, tmp_path, language="zh")  # the feed is English
    first, last = steps[0][1], steps[-1][1]
    assert "0 of 2" in first and "⚠️ language zh" in first and "2 of 2" in last and "⚠️" in last
    assert "--language" not in last


def test_no_warning_when_the_language_fits(fake_runtime, tmp_path):
    assert all("⚠️" not in status for _, status, _, _ in run_feed(fake_runtime, tmp_path))

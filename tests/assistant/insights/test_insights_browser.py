"""The issue's "done when", in a real browser: an admin sees the gaps, fixes the top one in the UI, and the
next customer with that question gets the answer (Playwright + Debian's chromium; marker `browser`)."""

from __future__ import annotations

import pytest

from tests.assistant.insights.conftest import ask, make_runtime
from tests.browser import ARTIFACTS, MARKS, launch, staff_login

pytestmark = MARKS


def test_admin_fixes_the_top_gap_and_the_next_customer_gets_the_answer(tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    from app import CSS, build_demo
    from assistant.web.auth import Authenticator
    from assistant.web.server import BackgroundServer, create_app

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    runtime = make_runtime(tmp_path)
    for _ in range(2):
        ask(runtime, "Do you sell gift cards?")
    ask(runtime, "Is there parking at the warehouse?")
    auth = Authenticator.from_config(runtime.settings.app)
    with BackgroundServer(create_app(runtime, build_demo(runtime, auth), auth, css=CSS)) as server, \
            sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(30_000)
        page.goto(server.url + "/")
        staff_login(page, "admin", "demo-admin")
        page.get_by_text("Logged in as").wait_for()
        page.get_by_role("tab", name="Analytics").click()

        page.locator("#gaps-find").click()
        page.locator("#gaps-table").get_by_text("Do you sell gift cards?").first.wait_for()
        page.locator("#gaps-open").click()
        page.locator("#gaps-detail").get_by_text("What customers asked").wait_for()
        page.locator("#gap-en-a textarea").fill("Yes: e-gift cards from ¥100 to ¥500, valid for 3 years.")
        page.locator("#gaps-propose").click()
        page.locator("#gaps-proposed").get_by_text("waiting for an admin").wait_for()
        page.screenshot(path=str(ARTIFACTS / "insights-gaps.png"), full_page=True)

        page.get_by_text("Review FAQ answers from gaps").click()
        page.locator("#faq-proposals-refresh").click()
        page.locator("#faq-proposals span", has_text="pending").first.wait_for()
        page.get_by_label("Proposal #").fill("1")
        page.locator("#faq-load").click()
        page.locator("#faq-review").get_by_text("no duplicate").wait_for()
        page.locator("#faq-publish").click()
        page.locator("#faq-publish-status").get_by_text("Published proposal 1").wait_for()
        page.screenshot(path=str(ARTIFACTS / "insights-published.png"), full_page=True)

        page.get_by_role("tab", name="Customer chat").click()
        page.locator("#customer-input textarea").fill("Do you sell gift cards?")
        page.locator("#customer-send").click()
        page.locator("#customer-chat").get_by_text("e-gift cards from ¥100 to ¥500").wait_for()
        browser.close()

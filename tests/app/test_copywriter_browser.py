"""Feed mode end to end in Debian's chromium (Playwright): an agent uploads a feed, approves every asset at once
and downloads the Google Ads Editor file. Screenshot in test-artifacts/."""

from __future__ import annotations

import csv

import pytest

from tests.browser import ARTIFACTS, MARKS, launch, staff_login

pytestmark = MARKS


@pytest.fixture
def feed(live_app, tmp_path):
    """A two-product feed file, the fake model answering with headlines and descriptions, runs in tmp_path; the
    app is shared by the session's tests, so both are put back afterwards."""
    from tests.app.test_copywriter import DESCRIPTIONS, FEED_CSV, HEADLINES, numbered

    path = tmp_path / "feed.csv"
    path.write_text(FEED_CSV, encoding="utf-8")
    before, live_app.backend.default = live_app.backend.default, numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    cfg = live_app.runtime.settings.adcopy
    feed_dir, cfg.feed_dir = cfg.feed_dir, str(tmp_path / "feeds")
    yield path
    live_app.backend.default, cfg.feed_dir = before, feed_dir


def open_feed(page, url: str, feed) -> None:
    """Log in as an agent, open the Copywriter's feed section, upload `feed` and run it to its end."""
    page.goto(url + "/")
    staff_login(page, "agent", "demo-agent")
    page.get_by_text("Logged in as").wait_for()
    page.get_by_role("tab", name="Copywriter").click()
    page.get_by_text("Product feed: assets for a whole catalogue").click()
    page.locator("#feed-file input[type=file]").set_input_files(str(feed))
    page.locator("#feed-run").click()
    page.locator("#feed-status").get_by_text("2 of 2").wait_for()


def approve_all_and_export(page) -> None:
    page.get_by_role("button", name="✅ Approve all").click()
    page.wait_for_timeout(1000)
    page.locator("#feed-export").click()
    page.locator("#feed-export-status").get_by_text("google_ads_editor layout").wait_for()


def downloaded_rows(page) -> list[dict]:
    with page.expect_download() as download:
        page.locator("#feed-import a").first.click()
    return list(csv.DictReader(open(download.value.path(), encoding="utf-8")))


@pytest.fixture
def page():
    """A browser page (the app's staff views are wide), closed with its browser after the test."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def test_upload_a_feed_approve_all_and_export(live_app, feed, page):
    open_feed(page, live_app.url, feed)
    assert "0 resumed" in page.locator("#feed-status").inner_text()
    approve_all_and_export(page)
    page.screenshot(path=str(ARTIFACTS / "copywriter-feed.png"), full_page=True)
    rows = downloaded_rows(page)
    assert [r["Final URL"] for r in rows] == ["https://shop.example/l1", "https://shop.example/l2"]
    assert all(r["Headline 1"] and r["Description 1"] for r in rows)


def test_a_reloaded_page_gets_the_exported_review_back_with_the_feed(live_app, feed, page):
    # Before: the same feed uploaded again (after a reload, or the next day) showed every asset unticked, so an
    # Export right away said "no approved asset" and the review had to be done again.
    open_feed(page, live_app.url, feed)
    approve_all_and_export(page)
    open_feed(page, live_app.url, feed)  # a reload: the browser keeps nothing
    assert "kept from the last export" in page.locator("#feed-status").inner_text()
    page.locator("#feed-export").click()
    page.locator("#feed-export-status").get_by_text("google_ads_editor layout").wait_for()
    rows = downloaded_rows(page)
    assert [r["Final URL"] for r in rows] == ["https://shop.example/l1", "https://shop.example/l2"]

"""Feed mode end to end in Debian's chromium (Playwright): an agent uploads a feed, approves every asset at once
and downloads the Google Ads Editor file. Screenshot in test-artifacts/."""

from __future__ import annotations

import csv

import pytest

from tests.browser import ARTIFACTS, MARKS, launch, staff_login

pytestmark = MARKS


def test_upload_a_feed_approve_all_and_export(live_app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.app.test_copywriter import DESCRIPTIONS, FEED_CSV, HEADLINES, numbered

    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    before, live_app.backend.default = live_app.backend.default, numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    cfg = live_app.runtime.settings.adcopy
    feed_dir, cfg.feed_dir = cfg.feed_dir, str(tmp_path / "feeds")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(20_000)
        try:
            page.goto(live_app.url + "/")
            staff_login(page, "agent", "demo-agent")
            page.get_by_text("Logged in as").wait_for()
            page.get_by_role("tab", name="Copywriter").click()
            page.get_by_text("Product feed: assets for a whole catalogue").click()
            page.locator("#feed-file input[type=file]").set_input_files(str(feed))
            page.locator("#feed-run").click()
            page.locator("#feed-status").get_by_text("2 of 2").wait_for()
            assert "0 resumed" in page.locator("#feed-status").inner_text()
            page.get_by_role("button", name="✅ Approve all").click()
            page.wait_for_timeout(1000)
            page.locator("#feed-export").click()
            page.locator("#feed-export-status").get_by_text("google_ads_editor layout").wait_for()
            page.screenshot(path=str(ARTIFACTS / "copywriter-feed.png"), full_page=True)
            with page.expect_download() as download:
                page.locator("#feed-import a").first.click()
            rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
        finally:
            browser.close()
            live_app.backend.default, cfg.feed_dir = before, feed_dir  # the app is shared by the session's tests
    assert [r["Final URL"] for r in rows] == ["https://shop.example/l1", "https://shop.example/l2"]
    assert all(r["Headline 1"] and r["Description 1"] for r in rows)


def test_a_reloaded_page_gets_the_exported_review_back_with_the_feed(live_app, tmp_path):
    # Before: the same feed uploaded again (after a reload, or the next day) showed every asset unticked, so an
    # Export right away said "no approved asset" and the review had to be done again.
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.app.test_copywriter import DESCRIPTIONS, FEED_CSV, HEADLINES, numbered

    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    before, live_app.backend.default = live_app.backend.default, numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    cfg = live_app.runtime.settings.adcopy
    feed_dir, cfg.feed_dir = cfg.feed_dir, str(tmp_path / "feeds")

    def open_feed(page):
        page.goto(live_app.url + "/")
        staff_login(page, "agent", "demo-agent")
        page.get_by_text("Logged in as").wait_for()
        page.get_by_role("tab", name="Copywriter").click()
        page.get_by_text("Product feed: assets for a whole catalogue").click()
        page.locator("#feed-file input[type=file]").set_input_files(str(feed))
        page.locator("#feed-run").click()
        page.locator("#feed-status").get_by_text("2 of 2").wait_for()

    with sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(20_000)
        try:
            open_feed(page)
            page.get_by_role("button", name="✅ Approve all").click()
            page.wait_for_timeout(1000)
            page.locator("#feed-export").click()
            page.locator("#feed-export-status").get_by_text("google_ads_editor layout").wait_for()
            open_feed(page)  # a reload: the browser keeps nothing
            assert "kept from the last export" in page.locator("#feed-status").inner_text()
            page.locator("#feed-export").click()
            page.locator("#feed-export-status").get_by_text("google_ads_editor layout").wait_for()
            with page.expect_download() as download:
                page.locator("#feed-import a").first.click()
            rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
        finally:
            browser.close()
            live_app.backend.default, cfg.feed_dir = before, feed_dir
    assert [r["Final URL"] for r in rows] == ["https://shop.example/l1", "https://shop.example/l2"]

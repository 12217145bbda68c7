"""The Copywriter tab's feed review outlives the page: approvals and edits saved by Export come back when the same
feed is uploaded again (the CLI's re-run keeps a sheet's review the same way), and a review sheet uploaded in
place of the feed is refused with what to do instead."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from assistant.web import copywriter
from tests.app.test_copywriter import run_feed


def test_approvals_and_edits_come_back_when_the_feed_is_uploaded_again(fake_runtime, tmp_path):
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    table = copywriter.feed_mark_all("agent", table, True)
    table.loc[len(table) - 1, "approved"] = False  # one asset rejected
    table.loc[0, "headline"] = "Linen Cover, Softer Nights"  # and one edited inline
    copywriter.feed_export(fake_runtime, "agent", state, table)

    # Before: the re-uploaded feed showed every asset unticked and the edit gone.
    again, status, state2, sheet = run_feed(fake_runtime, tmp_path)[-1]
    assert list(again["approved"]) == list(table["approved"]) and again.loc[0, "headline"] == table.loc[0, "headline"]
    assert "kept from the last export" in status
    # the export from the re-uploaded table is the same file
    message, path = copywriter.feed_export(fake_runtime, "agent", state2, again)
    assert "Linen Cover, Softer Nights" in open(path, encoding="utf-8").read()


def test_a_rejected_export_still_keeps_the_review(fake_runtime, tmp_path):
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    table.loc[0, "headline"] = "Linen Cover, Softer Nights"  # edited, nothing approved yet
    with pytest.raises(InputError, match="no approved asset"):
        copywriter.feed_export(fake_runtime, "agent", state, table)
    again = run_feed(fake_runtime, tmp_path)[-1][0]
    assert again.loc[0, "headline"] == "Linen Cover, Softer Nights" and not again["approved"].any()


def test_the_review_sheet_uploaded_as_a_feed_is_refused(fake_runtime, tmp_path):
    sheet = run_feed(fake_runtime, tmp_path)[-1][3]
    with pytest.raises(InputError, match="review sheet written by `feed`, not a product feed.*Export"):
        next(copywriter.run_feed(fake_runtime, "agent", sheet, "google_rsa", "en", 3))


def test_export_builds_no_generator(fake_runtime, tmp_path, monkeypatch):
    # Before: Export built the generator (loading the model) only to read the brand's banned words.
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]

    def no_model(*_, **__):
        pytest.fail("the export built the generator")

    monkeypatch.setattr(copywriter, "generator", no_model)
    message, _ = copywriter.feed_export(fake_runtime, "agent", state, copywriter.feed_mark_all("agent", table, True))
    assert "google_ads_editor layout" in message


def test_exporting_again_stores_no_second_judgement_and_an_edit_stays_the_persons(fake_runtime, tmp_path):
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    table = copywriter.feed_mark_all("agent", table, True)
    written = table.loc[0, "headline"]
    table.loc[0, "headline"] = "Linen Cover, Softer Nights"
    copywriter.feed_export(fake_runtime, "agent", state, table)
    store = copywriter.feedback_store(fake_runtime)
    first = len(store.rows())
    assert first == int(table["approved"].sum())
    # Before: every Export stored every approved asset again (a 👍 counted twice in the next fine-tune) ...
    copywriter.feed_export(fake_runtime, "agent", state, table)
    assert len(store.rows()) == first
    # ... and after the feed was uploaded again, the person's edit was stored as the model's own words.
    again, _, state2, _ = run_feed(fake_runtime, tmp_path)[-1]
    assert "written" not in again.columns
    again.loc[0, "headline"] = "Linen Cover for Cool Nights"  # a second edit of the same asset
    copywriter.feed_export(fake_runtime, "agent", state2, again)
    rows = store.rows()
    assert len(rows) == first + 1
    assert written in rows[-1].variant_json and "Linen Cover for Cool Nights" in rows[-1].edited_json


def test_an_edit_carried_across_uploads_adds_no_column_to_the_sheet_or_the_import_file(fake_runtime, tmp_path):
    """The model's words kept beside an edit (for feedback) became a `written` column holding a dict, in the review
    sheet and in a plain channel's import file."""
    fake_runtime.backend.default = "Linen cover, cool and soft for summer nights."
    table, _, state, _ = run_feed(fake_runtime, tmp_path, channel="wechat_moments")[-1]  # a plain layout
    table = copywriter.feed_mark_all("agent", table, True)
    table.loc[0, "text"] = "Sleep cooler in linen"
    copywriter.feed_export(fake_runtime, "agent", state, table)
    again, _, state2, sheet = run_feed(fake_runtime, tmp_path, channel="wechat_moments")[-1]
    assert again.loc[0, "text"] == "Sleep cooler in linen"
    _, path = copywriter.feed_export(fake_runtime, "agent", state2, again)
    for written in (sheet, path):
        header = open(written, encoding="utf-8-sig").readline()
        assert "written" not in header.strip().split(","), (written, header)


def test_the_feed_upload_takes_a_merchant_center_tsv(live_app, tmp_path):
    """The upload box took only .csv and .xlsx, so a Merchant Center feed (.tsv/.txt) the CLI reads could not be
    uploaded at all."""
    import httpx

    config = httpx.get(f"{live_app.url}/config", timeout=30).json()
    (box,) = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "feed-file"]
    assert {".tsv", ".txt", ".csv", ".xlsx"} <= set(box["props"]["file_types"])
    feed = tmp_path / "merchant_center.tsv"
    feed.write_text("id\ttitle\tdescription\tprice\tlink\nL1\tLinen duvet cover\tStonewashed linen\t59.00 USD\t"
                    "https://shop.example/l1\n", encoding="utf-8")
    table = run_feed_file(live_app.runtime, tmp_path, feed)
    assert list(table["row_id"]) == ["L1"] * len(table)


def run_feed_file(runtime, tmp_path, feed):
    from tests.app.test_copywriter import DESCRIPTIONS, HEADLINES, numbered

    cfg = runtime.settings.adcopy
    feed_dir, cfg.feed_dir = cfg.feed_dir, str(tmp_path / "feeds")
    before, runtime.backend.default = runtime.backend.default, numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    try:
        return list(copywriter.run_feed(runtime, "agent", str(feed), "google_rsa", "en", 3))[-1][0]
    finally:
        runtime.backend.default, cfg.feed_dir = before, feed_dir

"""Copywriter studio handlers on FakeBackend: variants table with limit counters and scores, feedback, CSV, A/B."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assistant.errors import InputError
from assistant.web import copywriter

HEADLINES = ["Aurora Linen, Softer Nights", "Aurora Home Linen Bedding", "Sleep Cool in Aurora Linen",
             "Aurora Washed Linen Covers", "Linen by Aurora Home"]
DESCRIPTIONS = ["Stonewashed linen that gets softer with every wash. Free returns for 30 days.",
                "Breathable European flax for warm nights. Order today, delivered in 2-4 days.",
                "Calm colours, honest linen and free 30-day returns from Aurora Home.",
                "A duvet cover that feels lived-in from night one. See the colours online.",
                "Made of washed linen, sized for real beds. Aurora Home ships in 2 days."]


def numbered(items):
    return "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1)) + "\n"


def make_variants(runtime, n=3):
    runtime.backend.queue(numbered(HEADLINES), numbered(DESCRIPTIONS))
    return copywriter.generate(runtime, "agent", "Washed linen duvet cover", "soft, breathable", "", "warm", "",
                               "linen", "", "google_rsa", "en", n)


def test_generate_shows_ranked_variants_with_counters_scores_and_csv(fake_runtime):
    table, status, state, csv = make_variants(fake_runtime)
    assert len(table) == 3 and list(table["rank"]) == [1, 2, 3]
    assert {"headline", "headline length", "description", "score total"} <= set(table.columns)
    assert {"fixes", "check before use"} <= set(table.columns)  # what the checks did, words to check by hand
    used, limit = table["headline length"].iloc[0].split("/")
    assert int(used) == len(table["headline"].iloc[0]) and int(limit) == 30
    assert "3 of 3" in status and len(state["variants"]) == 3
    assert pd.read_csv(csv, encoding="utf-8-sig")["headline"].tolist() == table["headline"].tolist()


def test_thumbs_and_inline_edits_are_stored(fake_runtime):
    table, _, state, _ = make_variants(fake_runtime)
    assert "👍 saved for variant 2" in copywriter.feedback(fake_runtime, 1, "agent", state, table, 2)
    edited = table.copy()
    edited.loc[0, "headline"] = "Aurora Linen for Calm Nights"
    assert "with your edit" in copywriter.feedback(fake_runtime, -1, "admin", state, edited, 1)
    message, state, _ = copywriter.save_edits(fake_runtime, "agent", state, edited)
    assert "Saved 1 edited variant" in message and state["variants"][0]["headline"] == "Aurora Linen for Calm Nights"
    rows = copywriter.feedback_store(fake_runtime).rows()
    assert [r.rating for r in rows] == [1, -1, 0] and rows[1].edited_json and rows[2].edited_json
    broken = edited.copy()
    broken.loc[0, "headline"] = "The best linen duvet cover in the whole wide world, guaranteed!!!"
    broken.loc[1, "headline"] = None  # a cleared cell: no edit, never the text "nan"
    message, state, path = copywriter.save_edits(fake_runtime, "agent", state, broken)
    assert "Saved 1 edited variant" in message and "over the channel's limit" in message and "⚠️" in message
    assert state["variants"][1]["headline"] != "nan"
    exported = pd.read_csv(path, encoding="utf-8-sig")
    assert exported.loc[0, "headline length"].split("/")[0] != table.loc[0, "headline length"].split("/")[0]
    with pytest.raises(InputError):
        copywriter.feedback(fake_runtime, 1, "agent", state, table, 9)
    with pytest.raises(InputError):
        copywriter.feedback(fake_runtime, 1, "agent", None, None, 1)


def test_bad_briefs_and_ab_calculator(fake_runtime):
    with pytest.raises(InputError):
        copywriter.generate(fake_runtime, "agent", "", "", "", "", "", "", "", "google_rsa", "auto", 3)
    result = copywriter.ab_test(1000, 50, 1000, 90)
    assert "winner: B" in result
    with pytest.raises(InputError):
        copywriter.ab_test(1000, 50, 1000, 2000)


def test_the_studio_needs_a_staff_login(fake_runtime):
    """It drives the LLM for minutes and writes training feedback: no anonymous use, checked on the server."""
    fake_runtime.backend.queue(numbered(HEADLINES), numbered(DESCRIPTIONS))
    for role in (None, "", "customer"):
        with pytest.raises(InputError, match="log in"):
            copywriter.generate(fake_runtime, role, "Linen duvet", "", "", "", "", "", "", "google_rsa", "en", 3)
        with pytest.raises(InputError, match="log in"):
            copywriter.feedback(fake_runtime, 1, role, {"brief": {}, "variants": [{"headline": "x"}]}, None, 1)
        with pytest.raises(InputError, match="log in"):
            copywriter.save_edits(fake_runtime, role, {"brief": {}, "variants": [{"headline": "x"}]}, None)
    assert fake_runtime.backend.calls == []  # nothing reached the model


# ---- feed mode: upload, bulk approve/reject, export in the channel's import layout --------------------------
FEED_CSV = ("id,title,description,attributes,price,url\n"
            "L1,Linen duvet cover,\"Washed linen, 200 x 200 cm\",soft; breathable,129,https://shop.example/l1\n"
            "L2,Linen pillowcase,\"Washed linen, 50 x 75 cm\",soft,29,https://shop.example/l2\n")


def run_feed(runtime, tmp_path, channel="google_rsa", n=3):
    runtime.settings.adcopy.feed_dir = str(tmp_path / "feeds")  # not the repository's data/ folder
    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    runtime.backend.default = numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    return list(copywriter.run_feed(runtime, "agent", str(feed), channel, "en", n))


def test_feed_run_yields_a_table_to_approve_and_resumes(fake_runtime, tmp_path):
    steps = run_feed(fake_runtime, tmp_path)
    table, status, state, sheet = steps[-1]
    assert list(table.columns[:5]) == ["approved", "row_id", "title", "url", "variant"]
    assert {"headline", "description", "fixes"} <= set(table.columns) and not table["approved"].any()
    assert "2 of 2" in status and sheet and state["channel"] == "google_rsa"
    # "starting", then each row as it is written: the table fills while the model works
    assert [s[1].split("**")[1] for s in steps] == ["0 of 2", "1 of 2", "2 of 2"]
    calls = len(fake_runtime.backend.calls)
    again = run_feed(fake_runtime, tmp_path)  # the same feed again: read back, not rewritten
    assert len(fake_runtime.backend.calls) == calls and "2 resumed" in again[-1][1]


def test_a_feed_run_with_the_larger_model_keeps_its_whole_name_and_resumes_an_earlier_folder(fake_runtime, tmp_path):
    fake_runtime.settings.adcopy.feed_dir = str(tmp_path / "feeds")
    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    fake_runtime.backend.default = numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    first = list(copywriter.run_feed(fake_runtime, "agent", str(feed), "google_rsa", "en", 2, True))
    run_dir = Path(first[-1][2]["run_dir"])
    assert run_dir.name.endswith("-" + copywriter.LARGER_MODEL)  # "qwen2.5-1.5b", not cut at its last dot
    # a run an earlier version keyed "…-qwen2.5-1" is read back (and its folder renamed), not written again
    old = run_dir.with_name(run_dir.name.removesuffix(copywriter.LARGER_MODEL) + Path(copywriter.LARGER_MODEL).stem)
    run_dir.rename(old)
    calls = len(fake_runtime.backend.calls)
    again = list(copywriter.run_feed(fake_runtime, "agent", str(feed), "google_rsa", "en", 2, True))
    assert "2 resumed" in again[-1][1] and len(fake_runtime.backend.calls) == calls
    assert run_dir.is_dir() and not old.exists()


def test_bulk_approve_then_export_in_the_google_ads_layout(fake_runtime, tmp_path):
    import pandas as pd

    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    with pytest.raises(InputError, match="no approved asset"):
        copywriter.feed_export(fake_runtime, "agent", state, table)
    approved = copywriter.feed_mark_all("agent", table, True)
    assert approved["approved"].all()
    assert not copywriter.feed_mark_all("agent", approved, False)["approved"].any()
    approved.loc[0, "headline"] = "Linen Cover, Softer Nights"  # an inline edit travels into the export
    message, path = copywriter.feed_export(fake_runtime, "agent", state, approved)
    ads = pd.read_csv(path)
    assert len(ads) == 2 and "Headline 1" in ads.columns and "rows in the google_ads_editor layout" in message
    assert "Linen Cover, Softer Nights" in set(ads.filter(like="Headline").values.ravel())
    assert list(ads["Final URL"]) == ["https://shop.example/l1", "https://shop.example/l2"]
    rows = copywriter.feedback_store(fake_runtime).rows()
    assert rows and all(r.rating == 1 for r in rows) and any(r.edited_json for r in rows)


def test_a_url_filled_in_the_table_goes_into_the_import_and_a_bad_one_is_left_out(fake_runtime, tmp_path):
    # The export said "fill the sheet's url column", and the tab's table had none.
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    table = copywriter.feed_mark_all("agent", table, True)
    table.loc[table["row_id"] == "L1", "url"] = "https://shop.example/linen-cover"
    table.loc[table["row_id"] == "L2", "url"] = "shop.example/no-scheme"
    message, path = copywriter.feed_export(fake_runtime, "agent", state, table)
    ads = pd.read_csv(path)
    assert list(ads["Final URL"]) == ["https://shop.example/linen-cover"]
    assert "left out: L2's url must be an http(s) address" in message
    # the review sheet keeps what was typed, and the same feed uploaded again shows it
    again = run_feed(fake_runtime, tmp_path)[-1][0]
    assert set(again.loc[again["row_id"] == "L1", "url"]) == {"https://shop.example/linen-cover"}


def test_a_column_mapping_reads_a_feed_whose_columns_have_other_names(fake_runtime, tmp_path):
    fake_runtime.settings.adcopy.feed_dir = str(tmp_path / "feeds")
    feed = tmp_path / "artikel.csv"
    feed.write_text("Artikel,Bezeichnung,Text,Adresse\nL1,Linen duvet cover,Washed linen,https://shop.example/l1\n",
                    encoding="utf-8")
    fake_runtime.backend.default = numbered(HEADLINES) + "\n" + numbered(DESCRIPTIONS)
    args = (fake_runtime, "agent", str(feed), "google_rsa", "en", 3, None)
    mapped = list(copywriter.run_feed(*args, "id=Artikel,title=Bezeichnung,description=Text,url=Adresse"))[-1]
    table = mapped[0]
    assert list(table["row_id"].unique()) == ["L1"] and set(table["title"]) == {"Linen duvet cover"}
    assert set(table["url"]) == {"https://shop.example/l1"}
    with pytest.raises(InputError, match="Nichts|unknown|no column|not a column|Spalte"):
        list(copywriter.run_feed(*args, "title=Nichts"))


def test_an_edit_that_breaks_the_lint_is_left_out(fake_runtime, tmp_path):
    table, _, state, _ = run_feed(fake_runtime, tmp_path, channel="weibo", n=1)[-1]
    table = copywriter.feed_mark_all("agent", table, True)
    table.loc[0, "text"] = "最好的亚麻被套，全网最低价"
    message, path = copywriter.feed_export(fake_runtime, "agent", state, table)
    assert "zh.adlaw" in message and "left out" in message
    assert "最好" not in open(path, encoding="utf-8-sig").read()


def test_an_edit_over_the_channels_limit_is_left_out_of_the_import(fake_runtime, tmp_path):
    # Only the lint was run on edits: a 50-character headline went into the Google Ads Editor file.
    table, _, state, _ = run_feed(fake_runtime, tmp_path)[-1]
    table = copywriter.feed_mark_all("agent", table, True)
    long = "Glass Tea Tumbler With Strainer For Cars And Desks"
    table.loc[0, "headline"] = long
    message, path = copywriter.feed_export(fake_runtime, "agent", state, table)
    assert "left out: row L1 variant 1 headline: too long (50 > 30" in message
    assert long not in open(path, encoding="utf-8-sig").read()
    kept = [r for r in copywriter.feedback_store(fake_runtime).rows() if long in (r.edited_json or "")]
    assert not kept  # nor is it kept as a better answer for the next fine-tune


def test_feed_handlers_need_a_staff_login(fake_runtime, tmp_path):
    with pytest.raises(InputError, match="log in"):
        next(copywriter.run_feed(fake_runtime, None, str(tmp_path / "f.csv"), "google_rsa", "en", 1))
    with pytest.raises(InputError, match="log in"):
        copywriter.feed_export(fake_runtime, "customer", {"assets": [1]}, None)
    with pytest.raises(InputError, match="upload"):
        next(copywriter.run_feed(fake_runtime, "agent", None, "google_rsa", "en", 1))


def test_feed_endpoints_of_the_running_ui_refuse_anonymous_callers(live_app):
    from gradio_client import Client

    client = Client(live_app.url, verbose=False)
    table = {"headers": ["approved", "row_id", "title", "variant", "text"], "data": [[True, "L1", "Linen", "1", "x"]]}
    calls = len(live_app.backend.calls)
    for api in ("/adcopy_feed_export", "/adcopy_feed_approve_all"):
        with pytest.raises(Exception, match="log in with an agent account"):
            client.predict(table, api_name=api)
    assert len(live_app.backend.calls) == calls


def test_the_larger_model_switch_picks_the_long_text_writer(fake_runtime):
    configured = copywriter.generator(fake_runtime)
    assert copywriter.generator(fake_runtime, None) is configured
    assert copywriter.generator(fake_runtime, False) is configured  # the config names no long-text model
    larger = copywriter.generator(fake_runtime, True)
    assert larger.cfg.long_text_model == copywriter.LARGER_MODEL and configured.cfg.long_text_model == ""
    assert copywriter.generator(fake_runtime, True) is larger  # built once per runtime
    assert not copywriter.larger_by_default(fake_runtime)
    fake_runtime.backend.queue(numbered(HEADLINES), numbered(DESCRIPTIONS))
    table, status, _, _ = copywriter.generate(fake_runtime, "agent", "Washed linen duvet cover", "soft", "", "",
                                              "", "linen", "", "google_rsa", "en", 2, True)
    assert len(table) == 2, status


def test_the_number_of_variants_is_a_whole_number_of_at_least_one():
    from assistant.errors import InputError
    from assistant.web.copywriter import _variants

    assert _variants(3) == 3 and _variants("4") == 4 and _variants(None) == 1 and _variants(2.0) == 2
    for bad in ("abc", 0, -3, 2.5):
        with pytest.raises(InputError, match="whole number"):
            _variants(bad)


def test_the_copywriter_tab_uses_the_shops_channels_file(fake_runtime, tmp_path):
    from types import SimpleNamespace

    from assistant.web.copywriter import channel_choices, variant_table

    spec = tmp_path / "channels.yaml"
    spec.write_text("google_rsa:\n  title: Google RSA, our limits\n  generate: [headline]\n  fields:\n"
                    "    headline: {limit: 25, unit: width}\n"
                    "tiktok:\n  title: TikTok\n  generate: [caption]\n  fields:\n    caption: {limit: 100, unit: chars}\n",
                    encoding="utf-8")
    fake_runtime.settings.adcopy.channels_file = str(spec)
    assert channel_choices(fake_runtime) == ["google_rsa", "tiktok"]
    result = SimpleNamespace(variants=[SimpleNamespace(fields={"headline": "Linen duvet covers"}, scores={},
                                                        fixes=[], review=[], rank=1)])
    table = variant_table(result, "google_rsa", str(spec))
    assert "18/25" in table.astype(str).to_string()

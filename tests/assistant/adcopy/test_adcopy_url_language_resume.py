"""What the ad-copy CLI says before it spends a model's time: `generate --url` fills the Google import file's Final
URL (and its absence is named, as `export` names it), a `feed --language` that disagrees with most rows is
warned about before the model loads, and a feed run with every row already done loads no model. Fakes only."""

from __future__ import annotations

import csv
import sys

import pytest

from assistant.adcopy.__main__ import main
from assistant.adcopy.export import import_rows
from assistant.adcopy.feed import Product, language_mismatch
from assistant.adcopy.feed_run import read_assets
from assistant.cli_support import run_cli

from .conftest import set_fake_cli_env

RSA_REPLIES = [
    "1. Aurora linen sheets\n2. Cool linen for summer\n3. Soft linen, every night\n",
    "1. Stonewashed linen from Aurora. Free returns for 30 days.\n"
    "2. Breathable linen that gets softer with every wash, from Aurora.\n"
    "3. Aurora linen sheets in six calm colours.\n",
]
EN_FEED = [["SKU", "Product Name", "Description", "Link"],
           ["A1", "Stonewashed linen duvet cover", "Washed linen that softens", "https://shop.example/a1"],
           ["A2", "Ceramic table lamp", "Stoneware base, linen shade", "https://shop.example/a2"],
           ["A3", "亚麻枕套", "水洗亚麻", "https://shop.example/a3"]]


@pytest.fixture
def rsa_env(monkeypatch, tmp_path):
    return set_fake_cli_env(monkeypatch, tmp_path, RSA_REPLIES)


def generate(folder, *extra):
    return run_cli(main, ["generate", "--product", "linen sheets", "--n", "2", "--language", "en",
                          "--output", str(folder / "rsa.csv"), *extra])


def google_rows(folder):
    with (folder / "rsa.google_ads.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


# ---- 1. the Final URL ----------------------------------------------------------------------------------------
def test_generate_url_fills_the_final_url(rsa_env, capsys):
    assert generate(rsa_env, "--url", "https://shop.example/linen") == 0, capsys.readouterr().err
    rows = google_rows(rsa_env)
    assert rows and all(r["Final URL"] == "https://shop.example/linen" for r in rows)
    assert "Final URL" not in capsys.readouterr().err


def test_generate_without_url_says_google_needs_one(rsa_env, capsys):
    assert generate(rsa_env) == 0
    err = capsys.readouterr().err
    assert all(r["Final URL"] == "" for r in google_rows(rsa_env))
    notes = [line for line in err.splitlines() if "Final URL" in line]
    assert len(notes) == 1 and "Google Ads Editor needs a Final URL" in notes[0] and "--url" in notes[0]


def test_generate_names_a_google_ad_with_too_few_headlines_and_a_url_with_no_file_for_it(rsa_env, capsys):
    assert generate(rsa_env, "--url", "https://shop.example/linen") == 0
    heads = sum(bool(v) for k, v in google_rows(rsa_env)[0].items() if k.startswith("Headline "))
    err = capsys.readouterr().err
    assert heads == 2 and "ad 1: 2 headlines" in err and "Google needs at least 3" in err and "--n" in err
    assert run_cli(main, ["generate", "--product", "linen sheets", "--n", "2", "--language", "en", "--output",
                          str(rsa_env / "rsa.json"), "--url", "https://shop.example/linen"]) == 0
    assert "--url goes into <stem>.google_ads.csv, written only with --output X.csv" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["shop.example/linen", "ftp://shop.example/x", "https://", "https://shop .example"])
def test_a_bad_url_is_one_line_before_anything_is_written(rsa_env, capsys, url):
    assert generate(rsa_env, "--url", url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--url must be an http(s) address" in err and "Traceback" not in err
    assert not (rsa_env / "rsa.csv").exists()


def test_export_names_a_google_ad_without_a_final_url(fake_env, capsys):
    assets = [{"row_id": "A1", "title": "Linen", "url": "", "channel": "google_rsa", "variant": str(i),
               "language": "en", "headline": f"Aurora Linen {i}", "description": f"Soft washed linen, take {i}.",
               "approved": "yes"} for i in (1, 2, 3)]
    _, rows, notes = import_rows(assets, "google_rsa")
    assert rows[0]["Final URL"] == "" and notes == ["A1: no URL; Google Ads Editor needs a Final URL for every ad "
                                                    "(fill the sheet's url column, or add one)"]
    assert import_rows([{**a, "url": "https://x/a1"} for a in assets], "google_rsa")[2] == []

    sheet = fake_env / "assets.csv"
    with sheet.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(assets[0]))
        w.writeheader()
        w.writerows(assets)
    assert run_cli(main, ["export", "--input", str(sheet), "--output", str(fake_env / "import.csv")]) == 0
    assert "note: A1: no URL; Google Ads Editor needs a Final URL" in capsys.readouterr().err


# ---- 2. --language against the feed's own language ------------------------------------------------------------
def _products(*titles):
    return [Product(row=i, id=f"r{i}", title=t) for i, t in enumerate(titles, 1)]


def test_language_mismatch_warns_only_when_most_rows_are_in_the_other_language():
    english = _products("Linen duvet cover", "Oak side table", "亚麻枕套")
    assert "2 of 3 rows are in English" in language_mismatch(english, "zh")
    assert "written in Chinese as asked" in language_mismatch(english, "zh")
    assert language_mismatch(english, "en") == "" and language_mismatch(english, "") == ""
    chinese = _products("水洗亚麻四件套", "橡木边几")
    assert "2 of 2 rows are in Chinese" in language_mismatch(chinese, "en")
    assert language_mismatch(_products("水洗亚麻四件套", "Oak side table"), "en") == ""  # half is not most
    assert language_mismatch(_products("12345", "2024"), "zh") == ""  # no letters: no reason to doubt the flag


def test_feed_warns_about_the_language_before_the_model_loads(fake_env, capsys, monkeypatch):
    import assistant.adcopy.__main__ as cli

    real = cli._generator

    def loading(*args, **kw):  # marks in stderr the moment the model would load
        print("LOADING THE MODEL", file=sys.stderr)
        return real(*args, **kw)

    monkeypatch.setattr(cli, "_generator", loading)
    source, out = write_csv(fake_env / "feed.csv", EN_FEED), fake_env / "assets.csv"
    code = run_cli(main, ["feed", "--input", str(source), "--channel", "sms", "--output", str(out),
                          "--language", "zh", "--no-progress"])
    err = capsys.readouterr().err
    assert code in (0, 1) and out.exists()
    (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "--language zh, but 2 of 3 rows are in English" in warning
    assert err.index(warning) < err.index("LOADING THE MODEL")
    assert {r["language"] for r in read_assets(out)} == {"zh"}  # the flag is still honoured


# ---- 3. a run with nothing left to write --------------------------------------------------------------------
def test_a_fully_resumed_feed_loads_no_model(fake_env, capsys, monkeypatch):
    source, out = write_csv(fake_env / "feed.csv", EN_FEED[:3]), fake_env / "assets.csv"
    args = ["feed", "--input", str(source), "--channel", "meta_feed", "--output", str(out), "--no-progress"]
    assert run_cli(main, args) == 0
    first = read_assets(out)
    capsys.readouterr()

    def no_model(*_args, **_kw):
        raise AssertionError("the backend factory was called")

    monkeypatch.setattr("assistant.model_serving.build_backend", no_model)
    monkeypatch.setattr("assistant.adcopy.__main__._generator", no_model)
    out.unlink()  # the sheet is rewritten from the state file, without a model
    assert run_cli(main, args) == 0
    err = capsys.readouterr().err
    assert "every row (2) was already done" in err and "no model loaded" in err and "Traceback" not in err
    assert [(r["row_id"], r["primary_text"]) for r in read_assets(out)] == \
        [(r["row_id"], r["primary_text"]) for r in first]

    # One new row: now the model is needed, and asked for.
    write_csv(source, EN_FEED)
    with pytest.raises(AssertionError, match="the backend factory was called"):
        main(args)


def test_a_feed_resumes_only_rows_written_by_the_same_long_text_model():
    from assistant.adcopy.feed_run import row_key

    (product,) = _products("Linen duvet cover")
    plain = row_key(product, "meta_feed", "en", 1, "Aurora Home")
    assert row_key(product, "meta_feed", "en", 1, "Aurora Home", "") == plain  # runs without one keep their keys
    larger = row_key(product, "meta_feed", "en", 1, "Aurora Home", "qwen2.5-1.5b")
    assert larger != plain and larger.startswith(product.id + ":")


def test_the_cli_feed_keys_its_rows_by_the_long_text_model(fake_env, capsys, monkeypatch):
    import assistant.adcopy.feed_run as feed_run

    seen = []
    real = feed_run.row_key
    monkeypatch.setattr(feed_run, "row_key", lambda *a: seen.append(a[-1]) or real(*a))
    source, out = write_csv(fake_env / "feed.csv", EN_FEED[:2]), fake_env / "assets.csv"
    args = ["feed", "--input", str(source), "--channel", "meta_feed", "--output", str(out), "--no-progress"]
    assert run_cli(main, args) == 0 and seen == [""]
    # a model that is not there fails later, at load; the key is worked out before any row is written
    monkeypatch.setattr(feed_run.LazyGenerator, "generate", lambda self, brief: (_ for _ in ()).throw(
        AssertionError("row rewritten")))
    with pytest.raises(AssertionError, match="row rewritten"):
        main([*args, "--long-text-model", "qwen2.5-1.5b"])
    assert seen[-1] == "qwen2.5-1.5b"

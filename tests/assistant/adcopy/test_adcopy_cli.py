"""`python -m assistant.adcopy`: the fixed CLI contract, run in-process on the fake backend (fast) and once
as a real subprocess for `--help`."""

from __future__ import annotations

import json

import pytest

from assistant.adcopy.__main__ import main
from assistant.cli_support import run_cli
from tests.conftest import run_module

from .conftest import set_fake_cli_env


@pytest.fixture
def fake_env(monkeypatch, tmp_path):
    replies = [
        "1. Aurora linen sheets\n2. Cool linen for summer\n3. Soft linen, every night\n",
        "1. Stonewashed linen from Aurora. Free returns for 30 days.\n"
        "2. Breathable linen that gets softer with every wash, from Aurora.\n"
        "3. Aurora linen sheets in six calm colours.\n",
    ]
    return set_fake_cli_env(monkeypatch, tmp_path, replies)


def test_help_as_a_subprocess():
    out = run_module("assistant.adcopy", "--help", timeout=60)
    assert out.returncode == 0
    for cmd in ("generate", "channels", "abtest", "export-feedback"):
        assert cmd in out.stdout


@pytest.mark.parametrize("cmd", ["generate", "email", "channels", "abtest", "export-feedback"])
def test_help_of_each_subcommand(cmd, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([cmd, "--help"])
    assert exit_.value.code == 0 and "--config" in capsys.readouterr().out


def test_generate_writes_the_json_contract(fake_env, capsys):
    out = fake_env / "out.json"
    code = run_cli(main, ["generate", "--product", "linen sheets", "--channel", "google_rsa", "--n", "3",
                          "--language", "en", "--keywords", "linen,summer", "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["channel"] == "google_rsa" and len(data["variants"]) == 3
    assert set(data["variants"][0]["fields"]) >= {"headline", "description"}
    assert "total" in data["variants"][0]["scores"]


def test_generate_csv_and_console_output(fake_env, capsys):
    code = run_cli(main, ["generate", "--product", "linen sheets", "--n", "2", "--language", "en",
                          "--output", str(fake_env / "o.csv")])
    cap = capsys.readouterr()
    assert code == 0 and (fake_env / "o.csv").exists() and (fake_env / "o.google_ads.csv").exists()
    assert "headline (" in cap.out and "2 of 2 variants" in cap.err


def test_generate_shows_what_the_checks_fixed_and_the_words_to_check(monkeypatch, tmp_path, capsys):
    from tests.assistant.adcopy.conftest import _numbered, set_fake_cli_env

    # "moonlit" is in no source and in no ordinary ad vocabulary: the copywriter should see it before using the ad
    set_fake_cli_env(monkeypatch, tmp_path, [_numbered("Aurora moonlit linen sheets"), _numbered("Soft linen sheets")])
    code = run_cli(main, ["generate", "--product", "linen sheets", "--n", "1", "--language", "en",
                          "--channel", "weibo"])
    out = capsys.readouterr().out
    assert code == 0 and "check before use (not in the brief): moonlit" in out, out


@pytest.mark.parametrize("args, message", [
    (["--product", ""], "product"),
    (["--product", "x", "--channel", "tiktok"], "unknown channel"),
    (["--product", "x", "--n", "0"], "n must be at least 1"),
    (["--product", "x", "--output", "out.txt"], ".csv or .json"),
])
def test_generate_bad_input_is_one_line_and_nonzero(fake_env, capsys, args, message):
    code = run_cli(main, ["generate", *args])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_long_text_model_flag_overrides_the_config(fake_env, capsys):
    from assistant.adcopy.__main__ import _settings, build_parser

    args = build_parser().parse_args(["feed", "--input", "f.csv", "--channel", "weibo", "--output", "o.csv",
                                      "--long-text-model", "qwen2.5-1.5b"])
    assert _settings(args).adcopy.long_text_model == "qwen2.5-1.5b"
    args = build_parser().parse_args(["generate", "--product", "x", "--long-text-model", ""])
    assert _settings(args).adcopy.long_text_model == ""
    code = run_cli(main, ["generate", "--product", "linen", "--long-text-model", "gpt-9"])
    err = capsys.readouterr().err
    assert code != 0 and "long_text_model" in err and len(err.strip().splitlines()) == 1


def test_generate_bad_brand_yaml(fake_env, capsys):
    bad = fake_env / "brand.yaml"
    bad.write_text("name: Aurora\nbanned_words: [a, b\n", encoding="utf-8")
    code = run_cli(main, ["generate", "--product", "linen", "--brand", str(bad)])
    assert code == 2 and "bad YAML in brand file" in capsys.readouterr().err


def test_generate_huge_n_is_capped(fake_env, capsys):
    code = run_cli(main, ["generate", "--product", "linen sheets", "--n", "10000", "--language", "en",
                          "--fields", "headline"])
    err = capsys.readouterr().err
    assert code == 0 and "capped at adcopy.max_variants = 50" in err and "could only produce" in err


def test_channels_json(fake_env, capsys):
    assert run_cli(main, ["channels", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["google_rsa"]["fields"]["headline"]["limit"] == 30
    assert "count 2" in data["google_rsa"]["fields"]["headline"]["counting"]


def test_abtest_cli(fake_env, capsys):
    p = fake_env / "ab.csv"
    p.write_text("variant,impressions,clicks,conversions\nA,10000,200,20\nB,10000,260,31\n", encoding="utf-8")
    assert run_cli(main, ["abtest", "--data", str(p)]) == 0
    assert "winner: B" in capsys.readouterr().out
    assert run_cli(main, ["abtest", "--data", str(fake_env / "missing.csv")]) == 2


def test_export_feedback_cli(fake_env, capsys):
    from assistant.adcopy import Brief, FeedbackStore
    from assistant.storage import get_engine

    store = FeedbackStore(get_engine(url=f"sqlite:///{fake_env / 'a.db'}"))
    store.record(Brief(product="linen", language="en"), {"headline": "Aurora linen"}, rating="up")
    out = fake_env / "fb.jsonl"
    assert run_cli(main, ["export-feedback", "--output", str(out)]) == 0
    assert "wrote 1 SFT rows" in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["output"] == "1. Aurora linen"

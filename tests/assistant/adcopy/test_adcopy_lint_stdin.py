"""`lint --input -` on a sheet piped in (`cat ads.csv | python -m assistant.adcopy lint --input -`): read as a
sheet, each ad-text cell on its own, as `--input ads.csv` reads it; lines of copy stay lines."""

from __future__ import annotations

import io
import sys

from assistant.adcopy.__main__ import main
from assistant.cli_support import run_cli


def test_a_sheet_on_stdin_is_read_as_a_sheet(fake_env, capsys, monkeypatch):
    sheet = ("Campaign,Ad group,Headline 1,Headline 2,Description 1,Final URL\n"
             "Spring,Linen,FREE Shipping Today,Soft Linen Sheets,\"Washed linen, soft from night one.\","
             "https://shop.example/a1\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(sheet.encode("utf-8"))))
    assert run_cli(main, ["lint", "--input", "-", "--channel", "google_rsa"]) == 1
    said = capsys.readouterr()
    # Before: the header was linted as copy ("Final URL": capitals) and the whole row as one text.
    assert "line 2 Headline 1: FREE Shipping Today" in said.out and "Campaign,Ad group" not in said.out
    assert "1 of 3 texts break a rule" in said.err


def test_lines_of_copy_with_commas_stay_lines(fake_env, capsys, monkeypatch):
    copy = "Body, mind and soul: linen\nSoft linen, FREE today\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(copy.encode("utf-8"))))
    assert run_cli(main, ["lint", "--input", "-", "--channel", "google_rsa"]) == 1
    said = capsys.readouterr()
    assert "line 2: Soft linen, FREE today" in said.out and "1 of 2 texts break a rule" in said.err


def test_a_review_sheet_cell_kept_from_excel_is_linted_as_the_copy(fake_env, capsys):
    from assistant.adcopy.feed_run import write_assets

    sheet = write_assets([{"row_id": "A1", "title": "Linen", "url": "", "language": "en", "channel": "google_rsa",
                           "variant": "1", "headline": "-20% LINEN today"}], fake_env / "assets.csv")
    assert run_cli(main, ["lint", "--input", str(sheet), "--channel", "google_rsa"]) == 1
    out = capsys.readouterr().out
    # the apostrophe that keeps Excel from running the cell is no part of the copy, nor of its rewrite
    assert "A1 variant 1 headline: -20% LINEN today" in out and "rewrite: -20% Linen today" in out

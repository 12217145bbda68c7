"""assistant.tables.looks_excel_rounded: the one test for a number Excel shortened to scientific notation, shared by
the ad-copy review sheet (row ids) and the order import (order numbers, phones)."""

from __future__ import annotations

import pytest

from assistant.tables import looks_excel_rounded


@pytest.mark.parametrize("text", [
    "6.12346E+11",     # a 12-digit Taobao id as Excel shows and saves it
    "1.23457E+17",     # an 18-digit marketplace order number
    "6E+11",           # 600000000000: no fraction left to show
    "6,12346E+11",     # a locale that writes a decimal comma
    "6.12346e+11",     # lower case: Python writes a float of 17+ digits so
    " 6.12346E+11 ",   # a stray space around the cell
    "-6.12346E+11",    # a negative number lost its digits all the same
])
def test_numbers_excel_shortened_are_recognised(text):
    assert looks_excel_rounded(text)


@pytest.mark.parametrize("text", [
    "612345678901",    # the id itself
    "6.12346E11",      # no plus: Excel always writes one, so this is a code of the shop's own
    "5E10",
    "2024E0815",       # a shop's own order number
    "61.2346E+11",     # Excel shows one digit before the point
    "1.2E-05",         # a small fraction, no id
    "6.12346E+",
    "+6.12346E+11",
    "6.12346E+11x",
    "SKU 6.12346E+11",
    "",
    None,
])
def test_other_cells_are_not(text):
    assert not looks_excel_rounded(text)

"""Numbers as shops write them in exports: currency marks and codes, thousands separators, decimal commas,
accounting negatives; and which columns of a table hold numbers at all."""

from __future__ import annotations

import re

import pandas as pd

_MONEY_MARKS = r"(?i)(?:US|HK|NT|AU|CA|S|A|C)?\$|\b(?:RMB|CNY|USD|EUR|GBP|JPY|HKD|TWD|AUD|CAD|CHF|SGD|KRW|INR|NZD)\b|[¥€£₩₹%\s'元円块]"


def clean_numbers(s: pd.Series) -> pd.Series:
    """Text of money and counts as plain numbers: currency marks and codes, thousands separators (',', '.',
    spaces, "'") and percent signs go; "(5.00)" is -5 as accountants write it. A column written with decimal
    commas ("1.299,00 €", "19,99") is read as such: stripping the comma had made 19,99 € into 1999."""
    text = s.astype("string").str.strip().str.replace("，", ",", regex=False)
    text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True).str.replace(_MONEY_MARKS, "", regex=True)
    dot = text.str.fullmatch(r"[-+]?[\d,]*\d\.\d{1,2}").sum()
    comma = text.str.fullmatch(r"[-+]?[\d.]*\d,\d{1,2}").sum()
    if comma > dot:
        return text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return text.str.replace(",", "", regex=False)


def to_numeric_frame(df: pd.DataFrame, cols: list[str], notes: list[str]) -> pd.DataFrame:
    """Numbers from the given columns: '¥1,299' and '12%' are understood; mostly-text columns are dropped."""
    out = {}
    for c in cols:
        s = df[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            cleaned = clean_numbers(s)
            filled = s.notna() & cleaned.fillna("").ne("")
            s = pd.to_numeric(cleaned.where(filled).astype(object), errors="coerce")
            # Judged on the filled cells: Shopify leaves "Total" blank on an order's 2nd..nth line item.
            if not filled.any() or s[filled].notna().mean() < 0.8:
                notes.append(f"column {c!r} is not numeric: left out")
                continue
        out[c] = s.astype(float)
    return pd.DataFrame(out, index=df.index)


def numeric_feature_columns(df: pd.DataFrame, exclude: set[str]) -> list[str]:
    """Candidate numeric features: numbers (or number-like text), not IDs, not the excluded ones."""
    cols = []
    for c in df.columns:
        if c in exclude or re.search(r"(^|_)(id|uuid|phone|zip|邮编)$|编号|^id", str(c).lower()):
            continue
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols.append(c)
        elif s.dtype == object or str(s.dtype).startswith("str"):
            probe = pd.to_numeric(clean_numbers(s.head(200)).astype(object), errors="coerce")
            if probe.notna().mean() >= 0.8:
                cols.append(c)
    return cols

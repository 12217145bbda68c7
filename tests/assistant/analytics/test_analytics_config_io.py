from __future__ import annotations

import pandas as pd
import pytest

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import detect_encoding, load_csv, parse_dates
from assistant.errors import ConfigError, InputError


def test_config_section_is_registered_and_validated():
    from assistant.config import load_config

    settings = load_config(env={}, overrides={"analytics": {"freq": "month"}})
    assert isinstance(settings.analytics, AnalyticsConfig)
    assert settings.analytics.freq == "month"
    with pytest.raises(ConfigError, match=r"^analytics\.freq must be one of"):
        load_config(env={}, overrides={"analytics": {"freq": "hourly"}})


@pytest.mark.parametrize("kwargs,field", [({"max_k": 2}, "min_k"), ({"test_size": 0.9}, "test_size"),
                                          ({"sentiment_model": "bert"}, "sentiment_model"), ({"alpha": 0}, "alpha")])
def test_config_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"^{field} must"):
        AnalyticsConfig(**kwargs)


def test_gbk_csv_is_detected_and_decoded(tmp_path):
    p = tmp_path / "gbk.csv"
    df = pd.DataFrame({"日期": ["2026-01-01", "2026-01-02"] * 20,
                       "评论": ["物流很快，质量很好，非常满意这次购物", "包装破损，客服态度差，再也不买了"] * 20})
    df.to_csv(p, index=False, encoding="gbk")
    assert detect_encoding(p) == "gb18030"
    table = load_csv(p)
    assert table.df.columns.tolist() == ["日期", "评论"]
    assert table.df["评论"].iloc[1].startswith("包装破损")
    assert any("not UTF-8" in n for n in table.notes)


def test_big_csv_is_streamed_and_sampled_with_a_note(tmp_path):
    p = tmp_path / "big.csv"
    pd.DataFrame({"x": range(5000), "y": ["a", "b"] * 2500}).to_csv(p, index=False)
    table = load_csv(p, AnalyticsConfig(max_rows=500, chunk_rows=1000))
    assert table.total_rows == 5000
    assert 400 <= len(table.df) <= 600
    assert table.df["x"].max() > 4000  # sampled across the whole file, not just its head
    assert any("uniform random sample" in n for n in table.notes)


def test_unusable_files_give_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_csv(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_csv(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="no rows"):
        load_csv(tmp_path / "header.csv")


def test_dates_bad_few_noted_bad_most_rejected():
    notes: list[str] = []
    df = pd.DataFrame({"d": ["2026-01-01", "2026-01-05", "not a date", "2026-02-01"]})
    dates = parse_dates(df, "d", notes)
    assert dates.notna().sum() == 3 and "unparsable" in notes[0]
    with pytest.raises(InputError, match="does not hold dates"):
        parse_dates(pd.DataFrame({"d": ["soon", "later", "yesterday", "2026-01-01"]}), "d", [])


def test_day_first_dates_are_read_day_first_in_every_row_and_chinese_dates_are_dates():
    days = parse_dates(pd.DataFrame({"d": [f"{d:02d}/05/2026" for d in range(1, 29)]}), "d", [])
    assert (days.dt.month == 5).all() and days.dt.day.tolist() == list(range(1, 29))  # 01/05 is 1 May
    us = parse_dates(pd.DataFrame({"d": ["05/01/2026", "05/28/2026"]}), "d", [])
    assert us.dt.month.tolist() == [5, 5]  # month first where nothing says otherwise
    zh = parse_dates(pd.DataFrame({"d": ["2026年5月1日", "2026年12月31日"]}), "d", [])
    assert zh.dt.strftime("%Y-%m-%d").tolist() == ["2026-05-01", "2026-12-31"]


def test_a_two_row_gbk_csv_is_gb18030_not_korean(tmp_path, cfg):
    from assistant.analytics.aspects import analyze_aspects

    p = tmp_path / "gbk.csv"
    p.write_bytes("review,date\n物流很快，但是质量很差,2026-01-01\n很好,2026-01-02\n".encode("gbk"))
    table = load_csv(p)
    assert table.encoding == "gb18030" and "gbk.csv is not UTF-8: decoded as gb18030" in table.notes
    complaints = analyze_aspects(table, cfg).tables["complaints"]
    assert complaints["aspect"].tolist() == ["quality"]


def test_the_encoding_sample_is_cut_at_a_line_end(tmp_path):
    # A GBK character split by the end of the sample made GB 18030 fail and the guess fall to another code page.
    p = tmp_path / "gbk.csv"
    p.write_bytes(("评论\n" + "物流很快质量很差\n" * 200).encode("gbk"))
    assert detect_encoding(p, sample_bytes=1000) == "gb18030"

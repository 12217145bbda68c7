"""One encoding guess for the CLIs and the analytics: the knowledge base's (knowledge_base.encodings)."""

from __future__ import annotations

import pytest

from assistant.cli_support import decode_bytes, decode_text_lines
from assistant.errors import InputError

QA_CSV = "review,date\n物流很快，但是质量很差,2026-01-01\n很好,2026-01-02\n"


@pytest.mark.parametrize("encoding, expected", [("gbk", "gb18030"), ("big5", "big5"), ("utf-16", "utf-16"),
                                                ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_a_small_chinese_csv_is_read_in_its_own_encoding(encoding, expected):
    text = QA_CSV.replace("质量", "品質") if encoding == "big5" else QA_CSV  # Big5 is traditional Chinese
    assert decode_bytes(text.encode(encoding)) == (text, expected)


def test_lines_with_a_fallback_use_the_same_detection():
    # With a bare gb18030 fallback, Big5 came back as other hanzi and Windows-1252 quotes as Chinese.
    assert decode_text_lines("品質很差\n".encode("big5"), "x.txt", fallback="gb18030") == ["品質很差"]
    assert decode_text_lines("“Crème” sheets\n".encode("cp1252"), "x.txt", fallback="gb18030") == ["“Crème” sheets"]
    assert decode_text_lines("全网最低价\n".encode("gbk"), "x.txt", fallback="gb18030") == ["全网最低价"]
    with pytest.raises(InputError, match="is not UTF-8 nor GB18030"):  # junk is not guessed into a code page
        decode_text_lines(b"ok\n\xff\xfe\xfd\n", "x.txt", fallback="gb18030")
    with pytest.raises(InputError, match="is not UTF-8 .*iconv -f GBK"):  # no fallback: UTF-8 only, as before
        decode_text_lines("全网最低价\n".encode("gbk"), "x.txt")



@pytest.mark.parametrize("encoding, text", [("gbk", QA_CSV), ("big5", QA_CSV.replace("质量", "品質")),
                                            ("cp1252", "“Crème” sheets\n"), ("utf-8", QA_CSV), ("utf-8-sig", QA_CSV)])
def test_the_knowledge_base_reads_what_the_clis_read(encoding, text):
    """One guess behind both: knowledge_base.loaders.decode_known."""
    from pathlib import Path

    from knowledge_base.loaders import decode_text

    assert decode_text(Path("faq.csv"), text.encode(encoding)) == decode_bytes(text.encode(encoding))[0] == text


def test_utf16_with_its_bom_is_read_by_both_without_it_the_knowledge_base_refuses_it():
    from pathlib import Path

    from assistant.errors import IngestError
    from knowledge_base.loaders import decode_text

    assert decode_bytes(QA_CSV.encode("utf-16")) == (QA_CSV, "utf-16")
    assert decode_text(Path("faq.csv"), QA_CSV.encode("utf-16")) == QA_CSV  # the BOM makes the encoding certain
    with pytest.raises(IngestError, match="NUL bytes"):  # without one, NUL bytes are not guessed at
        decode_text(Path("faq.csv"), QA_CSV.encode("utf-16-le"))

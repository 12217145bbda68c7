"""An FAQ table's language column as shops write it ("EN", "zh-CN", "中文"), and metadata-only edits that re-ingest
must carry into the store (a corrected language, a new page title) although no chunk's text changed."""

from __future__ import annotations

from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.faq_tables import row_language
from knowledge_base.ingest import build_chunks
from knowledge_base.loaders import TableOptions

from .conftest import write

TABLE = ("id,question,answer,language\n"
         "q1,How long does delivery take?,Delivery takes 3-5 business days.,EN\n"
         "q2,配送需要多久？,配送需要3-5个工作日。,zh-CN\n"
         "q3,Can I pay by card?,Yes: Visa and Mastercard.,English\n"
         "q4,可以开发票吗？,可以，下单时填写抬头。,中文\n"
         "q5,Do you gift wrap?,Yes for 10 yuan.,fr\n")


def test_language_names_become_the_codes_the_faq_match_compares():
    assert [row_language(v) for v in ("EN", " zh-CN ", "zh_Hant", "English", "中文", "英文", "", "fr")] == [
        "en", "zh", "zh", "en", "zh", "en", "", None]


def test_a_table_whose_language_column_says_en_or_zh_cn_is_answered_verbatim(make_kb, tmp_path):
    path = write(tmp_path / "faq.csv", TABLE)
    notes: list[str] = []
    rows = build_chunks(path, KnowledgeBaseConfig(), TableOptions(), notes)
    assert [r.metadata["lang"] for r in rows] == ["en", "zh", "en", "zh", "en"]  # q5: read from its text
    assert notes == [f"{path}: row 6: the 'language' column is neither zh nor en; the language was read from the text"]

    kb = make_kb(faq_threshold=0.95)
    assert kb.ingest([path], progress=False).ok
    # Stored as "EN" / "zh-CN", the rows never met the customer's "en" / "zh" and no FAQ answer was ever given
    assert kb.faq_match("How long does delivery take?").row_id == "q1"
    assert kb.faq_match("配送需要多久？").row_id == "q2"
    assert [h.id for h in kb.search("开发票", filters={"lang": "zh"}, mode="bm25")] == ["q4"]


def test_reingest_carries_a_corrected_language_and_title_into_the_store(make_kb, tmp_path):
    faq = write(tmp_path / "faq.csv", "id,question,answer,lang\nq1,Do you ship abroad?,No. Mainland China only.,zh\n")
    page = write(tmp_path / "care.md", "---\ntitle: Draft\n---\n# Care\n\nWipe with a dry cloth.\n")
    kb = make_kb(faq_threshold=0.95)
    kb.ingest([faq, page], progress=False)
    assert kb.faq_match("Do you ship abroad?") is None  # the row said zh by mistake

    write(faq, "id,question,answer,lang\nq1,Do you ship abroad?,No. Mainland China only.,en\n")
    write(page, "---\ntitle: Table care guide\n---\n# Care\n\nWipe with a dry cloth.\n")
    report = kb.ingest([faq, page], progress=False)
    assert [(f.status, f.added, f.removed) for f in report.files] == [("updated", 0, 0)] * 2  # nothing re-embedded
    assert kb.faq_match("Do you ship abroad?").row_id == "q1"
    assert {d["title"] for d in kb.documents()} == {"(FAQ table)", "Table care guide"}
    again = kb.ingest([faq, page], progress=False)
    assert {f.status for f in again.files} == {"unchanged"}

"""Loaders keep headings/pages/rows; chunking respects paragraphs and Chinese sentence ends."""

from __future__ import annotations

import pytest

from assistant.errors import IngestError
from assistant.language import answer_language as detect_language
from knowledge_base.chunking import chunk_document, chunk_text, split_sentences
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.ingest import build_chunks
from knowledge_base.loaders import TableOptions, load_html, load_markdown
from knowledge_base.text import tokenize

from .conftest import minimal_pdf, write

CFG = KnowledgeBaseConfig(chunk_size=120, chunk_overlap=30)


def test_chinese_sentences_split_after_full_stops_and_chunks_stay_within_size():
    text = "我们的仓库每天发货。" * 8 + "请问可以退货吗？可以！" * 5
    assert split_sentences("第一句。第二句！第三句？end. Next")[:3] == ["第一句。", "第二句！", "第三句？"]
    chunks = chunk_text(text, size=60, overlap=15)
    assert len(chunks) > 2
    assert all(len(c) <= 60 for c in chunks)
    # every chunk ends at a sentence end: no sentence is cut in two
    assert all(c[-1] in "。！？" for c in chunks)
    # overlap repeats the previous chunk's last sentence
    assert chunks[1].startswith(split_sentences(chunks[0])[-1])


def test_paragraphs_are_packed_but_never_merged_past_the_size():
    text = "Alpha one.\n\nBeta two.\n\n" + "Gamma three is long. " * 10
    chunks = chunk_text(text, size=80, overlap=0)
    assert chunks[0].startswith("Alpha one.\n\nBeta two.")
    assert all(len(c) <= 80 for c in chunks)


def test_a_table_cut_between_chunks_keeps_its_header_in_the_second():
    rows = "\n\n".join(f"Cake {i} | {i}-inch | {100 + i} CNY" for i in range(12))
    chunks = chunk_text(f"Our cakes.\n\nProduct | Size | Price\n\n{rows}\n\nOrder a day ahead.", 120, 30)
    later = [c for c in chunks[1:] if "Cake " in c]
    assert len(later) > 1 and all(c.startswith("Product | Size | Price\n\nCake") for c in later)
    assert chunks[-1].endswith("Order a day ahead.") and sum(c.count("Cake ") for c in chunks) == 12
    # a header the HTML loader marked with a rule goes along with it; a first row with figures is no header
    ruled = chunk_text(f"| Product | Size | Price |\n\n|---|---|---|\n\n{rows}", 120, 30)
    assert all(c.startswith("| Product | Size | Price |\n\n|---|---|---|\n\nCake") for c in ruled)
    plain = chunk_text(f"Material | steel 300 g | 39 CNY\n\n{rows}", 120, 30)
    assert not any(c.startswith("Material") for c in plain[1:])


def test_markdown_keeps_the_heading_path():
    sections = load_markdown("# Shop\nintro\n## Returns\n30 days.\n### Refunds\n5 days.\n```\n# not a heading\n```")
    assert [s.heading for s in sections] == ["Shop", "Shop > Returns", "Shop > Returns > Refunds"]
    assert "# not a heading" in sections[-1].text


def test_html_drops_scripts_and_navigation_and_keeps_headings():
    sections, title = load_html("<html><head><title>T</title><script>var x=1</script></head><body><nav>menu</nav>"
                                "<h1>Lamp</h1><p>Warm light.</p><ul><li><p>USB-C</p></li></ul></body></html>")
    assert title == "T"
    assert sections[0].heading == "Lamp"
    assert "Warm light." in sections[0].text and "- USB-C" in sections[0].text
    assert "var x" not in sections[0].text and "menu" not in sections[0].text


@pytest.mark.parametrize(("title", "shown"), [("Microsoft Word - 退货政策.docx", "退货政策"),
                                              ("Microsoft Word - Document1", "returns"), ("Care Guide", "Care Guide")])
def test_a_pdf_printed_from_word_is_titled_by_its_document(tmp_path, title, shown):
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf(["Returns within 30 days."]))))
    writer.add_metadata({"/Title": title})
    pdf = tmp_path / "returns.pdf"
    writer.write(pdf)
    (chunk,) = build_chunks(pdf, CFG, TableOptions())
    # the title heads every passage and names the citation: not "Microsoft Word - ..."
    assert (chunk.metadata["title"], chunk.text) == (shown, f"{shown}\nReturns within 30 days.")


def test_setext_headings_are_headings_and_other_rules_stay_text():
    # pandoc writes a Word file's headings 1 and 2 underlined: they were text, the sections had no heading
    sections = load_markdown("Returns\n=======\n\nWithin 30 days.\n\nRefunds\n-------\n\nIn 5 days.\n\n---\n\n"
                             "- Gift cards\n---\n\n```\nno title\n---\n```\n")
    assert [(s.heading, s.text) for s in sections] == [
        ("Returns", "Within 30 days."),
        ("Returns > Refunds", "In 5 days.\n\n---\n\n- Gift cards\n---\n\n```\nno title\n---\n```")]


def test_html_text_outside_paragraphs_is_kept_a_line_per_break():
    # A site builder's product page: the facts sit in <div>s and <br>s, and one <p> made the loader read <p>s only
    sections, title = load_html(
        "<html><head><title>Oak Table</title></head><body><h1>Oak Table</h1><!-- price block -->"
        "<div class='desc'>Solid oak top.<br>Weight: <b>38</b> kg<br>Warranty: 2 years</div>"
        "<p>Free delivery over 199 yuan.</p><div><span>Care:</span> wipe with a dry cloth.</div>"
        "<form><select><option>S</option></select><button>Add to cart</button></form></body></html>")
    assert title == "Oak Table"
    assert [(s.heading, s.text) for s in sections] == [("Oak Table", "Solid oak top.\n\nWeight: 38 kg\n\nWarranty: "
                                                        "2 years\n\nFree delivery over 199 yuan.\n\nCare: wipe "
                                                        "with a dry cloth.")]


def test_pdf_docx_xlsx_csv_are_read_with_metadata(tmp_path):
    import docx
    from openpyxl import Workbook

    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(minimal_pdf(["Page one about lamps", "Page two about tables"]))
    chunks = build_chunks(pdf, CFG, TableOptions())
    assert [c.metadata["page"] for c in chunks] == [1, 2]
    assert "tables" in chunks[1].text

    d = docx.Document()
    d.add_heading("Care guide", level=1)
    d.add_paragraph("Wipe the oak with a damp cloth.")
    d.save(tmp_path / "care.docx")
    (c,) = build_chunks(tmp_path / "care.docx", CFG, TableOptions())
    assert c.metadata["heading"] == "Care guide" and "damp cloth" in c.text

    wb = Workbook()
    wb.active.append(["faq_id", "Q", "A"])
    wb.active.append(["x1", "Do you ship abroad?", "No."])
    wb.save(tmp_path / "faq.xlsx")
    (row,) = build_chunks(tmp_path / "faq.xlsx", CFG, TableOptions.from_kwargs("faq_id", "Q", "A"))
    assert row.metadata["row_id"] == "x1" and row.metadata["kind"] == "faq"
    assert row.doc_id == "x1"

    csv_path = write(tmp_path / "faq.csv", "id,question,answer\nr1,退货期限？,30天。\nr2,Shipping?,3-5 days.\n")
    rows = build_chunks(csv_path, CFG, TableOptions())
    assert [(r.doc_id, r.metadata["lang"]) for r in rows] == [("r1", "zh"), ("r2", "en")]


def test_a_docx_table_stays_under_its_own_heading(tmp_path):
    import docx

    d = docx.Document()
    for product, weight in (("Oak table", "38 kg"), ("Birch chair", "6 kg")):
        d.add_heading(product, level=1)
        d.add_paragraph(f"The {product.lower()} is made to order.")
        table = d.add_table(rows=2, cols=3)
        table.cell(0, 0).merge(table.cell(0, 1)).text = "Weight"  # a merged cell: its text once, not twice
        table.cell(0, 2).text = weight
        table.cell(1, 0).text, table.cell(1, 1).text, table.cell(1, 2).text = "Colour", "Natural", "Walnut"
    d.save(tmp_path / "catalogue.docx")
    chunks = build_chunks(tmp_path / "catalogue.docx", KnowledgeBaseConfig(), TableOptions())
    # read after all the prose, both tables were filed under "Birch chair": the table's 38 kg read as the chair's
    assert [(c.metadata["heading"], c.text.split("\n", 1)[1]) for c in chunks] == [
        ("Oak table", "The oak table is made to order.\n\nWeight | 38 kg\n\nColour | Natural | Walnut"),
        ("Birch chair", "The birch chair is made to order.\n\nWeight | 6 kg\n\nColour | Natural | Walnut")]


def test_ids_are_content_derived_and_stable():
    from knowledge_base.loaders import Section

    a = chunk_document("s.md", "T", [Section("Same text.\n\nSame text.")], 100, 0, "h")
    b = chunk_document("s.md", "T", [Section("Same text.\n\nSame text.")], 100, 0, "h")
    assert [c.id for c in a] == [c.id for c in b]
    assert chunk_document("other.md", "T", [Section("Same text.")], 100, 0, "h")[0].id != a[0].id
    assert {"source", "title", "heading", "lang", "hash", "doc_id"} <= set(a[0].metadata)


def test_tokenize_and_language():
    assert "退货" in tokenize("我想退货可以吗")
    assert "the" not in tokenize("What is the return policy?") and "return" in tokenize("the return policy")
    assert detect_language("运费是多少？") == "zh" and detect_language("How much is shipping?") == "en"


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00" * 50, "binary"),
])
def test_bad_text_files_raise_one_clear_error(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        build_chunks(p, CFG, TableOptions())
    assert str(p) in str(info.value)


@pytest.mark.parametrize("name, text, encoding", [
    ("faq.csv", "id,question,answer\nq1,有发票吗？,有，可开电子发票。\n", "gbk"),  # one row, as Excel saves it in China
    ("faq.csv", "id,question,answer\nq1,請問有發票嗎？,有，可以開電子發票。\n", "big5"),
    ("menu.md", "# Menu\n\nOur crème brûlée costs £5. Café au lait is free.\n", "latin-1"),
    ("hours.md", "# Hours\n\nWe’re open “every day” – 9–5. Gift cards from 10€.\n", "cp1252"),
    ("ru.txt", "Доставка бесплатная при заказе от 3000 рублей.\n", "cp1251"),
    ("notes.txt", "Shipping is free over 199 yuan. 满199元包邮。\n", "utf-16"),  # Notepad's "Unicode": a BOM first
])
def test_files_in_the_encodings_shops_save_them_in_are_read_as_written(tmp_path, name, text, encoding):
    # A one-row GBK table came back as Korean (cp949) and a Windows-1252 page's curly quotes as cp852 letters.
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    stored = " ".join(c.text for c in build_chunks(path, CFG, TableOptions()))
    words = [w for w in text.replace(",", " ").replace("\n", " ").split() if w not in ("#", "id", "question", "answer")]
    assert all(w.strip("#") in stored for w in words if len(w) > 2), (stored, words)


def test_a_faq_table_separated_by_semicolons_or_tabs_is_read(tmp_path):
    # Excel in many European locales saves ';' between cells: the table "had no question, answer columns"
    for sep in (";", "\t"):
        p = write(tmp_path / "faq.csv", f"id{sep}question{sep}answer\nq1{sep}Do you ship abroad?{sep}Yes, to 12 "
                                        "countries, from 5 days.\n")
        (chunk,) = build_chunks(p, CFG, TableOptions())
        assert "Do you ship abroad?" in chunk.text and "Yes, to 12 countries, from 5 days." in chunk.text


def test_csv_without_the_named_columns_names_them(tmp_path):
    p = write(tmp_path / "faq.csv", "id,ask,reply\n1,x,y\n")
    with pytest.raises(IngestError, match=r"missing column\(s\) question, answer .*has: id, ask, reply"):
        build_chunks(p, CFG, TableOptions())
    with pytest.raises(IngestError, match="missing column.*ident"):
        build_chunks(p, CFG, TableOptions.from_kwargs("ident", "ask", "reply"))


@pytest.mark.parametrize("text,zh,closed", [
    ("处理法: 日晒", True, "处理法: 日晒。"),
    ("Weight: 640 g", False, "Weight: 640 g."),
    ("整机保修 1 年。", True, "整机保修 1 年。"),
    ("We ship in 2 days.  ", False, "We ship in 2 days."),
    ("可以吗？", True, "可以吗？"),
    ('He said "no."', False, 'He said "no."'),
    ("不支持退货的商品：", True, "不支持退货的商品："),
    ("水垢导致的故障（建议每月除垢一次）；", True, "水垢导致的故障（建议每月除垢一次）。"),
    ("Limescale damage,", False, "Limescale damage."),
    ("", True, ""),
])
def test_a_sentence_is_closed_once(text, zh, closed):
    from knowledge_base.text import end_sentence

    assert end_sentence(text, zh) == closed


def test_the_stop_sent_after_streamed_text_is_only_the_missing_mark():
    from knowledge_base.text import stop_after

    assert [stop_after(t, zh) for t, zh in (("处理法: 日晒", True), ("Weight: 640 g", False), ("好的。", True),
                                            ("故障；", True), ("", False))] == ["。", ".", "", "", ""]


def test_markdown_front_matter_is_no_passage_and_names_the_document(tmp_path):
    from knowledge_base.loaders import load_document

    page = write(tmp_path / "returns.md", "---\ntitle: \"Returns Policy\"\nauthor: Jane\ntags: [policy, returns]\n---\n"
                                          "Items can be returned within 30 days.\n")
    sections, title = load_document(page, 5)
    assert title == "Returns Policy"
    assert [s.text for s in sections] == ["Items can be returned within 30 days."]
    plain = write(tmp_path / "notes.md", "# Notes\n\n---\n\nA rule between paragraphs is no front matter.\n")
    sections, title = load_document(plain, 5)
    assert title == "Notes" and "no front matter" in sections[0].text

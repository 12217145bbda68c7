"""`python -m assistant init DIR`: a new shop's folder, ready to fill in and serve (like `rasa init`).

    DIR/config.yaml        the shop: section and where this shop's data lives (paths relative to DIR)
    DIR/knowledge/         one example of every file type the knowledge base reads: replace with your own
    DIR/intents.csv        the routing intents (generic e-commerce ones to start from)
    DIR/brand.yaml         the brand voice for ad copy
    DIR/messages.yaml      overrides of any customer-facing text (optional)
    DIR/README.md          the next three commands
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.errors import InputError

SHIPPED_INTENTS = Path(__file__).resolve().parent / "classifiers" / "data" / "intents.csv"


@dataclass
class ShopDetails:
    name: str
    name_zh: str = ""
    email: str = ""
    phone: str = ""
    language: str = "en"
    currency: str = "USD"
    description: str = ""
    timezone: str = "UTC"


def slug(name: str) -> str:
    """A Chroma collection name (3-63 of [a-z0-9-]) from any shop name, Chinese-only ones included: a name with
    too few Latin letters gets a short hash of itself, never the demo's own collection, "shop"."""
    import hashlib

    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    if len(s) >= 3 and s != "shop":
        return s
    return "-".join(p for p in ("shop", s, hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]) if p)


# What the app writes that would otherwise be shared by every shop on the machine (the project's data/ folder),
# as (section, key) -> the path under the shop's folder: `init` writes them there, and a shop config that leaves
# one in the project's data/ is warned about at start (Runtime).
SHOP_DATA_PATHS = {("app", "upload_dir"): "data/uploads",
                   ("insights", "faq_file"): "data/uploads/gap_answers.csv",
                   ("insights", "translation_cache"): "data/insights/gap_translations.json",
                   ("analytics", "output_dir"): "data/analytics",
                   ("adcopy", "feed_dir"): "data/adcopy_feeds"}


def _in_its_language(text: str) -> dict[str, str]:
    """{language: text}, keyed by the language the text is written in ("云叶茶庄" is no English name: an English
    customer had read "云叶茶庄 is 一家…")."""
    from assistant.language import answer_language

    return {answer_language(text, "en"): text} if text else {}


def _names(d: ShopDetails) -> dict[str, str]:
    return _in_its_language(d.name) | ({"zh": d.name_zh} if d.name_zh else {})


def config_yaml(d: ShopDetails) -> str:
    names = _names(d)
    config = {
        "shop": {"name": names, "description": _in_its_language(d.description),
                 "contact_email": d.email, "contact_phone": d.phone, "hours": {}, "website": "",
                 "currency": d.currency, "default_language": d.language, "timezone": d.timezone, "persona": "",
                 "messages_file": "${config_dir}/messages.yaml", "brand_file": "${config_dir}/brand.yaml"},
        # title '' = made from shop.name: a title written here kept the old name after the owner edited it
        "app": {"title": "", "ingest_demo_kb": True},
        "knowledge_base": {"demo_path": "${config_dir}/knowledge", "db_path": "${config_dir}/data/kb",
                           "collection": slug(d.name)},
        "storage": {"url": "sqlite:///${config_dir}/data/assistant.db"},
        "classifiers": {"intent_data": "${config_dir}/intents.csv",
                        "intent_model": "${config_dir}/data/classifiers/intent",
                        "sentiment_model": "${config_dir}/data/classifiers/sentiment"},
        "finetune": {"registry": "${config_dir}/data/adapters/registry.json"},
    }
    # everything the app writes stays in this folder: a second shop on the machine shares none of it
    for (section, key), path in SHOP_DATA_PATHS.items():
        config.setdefault(section, {})[key] = "${config_dir}/" + path
    head = (f"# {d.name}: the shop assistant's settings, layered over the project's config/default.yaml.\n"
            "# ${config_dir} is this folder, so the folder works wherever it is moved.\n"
            "# `python -m assistant config show --config THIS_FILE` prints every effective value.\n")
    return head + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=110)


def _faq_csv(d: ShopDetails) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "question", "answer", "lang"])
    # Every row is a marked example. No contact row: the shop: section's contact details are answered from the
    # config (assistant/shop/contact_rows.py); a copy here, kept when the owner filled in the other rows, told
    # customers "Write to our support address" (no --email) or an e-mail the config had since changed.
    w.writerow(["order-change", f"Can I change my order at {d.name}?",
                "REPLACE ME: e.g. Yes, until it ships: write to us with your order number.", "en"])
    w.writerow(["delivery-time", "How long does delivery take?", "REPLACE ME: e.g. Orders arrive in 3-5 working days.",
                "en"])
    w.writerow(["退货", "怎么退货？", "REPLACE ME：例如 收货后 30 天内可申请退货。", "zh"])
    return buf.getvalue()


RETURNS_MD = """# Returns policy

REPLACE ME. Write your policies as plain prose: the assistant answers from these sentences, word for word.

## Returning an item
You can return an unused item within 30 days of delivery. Refunds go back to the original payment method
within 5 working days of the item arriving at our warehouse.
"""

PRODUCT_HTML = """<!doctype html>
<html><head><title>Example product</title></head>
<body>
<h1>Example product (REPLACE ME)</h1>
<p>One paragraph about the product: what it is for and who it suits.</p>
<h2>Specifications</h2>
<table>
<tr><th>Weight</th><td>350 g</td></tr>
<tr><th>Warranty</th><td>2 years</td></tr>
</table>
</body></html>
"""

SHIPPING_TXT = """Shipping (REPLACE ME)
Standard delivery takes 3-5 working days. Orders over 50 ship free.
"""

BRAND_YAML = """# Brand voice for the ad-copy generator (python -m assistant.adcopy). Lists may be per language.
name: {name}
names: {names}
description:
  {description}
voice:
  en: friendly, clear and honest; short sentences
do:
  en: [name one concrete benefit, end with a clear next step]
dont:
  en: [no superlatives or fake urgency, no ALL CAPS]
banned_words:
  en: [best ever, cheapest, guaranteed]
required_terms:
  en: []
exemplars: []
"""

MESSAGES_YAML = """# Overrides of the customer-facing texts (see assistant/shop/messages.yaml for every key).
# Placeholders: {shop_name} {contact_email} {contact_phone} {hours} {contact_line}. Example:
# greeting:
#   en: "Hi, welcome to {shop_name}! What can I help you with?"
#   zh: "您好，欢迎来到{shop_name}！有什么可以帮您？"
"""

README_MD = """# {name}: your shop assistant

1. Put your own documents in `knowledge/` (Markdown, HTML, text, PDF, Word, Excel/CSV FAQ tables; the examples
   show each kind: replace them), fill in `config.yaml` (contact details, hours, languages) and `brand.yaml`.
2. Prepare once (checks the model, trains the routing classifiers on `intents.csv`, ingests `knowledge/`):

       python -m assistant prepare --config {config}

3. Serve it (UI, widget and API on one port; see the project README for the widget snippet):

       python app.py --config {config}

4. Before anyone else uses it: the demo staff logins are on while `app.users` is empty (the app then listens on
   this machine only). Make a hash per colleague with `python -m assistant.web hash-password`, put them in
   `config.yaml` and turn demo mode off:

       app:
         demo_mode: false
         users:
           alice: "admin:HASH"
           bob: "agent:HASH"

Ask the knowledge base directly with `python -m knowledge_base ask "your question" --config {config}`;
after changing documents, the app re-reads `knowledge/` at start (or press "Sync" in the Admin tab). From the
command line, `python -m knowledge_base sync {knowledge} --config {config}` does the same: it also
drops the documents you deleted (the examples included), which `ingest` keeps.
"""


def shell_path(path: Path) -> str:
    """`path` as a command line takes it: "/home/me/My Shop/config.yaml" unquoted was two arguments."""
    import shlex

    return shlex.quote(str(path))


def _docx_bytes(text: str) -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading("Care guide (REPLACE ME)", level=1)
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _pdf_bytes(line: str) -> bytes:
    """A one-page PDF with one line of text (written by hand: no PDF writer is a dependency)."""
    text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _files(folder: Path, details: ShopDetails) -> dict[str, bytes | str]:
    names = _names(details)
    described = _in_its_language(details.description) or {"en": "REPLACE ME - what you sell and to whom, in one sentence."}
    # a JSON string is a YAML string: quotes and colons in the shop's words stay text
    description = "\n  ".join(f"{lang}: {json.dumps(text, ensure_ascii=False)}" for lang, text in described.items())
    return {
        "config.yaml": config_yaml(details),
        "README.md": README_MD.format(name=details.name, config=shell_path(folder / "config.yaml"),
                                      knowledge=shell_path(folder / "knowledge")),
        # quoted: "Tea: Co", "#1 Bikes" or "Yes" unquoted were a YAML error, no name or the name True
        "brand.yaml": BRAND_YAML.format(name=json.dumps(details.name, ensure_ascii=False), description=description,
                                        names=yaml.safe_dump(names, allow_unicode=True,
                                                             default_flow_style=True).strip()),
        "messages.yaml": MESSAGES_YAML,
        "knowledge/faq.csv": _faq_csv(details),
        "knowledge/policies/returns.md": RETURNS_MD,
        "knowledge/policies/shipping.txt": SHIPPING_TXT,
        "knowledge/products/example-product.html": PRODUCT_HTML,
        "knowledge/guides/care-guide.docx": _docx_bytes("REPLACE ME: wash at 30 degrees, dry flat."),
        "knowledge/guides/size-chart.pdf": _pdf_bytes("Size chart (REPLACE ME): S fits 160-170 cm, M fits 170-180 cm."),
        "knowledge/faq-more.xlsx": _xlsx_bytes([["id", "question", "answer", "lang"],
                                                ["payment", "Which payment methods do you accept?",
                                                 "REPLACE ME: e.g. cards and bank transfer.", "en"]]),
        "intents.csv": SHIPPED_INTENTS.read_bytes(),
    }


PLACEHOLDER = "REPLACE ME"
#: the example documents `_files` writes into knowledge/, each marked with PLACEHOLDER until the shop edits it
EXAMPLE_DOCUMENTS = ("faq.csv", "faq-more.xlsx", "policies/returns.md", "policies/shipping.txt",
                     "products/example-product.html", "guides/care-guide.docx", "guides/size-chart.pdf")
_SCAN_LIMIT = 20 * 1024 * 1024  # the examples are a few KB; a shop's own file of that name may be large


def _holds_placeholder(path: Path) -> bool:
    """True when the file still has the marker: in its bytes (CSV, text, HTML, and the uncompressed PDF written
    here) or in an XML part of a .docx/.xlsx, whose parts are compressed."""
    import zipfile

    marker = PLACEHOLDER.encode()
    try:
        if not path.is_file() or path.stat().st_size > _SCAN_LIMIT:
            return False
        if path.suffix.lower() not in (".docx", ".xlsx"):
            return marker in path.read_bytes()
        with zipfile.ZipFile(path) as z:
            parts = [i for i in z.infolist() if i.filename.endswith(".xml") and i.file_size <= _SCAN_LIMIT]
            return any(marker in z.read(i) for i in parts)
    except (OSError, zipfile.BadZipFile):
        return False  # unreadable: the knowledge base will say so itself


def placeholder_documents(knowledge: Path) -> list[Path]:
    """The example documents of `init` still in `knowledge` with their placeholder text (customers would be
    answered with it)."""
    return [knowledge / rel for rel in EXAMPLE_DOCUMENTS if _holds_placeholder(knowledge / rel)]


def _check_folder(folder: Path, force: bool) -> None:
    from assistant.outputs import blocking_file

    blocker = blocking_file(folder)
    if blocker == folder:
        raise InputError(f"{folder} exists and is not a folder")
    if blocker is not None:
        raise InputError(f"cannot create {folder}: {blocker} is a file, not a folder")
    try:
        if folder.exists() and any(folder.iterdir()) and not force:
            raise InputError(f"{folder} is not empty; pick a new folder (or pass --force to write over it)")
    except OSError as exc:
        raise InputError(f"cannot read {folder}: {exc.strerror or exc}") from None


def _check_config(files: dict[str, bytes | str]) -> None:
    """Load the new config exactly as the app will (a bad --email, --currency... is a ConfigError) from a
    throw-away copy of the folder, so a refused init leaves nothing behind."""
    import tempfile

    from assistant.adcopy.brand import load_brand
    from assistant.config import load_config
    from assistant.shop import Shop

    with tempfile.TemporaryDirectory(prefix="shop-init-") as tmp:
        for rel in ("config.yaml", "messages.yaml", "brand.yaml"):
            (Path(tmp) / rel).write_text(str(files[rel]), encoding="utf-8")
        settings = load_config(Path(tmp) / "config.yaml", env={})
        Shop.from_config(settings.shop)
        load_brand(Path(tmp) / "brand.yaml")


def _write(folder: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write the files; on failure remove what this call created (the folder too, if it made it)."""
    top = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), None)
    written: list[Path] = []
    made: list[Path] = []  # new files and folders inside an existing folder (--force), to undo
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for rel, content in files.items():
            path = folder / rel
            for parent in reversed([p for p in path.relative_to(folder).parents if str(p) != "."]):
                if not (folder / parent).exists():
                    (folder / parent).mkdir()
                    made.append(folder / parent)
            if not path.exists():
                made.append(path)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        if top is not None:
            shutil.rmtree(top, ignore_errors=True)
        else:  # only what this call added goes; a file that was there before is left alone
            for path in reversed(made):
                try:
                    path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
                except OSError:
                    pass
        where = getattr(exc, "filename", None) or folder
        raise InputError(f"cannot write the shop folder: {where}: {exc.strerror or exc}") from None
    return written


def scaffold(folder: Path, details: ShopDetails, force: bool = False) -> list[Path]:
    """Write a new shop's folder; refuses to overwrite a non-empty one unless `force`. Every value is checked
    (the config loaded) before the first file is written, so a failed init leaves nothing behind."""
    folder = Path(folder)
    if details.language not in ("en", "zh"):
        raise InputError(f"--language must be en or zh, got {details.language!r}")
    if not details.name.strip():
        raise InputError("--name must not be empty")
    _check_folder(folder, force)
    files = _files(folder, details)
    _check_config(files)
    return _write(folder, files)

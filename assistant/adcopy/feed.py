"""A product feed (CSV or XLSX, one product a row) read into briefs: which column is the title, the description,
the selling points, the price, the URL, by a documented mapping (`data/feed_columns.yaml`) that a marketer can
override (`--map title=Product Name`).

Every mapped value is also what the copy may state: the invented-fact check takes its facts from the row.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.adcopy.brief import Brief
from assistant.config import load_yaml_file
from assistant.errors import ConfigError, InputError
from assistant.language import other_language
from assistant.tables import read_numbered_table

COLUMNS_FILE = Path(__file__).with_name("data") / "feed_columns.yaml"
# Selling points are separated by ; | * or line breaks, and by commas that are not thousands separators.
_SPLIT = re.compile(r"[;；|\n*]+|[，、]|(?<!\d),|,(?!\d{3}(?!\d))")
# Shopify's "Body (HTML)" and many shop exports hold markup; a tag is no fact and no selling point.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>|<!--.*?-->", re.S)
_BLOCK_TAGS = frozenset("p br li div ul ol tr h1 h2 h3 h4 h5 h6 table section".split())
_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9a-fA-F]{2,6}|amp|lt|gt|quot|apos|nbsp);")  # "Tom &amp; Jerry", "&#8482;"


@dataclass
class Product:
    row: int  # 1-based data row (the header is row 0)
    id: str
    title: str
    description: str = ""
    attributes: list[str] = field(default_factory=list)  # selling points, as written
    specs: dict[str, str] = field(default_factory=dict)  # attribute column name ("material") -> value
    price: str = ""
    sale_price: str = ""
    offer: str = ""
    url: str = ""
    brand: str = ""
    category: str = ""
    language: str = ""
    keywords: list[str] = field(default_factory=list)
    audience: str = ""

    def content_hash(self) -> str:
        """Changes whenever anything the copy is written from changes (not the row's position)."""
        data = {k: v for k, v in asdict(self).items() if k != "row"}
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]

    def offer_text(self, language: str) -> str:
        zh = language == "zh"
        parts = []
        if self.sale_price and self.price:
            parts.append(f"促销价 {self.sale_price}（原价 {self.price}）" if zh else f"sale {self.sale_price} (was {self.price})")
        elif self.sale_price or self.price:
            parts.append(("售价 " if zh else "price ") + (self.sale_price or self.price))
        if self.offer:
            parts.append(self.offer)
        return ("；" if zh else "; ").join(parts)

    def brief(self, channel: str, n: int = 1, language: str = "") -> Brief:
        lang = language or self.language
        product = self.title if not self.brand or self.brand.lower() in self.title.lower() else f"{self.brand} {self.title}"
        brief = Brief(product=product, channel=channel, n=n, language=lang, attributes=self.attributes,
                      keywords=self.keywords, audience=self.audience, details=self.description,
                      from_feed=True)
        brief.offer = self.offer_text(brief.language)
        # The category ("家纺", "home textiles") is no selling point: a small model lists it in the copy.
        labels = column_labels()
        colon = "：" if brief.language == "zh" else ": "
        brief.attributes += [f"{labels.get(name, {}).get(brief.language, name)}{colon}{value}"
                             for name, value in self.specs.items()]
        return brief


@dataclass
class Feed:
    path: str
    products: list[Product]
    mapping: dict[str, str]  # what -> the header it was read from
    attribute_columns: dict[str, str]  # header -> attribute name
    ignored: list[str] = field(default_factory=list)  # headers not used
    skipped: list[str] = field(default_factory=list)  # notes on rows: "row 7: no title", a repeated id, a language

    def describe(self) -> str:
        used = ", ".join(f"{k} ← {v!r}" for k, v in self.mapping.items())
        attrs = ", ".join(f"{v} ← {k!r}" for k, v in self.attribute_columns.items())
        out = f"{len(self.products)} products from {Path(self.path).name}; columns: {used}"
        if attrs:
            out += f"; selling points from: {attrs}"
        if self.ignored:
            out += f"; ignored: {', '.join(repr(c) for c in self.ignored)}"
        return out


LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


def language_mismatch(products: list[Product], language: str) -> str:
    """A warning when most rows' title and description are in the other language than `language` ('' when not,
    or when no language is asked for). The copy is still written in `language`: a shop may well want English ads
    for a Chinese catalogue, but a wrong flag would otherwise cost a whole run before anyone reads the sheet."""
    from assistant.adcopy.text import detect_language

    if language not in LANGUAGE_NAMES or not products:
        return ""
    # A row without letters counts as written in the asked language: it gives no reason to doubt the flag.
    other = [p for p in products if any(c.isalpha() for c in p.title + p.description)
             and detect_language(f"{p.title}\n{p.description}") != language]
    if len(other) * 2 <= len(products):
        return ""
    theirs = LANGUAGE_NAMES[other_language(language)]
    return (f"warning: --language {language}, but {len(other)} of {len(products)} rows are in {theirs} (title and "
            f"description); the copy will be written in {LANGUAGE_NAMES[language]} as asked")


@lru_cache(maxsize=1)
def column_labels() -> dict[str, dict[str, str]]:
    data = load_yaml_file(COLUMNS_FILE, what="feed column mapping", error=ConfigError)
    return data.get("labels") or {}


@lru_cache(maxsize=2)
def column_aliases(path: str | None = None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    data = load_yaml_file(Path(path) if path else COLUMNS_FILE, what="feed column mapping", error=ConfigError)
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ConfigError("feed column mapping needs a 'fields' mapping")
    return data["fields"], data.get("attribute_columns") or {}


def _norm(header: str) -> str:
    # "价格(元)", "Price (USD)", "商品名称（必填）": a unit or a note in brackets does not change what the column is
    bare = re.sub(r"[(（\[【][^)）\]】]*[)）\]】]", "", str(header)).strip() or str(header)
    return re.sub(r"[\s_\-]+", "", bare.lower().removeprefix("g:"))


def parse_mapping(text: str | None) -> dict[str, str]:
    """'title=Product Name,id=SKU' -> {'title': 'Product Name', 'id': 'SKU'}."""
    out = {}
    fields, _ = column_aliases()
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, header = part.partition("=")
        if not sep or not header.strip():
            raise InputError(f"--map entries look like title=Column Name, got {part!r}")
        if key.strip() not in fields:
            raise InputError(f"--map: unknown field {key.strip()!r}; fields: {', '.join(fields)}")
        out[key.strip()] = header.strip()
    return out


def map_columns(headers: list[str], overrides: dict[str, str] | None = None):
    """(what -> header, header -> attribute name, ignored headers) for a feed's header row."""
    fields, attr_cols = column_aliases()
    by_norm = {_norm(h): h for h in headers if str(h).strip()}
    mapping: dict[str, str] = {}
    for what, header in (overrides or {}).items():
        if _norm(header) not in by_norm:
            raise InputError(f"--map {what}={header!r}: the feed has no such column (columns: {', '.join(headers)})")
        mapping[what] = by_norm[_norm(header)]
    for what, aliases in fields.items():
        if what not in mapping:
            hit = next((by_norm[_norm(a)] for a in aliases if _norm(a) in by_norm), None)
            if hit and hit not in mapping.values():
                mapping[what] = hit
    attributes = {}
    for name, aliases in attr_cols.items():
        for a in aliases:
            header = by_norm.get(_norm(a))
            if header and header not in mapping.values() and header not in attributes:
                attributes[header] = name
                break
    ignored = [h for h in headers if str(h).strip() and h not in mapping.values() and h not in attributes]
    return mapping, attributes, ignored


def plain_text(text: str) -> str:
    """`text` without HTML markup: block tags (<p>, <br>, <li> …) become line breaks, so a list still splits into
    selling points, other tags go, entities are decoded ("&amp;" -> "&"). Text without either is left as it is."""
    if not _TAG.search(text or "") and not _ENTITY.search(text or ""):
        return text or ""
    out = _TAG.sub(lambda m: "\n" if (m.group(2) or "").lower() in _BLOCK_TAGS else "", text)
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in html.unescape(out).splitlines())
    return "\n".join(line for line in lines if line)


def split_attributes(text: str) -> list[str]:
    """'soft; breathable | 200x230cm' or AdvertiseGen's '版型#宽松*颜色#灰色' -> selling points."""
    out = []
    for part in _SPLIT.split(text or ""):
        part = part.strip()
        if "#" in part and not part.startswith("#"):
            part = part.split("#", 1)[1].strip()  # AdvertiseGen's key#value: the value is the selling point
        if part:
            out.append(part)
    return list(dict.fromkeys(out))


# Files this package writes, by the columns only they have: read as a feed, their ad texts would pass for the
# product's facts (a review sheet's `description` is an ad's, its `title` the product's) and copy be written on copy.
OWN_OUTPUTS = {"a review sheet written by `feed`": ("row_id", "channel", "variant"),
               "a Google Ads Editor import file": ("Ad group", "Headline 1"),
               "a Meta bulk import file": ("Ad Set Name", "Ad Name")}


def refuse_own_output(path: str | Path, header: list[str]) -> None:
    for what, columns in OWN_OUTPUTS.items():
        if set(columns) <= {str(h).strip() for h in header}:
            raise InputError(f"{Path(path).name} is {what}, not a product feed: use the product feed it was made "
                             "from (approved assets become an import file by Export in the Copywriter tab, or by "
                             "`python -m assistant.adcopy export --input SHEET`)")


def _taobao_table(path: str | Path) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """淘宝助理's item CSV (the export of a Taobao/Tmall shop): "version 1.00", then the API's field keys, then the
    Chinese column names (宝贝名称, 宝贝价格, 宝贝描述 …), then one item a row. Read with its Chinese names as the header:
    the field keys row has "features" for the size chart, which the mapping would take for selling points."""
    from assistant.cli_support import read_text_lines
    from assistant.tables import csv_rows, sniff_delimiter

    p = Path(path)
    text = "\n".join(read_text_lines(p, "file", fallback="gb18030")[2:])
    numbered = [(n, r) for n, r in enumerate(csv_rows(text, sniff_delimiter(text), p.name), 3)
                if any(c.strip() for c in r)]
    if not numbered:
        return [], [], []
    header = [h.strip() for h in numbered[0][1]]
    rows = [{h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header) if h} for _, r in numbered[1:]]
    return header, rows, [n for n, _ in numbered[1:]]


def _is_taobao(p: Path) -> bool:
    """Whether `p` is 淘宝助理's item CSV: its first line is exactly "version 1.00" (a feed whose first column is
    named "version" is not), in UTF-8 or UTF-16, with or without a BOM."""
    if p.suffix.lower() not in (".csv", ".tsv", ".txt") or not p.is_file():
        return False
    with p.open("rb") as fh:
        head = fh.read(256)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="ignore")
    first = text.splitlines()[0] if text else ""
    return re.fullmatch(r"\s*version\s+\d+\.\d+\s*[,;\t]*\s*", first, re.IGNORECASE) is not None


def refuse_title_line(path: Path, header: list[str], lines: list[int], mapping: dict[str, str] | None) -> None:
    """One line naming it when the first row is an export's title ("商品信息导出 2024-05-01", as many Chinese shop
    back-ends write above the column names) rather than the column names: else the feed had "no title column" and
    `--map title=商品名称` "no such column"."""
    named = [h for h in header if str(h).strip()]
    if len(named) != 1 or not lines or _norm(named[0]) in {_norm(h) for h in (mapping or {}).values()}:
        return
    if "title" not in map_columns(header)[0]:
        raise InputError(f"the first row of {path.name}, {named[0]!r}, is a title line, not the column names: delete "
                         f"the rows above the column names (row {lines[0]}?) and read the feed again")


# A yes/no flag in an attribute column of a 淘宝助理 file (its 保修 is 0 or 1): "质保：1" is no selling point and no fact.
_FLAG = frozenset({"0", "1", "true", "false", "yes", "no", "是", "否", "y", "n"})


def read_feed(path: str | Path, mapping: dict[str, str] | None = None) -> Feed:
    from assistant.adcopy.export import is_web_address  # export imports the generator, which reads feeds

    p = Path(path)
    taobao = _is_taobao(p)
    header, rows, lines = _taobao_table(p) if taobao else read_numbered_table(p)
    refuse_own_output(path, header)
    refuse_title_line(p, header, lines, mapping)
    cols, attr_cols, ignored = map_columns(header, mapping)
    if "title" not in cols:
        raise InputError(f"no title column in {Path(path).name}: rename the product-name column to title (on the "
                         f"command line, --map title=COLUMN names it) (columns: {', '.join(header)})")
    products, skipped, seen, variant_rows, contents = [], [], {}, 0, {}
    for i, row in enumerate(rows, 1):
        def get(what: str, row=row) -> str:
            return row.get(cols.get(what, ""), "").strip()

        title, line = get("title"), lines[i - 1]  # notes name the spreadsheet's row, as the person sees it
        if not title and get("id") and get("id") in seen:
            # Shopify writes a product's 2nd, 3rd … variant as a row of its own under the same handle, without a
            # title: the product is read already, and a note per such row would bury the notes that matter.
            variant_rows += 1
            continue
        if not title:
            named = f" (id {get('id')})" if get("id") else ""
            skipped.append(f"row {line}{named}: no title, left out")
            continue
        content = tuple(sorted(row.items()))
        if content in contents:  # an export that lists a product twice: twice the model's time, two identical ads
            named = f" (id {get('id')!r})" if get("id") else ""
            skipped.append(f"row {line}: the same as row {contents[content]}{named}, left out")
            continue
        contents[content] = line
        attributes = split_attributes(plain_text(get("attributes")))
        # 0/1 flags only where the format is known to write them: elsewhere "size: 1" or "returns: yes" is a fact
        dropped = (_FLAG if taobao else frozenset()) | {""}
        specs = {name: row.get(header_name, "").strip() for header_name, name in attr_cols.items()
                 if row.get(header_name, "").strip().lower() not in dropped}
        # a made-up id names the row as the spreadsheet shows it, as the notes do ("A2#3" was row 4, beside a note
        # "row 4: id 'A2' repeats row 3")
        pid = get("id") or f"row{line}"
        if pid in seen:
            skipped.append(f"row {line}: id {pid!r} repeats row {seen[pid]}; kept as {pid}#{line}")
            pid = f"{pid}#{line}"
        seen[pid] = line
        if get("url") and not is_web_address(get("url")):  # said before a long run, not at the import
            skipped.append(f"row {line} ({pid}): url {get('url')!r} is no http(s) address; an import file needs one "
                           "(fix the feed, or the sheet's url column before the export)")
        language = get("language").lower()[:2]
        if language in LANGUAGE_NAMES and any(c.isalpha() for c in title):
            from assistant.adcopy.text import detect_language

            written = detect_language(f"{title}\n{get('description')}")
            if written != language:  # the copy follows the column; a wrong value would cost the row its copy
                skipped.append(f"row {line} ({pid}): its language column says {language}, but its title is in "
                               f"{LANGUAGE_NAMES[written]}; the copy is written in {LANGUAGE_NAMES[language]}")
        products.append(Product(
            row=i, id=pid, title=title, description=plain_text(get("description")), attributes=attributes, specs=specs,
            price=get("price"), sale_price=get("sale_price"), offer=get("offer"), url=get("url"), brand=get("brand"),
            category=get("category"), language=language if language in ("zh", "en") else "",
            keywords=split_attributes(get("keywords")), audience=get("audience")))
    if variant_rows:
        skipped.append(f"rows without a title under the id of a product above (its variants, as Shopify exports "
                       f"them): {variant_rows}, read as that product")
    return Feed(str(path), products, cols, attr_cols, ignored, skipped)

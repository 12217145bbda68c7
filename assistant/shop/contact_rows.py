"""The shop's contact details (`shop:` config: phone, e-mail, hours, website) as FAQ rows in its knowledge base.

A shop sets its phone number and hours in its config, and its documents often do not repeat them: asked "What is
your customer service phone number?", the assistant found only the sign-up row ("register with your mobile phone
number") and handed the customer to a person rather than say the number. Written as a small FAQ table, in both
languages, the details are answered, cited and read a second time like any other row, and change when the config
does (the table is synced at every start; its chunk ids make an unchanged table cost milliseconds).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from assistant.outputs import replace_text
from assistant.shop import LANGUAGES, Shop

log = logging.getLogger(__name__)

CONTACT_FILE = "shop-contact.csv"  # in the knowledge base's folder (knowledge_base.db_path)
# row key -> the `shop:` field it needs; the texts are catalog keys contact_row_<key>_q / _a (messages.yaml)
FIELDS = (("phone", "contact_phone"), ("email", "contact_email"), ("hours", "hours"), ("website", "website"))


def contact_rows(shop: Shop) -> list[dict[str, str]]:
    """One question/answer row per language for each contact detail the shop set; [] when it set none. Hours
    written in one language only are used only for that language's rows."""
    rows = []
    for lang in LANGUAGES:
        fields = shop.fields(lang)
        if not (shop.cfg.hours.get(lang) or "").strip():
            fields["hours"] = ""
        for key, name in FIELDS:
            if not str(fields.get(name) or "").strip():
                continue
            answer = shop.text(f"contact_row_{key}_a", lang)
            if key == "phone" and fields["hours"]:
                answer += (" " if lang == "en" else "") + shop.text("contact_row_phone_hours", lang)
            rows.append({"id": f"shop-{key}-{lang}", "question": shop.text(f"contact_row_{key}_q", lang),
                         "answer": answer, "lang": lang})
    return rows


def contact_table(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "question", "answer", "lang"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def contact_file(kb_cfg) -> Path:
    """Where the table lives: next to the store (knowledge_base.db_path)."""
    from assistant.config import resolve_path

    return Path(resolve_path(kb_cfg.db_path)) / CONTACT_FILE


def sync_contact_rows(kb, shop: Shop) -> Path | None:
    """Writes the shop's contact rows next to its store and syncs them into the collection (rows of details the
    config no longer sets are removed with them); the table's path, or None when the shop set no contact detail."""
    from knowledge_base.ingest import source_key

    path = contact_file(kb.cfg)
    rows = contact_rows(shop)
    if not rows:
        if path.exists():
            kb.delete(sources=[source_key(path)])
            path.unlink()
        return None
    text = contact_table(rows)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_text(path, text)  # a crash mid-write never leaves half a table to ingest
    report = kb.sync([path], progress=False)
    for err in report.errors:
        log.warning("shop contact rows: %s", err.error)
    return path

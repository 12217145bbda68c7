"""The shop's contact details answered from its config: rows written, synced, updated and removed with it."""

from __future__ import annotations

import csv

from assistant.shop import Shop, ShopConfig
from assistant.shop.contact_rows import contact_file, contact_rows, sync_contact_rows
from knowledge_base import KnowledgeBase, KnowledgeBaseConfig
from knowledge_base.embeddings import FakeEmbedder


def _shop(**changes) -> Shop:
    base = {"name": {"en": "Spoke & Chain", "zh": "辐条与链"}, "contact_phone": "+86 21 5555 0101",
            "contact_email": "help@spoke.example", "hours": {"en": "daily 9:00-17:00"}}
    return Shop(ShopConfig(**{**base, **changes}))


def _kb(tmp_path) -> KnowledgeBase:
    cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="contact", embedder="fake")
    return KnowledgeBase.from_config(cfg, FakeEmbedder())


def test_rows_for_each_detail_set_in_both_languages():
    rows = {r["id"]: r for r in contact_rows(_shop())}
    assert set(rows) == {"shop-phone-en", "shop-email-en", "shop-hours-en", "shop-phone-zh", "shop-email-zh"}
    assert "+86 21 5555 0101" in rows["shop-phone-en"]["answer"]
    assert "daily 9:00-17:00" in rows["shop-phone-en"]["answer"]  # the hours beside the number
    # hours written only in English are not pasted into the Chinese rows
    assert "daily" not in rows["shop-phone-zh"]["answer"] and "+86 21 5555 0101" in rows["shop-phone-zh"]["answer"]
    assert rows["shop-email-zh"]["lang"] == "zh" and "help@spoke.example" in rows["shop-email-zh"]["answer"]
    assert not contact_rows(_shop(contact_phone="", contact_email="", hours={}))


def test_synced_into_the_collection_and_answered_as_faq_rows(tmp_path):
    kb = _kb(tmp_path)
    path = sync_contact_rows(kb, _shop())
    assert path == contact_file(kb.cfg) and path.exists()
    with path.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 5
    lookup = kb.lookup("What is your customer service phone number?", "en")
    assert lookup.answerable
    assert "+86 21 5555 0101" in kb.answerer(_shop()).extractive(lookup)
    assert lookup.citations[0].row_id == "shop-phone-en"
    assert lookup.citations[0].for_customer()["source"] == "shop-contact.csv"  # never the server's path


def test_a_changed_or_cleared_detail_changes_the_answers(tmp_path):
    kb = _kb(tmp_path)
    sync_contact_rows(kb, _shop())
    sync_contact_rows(kb, _shop(contact_phone="+86 21 5555 0202"))
    texts = " ".join(d for _, d, m in kb.store.iter_all() if m.get("kind") == "faq")
    assert "0202" in texts and "0101" not in texts
    assert "help@spoke.example" in texts
    assert sync_contact_rows(kb, _shop(contact_phone="", contact_email="", hours={})) is None
    assert not contact_file(kb.cfg).exists()
    assert not [cid for cid, _, m in kb.store.iter_all(documents=False) if m.get("kind") == "faq"]


def test_runtime_syncs_them_and_keeps_them_for_the_in_memory_faq(tmp_path, monkeypatch):
    from assistant.config import load_config
    from assistant.runtime import Runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))

    def settings(db: str, **kb):
        return load_config(env={}, overrides={"llm": {"backend": "fake"}, "app": {"ingest_demo_kb": False},
                                              "knowledge_base": {"db_path": str(tmp_path / db), "embedder": "fake",
                                                                 **kb}})

    on = settings("kb")
    runtime = Runtime(on)
    assert runtime.kb is not None and contact_file(on.knowledge_base).exists()
    hit = runtime.curated_faq.match("客服电话是多少？")
    assert hit is not None and on.shop.contact_phone in hit.answer

    off = settings("kb2", contact_rows=False)
    assert Runtime(off).kb is not None and not contact_file(off.knowledge_base).exists()

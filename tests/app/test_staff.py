"""Agent and admin handlers on fakes: KB hit-test and documents, handoff tickets, adapters, fine-tune progress,
conversation analytics, and the role check every one of them makes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.errors import InputError, NotFoundError
from assistant.web import admin, customer, staff


@pytest.fixture
def docs(tmp_path):
    good = tmp_path / "warranty.md"
    good.write_text("# Warranty\n\nEvery Aurora lamp has a two-year warranty covering the dimmer and the cable.\n")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00")
    return good, binary, exe


def test_every_staff_action_checks_the_role(fake_runtime):
    with pytest.raises(InputError, match="agent"):
        staff.kb_search(fake_runtime, None, "lamp", 5)
    with pytest.raises(InputError, match="admin"):
        list(staff.ingest_files(fake_runtime, "agent", []))
    with pytest.raises(InputError, match="admin"):
        admin.analytics_view(fake_runtime, "agent")


def test_upload_search_and_delete_documents(fake_runtime, docs):
    good, binary, exe = docs
    steps = list(staff.ingest_files(fake_runtime, "admin", [str(good), str(binary), str(exe)]))
    log, sources = steps[-1]
    assert "✅ warranty.md" in log and "❌ setup.exe: unsupported file type" in log
    assert "❌ photo.txt" in log or "✅ photo.txt" not in log
    assert len(steps) > 2  # progress was shown while ingesting
    assert any("warranty.md" in s for s in sources["source"])

    hits, detail = staff.kb_search(fake_runtime, "agent", "lamp warranty", 3)
    assert list(hits.columns[:4]) == ["#", "fused", "bm25", "vector"]
    assert "warranty.md" in hits.iloc[0]["source"] and hits.iloc[0]["bm25"] is not None
    assert "two-year warranty" in detail.replace("\\", "")  # shown as text: Markdown's characters escaped

    source = next(s for s in sources["source"] if "warranty.md" in s)
    message, after = staff.delete_source(fake_runtime, "admin", "warranty.md")  # the name customers see
    assert "removed" in message and source not in list(after["source"])
    # the uploaded file goes too: "Sync with disk" had brought the deleted document back
    assert "file was deleted too" in message and not Path(source).exists()
    _, synced = staff.sync_sources(fake_runtime, "admin")
    assert source not in list(synced["source"])
    with pytest.raises(NotFoundError):
        staff.delete_source(fake_runtime, "admin", "no/such/file.md")
    with pytest.raises(InputError):
        list(staff.ingest_files(fake_runtime, "admin", []))


def test_talk_to_a_human_opens_one_ticket_that_agents_can_read(fake_runtime):
    *_, (history, sid, _, _) = customer.chat_ui_turn(fake_runtime, "My lamp arrived broken, I want a refund",
                                                     None, None)
    first = customer.request_handoff(fake_runtime, sid)
    again = customer.request_handoff(fake_runtime, sid)
    assert first["ok"] and first["ticket"] == again["ticket"]  # a double click makes no second ticket
    queue = staff.queue_table(fake_runtime, "agent")
    assert list(queue["ticket"]) == [int(first["ticket"])]
    detail = staff.ticket_detail(fake_runtime, "agent", first["ticket"])
    assert "My lamp arrived broken" in detail and "Talk to a human" not in detail
    assert "customer asked for a human" in detail and "Draft reply" in detail
    with pytest.raises(NotFoundError):
        staff.ticket_detail(fake_runtime, "agent", "999")
    with pytest.raises(InputError):
        staff.ticket_detail(fake_runtime, "agent", "abc")

    shown, start = staff.open_for_reply(fake_runtime, "agent", first["ticket"])
    assert shown == detail and start == fake_runtime.handoff.get(int(first["ticket"])).draft_reply
    with pytest.raises(InputError, match="agent"):
        staff.reply_ticket(fake_runtime, "customer", first["ticket"], "Refunded.")
    with pytest.raises(InputError, match="the reply is empty"):
        staff.reply_ticket(fake_runtime, "agent", first["ticket"], " ")
    message, after = staff.reply_ticket(fake_runtime, "agent", first["ticket"], "We have refunded the lamp.")
    assert message == f"Ticket {first['ticket']} resolved with your reply."
    assert "Agent's reply" in after and "We have refunded the lamp" in after
    assert staff.queue_table(fake_runtime, "agent").empty  # resolved: off the queue
    assert staff.open_for_reply(fake_runtime, "agent", first["ticket"])[1] == "We have refunded the lamp."


def test_analytics_count_answers_handoffs_and_thumbs(fake_runtime):
    sids = []
    for text in ("hello", "where is my delivery?", "can I return this?"):
        *_, (history, sid, _, _) = customer.chat_ui_turn(fake_runtime, text, None, None)
        sids.append(sid)
    customer.vote_ui(fake_runtime, sids[0], True, 1, history)
    customer.vote_ui(fake_runtime, sids[1], True)
    customer.vote_ui(fake_runtime, sids[2], True)
    customer.vote_ui(fake_runtime, sids[2], "Dislike")  # the same answer again: the vote changes, not doubles
    text, *figures = admin.analytics_view(fake_runtime, "admin")
    assert "**3** answered messages in **3** sessions" in text
    assert "CSAT **67%**" in text and "2 👍 / 1 👎" in text
    assert len(figures) == 4 and all(hasattr(f, "savefig") for f in figures)


def test_adapters_list_and_activate(fake_runtime, tmp_path):
    table = admin.adapter_table(fake_runtime, "admin")
    assert list(table.columns) == ["task", "adapter", "state", "method", "created"]
    with pytest.raises(NotFoundError):
        admin.activate_adapter(fake_runtime, "admin", "support", "no-such-adapter")
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    with pytest.raises(InputError, match="not a GGUF adapter"):  # any existing file had been activated
        admin.activate_adapter(fake_runtime, "admin", "support", str(tmp_path / "passwd"))
    with pytest.raises(InputError, match="no adapter.gguf"):
        admin.activate_adapter(fake_runtime, "admin", "support", str(tmp_path))
    lora = tmp_path / "support.gguf"
    lora.write_bytes(b"GGUF")
    msg, table = admin.activate_adapter(fake_runtime, "admin", "support", str(lora))
    assert str(lora) in msg and fake_runtime.settings.llm.adapters["support"] == str(lora)
    assert "active" in list(table["state"])
    msg, _ = admin.activate_adapter(fake_runtime, "admin", "support", "")
    assert "base model" in msg and "support" not in fake_runtime.llm_config.adapters


def test_finetune_run_validates_input_and_streams_the_loss(fake_runtime, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="JSONL"):
        list(admin.finetune_run(fake_runtime, "admin", "support", None, 5))
    wrong = tmp_path / "data.csv"
    wrong.write_text("a,b\n")
    with pytest.raises(InputError, match=".jsonl"):
        list(admin.finetune_run(fake_runtime, "admin", "support", str(wrong), 5))
    data = tmp_path / "data.jsonl"
    data.write_text('{"instruction": "hi", "output": "hello"}\n')
    # Stand-in for `python -m finetune train`: prints what its tqdm bar and eval lines print.
    script = ("import sys\n"
              "for i in range(1, 4):\n"
              "    sys.stderr.write(f'\\rtrain lora: {i}/3 [00:01<00:02, 1.0step/s, loss={3.0 - i / 2:.3f}]')\n"
              "print('step 3/3: train loss 1.500, eval loss 1.700')\n")
    monkeypatch.setattr(admin, "finetune_command", lambda *a: [sys.executable, "-c", script])
    steps = list(admin.finetune_run(fake_runtime, "admin", "support", str(data), 3))
    curve, log = steps[-1]
    assert list(curve["step"]) == [1, 2, 3, 3] and list(curve["series"]) == ["train"] * 3 + ["eval"]
    assert curve["loss"].iloc[-1] == pytest.approx(1.7) and "✅ done" in log


def test_marketing_csv_analysis(fake_runtime, tmp_path):
    from assistant.analytics import demo_frames

    frames = demo_frames()
    name, frame = next((k, v) for k, v in frames.items() if "campaign" in k)
    path = tmp_path / f"{name}.csv"
    frame.head(400).to_csv(path, index=False)
    text, *figures = admin.marketing_analysis(fake_runtime, "admin", str(path), "auto")
    assert text.startswith("#### campaign") and len(figures) == 2
    workbook = tmp_path / f"{name}.xlsx"  # a marketer's spreadsheet, read as the CLI reads it
    frame.head(400).to_excel(workbook, index=False)
    text, *_ = admin.marketing_analysis(fake_runtime, "admin", str(workbook), "auto")
    assert text.startswith("#### campaign")
    (tmp_path / "x.pdf").write_text("%PDF-1.4", encoding="utf-8")
    with pytest.raises(InputError, match="csv and .xlsx"):
        admin.marketing_analysis(fake_runtime, "admin", str(tmp_path / "x.pdf"), "auto")
    with pytest.raises(InputError):
        admin.marketing_analysis(fake_runtime, "admin", None, "auto")


def test_the_queue_refreshes_itself_for_agents_only(fake_runtime):
    import gradio as gr

    from assistant.web import customer
    from assistant.web.staff_ui import live_queue

    *_, (_, sid, _, _) = list(customer.chat_ui_turn(fake_runtime, "my lamp is broken", None, None))
    customer.request_handoff(fake_runtime, sid)
    table = live_queue(gr, fake_runtime, "agent")
    assert len(table) == 1 and "my lamp is broken" in table.iloc[0]["last message"]
    for role in (None, "customer"):  # a locked tab gets no data and no error toast every 15 s
        assert not hasattr(live_queue(gr, fake_runtime, role), "iloc")


def test_staff_views_show_document_text_as_text_refuse_names_sync_would_drop_and_long_replies(fake_runtime, tmp_path):
    page = tmp_path / "promo.md"
    page.write_text("# Promo\n\nPromo <img src=x onerror=alert(1)> [click here](javascript:alert(1)) lamp sale\n",
                    encoding="utf-8")
    hidden = tmp_path / ".hidden.md"
    hidden.write_text("# Hidden\n\nA hidden page about lamps.\n", encoding="utf-8")
    log, _ = list(staff.ingest_files(fake_runtime, "admin", [str(page), str(hidden)]))[-1]
    assert "✅ promo.md" in log and "❌ .hidden.md: a hidden, lock or backup file name" in log
    _, detail = staff.kb_search(fake_runtime, "agent", "lamp sale promo", 3)
    assert "<img" not in detail and "](javascript:" not in detail and "&lt;img" in detail
    ticket = fake_runtime.handoff.create_ticket("s-long", [{"role": "user", "content": "hello?"}])
    limit = fake_runtime.settings.app.max_message_chars
    with pytest.raises(InputError, match="the limit is"):
        staff.reply_ticket(fake_runtime, "agent", ticket.id, "x" * (limit + 1))
    with pytest.raises(NotFoundError):
        staff.ticket_detail(fake_runtime, "agent", "9" * 20)


def test_the_admin_ticket_api_pages_and_filters(fake_runtime):
    from fastapi.testclient import TestClient

    from assistant.web.server import create_app

    for i in range(3):
        fake_runtime.handoff.create_ticket(f"s-{i}", [{"role": "user", "content": f"question {i}"}])
    client = TestClient(create_app(fake_runtime), client=("127.0.0.1", 5000))
    auth = ("agent", "demo-agent")
    assert len(client.get("/api/admin/tickets?limit=2", auth=auth).json()["tickets"]) == 2
    assert client.get("/api/admin/tickets?status=resolved", auth=auth).json()["tickets"] == []
    assert client.get("/api/admin/tickets?limt=2", auth=auth).status_code == 400
    assert client.get("/api/admin/tickets?status=done", auth=auth).status_code == 400


@pytest.mark.parametrize("agent_view", [True, False])
def test_the_agent_view_switch_decides_whether_agents_read_the_customers_details(fake_runtime, agent_view):
    # privacy.apply_to.agent_view was accepted and read by nothing: a shop storing tickets as written
    # (tickets: false) could not keep card numbers off its agents' screens, nor show them where it wanted to.
    from assistant.handoff import open_ticket

    fake_runtime.settings.privacy.apply_to.update(tickets=False, agent_view=agent_view)
    fake_runtime.forget("privacy")
    said = "my card 4111 1111 1111 1111 was charged twice, call 13812345678"
    ticket = open_ticket(fake_runtime.handoff, "s1", [{"role": "user", "content": said}])
    detail = staff.ticket_detail(fake_runtime, "agent", ticket.id)
    assert ("13812345678" in detail) is (not agent_view) and ("4111 1111" in detail) is (not agent_view)
    assert fake_runtime.handoff.get(ticket.id).transcript[0]["content"] == said  # stored as written

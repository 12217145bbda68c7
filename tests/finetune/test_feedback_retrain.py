"""`python -m finetune retrain`: feedback from the shop's stores → judged rows → adapter → GGUF → the gate."""

from __future__ import annotations

import json

import pytest

from finetune import feedback_retrain as fr


@pytest.fixture
def settings(tmp_path, monkeypatch):
    from assistant.config import load_config

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    return load_config(env={}, overrides={"llm": {"backend": "fake"},
                                          "storage": {"url": f"sqlite:///{tmp_path / 'shop.db'}"},
                                          "finetune": {"registry": str(tmp_path / "registry.json"),
                                                       "max_seq_len": 2048, "r": 2, "lora_dropout": 0.0}})


def _engine(settings):
    from assistant.storage import get_engine

    return get_engine(settings.storage)


def _brief(i: int) -> dict:
    return {"product": f"Linen sheet set {i}", "channel": "google_rsa", "language": "en", "attributes": ["soft"]}


def add_adcopy_feedback(settings, up: int, down: int, edits: int) -> None:
    from assistant.adcopy.feedback import FeedbackStore

    store = FeedbackStore(_engine(settings))
    for i in range(up):
        store.record(_brief(i), {"headline": f"Soft linen sheets {i}"}, rating="up")
    for i in range(down):
        store.record(_brief(i), {"headline": f"BEST sheets EVER {i}!!!"}, rating="down")
    for i in range(edits):
        store.record(_brief(i), {"headline": f"Sheets sheets {i}"}, edited=f"Linen that breathes {i}")


def add_tickets(settings, corrected: int, accepted: int = 0, no_draft: int = 0) -> None:
    from assistant.handoff import HandoffQueue

    q = HandoffQueue(_engine(settings))
    draft = "Furniture has a 2-year warranty."
    for i in range(corrected + accepted + no_draft):
        t = q.create_ticket(f"s{i}", [{"role": "user", "content": f"How long is the warranty on sofa {i}?"}],
                            draft_reply="" if i >= corrected + accepted else draft, language="en")
        reply = f"Hi! Sofa {i} is furniture, so it has a 2-year warranty." if i < corrected else draft
        if i % 2:  # saved in the Agent tab's reply box
            q.reply(t.id, reply)
        else:  # tickets from before the reply field kept the answer in the note
            q.update_status(t.id, "resolved", note=reply)


def test_adcopy_thumbs_and_edits_become_judged_rows_in_the_generators_prompt(settings):
    from assistant.adcopy.brand import brand_for
    from assistant.adcopy.brief import Brief
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.prompts import generation_messages

    add_adcopy_feedback(settings, up=1, down=1, edits=1)
    items, counts = fr.read_feedback("adcopy", settings)
    assert counts == {"judgements": 3, "liked": 1, "edited": 1, "disliked": 2, "skipped": 0}
    got = {(i.completion, i.desirable) for i in items}
    assert got == {("1. Soft linen sheets 0", True), ("1. BEST sheets EVER 0!!!", False),
                   ("1. Linen that breathes 0", True), ("1. Sheets sheets 0", False)}  # an edit's original: disliked
    brand = brand_for(settings)
    brief = Brief.from_dict(_brief(0))
    want = generation_messages(brief, get_channel("google_rsa"), "headline", 1, brand,
                               brand.required("en") + brief.required_terms)
    assert items[0].prompt == [m.as_dict() for m in want]  # system prompt included: what the generator sends


def test_corrected_agent_replies_become_support_rows(settings):
    add_tickets(settings, corrected=2, accepted=1, no_draft=1)
    items, counts = fr.read_feedback("support", settings)
    assert counts == {"tickets": 4, "with_draft_and_reply": 3, "corrected": 2}
    row = items[0]
    assert row.desirable and row.completion.startswith("Hi! Sofa 0 is furniture")
    system, user = row.prompt
    assert system["role"] == "system" and "Facts:\n- Furniture has a 2-year warranty." in system["content"]
    assert user == {"role": "user", "content": "How long is the warranty on sofa 0?"}


def test_a_reply_is_paired_with_the_question_the_ticket_was_opened_for(settings):
    from assistant.handoff import HandoffQueue

    q = HandoffQueue(_engine(settings))
    t = q.create_ticket("s-later", [{"role": "user", "content": "How long is the warranty on the oak table?"}],
                        draft_reply="Furniture has a 2-year warranty.", language="en")
    q.add_turns(t.id, [{"role": "user", "content": "hello? anyone there?"}])  # said while the ticket waited
    q.reply(t.id, "Hi! The oak table is furniture: 2 years of warranty.")
    items, _ = fr.read_feedback("support", settings)
    assert items[-1].prompt[-1]["content"] == "How long is the warranty on the oak table?"


def test_a_customers_phone_and_email_in_an_agents_reply_never_reach_the_training_rows(settings):
    from assistant.handoff import HandoffQueue

    q = HandoffQueue(_engine(settings))
    t = q.create_ticket("s-pii", [{"role": "user", "content": "I'm Li Wei, 13912345678: when does my sofa come?"}],
                        draft_reply="Delivery takes 3-5 days.", language="en")
    q.reply(t.id, "Hi Li Wei, we'll text you on 13912345678 and mail li.wei@example.com: delivery takes 3 days.")
    items, _ = fr.read_feedback("support", settings)
    row = next(i for i in items if i.group == f"ticket-{t.id}")
    text = row.completion + " ".join(m["content"] for m in row.prompt)
    assert "13912345678" not in text and "li.wei@example.com" not in text and "<PHONE>" in row.completion


def test_too_little_feedback_is_refused_with_how_much_is_needed(settings, capsys, monkeypatch):
    from finetune.__main__ import main

    add_adcopy_feedback(settings, up=3, down=2, edits=0)
    monkeypatch.setattr(fr, "train_candidate", lambda *a, **k: pytest.fail("must not train"))
    monkeypatch.setattr("finetune.__main__.load_config", lambda path=None: settings)
    assert main(["retrain", "--task", "adcopy"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("verdict: adcopy not trained (too little feedback for adcopy: 5 judged texts")
    assert "need 20 with at least 8 liked or edited" in lines[-1] and len(lines[-1].splitlines()) == 1


def test_retrain_trains_exports_and_hands_the_candidate_to_the_gate(settings, tiny_model, tiny_tokenizer, tmp_path,
                                                                     capsys, monkeypatch):
    from finetune import gate, methods
    from finetune.__main__ import main

    add_adcopy_feedback(settings, up=10, down=8, edits=4)
    monkeypatch.setattr(methods, "load_base", lambda cfg: (tiny_model, tiny_tokenizer, "tiny-test"))
    calls = []

    def decide(task, candidate, s):
        calls.append((task, candidate))
        return gate.Decision(task, str(candidate), True, "wins on held-out briefs", {"approved": "0.6 vs 0.4"})

    monkeypatch.setattr(gate, "evaluate_and_promote", decide)
    monkeypatch.setattr("finetune.__main__.load_config", lambda path=None: settings)
    out = tmp_path / "cand"
    code = main(["retrain", "--task", "adcopy", "--max-steps", "3", "--batch-size", "4", "--objective", "auto",
                 "--output", str(out)])
    log = capsys.readouterr().out.strip().splitlines()
    assert code == 0, log
    assert calls == [("adcopy", out)]
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter.gguf", "finetune_meta.json"):
        assert (out / name).exists(), name
    meta = json.loads((out / "finetune_meta.json").read_text())
    assert meta["objective"] == "kto" and meta["base_model"] == "tiny-test" and meta["examples"] == 26
    assert any("step 3/3 loss" in line for line in log)
    assert log[-1] == "verdict: adcopy promoted: now served (wins on held-out briefs)"


def test_support_retrain_continues_the_served_lora(settings, tiny_tokenizer, tmp_path, capsys, monkeypatch):
    """A served LoRA adapter is the starting point (and the KTO/SFT reference), not thrown away."""
    import torch
    from peft import get_peft_model

    from assistant.llm.adapter_registry import promote, register_adapter
    from finetune import gate, methods
    from finetune.__main__ import main
    from finetune.methods import get_peft_config
    from tests.finetune.conftest import make_tiny_model

    served = tmp_path / "served"
    peft_model = get_peft_model(make_tiny_model(tiny_tokenizer), get_peft_config(settings.finetune))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.fill_(0.01)
    peft_model.peft_config["default"].base_model_name_or_path = "tiny-test"
    peft_model.save_pretrained(served)
    register_adapter("support", served, "tiny-test", "lora", registry=settings.finetune.registry)
    promote("support", served, "tiny-test", registry=settings.finetune.registry)  # registered is not served
    add_tickets(settings, corrected=10)
    monkeypatch.setattr(methods, "load_base", lambda cfg: (make_tiny_model(tiny_tokenizer), tiny_tokenizer, "tiny-test"))
    monkeypatch.setattr(gate, "evaluate_and_promote", lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    monkeypatch.setattr("finetune.__main__.load_config", lambda path=None: settings)
    out = tmp_path / "cand"
    assert main(["retrain", "--task", "support", "--max-steps", "2", "--output", str(out)]) == 0
    log = capsys.readouterr().out
    assert f"continuing the served adapter {served}" in log
    assert json.loads((out / "finetune_meta.json").read_text())["objective"] == "sft"
    assert "support candidate" in log.splitlines()[-1] and "not evaluated (the gate is not available)" in log


def test_retrain_trains_for_the_model_the_app_serves(settings, tiny_model, tiny_tokenizer, tmp_path, capsys,
                                                      monkeypatch):
    """finetune.base_model (smollm2-135m by default) is not what the app serves (llm.model, qwen2.5-0.5b by default):
    a candidate on it would train for an hour and then be refused by the gate as trained on another base."""
    from finetune import gate, methods
    from finetune.__main__ import main

    assert settings.finetune.base_model != settings.llm.model  # the shipped defaults differ
    add_tickets(settings, corrected=10)
    loaded = []
    monkeypatch.setattr(methods, "load_base", lambda cfg: loaded.append(cfg.base_model) or (
        tiny_model, tiny_tokenizer, "tiny-test"))
    monkeypatch.setattr(gate, "evaluate_and_promote", lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    monkeypatch.setattr("finetune.__main__.load_config", lambda path=None: settings)
    assert main(["retrain", "--task", "support", "--max-steps", "1", "--output", str(tmp_path / "cand")]) == 0
    assert loaded == [settings.llm.model]
    assert f"loading the base model {settings.llm.model}" in capsys.readouterr().out


def test_help_and_bad_flags(capsys):
    from finetune.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["retrain", "--help"])
    assert exc.value.code == 0 and "--min-adcopy" in capsys.readouterr().out
    with pytest.raises(Exception, match="objective must be auto, kto or sft"):
        fr.RetrainConfig(objective="dpo")

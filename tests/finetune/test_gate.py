"""The gate (decisions on both sides, recorded), serving state in the registry (promote, rollback, migration of
registries that predate it), the evaluations on fakes, and the hot swap in a running app with a request in
flight (llama.cpp backend over a fake `llama_cpp`, so every line of the swap runs without a model)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from assistant.errors import ConfigError, InputError, NotFoundError
from assistant.llm import adapter_registry as reg
from finetune import gate
from finetune.gate import GateConfig, decide_adcopy, decide_support, evaluate_and_promote


# --------------------------------------------------------------------------------------------- helpers
def write_gguf(path: Path, base: str | None = None) -> Path:
    """A real (tensor-less) GGUF file: llama.cpp's header, and the base model id our exports record."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), "llama")
    if base:
        w.add_string(reg.GGUF_BASE_KEY, base)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    return path


@pytest.fixture
def shop(tmp_path):
    """Settings of an app on a GGUF base model (a file, so no embedded model is assembled) with its own registry,
    and a helper that makes trained-looking candidate folders for it."""
    from assistant.config import load_config

    base_file = write_gguf(tmp_path / "base" / "tiny.gguf")
    registry = tmp_path / "adapters" / "registry.json"
    settings = load_config(env={}, overrides={
        "llm": {"backend": "llamacpp", "model": str(base_file), "startup_probe": False, "n_threads": 1},
        "finetune": {"registry": str(registry)}})
    base = reg.base_model_id(str(base_file))

    def candidate(name: str, task: str = "support") -> Path:
        folder = tmp_path / "adapters" / name
        write_gguf(folder / "adapter.gguf", base)
        (folder / "finetune_meta.json").write_text(json.dumps({"method": "lora", "task": task}), encoding="utf-8")
        return folder

    return settings, registry, base, candidate


SUPPORT = {"answerable_accuracy": 0.5, "decline_rate": 0.75, "invented_rate": 0.1, "seconds": 40.0, "tokens": 800}
ADCOPY = {"item_yield": 0.5, "compliant_share": 1.0, "produced_share": 1.0, "seconds": 60.0, "tokens": 900}


def fake_evaluate(candidate_figures: dict, calls: list):
    def evaluate(task, candidate_gguf, served_gguf, settings, cfg, size, progress):
        calls.append((task, candidate_gguf, served_gguf, size))
        served = SUPPORT if task == "support" else ADCOPY
        return {"served": dict(served), "candidate": {**served, **candidate_figures}}
    return evaluate


# --------------------------------------------------------------------------------------------- decisions
def test_support_decision_needs_accuracy_and_never_trades_declines_or_inventions():
    cfg = GateConfig()
    assert decide_support(SUPPORT, {**SUPPORT, "answerable_accuracy": 0.6}, cfg)[0]
    won, why = decide_support(SUPPORT, {**SUPPORT, "answerable_accuracy": 0.9, "decline_rate": 0.5}, cfg)
    assert not won and "declines 0.50 < 0.75" in why
    won, why = decide_support(SUPPORT, {**SUPPORT, "answerable_accuracy": 0.9, "invented_rate": 0.2}, cfg)
    assert not won and "invented facts" in why
    assert not decide_support(SUPPORT, {**SUPPORT, "answerable_accuracy": 0.52}, cfg)[0]  # within the margin
    # same accuracy, 25 % less time because it writes 25 % less
    won, why = decide_support(SUPPORT, {**SUPPORT, "seconds": 30.0, "tokens": 600}, cfg)
    assert won and "faster" in why and "800 -> 600 tokens" in why
    assert not decide_support(SUPPORT, {**SUPPORT, "seconds": 38.0, "tokens": 760}, cfg)[0]  # 5 %: within margin
    # a third less time for the same tokens is the machine's load, not the adapter
    assert not decide_support(SUPPORT, {**SUPPORT, "seconds": 27.0}, cfg)[0]
    assert not decide_support(SUPPORT, {**SUPPORT, "answerable_accuracy": 0.4, "seconds": 5.0, "tokens": 10}, cfg)[0]


def test_adcopy_decision_needs_yield_or_speed_and_never_less_compliance():
    cfg = GateConfig()
    assert decide_adcopy(ADCOPY, {**ADCOPY, "item_yield": 0.6}, cfg)[0]
    won, why = decide_adcopy(ADCOPY, {**ADCOPY, "item_yield": 0.9, "compliant_share": 0.9}, cfg)
    assert not won and "compliant_share" in why
    assert not decide_adcopy(ADCOPY, {**ADCOPY, "item_yield": 0.9, "produced_share": 0.67}, cfg)[0]
    assert decide_adcopy(ADCOPY, {**ADCOPY, "seconds": 40.0, "tokens": 600}, cfg)[0]
    assert not decide_adcopy(ADCOPY, {**ADCOPY, "seconds": 40.0}, cfg)[0]  # same tokens: load noise
    assert not decide_adcopy(ADCOPY, {**ADCOPY, "seconds": 58.0, "tokens": 600}, cfg)[0]
    assert not decide_adcopy(ADCOPY, {**ADCOPY, "item_yield": 0.4, "seconds": 10.0, "tokens": 10}, cfg)[0]


def test_gate_config_is_checked():
    with pytest.raises(ConfigError, match="support_answer_style"):
        GateConfig(support_answer_style="poetry")
    with pytest.raises(ConfigError, match="support_accuracy_margin"):
        GateConfig(support_accuracy_margin=0)  # noise would count as better
    from assistant.config import load_config

    assert isinstance(load_config(env={}).gate, GateConfig)


# --------------------------------------------------------------------------------------------- registry
def test_registered_is_not_served_until_promoted_and_rollback_walks_back(tmp_path):
    path = tmp_path / "registry.json"
    a, b, c = (tmp_path / n for n in "abc")
    for folder in (a, b, c):
        write_gguf(folder / "adapter.gguf")  # on disk: a rollback passes over adapters whose files are gone
        reg.register_adapter("support", folder, "base-x", "lora", gguf=folder / "adapter.gguf", registry=path)
    assert reg.adapters_for("llamacpp", "base-x", path) == {}  # registered, not served
    assert reg.served_adapter("support", "base-x", path) is None
    reg.promote("support", a, "base-x", path, expect="")
    assert reg.adapters_for("llamacpp", "base-x", path) == {"support": str(a / "adapter.gguf")}
    state = reg.promote("support", b, "base-x", path, expect=str(a))
    assert state.path == str(b) and state.previous == [str(a), ""]
    # compared against a, but b is served by now: nothing changes
    assert reg.promote("support", c, "base-x", path, expect=str(a)) is None
    assert reg.served_adapter("support", "base-x", path).path == str(b)
    with pytest.raises(NotFoundError, match="not a registered"):
        reg.promote("support", tmp_path / "never-trained", "base-x", path)
    was, state, _ = reg.rollback("support", "base-x", path)
    assert was == str(b) and state.path == str(a) and state.by == "rollback" and state.previous == [""]
    was, state, _ = reg.rollback("support", "base-x", path)
    assert was == str(a) and state.path == "" and reg.adapters_for("llamacpp", "base-x", path) == {}
    with pytest.raises(NotFoundError, match="nothing to roll back to"):
        reg.rollback("support", "base-x", path)
    assert [r.path for r in reg.list_adapters(path)] == [str(a), str(b), str(c)]  # history kept


def test_a_registry_from_before_the_gate_keeps_serving_what_it_served(tmp_path):
    path = tmp_path / "registry.json"
    old = {"adapters": [
        {"task": "support", "path": str(tmp_path / "s"), "base_model": "base-x", "method": "lora",
         "created": "2026-11-01T10:00:00+00:00", "gguf": str(tmp_path / "s" / "adapter.gguf")},
        {"task": "adcopy", "path": str(tmp_path / "a"), "base_model": "base-x", "method": "lora",
         "created": "2026-11-02T10:00:00+00:00", "gguf": str(tmp_path / "a" / "adapter.gguf")}]}
    path.write_text(json.dumps(old), encoding="utf-8")
    assert reg.adapters_for("llamacpp", "base-x", path) == {"support": str(tmp_path / "s" / "adapter.gguf"),
                                                           "adcopy": str(tmp_path / "a" / "adapter.gguf")}
    assert {s.by for s in reg.serving_state(path)} == {"migration"}
    # the first write stores the migrated state; a newly registered adapter does not displace it
    reg.register_adapter("support", tmp_path / "new", "base-x", "lora", gguf=tmp_path / "new.gguf", registry=path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert {s["task"]: s["path"] for s in stored["serving"]} == {"support": str(tmp_path / "s"),
                                                                 "adcopy": str(tmp_path / "a")}
    assert reg.served_adapter("support", "base-x", path).path == str(tmp_path / "s")
    was, state, _ = reg.rollback("support", "base-x", path)  # before the gate, going back meant the base model
    assert was == str(tmp_path / "s") and state.path == ""


def test_registry_stamp_changes_with_every_write(tmp_path):
    path = tmp_path / "registry.json"
    assert reg.registry_stamp(path) is None
    reg.register_adapter("support", tmp_path / "a", "base-x", "lora", registry=path)
    first = reg.registry_stamp(path)
    reg.promote("support", tmp_path / "a", "base-x", path)
    assert reg.registry_stamp(path) not in (None, first)


# --------------------------------------------------------------------------------------------- the gate
def test_worse_candidate_is_rejected_and_recorded_better_one_promoted(shop):
    settings, registry, base, candidate = shop
    calls: list = []
    first = candidate("support-1")
    d = evaluate_and_promote("support", first, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.7}, calls))
    assert d.promoted and d.served == "" and calls[-1][2] is None  # compared with the bare base model
    assert reg.served_adapter("support", base, registry).path == str(first)
    worse = candidate("support-2")
    d = evaluate_and_promote("support", worse, settings, evaluate=fake_evaluate({"invented_rate": 0.3}, calls))
    assert not d.promoted and "invented facts" in d.reason and d.served == str(first)
    assert calls[-1][2] == str(first / "adapter.gguf")  # side by side with the served adapter's GGUF
    assert reg.served_adapter("support", base, registry).path == str(first)  # unchanged
    assert reg.get_adapter("support", base, registry).path == str(worse)  # but registered (newest)
    better = candidate("support-3")
    d = evaluate_and_promote("support", better, settings, size=4,
                             evaluate=fake_evaluate({"answerable_accuracy": 0.62}, calls))
    assert d.promoted and calls[-1][3] == 4 and reg.served_adapter("support", base, registry).path == str(better)
    lines = [json.loads(x) for x in gate.decisions_path(settings).read_text(encoding="utf-8").splitlines()]
    assert [x["promoted"] for x in lines] == [True, False, True]
    assert lines[1]["figures"]["candidate"]["invented_rate"] == 0.3 and lines[1]["figures"]["served"] == SUPPORT
    assert all(x["base_model"] == base and x["time"] and x["kind"] == "gate" for x in lines)


def test_the_gate_hands_the_jobs_pause_to_the_evaluation(shop):
    settings, registry, base, candidate = shop
    got = []

    def evaluate(task, candidate_gguf, served_gguf, settings, cfg, size, progress, pause=None):
        got.append(pause)
        return {"served": dict(SUPPORT), "candidate": {**SUPPORT, "answerable_accuracy": 0.9}}

    def pause():
        return 0.0

    assert evaluate_and_promote("support", candidate("p1"), settings, evaluate=evaluate, pause=pause).promoted
    assert got == [pause]


def test_rollback_is_one_action_and_is_recorded(shop, capsys):
    from finetune.__main__ import main

    settings, registry, base, candidate = shop
    calls: list = []
    first, second = candidate("support-1"), candidate("support-2")
    for folder in (first, second):
        evaluate_and_promote("support", folder, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, calls))
    d = gate.rollback_task("support", settings)
    assert d.kind == "rollback" and d.candidate == str(first) and d.served == str(second)
    assert reg.served_adapter("support", base, registry).path == str(first)
    assert gate.read_decisions(settings, 1)[0]["kind"] == "rollback"
    lines = gate.decision_lines(settings)
    assert any(line.startswith("served   support") and str(first) in line for line in lines)
    assert any("rollback" in line for line in lines)
    # the CLI: one line; nothing left to roll back to is one clear line and a non-zero exit
    cfg = registry.parent / "c.yaml"
    cfg.write_text(f"llm: {{backend: llamacpp, model: {settings.llm.model}}}\nfinetune: {{registry: {registry}}}\n",
                   encoding="utf-8")
    from assistant.cli_support import run_cli

    assert run_cli(main, ["rollback", "--task", "support", "--config", str(cfg)]) == 0
    assert "rolled back to the base model" in capsys.readouterr().out
    assert run_cli(main, ["rollback", "--task", "support", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("NotFoundError: nothing to roll back to")


def _gone(folder: Path, removed: str) -> None:
    import shutil

    if removed == "folder":
        shutil.rmtree(folder)
    else:
        (folder / "adapter.gguf").unlink()


@pytest.mark.parametrize("removed", ["folder", "gguf"])
def test_rollback_skips_an_adapter_that_is_gone_to_the_newest_one_still_there(shop, capsys, removed):
    """An old adapter folder deleted to free space (or its GGUF) cannot be served again (every answer of the task
    would fail): the rollback passes over it to the adapter served before it, and its one line says so. It
    refused the whole rollback before, though an older adapter was there to go back to."""
    from assistant.cli_support import run_cli
    from finetune.__main__ import main

    settings, registry, base, candidate = shop
    first, second, third = candidate("support-1"), candidate("support-2"), candidate("support-3")
    for folder in (first, second, third):
        evaluate_and_promote("support", folder, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, []))
    _gone(second, removed)
    cfg = registry.parent / "c.yaml"
    cfg.write_text(f"llm: {{backend: llamacpp, model: {settings.llm.model}}}\nfinetune: {{registry: {registry}}}\n",
                   encoding="utf-8")
    assert run_cli(main, ["rollback", "--task", "support", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"support: rolled back to {first} (from {third}); skipped {second} (files gone)"]
    state = next(s for s in reg.serving_state(registry) if s.task == "support")
    assert state.path == str(first) and state.previous == [""]  # the gone one left the history
    d = gate.read_decisions(settings, 1)[0]
    assert d["kind"] == "rollback" and d["skipped"] == [str(second)] and str(second) in d["reason"]
    # only the base model is older than the first adapter: the next rollback goes there, skipping nothing
    assert gate.rollback_task("support", settings).summary() == f"support: rolled back to the base model (from {first})"


def test_rollback_refuses_in_one_line_when_every_earlier_adapter_is_gone(shop, capsys):
    """Nothing left on disk to go back to (the base model fell out of the remembered history): one line, a non-zero
    exit, and the working adapter stays served."""
    from assistant.cli_support import run_cli
    from finetune.__main__ import main

    settings, registry, base, candidate = shop
    settings.sections["gate"] = GateConfig(keep_previous=2)
    first, second, third = candidate("support-1"), candidate("support-2"), candidate("support-3")
    for folder in (first, second, third):
        evaluate_and_promote("support", folder, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, []))
    assert next(s for s in reg.serving_state(registry) if s.task == "support").previous == [str(second), str(first)]
    _gone(second, "folder")
    _gone(first, "gguf")
    with pytest.raises(NotFoundError, match=f"every adapter served before the current one is gone from disk "
                                            f"\\({second} \\(its folder is gone\\); {first} \\(its GGUF"):
        gate.rollback_task("support", settings)
    assert reg.served_adapter("support", base, registry).path == str(third)
    assert gate.read_decisions(settings, 1)[0]["kind"] == "gate"  # no rollback recorded
    cfg = registry.parent / "c.yaml"
    cfg.write_text(f"llm: {{backend: llamacpp, model: {settings.llm.model}}}\nfinetune: {{registry: {registry}}}\n"
                   "gate: {keep_previous: 2}\n", encoding="utf-8")
    assert run_cli(main, ["rollback", "--task", "support", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("NotFoundError: nothing to roll back to") and "gone from disk" in err[0]
    assert reg.served_adapter("support", base, registry).path == str(third)


def test_gate_edge_cases_are_decisions_not_crashes(shop):
    settings, registry, base, candidate = shop
    calls: list = []
    folder = candidate("support-1")

    def broken(*args):
        from assistant.errors import ModelLoadError

        raise ModelLoadError("llama.cpp could not load the adapter")

    d = evaluate_and_promote("support", folder, settings, evaluate=broken)
    assert not d.promoted and d.reason.startswith("evaluation failed: ModelLoadError")
    assert reg.served_adapter("support", base, registry) is None
    evaluate_and_promote("support", folder, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, calls))
    assert evaluate_and_promote("support", folder, settings, evaluate=broken).reason == "already served"
    settings.gate.enabled = False
    other = candidate("support-2")
    d = evaluate_and_promote("support", other, settings, evaluate=broken)
    assert d.promoted and "without an evaluation" in d.reason
    with pytest.raises(InputError, match="no adapter.gguf"):
        evaluate_and_promote("support", registry.parent, settings)
    foreign = registry.parent / "foreign"
    write_gguf(foreign / "adapter.gguf", "another-base")
    d = evaluate_and_promote("adcopy", foreign, settings, evaluate=broken)
    assert not d.promoted and "trained on 'another-base'" in d.reason


def test_a_served_adapter_without_gguf_is_not_mistaken_for_the_base_model(shop):
    settings, registry, base, candidate = shop
    peft_only = registry.parent / "peft-only"
    reg.register_adapter("support", peft_only, base, "lora", registry=registry)  # served by transformers only
    reg.promote("support", peft_only, base, registry)
    calls: list = []
    d = evaluate_and_promote("support", candidate("support-1"), settings,
                             evaluate=fake_evaluate({"answerable_accuracy": 0.9}, calls))
    assert not d.promoted and "no GGUF export" in d.reason and calls == []
    assert reg.served_adapter("support", base, registry).path == str(peft_only)


def test_gate_and_rollback_have_help():
    from finetune.__main__ import main

    for verb in ("gate", "rollback"):
        with pytest.raises(SystemExit) as exit_:
            main([verb, "--help"])
        assert exit_.value.code == 0


# --------------------------------------------------------------------------------------------- evaluations
def test_support_questions_cover_every_kind_and_are_scored_like_the_bench():
    from bench import answers as bench
    from finetune.gate_eval import pick_questions, support_figures

    questions = pick_questions(bench.load_shop("dev").questions, 16)
    assert len(questions) == 16 and {q.kind for q in questions} == set(bench.KINDS)
    right = [(q.expect[0][0] if q.expect else "I don't know", q.decline, 1.0, True) for q in questions]
    declines = [("I don't know, sorry.", True, 0.5, False) for _ in questions]
    good, shy = support_figures(questions, right, set(), []), support_figures(questions, declines, set(), [])
    assert shy["answerable_accuracy"] == 0.0 and shy["decline_rate"] == 1.0 and shy["invented_rate"] == 0.0
    assert good["decline_rate"] == 1.0 and good["answerable_accuracy"] > shy["answerable_accuracy"]
    assert good["drafts_sent"] == 16 and good["seconds"] == 16.0 and shy["drafts_sent"] == 0


class ByAdapter:
    """A backend whose reply depends on the adapter asked for: the candidate writes short headlines in the
    brief's language, the served side writes ones over the limit."""

    name = "fake"

    def __init__(self):
        from assistant.llm import FakeBackend

        self.fake, self.adapters = FakeBackend(), []

    def stream(self, messages, **opts):
        self.adapters.append(opts.get("adapter"))
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in messages[-1].content)
        short = ["柔软亚麻", "透气好睡", "亚麻床品", "自然舒适"] if zh else ["Soft linen", "Sleep cool", "Linen bedding",
                                                                       "Calm nights"]
        long = ["这是一条远远超过渠道字数限制的非常非常长的亚麻四件套广告标题文案"] * 4 if zh else [
            "This headline is far too long for any search ad channel limit at all"] * 4
        items = short if opts.get("adapter") == "candidate" else long
        yield "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))

    def generate(self, messages, **opts):
        return "".join(self.stream(messages, **opts))


def test_adcopy_evaluation_rechecks_output_and_measures_first_pass_yield():
    from assistant.config import load_config
    from finetune.gate_eval import evaluate_adcopy, pick_briefs

    settings = load_config(env={}, overrides={"adcopy": {"embedder": "ngram", "sentiment": False,
                                                         "time_budget_s": 5}})
    import yaml

    from assistant.config import REPO_ROOT

    briefs = yaml.safe_load((REPO_ROOT / "assistant/adcopy/data/demo_briefs.yaml").read_text(encoding="utf-8"))
    picked = pick_briefs(briefs, 4, ["headline"])
    assert [b["language"] for b, _ in picked] == ["zh", "en", "zh", "en"] and {f for _, f in picked} == {"headline"}
    backend, pauses = ByAdapter(), []
    out = evaluate_adcopy(backend, {"served": None, "candidate": "candidate"}, settings, GateConfig(), 2,
                          pause=lambda: pauses.append(1) or 0.0)
    assert len(pauses) == 4  # before each side of each brief: the job steps aside while the app answers
    assert out["briefs"] == 2 and {None, "candidate"} <= set(backend.adapters)
    assert out["candidate"]["item_yield"] > out["served"]["item_yield"]
    assert out["candidate"]["compliant_share"] == 1.0  # whatever came back passes the checks again
    assert decide_adcopy(out["served"], out["candidate"], GateConfig())[0]


class Worded(ByAdapter):
    """The candidate writes a word the brief does not state (no fact); the served side invents a warranty."""

    def stream(self, messages, **opts):
        self.adapters.append(opts.get("adapter"))
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in messages[-1].content)
        if opts.get("adapter") == "candidate":
            items = ["亚麻带口袋", "口袋亚麻被套", "亚麻口袋款", "口袋设计亚麻"] if zh else [
                "Linen with a pocket", "Pocket linen duvet", "Linen, one pocket", "A pocket of linen"]
        else:
            items = ["亚麻保修5年", "亚麻5年质保", "保修5年亚麻", "5年质保亚麻"] if zh else [
                "Linen, 5-year warranty", "5-year warranty linen", "Linen with 5-year warranty", "Warranty 5 years"]
        yield "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))


def test_adcopy_evaluation_checks_with_the_products_own_rules_for_the_brief():
    """A sparse brief (a product and two selling points) gets the exact-fact check in the product, not the
    word check: the gate re-checks with those rules, so a word the brief does not state costs nothing while
    an invented figure does."""
    from assistant.config import load_config
    from finetune.gate_eval import evaluate_adcopy

    settings = load_config(env={}, overrides={"adcopy": {"embedder": "ngram", "sentiment": False,
                                                         "time_budget_s": 5}})
    out = evaluate_adcopy(Worded(), {"served": None, "candidate": "candidate"}, settings, GateConfig(), 2)
    assert out["candidate"]["item_yield"] == 1.0 and out["candidate"]["compliant_share"] == 1.0
    assert out["served"]["item_yield"] == 0.0  # every item states a warranty the brief does not
    assert decide_adcopy(out["served"], out["candidate"], GateConfig())[0]


# --------------------------------------------------------------------------------------------- hot swap
class FakeLlama:
    """Stands in for llama_cpp.Llama: answers "<adapter folder>: one two", and can be held after its first
    piece (a generation in flight)."""

    made: list[str | None] = []
    hold: dict[str, threading.Event] = {}
    started = threading.Event()

    def __init__(self, model_path, lora_path=None, **kwargs):
        self.lora = lora_path
        FakeLlama.made.append(lora_path)

    def tokenize(self, data, add_bos=False, special=False):
        return data.split()

    def create_chat_completion(self, messages, stream=True, **kwargs):
        name = Path(self.lora).parent.name if self.lora else "base"
        yield {"choices": [{"delta": {"content": f"{name}:"}}]}
        if self.lora in FakeLlama.hold:
            FakeLlama.started.set()
            FakeLlama.hold[self.lora].wait(10)
        for word in (" one", " two"):
            yield {"choices": [{"delta": {"content": word}}]}


@pytest.fixture
def fake_llama(monkeypatch):
    from types import SimpleNamespace

    from assistant.llm import llamacpp_backend

    FakeLlama.made, FakeLlama.hold = [], {}
    FakeLlama.started.clear()
    monkeypatch.setattr(llamacpp_backend, "import_llama_cpp", lambda: SimpleNamespace(Llama=FakeLlama))
    return FakeLlama


def test_promotion_swaps_the_running_app_while_a_request_in_flight_finishes_on_the_old_adapter(shop, fake_llama):
    from assistant.chat import ChatConfig, ChatService
    from assistant.llm import FakeBackend
    from assistant.llm.base import Message
    from assistant.runtime import Runtime

    settings, registry, base, candidate = shop
    calls: list = []
    old, new = candidate("support-old"), candidate("support-new")
    evaluate_and_promote("support", old, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, calls))
    chat = ChatService(FakeBackend(), ChatConfig())  # stands for the app's chat: its adapter choice must follow
    runtime = Runtime(settings, components={"chat": chat})
    backend = runtime.backend
    ask = [Message("user", "hi")]
    assert "".join(backend.stream(ask, adapter="support")) == "support-old: one two"

    fake_llama.hold[str(old / "adapter.gguf")] = threading.Event()
    in_flight: list[str] = []
    worker = threading.Thread(target=lambda: in_flight.extend(runtime.backend.stream(ask, adapter="support")))
    worker.start()
    assert fake_llama.started.wait(5)  # the old adapter is generating
    # the gate in another process promotes the new adapter (the registry file is rewritten)
    d = evaluate_and_promote("support", new, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.99}, calls))
    assert d.promoted
    started = time.perf_counter()
    assert "".join(runtime.backend.stream(ask, adapter="support")) == "support-new: one two"
    assert time.perf_counter() - started < 5  # it did not wait for the request in flight
    assert worker.is_alive() and in_flight == ["support-old:"]
    fake_llama.hold[str(old / "adapter.gguf")].set()
    worker.join(5)
    assert "".join(in_flight) == "support-old: one two"  # finished on the model it started on
    assert runtime.backend is backend and fake_llama.made.count(None) == 1  # swapped in place, base not reloaded
    assert runtime.adapters == ("support",) and runtime.chat is chat and chat.adapter == "support"

    gate.rollback_task("support", settings)
    assert "".join(runtime.backend.stream(ask, adapter="support")) == "support-old: one two"
    gate.rollback_task("support", settings)  # back to the bare base model: the chat stops asking for the adapter
    runtime.backend  # noqa: B018 - the next request notices the change
    assert runtime.adapters == () and chat.adapter is None
    with pytest.raises(NotFoundError):
        "".join(runtime.backend.stream(ask, adapter="support"))


def test_an_adapter_file_rewritten_in_place_is_loaded_again(shop, fake_llama):
    import os

    from assistant.llm.base import Message
    from assistant.runtime import Runtime

    settings, registry, base, candidate = shop
    folder = candidate("support-1")
    evaluate_and_promote("support", folder, settings, evaluate=fake_evaluate({"answerable_accuracy": 0.9}, []))
    runtime = Runtime(settings)
    ask = [Message("user", "hi")]
    "".join(runtime.backend.stream(ask, adapter="support"))
    gguf_file = folder / "adapter.gguf"
    os.utime(gguf_file, ns=(time.time_ns(), time.time_ns() + 10**9))
    "".join(runtime.backend.stream(ask, adapter="support"))
    assert fake_llama.made.count(str(gguf_file)) == 2


def test_a_damaged_registry_keeps_the_served_adapter(shop, fake_llama):
    from assistant.llm.base import Message
    from assistant.runtime import Runtime

    settings, registry, base, candidate = shop
    evaluate_and_promote("support", candidate("support-1"), settings,
                         evaluate=fake_evaluate({"answerable_accuracy": 0.9}, []))
    runtime = Runtime(settings)
    ask = [Message("user", "hi")]
    assert "".join(runtime.backend.stream(ask, adapter="support")).startswith("support-1:")
    registry.write_text("{half a file", encoding="utf-8")
    assert "".join(runtime.backend.stream(ask, adapter="support")).startswith("support-1:")
    assert runtime.adapters == ("support",)


# --------------------------------------------------------------------------------------------- embedded model
@pytest.mark.slow
def test_support_gate_on_the_embedded_model_keeps_the_base_over_an_adapter_that_changes_nothing(tmp_path):
    """The whole support evaluation on qwen2.5-0.5b (dev shop ingested, both sides answering through llama.cpp):
    a LoRA of zeros answers exactly like the base model, so it is not better and is not served."""
    import gguf
    import numpy as np

    from assistant.config import load_config

    folder = tmp_path / "zero-lora"
    folder.mkdir()
    w = gguf.GGUFWriter(str(folder / "adapter.gguf"), "qwen2")
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 1.0)
    w.add_uint32("general.base_model.count", 1)
    w.add_string(reg.GGUF_BASE_KEY, "qwen2.5-0.5b")
    w.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((1, 896), dtype=np.float32))
    w.add_tensor("blk.0.attn_q.weight.lora_b", np.zeros((896, 1), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    settings = load_config(env={}, overrides={"llm": {"model": "qwen2.5-0.5b", "n_threads": 2},
                                              "finetune": {"registry": str(tmp_path / "registry.json")}})
    d = evaluate_and_promote("support", folder, settings, size=3)
    assert d.figures["questions"] == 3 and not d.promoted, d.reason
    served, cand = d.figures["served"], d.figures["candidate"]
    for key in ("answerable_accuracy", "decline_rate", "invented_rate", "tokens"):
        assert served[key] == cand[key], key  # greedy decoding, same weights: the same answers
    assert reg.served_adapter("support", "qwen2.5-0.5b", settings.finetune.registry) is None


def test_rollback_on_a_fresh_install_says_the_base_model_serves(tmp_path):
    # It said "no adapter was served before the current one", when there was no current one.
    from assistant.errors import NotFoundError
    from assistant.llm import adapter_registry as reg

    with pytest.raises(NotFoundError, match="served by the base model already"):
        reg.rollback("support", "base-x", tmp_path / "registry" / "registry.json")
    assert not (tmp_path / "registry").exists()  # a command that changed nothing made no folder either

"""Where `train`, `retrain`, `export` and `support-data` may write: never over the served adapter, another
adapter's GGUF, the shop's documents or the user's own files. Each refusal is one line, before any model loads."""

from __future__ import annotations

import re

import pytest

from assistant.cli_support import run_cli
from assistant.errors import ConfigError, InputError
from assistant.llm import adapter_registry as reg
from finetune import feedback_retrain as fr
from finetune import output_guard
from finetune.__main__ import main
from tests.conftest import REPO
from tests.finetune.test_cli_safety import config as config  # noqa: F401 - fixture
from tests.finetune.test_cli_safety import fake_adapter, one_line, train
from tests.finetune.test_cli_safety import no_model as no_model  # noqa: F401 - fixture


def served(tmp_path, folder, task="support", gguf=""):
    """`folder` registered and promoted: the adapter customers are answered with."""
    fake_adapter(folder)
    reg.register_adapter(task, folder, "tiny-test", "lora", gguf=gguf, registry=tmp_path / "reg.json")
    reg.promote(task, folder, "tiny-test", registry=tmp_path / "reg.json")
    return folder


# --- retrain --output (defect: wrote into any folder, the served one included, before the gate decided) ------
@pytest.fixture
def settings(tmp_path, monkeypatch):
    from assistant.config import load_config

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    s = load_config(env={}, overrides={"llm": {"backend": "fake"},
                                       "storage": {"url": f"sqlite:///{tmp_path / 'shop.db'}"},
                                       "finetune": {"registry": str(tmp_path / "reg.json")}})
    monkeypatch.setattr("finetune.__main__.load_config", lambda path=None: s)
    # a check that comes too late would read the feedback (and then train): fail instead
    monkeypatch.setattr(fr, "read_feedback", lambda *a, **k: pytest.fail("feedback read before --output was checked"))
    return s


def test_retrain_refuses_the_served_adapters_folder_before_training(tmp_path, settings, capsys):
    adapter = served(tmp_path, tmp_path / "served")
    assert run_cli(main, ["retrain", "--task", "support", "--output", str(adapter)]) == 2
    line = one_line(capsys)
    assert "already holds a trained adapter that is served to customers (task support)" in line
    assert (adapter / "adapter_model.safetensors").read_bytes().startswith(b"weights of an adapter")


@pytest.mark.parametrize("task", ["support", "all"])
def test_retrain_output_that_is_a_file_fails_before_the_first_step(tmp_path, settings, capsys, task):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert run_cli(main, ["retrain", "--task", task, "--output", str(notes)]) == 2
    assert "InputError" in (line := one_line(capsys)) and "is a file" in line
    assert notes.read_text() == "mine"


def test_retrain_refuses_a_folder_of_other_files(tmp_path, settings, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.md").write_text("my notes")
    assert run_cli(main, ["retrain", "--task", "adcopy", "--output", str(tmp_path / "mine")]) == 2
    assert "other files in it (README.md)" in one_line(capsys)


def test_retrain_all_puts_each_tasks_candidate_in_its_own_folder(tmp_path, settings, monkeypatch, capsys):
    seen = {}

    def retrain_task(task, s, cfg, output=None):
        seen[task] = output
        return True, f"{task} ok"

    monkeypatch.setattr(fr, "retrain_task", retrain_task)
    assert main(["retrain", "--task", "all", "--output", str(tmp_path / "cands")]) == 0
    assert seen == {"adcopy": tmp_path / "cands" / "adcopy", "support": tmp_path / "cands" / "support"}
    assert run_cli(main, ["retrain", "--task", "all", "--output", str(fake_adapter(tmp_path / "a"))]) == 2
    assert "holds an adapter" in one_line(capsys)


# --- export --format gguf (defect: overwrote another adapter's GGUF; a scratch export moved the served one) ---
def test_export_refuses_the_gguf_inside_another_adapters_folder(tmp_path, config, no_model, capsys):
    other = served(tmp_path, tmp_path / "served")
    (other / "adapter.gguf").write_bytes(b"GGUF served weights")
    mine = fake_adapter(tmp_path / "mine")
    code = run_cli(main, ["export", "--config", str(config), "--adapter", str(mine), "--format", "gguf",
                          "--output", str(other / "adapter.gguf")])
    assert code == 2
    assert "inside the folder of another adapter" in one_line(capsys)
    assert (other / "adapter.gguf").read_bytes() == b"GGUF served weights"


def test_export_refuses_a_gguf_the_registry_records_for_another_adapter(tmp_path, config, no_model, capsys):
    gguf = tmp_path / "shared" / "support.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF served weights")
    served(tmp_path, tmp_path / "served", gguf=gguf)
    mine = fake_adapter(tmp_path / "mine")
    code = run_cli(main, ["export", "--config", str(config), "--adapter", str(mine), "--format", "gguf",
                          "--output", str(gguf)])
    assert code == 2
    line = one_line(capsys)
    assert "the registry records for the support adapter" in line and "served to customers" in line
    assert gguf.read_bytes() == b"GGUF served weights"
    # the adapter's own recorded GGUF may be exported again
    assert output_guard.check_export_output(tmp_path / "served", "gguf", gguf, tmp_path / "reg.json") == gguf


def test_only_the_adapters_own_gguf_is_recorded_in_the_registry(tmp_path, capsys):
    from finetune.__main__ import _record_gguf

    adapter = served(tmp_path, tmp_path / "served", gguf=tmp_path / "served" / "adapter.gguf")
    registry = tmp_path / "reg.json"
    _record_gguf(adapter, tmp_path / "scratch.gguf", registry)
    assert reg.list_adapters(registry)[0].gguf == str((adapter / "adapter.gguf").resolve())
    assert "registry unchanged" in capsys.readouterr().out
    fresh = fake_adapter(tmp_path / "fresh")
    reg.register_adapter("adcopy", fresh, "tiny-test", "lora", registry=registry)
    _record_gguf(fresh, fresh / "adapter.gguf", registry)
    assert next(r for r in reg.list_adapters(registry) if r.task == "adcopy").gguf.endswith("fresh/adapter.gguf")


# --- support-data --output (defect: replaced the shop's faq.csv with JSONL) ---------------------------------
@pytest.mark.parametrize("option,name", [("--output", "faq.csv"), ("--heldout-output", "held.jsonl")])
def test_support_data_never_writes_over_or_among_the_documents(tmp_path, monkeypatch, capsys, option, name):
    from finetune import support_data

    monkeypatch.setattr(support_data, "build", lambda *a, **k: pytest.fail("built anyway"))
    kb = tmp_path / "knowledge"
    kb.mkdir()
    (kb / "faq.csv").write_text("id,question,answer,lang\n", encoding="utf-8")
    paths = {"--output": str(tmp_path / "pairs.jsonl"), option: str(kb / name)}
    argv = ["support-data", "--kb-folder", str(kb)] + [x for k, v in paths.items() for x in (k, v)]
    assert run_cli(main, argv) == 2
    assert "--kb-folder" in one_line(capsys)
    assert (kb / "faq.csv").read_text(encoding="utf-8") == "id,question,answer,lang\n"


# --- train --output (defects: overwrote the user's files; --overwrite deleted the served adapter first) ------
def test_train_refuses_a_folder_of_the_users_own_files(tmp_path, config, no_model, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "README.md").write_text("my notes")
    for extra in ([], ["--overwrite"]):  # --overwrite replaces a run, never files no run wrote
        assert train(tmp_path, config, mine, *extra) == 2
        assert "other files in it (README.md)" in one_line(capsys)
    assert (mine / "README.md").read_text() == "my notes"
    (mine / "README.md").unlink()
    (mine / ".gitkeep").write_text("")  # never written by a run: an otherwise empty folder is fine
    data = tmp_path / "d.jsonl"
    assert output_guard.check_train_output(mine, data, resume=False, overwrite=False) == mine


def test_overwrite_refuses_the_served_adapter(tmp_path, config, no_model, capsys):
    adapter = served(tmp_path, tmp_path / "served")
    assert train(tmp_path, config, adapter, "--overwrite", "--register", "false") == 2
    line = one_line(capsys)
    assert "served to customers (task support): train into a new folder" in line and "gate" in line
    assert (adapter / "adapter_model.safetensors").read_bytes().startswith(b"weights of an adapter")


def test_list_flags_a_served_adapter_whose_gguf_is_gone(tmp_path, config, capsys):
    served(tmp_path, tmp_path / "served", gguf=tmp_path / "served" / "adapter.gguf")  # never written
    assert main(["list", "--config", str(config)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "served" in x and "gguf=" in x)
    assert "MISSING" in line and "SERVED" in line


# --- messages ------------------------------------------------------------------------------------------------
def test_prose_only_documents_are_told_what_makes_pairs(tmp_path):
    from finetune import support_data

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "about.md").write_text("# About us\n\nWe are a small family shop and we love what we do.\n",
                                 encoding="utf-8")
    with pytest.raises(InputError, match="FAQ tables .* spec lines .* markdown table rows"):
        support_data.build([kb], tmp_path / "pairs.jsonl", {"en": "Shop", "zh": "店"})


def test_batch_size_message_names_kto_only_for_kto():
    with pytest.raises(ConfigError, match=r"batch_size must be >= 1, got 0$"):
        fr.RetrainConfig(objective="sft", batch_size=0)
    with pytest.raises(ConfigError, match="for kto"):
        fr.RetrainConfig(objective="kto", batch_size=1)


def test_default_yaml_states_the_learning_rates_the_code_uses():
    from finetune.config import DEFAULT_LR

    line = next(x for x in (REPO / "config" / "default.yaml").read_text(encoding="utf-8").splitlines()
                if x.strip().startswith("learning_rate: 0"))
    stated = dict(re.findall(r"(adalora|qlora) ([0-9.e-]+)", line))
    assert {k: float(v) for k, v in stated.items()} == {"adalora": DEFAULT_LR["adalora"],
                                                         "qlora": DEFAULT_LR["qlora"]}

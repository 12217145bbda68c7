"""`python -m finetune`: help, flags layered over YAML, one-line errors, and `list`."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from finetune.__main__ import build_parser, finetune_config, main
from tests.conftest import run_module


def test_help_lists_every_verb_and_the_train_contract():
    out = run_module("finetune", "--help")
    assert out.returncode == 0
    for verb in ("train", "eval", "export", "list", "accelerate launch -m finetune train"):
        assert verb in out.stdout
    train = run_module("finetune", "train", "--help")
    assert train.returncode == 0
    for flag in ("--method {lora,adalora,qlora}", "--data", "--output", "--max-steps", "--task {support,adcopy}",
                 "--config", "--resume", "--learning-rate"):
        assert flag in train.stdout


def test_flags_override_yaml_and_are_validated(tmp_path):
    yaml_file = tmp_path / "ft.yaml"
    yaml_file.write_text("finetune:\n  r: 4\n  learning_rate: 0.0005\n  method: adalora\n", encoding="utf-8")
    args = build_parser().parse_args(["train", "--config", str(yaml_file), "--data", "d.jsonl", "--output", "o",
                                      "--method", "lora", "--max-steps", "12", "--target-modules", "q_proj,v_proj"])
    cfg = finetune_config(args)
    assert (cfg.method, cfg.r, cfg.learning_rate, cfg.max_steps) == ("lora", 4, 5e-4, 12)
    assert cfg.target_modules == ["q_proj", "v_proj"]
    bad = build_parser().parse_args(["train", "--data", "d", "--output", "o", "--r", "0"])
    with pytest.raises(ConfigError, match=r"finetune\.r must be >= 1"):
        finetune_config(bad)


def test_bad_data_is_one_line_on_stderr(tmp_path, capsys):
    from assistant.cli_support import run_cli

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "q"}\n', encoding="utf-8")
    code = run_cli(main, ["train", "--data", str(bad), "--output", str(tmp_path / "o")])  # in-process: fast
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "InputError: bad.jsonl line 1: alpaca record has 'instruction' but no 'output'"]


def test_list_reads_the_registry(tmp_path, capsys):
    from assistant.llm.adapter_registry import register_adapter

    path = tmp_path / "r.json"
    register_adapter("support", tmp_path, "smollm2-135m", "adalora", {"eval_loss_after": 1.5}, registry=path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"finetune:\n  registry: {path}\n", encoding="utf-8")
    assert main(["list", "--config", str(cfg)]) == 0
    line = capsys.readouterr().out
    assert "support" in line and "adalora" in line and "eval_loss=1.5" in line


def test_qlora_without_cuda_is_one_clear_line(tmp_path, capsys):
    import torch

    from assistant.cli_support import run_cli
    from finetune.data import demo_path

    if torch.cuda.is_available():
        pytest.skip("checks the message shown without CUDA")
    code = run_cli(main, ["train", "--method", "qlora", "--data", str(demo_path("support")),
                          "--output", str(tmp_path / "o")])
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ModelLoadError: qlora trains on a 4-bit base and needs a CUDA GPU")
    assert "--method lora or adalora" in err[0]
    assert not (tmp_path / "o").exists()  # nothing half-written

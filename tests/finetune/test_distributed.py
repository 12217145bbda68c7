"""A distributed launch of `python -m finetune train` with two processes: data sharded by rank, one adapter.

On this CPU machine the two ranks form a gloo process group and accelerate runs them as MULTI_CPU: the same
code path as several GPUs under `accelerate launch` (DDP all-reduce of the adapter's gradients), without code
changes. Rank 0 alone saves, reports and
registers; the other rank must exit cleanly instead of racing it for the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.finetune.conftest import make_tiny_model, write_jsonl

pytestmark = pytest.mark.slow


def _rows(n: int) -> list[dict]:
    return [{"instruction": f"What is item {i}?", "input": "", "output": f"Item {i} ships in {i % 5 + 1} days."}
            for i in range(n)]


def test_two_process_launch_trains_one_adapter(tmp_path, tiny_tokenizer):
    base = tmp_path / "tiny-base"
    make_tiny_model(tiny_tokenizer).save_pretrained(base)
    tiny_tokenizer.save_pretrained(base)
    data = write_jsonl(tmp_path / "d.jsonl", _rows(24))
    out, registry = tmp_path / "adapter", tmp_path / "registry.json"
    # torchrun is what `accelerate launch --multi_gpu` runs under the hood; on a CPU-only machine accelerate's
    # own launcher starts a single process, so the two CPU ranks are started by torchrun directly.
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_port", "29517", "-m", "finetune", "train", "--method", "lora", "--data", str(data), "--output", str(out),
         "--base-model", str(base), "--max-steps", "4", "--batch-size", "2", "--max-seq-len", "128",
         "--learning-rate", "0.01", "--eval-every", "2", "--num-samples", "1",
         "--metric-examples", "1", "--sample-max-tokens", "2", "--export-gguf", "false",
         "--registry", str(registry), "--no-progress"],
        capture_output=True, text=True, timeout=600, env=env, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    # Rank 0 printed the results once; the adapter, its report and one registry entry exist.
    assert sum(line.startswith("eval loss") for line in proc.stdout.splitlines()) == 1, proc.stdout
    assert (out / "adapter_config.json").is_file() and (out / "report.md").is_file()
    meta = json.loads((out / "finetune_meta.json").read_text(encoding="utf-8"))
    assert meta["steps"] == 4 and meta["processes"] == 2, meta
    entries = json.loads(registry.read_text(encoding="utf-8"))
    assert len(entries if isinstance(entries, list) else entries.get("adapters", entries)) == 1

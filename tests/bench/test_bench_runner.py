"""`python -m bench`: each bench's figures land in RESULTS.md with its goals, date and load; `--only` keeps the rest."""

from __future__ import annotations

import json
import sys
import types

import pytest

import bench.__main__ as runner


@pytest.fixture
def fake_benches(tmp_path, monkeypatch):
    good = types.ModuleType("bench.generation")
    good.run = lambda quick: {"ours_tok_s": 55.7, "raw_tok_s": 51.7, "ratio": 1.077, "quick": quick}
    good.GOALS = {"ratio": ">= 1.0"}
    good.BASELINE = "raw llama.cpp"
    broken = types.ModuleType("bench.retrieval")

    def crash(quick):
        raise RuntimeError("index missing")

    broken.run = crash
    monkeypatch.setitem(sys.modules, "bench.generation", good)
    monkeypatch.setitem(sys.modules, "bench.retrieval", broken)
    monkeypatch.setattr(runner, "STORE", tmp_path / "results.json")
    return tmp_path


def test_results_are_merged_per_bench_and_a_crash_is_reported(fake_benches):
    out = fake_benches / "RESULTS.md"
    assert runner.main(["--only", "generation", "--output", str(out)]) == 0
    assert runner.main(["--only", "retrieval", "--quick", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| ratio | 1.077 | >= 1.0 |" in text and "Baseline: raw llama.cpp" in text  # kept from the first run
    assert "Not measured: `RuntimeError: index missing`" in text
    assert "with --quick; load average" in text
    stored = json.loads((fake_benches / "results.json").read_text(encoding="utf-8"))
    assert stored["generation"]["quick"] is False and stored["retrieval"]["quick"] is True


def test_only_takes_commas_or_spaces_and_refuses_an_unknown_bench(fake_benches, capsys):
    out = fake_benches / "RESULTS.md"
    assert runner.main(["--only", "generation,retrieval", "--output", str(out)]) == 0
    stored = json.loads((fake_benches / "results.json").read_text(encoding="utf-8"))
    assert {"generation", "retrieval"} <= set(stored)
    with pytest.raises(SystemExit) as exc:
        runner.main(["--only", "generation,nope", "--output", str(out)])
    assert exc.value.code == 2 and "unknown bench 'nope'" in capsys.readouterr().err

"""The prompt-snapshot bench runs the dev shop with snapshots off and on in one run and reports both sides."""

import bench.answers as answers
import bench.prompt_snapshots as snapshots_bench


def test_both_sides_run_in_one_go_with_only_the_snapshot_setting_changed(monkeypatch):
    calls = []

    def fake_run_shop(key, ids=None, model=None, no_docs=True, overrides=None, quiet=False):
        n = overrides["llm"]["prompt_snapshots"]
        calls.append((key, ids, no_docs, n, quiet))
        figures = dict(answerable_accuracy=0.8, decline_rate=0.75, invented_answers=2, wrong_answers=5,
                       median_s=4.0 if n == 0 else 3.0, p95_s=20.0 if n == 0 else 15.0)
        return {"ours": figures, "failing_ids": {"wrong_answer": ["pf01"] if n == 0 else ["pf02"]},
                "load_avg_before": "1.0/1.0/1.0", "load_avg_after": "2.0/2.0/2.0"}

    monkeypatch.setattr(answers, "run_shop", fake_run_shop)
    result = snapshots_bench.run(quick=True, snapshots=3)
    assert [c[3] for c in calls] == [0, 3] and all(c[0] == "dev" and not c[2] and c[4] for c in calls)
    assert calls[0][1] == set(answers.QUICK_IDS)
    assert result["off"]["median_s"] == 4.0 and result["ours"]["median_s"] == 3.0
    assert result["same_failing_questions"] is False  # a changed answer shows


def test_the_bench_is_registered_with_headlines_from_its_own_figures():
    import bench.__main__ as runner

    assert "prompt_snapshots" in runner.BENCHES
    for _, ours, base, _ in snapshots_bench.HEADLINES:
        assert ours.split(".")[-1] in snapshots_bench.FIGURES and base.split(".")[-1] in snapshots_bench.FIGURES

"""The Markdown eval report a shop owner reads after training: curves, before/after numbers, samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from finetune.evaluate import Generated, perplexity


@dataclass
class Report:
    title: str
    facts: dict[str, str]
    loss_before: float
    loss_after: float
    metric_name: str
    metric_before: float | None
    metric_after: float | None
    metric_n: int
    before: Sequence[Generated] = ()
    after: Sequence[Generated] = ()
    rank_table: str = ""
    train_curve: Sequence[tuple[int, float]] = ()
    eval_curve: Sequence[tuple[int, float]] = ()
    extra: dict[str, str] = field(default_factory=dict)


def plot_losses(train: Sequence[tuple[int, float]], evals: Sequence[tuple[int, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", alpha=0.6)
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", label="eval loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (assistant tokens)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cell(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|") or "(empty)"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def render(r: Report, out_dir: Path, num_samples: int = 5) -> Path:
    """Write report.md (+ loss_curves.png) into `out_dir`; returns the report path."""
    lines = [f"# {r.title}", ""]
    lines += [f"- **{k}**: {v}" for k, v in r.facts.items()]
    lines += ["", "## Loss", "", "| | eval loss | perplexity |", "|---|---|---|",
              f"| before (base model) | {r.loss_before:.3f} | {perplexity(r.loss_before):.2f} |",
              f"| after (with adapter) | {r.loss_after:.3f} | {perplexity(r.loss_after):.2f} |", ""]
    if r.train_curve or r.eval_curve:
        plot_losses(r.train_curve, r.eval_curve, out_dir / "loss_curves.png")
        lines += ["![train and eval loss](loss_curves.png)", ""]
    lines += ["## Task metric", "", f"{r.metric_name} on {r.metric_n} held-out example(s): "
              f"before {_pct(r.metric_before)}, after {_pct(r.metric_after)}.", ""]
    if r.rank_table:
        lines += ["## AdaLoRA rank report", "", r.rank_table, "", "![final ranks](rank_report.png)", ""]
    for k, v in r.extra.items():
        lines += [f"## {k}", "", v, ""]
    pairs = list(zip(r.before, r.after, strict=False))[:num_samples]
    if pairs:
        lines += ["## Samples (greedy, held-out prompts)", "", "| prompt | reference | before | after |",
                  "|---|---|---|---|"]
        for b, a in pairs:
            lines.append(f"| {_cell(b.prompt)} | {_cell(b.example.messages[-1]['content'])} | "
                         f"{_cell(b.answer)} | {_cell(a.answer)} |")
        lines.append("")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

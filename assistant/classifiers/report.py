"""What a trained classifier is worth: accuracy, macro-F1, calibration, and a confusion-matrix PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from assistant.classifiers.calibration import expected_calibration_error, nll


def classification_report(y: np.ndarray, probs: np.ndarray, labels: list[str], threshold: float = 0.0,
                          oos_index: int | None = None) -> dict:
    """Figures for one labelled split. `y` holds label indices, `probs` calibrated probabilities."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    present = sorted(set(y.tolist()) | set(pred.tolist()))
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=present, zero_division=0)
    accepted = conf >= threshold
    report = {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "ece": expected_calibration_error(probs, y),
        "nll": nll(np.log(np.clip(probs, 1e-12, None)), y, 1.0) if len(y) else 0.0,
        "threshold": float(threshold),
        "coverage": float(accepted.mean()) if len(y) else 0.0,
        "accepted_accuracy": float((pred[accepted] == y[accepted]).mean()) if accepted.any() else 0.0,
        "per_label": {labels[i]: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                                  "support": int(support[j])} for j, i in enumerate(present)},
        "labels": labels,
        "confusion_matrix": confusion_matrix(y, pred, labels=list(range(len(labels)))).tolist(),
    }
    if oos_index is not None:
        final = np.where(conf < threshold, oos_index, pred)
        report["accuracy_with_oos_fallback"] = float((final == y).mean())
    return report


def plot_confusion_matrix(report: dict, path: Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (true label down, predicted across); labels shown up to 40."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers
    import matplotlib.pyplot as plt

    cm = np.asarray(report["confusion_matrix"], dtype=float)
    labels = report["labels"]
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.25 * len(labels), 24)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if len(labels) <= 40:
        ax.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=8)
        ax.set_yticks(range(len(labels)), labels=labels, fontsize=8)
        if len(labels) <= 12:
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if cm[i, j]:
                        ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                                color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: dict, folder: Path, name: str = "report") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{name}.json"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    png = plot_confusion_matrix(report, folder / f"{name}_confusion_matrix.png")
    return json_path, png


def summary_line(report: dict) -> str:
    line = (f"n={report['n']} accuracy={report['accuracy']:.4f} macro_f1={report['macro_f1']:.4f} "
            f"ece={report['ece']:.3f} threshold={report['threshold']:.3f} coverage={report['coverage']:.3f}")
    if "accuracy_with_oos_fallback" in report:
        line += f" accuracy_with_oos_fallback={report['accuracy_with_oos_fallback']:.4f}"
    return line

"""Matplotlib on the Agg backend (no display on servers), with the few chart shapes the analyses draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: servers and CI have no display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

COLORS = {"positive": "#2e7d32", "neutral": "#9e9e9e", "negative": "#c62828"}

# Fonts with Chinese glyphs that Linux (fonts-noto-cjk, wqy), Windows and macOS install. Matplotlib's default,
# DejaVu Sans, has none: product names and aspects such as 连衣裙 / 物流 were drawn as empty boxes.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
             "STHeiti", "Arial Unicode MS", "Droid Sans Fallback", "Noto Sans CJK JP", "Noto Sans CJK TC")
NO_CJK_FONT_NOTE = ("Chinese text in the plots is drawn as boxes: no Chinese font is installed (install Noto Sans "
                    "CJK, e.g. `apt install fonts-noto-cjk`); the tables and summary are not affected")


def use_cjk_fonts() -> list[str]:
    """Put the installed Chinese fonts after the default one: matplotlib (>= 3.6) takes each glyph from the first
    font in `font.family` that has it, so Latin text keeps its look. Returns the fonts found."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS if name in installed]
    if found:
        plt.rcParams["font.family"] = ["DejaVu Sans", *found]  # DejaVu ships inside matplotlib
    return found


use_cjk_fonts()


def trend_figure(trend: pd.DataFrame, title: str):
    """Sentiment shares per period (top) and volume with spikes marked (bottom). Periods the data covers only in
    part (`partial`) are drawn faint: dashed lines, hollow points and hatched bars."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    x = trend["period"]
    partial = trend["partial"] if "partial" in trend else pd.Series(False, index=trend.index)
    for label in ("positive", "neutral", "negative"):
        if label in trend:
            y = trend[label] * 100
            # The faint line runs through every period; the solid one over whole periods only.
            top.plot(x, y, ls="--", lw=1, alpha=0.5, color=COLORS[label])
            top.plot(x, y.where(~partial), marker="o", ms=3, label=label, color=COLORS[label])
            top.plot(x[partial], y[partial], ls="none", marker="o", ms=4, mfc="white", color=COLORS[label])
    top.set_ylabel("share of messages, %")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    colors = ["#c62828" if s else "#90a4ae" for s in trend["spike"]]
    width = 0.8 * (x.diff().median() if len(x) > 1 else pd.Timedelta(days=1))
    bars = bottom.bar(x, trend["n"], color=colors, width=width)
    for bar, part in zip(bars, partial, strict=True):
        if part:
            bar.set_alpha(0.45)
            bar.set_hatch("///")
    bottom.set_ylabel("messages")
    bottom.grid(alpha=0.3)
    keys = (["red = volume spike"] if trend["spike"].any() else []) + \
        (["hatched, hollow = partial period (left out of the headline)"] if partial.any() else [])
    if keys:
        bottom.set_title("; ".join(keys), fontsize=8, loc="right")
    fig.autofmt_xdate()
    return fig


def bar_figure(labels, values, title: str, xlabel: str = "", color="#1565c0", fmt: str = "{:.2f}"):
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.4 * len(labels) + 1)))
    ax.barh([str(v) for v in labels], values, color=color)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    for i, v in enumerate(values):
        ax.text(v, i, " " + fmt.format(v), va="center", fontsize=8)
    ax.margins(x=0.12)  # room for the value written after the longest bar
    ax.grid(axis="x", alpha=0.3)
    return fig


def stacked_share_figure(table: pd.DataFrame, title: str):
    """Rows = categories, columns positive/neutral/negative counts -> horizontal 100% bars."""
    shares = table.div(table.sum(axis=1).where(lambda s: s > 0, 1), axis=0) * 100
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(shares) + 1)))
    left = pd.Series(0.0, index=shares.index)
    for label in ("positive", "neutral", "negative"):
        if label in shares:
            ax.barh([str(i) for i in shares.index], shares[label], left=left, color=COLORS[label], label=label)
            left = left + shares[label]
    ax.invert_yaxis()
    ax.set_xlabel("% of mentions")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def calibration_figure(prob_true, prob_pred, auc: float, title: str):
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="#9e9e9e", label="perfect")
    ax.plot(prob_pred, prob_true, marker="o", label=f"model (AUC {auc:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def scatter_segments_figure(xy, labels, title: str):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=8, alpha=0.7)
    ax.legend(*sc.legend_elements(), title="segment", fontsize=7, loc="best")
    ax.set_title(title)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    return fig


def line_figure(x, ys: dict, title: str, ylabel: str):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, y in ys.items():
        ax.plot(x, y, marker="o", label=str(name))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    # weekly dates written as text ran into one smear: at most 8 labels, slanted
    if len(x) > 8:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(8))
    fig.autofmt_xdate(rotation=30)
    fig.tight_layout()
    return fig

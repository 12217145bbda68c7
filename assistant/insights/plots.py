"""The insights as figures (matplotlib, Agg): outcomes per day and per intent, CSAT and its trend, the most
and least used documents. Each function takes the computed tables and returns a Figure."""

from __future__ import annotations

COLORS = {"resolved": "#2f6f5e", "handed_off": "#e3a008", "abandoned": "#b42318", "ongoing": "#9e9e9e"}


def _figure(title: str, size=(6.4, 3.4)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Chinese document names and intents: matplotlib's own font has no Chinese glyph, and the CLI (`outcomes
    # --plots`) never loads the analytics plots that add the installed Chinese fonts, so it drew them as boxes.
    from assistant.analytics.plots import use_cjk_fonts

    use_cjk_fonts()
    fig, ax = plt.subplots(figsize=size, dpi=100)
    ax.set_title(title)
    return fig, ax


def _empty(ax, text: str = "no data yet") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def outcomes_by_day(by_day):
    fig, ax = _figure("Conversations per day: how they ended")
    if not len(by_day):
        _empty(ax)
        return fig
    bottom = None
    for name in ("resolved", "handed_off", "abandoned", "ongoing"):
        values = by_day[name].to_numpy()
        ax.bar(list(by_day.index), values, bottom=bottom, color=COLORS[name], label=name.replace("_", " "))
        bottom = values if bottom is None else bottom + values
    ax.set_ylabel("conversations")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    fig.tight_layout()
    return fig


def outcomes_by_intent(by_intent):
    fig, ax = _figure("Outcome share per intent (finished conversations)")
    if not len(by_intent):
        _empty(ax)
        return fig
    if not by_intent[["resolved", "handed_off", "abandoned"]].to_numpy().sum():
        # every conversation is still going (a new shop's first half hour): empty bars would read as none resolved
        _empty(ax, "no finished conversations yet")
        return fig
    rates = by_intent[["resolution_rate", "handoff_rate", "abandon_rate"]].fillna(0.0)
    left = None
    for col, name in zip(rates.columns, ("resolved", "handed_off", "abandoned"), strict=True):
        values = rates[col].to_numpy()
        ax.barh(list(rates.index), values, left=left, color=COLORS[name], label=name.replace("_", " "))
        left = values if left is None else left + values
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def csat_trend(csat_by_day, trend: float | None = None):
    title = "CSAT from ratings (share of thumbs up)"
    if trend is not None:
        title += f", trend {trend * 100:+.1f} pts/day"
    fig, ax = _figure(title)
    if not len(csat_by_day):
        _empty(ax, "no ratings yet")
        return fig
    days = list(csat_by_day.index)
    ax.plot(days, csat_by_day.csat, marker="o", color="#1565c0", label="daily")
    if "csat_7d" in csat_by_day:
        ax.plot(days, csat_by_day.csat_7d, color="#90caf9", label="7-day")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    fig.tight_layout()
    return fig


def document_usage(documents, top: int = 12):
    fig, ax = _figure("Documents: retrieved and cited", size=(6.4, 4.0))
    if not len(documents):
        _empty(ax)
        return fig
    d = documents.head(top).iloc[::-1]
    names = [str(s).rsplit("/", 1)[-1][:40] for s in d.source]
    ax.barh(names, d.retrieved, color="#cfd8dc", label="retrieved")
    ax.barh(names, d.cited, color="#2f6f5e", label="cited")
    ax.legend(fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig

"""Consumer voice over time: sentiment of every review/ticket, share per day/week/month, volume spikes.

Sentiment comes from the project's trained classifier (`assistant.classifiers`) when it is installed; else
from the lexicon fallback, and every output then says "lexicon fallback".
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import (
    BLANK,
    AnalysisResult,
    Table,
    drop_empty_texts,
    find_date_column,
    find_text_column,
    guessed_dates,
)
from assistant.analytics.lexicon import LexiconSentiment
from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

LABELS = ("positive", "neutral", "negative")
FREQ_ALIASES = {"day": "D", "week": "W", "month": "M"}


def load_sentiment_model(cfg: AnalyticsConfig, settings: Any = None) -> tuple[Any, str]:
    """(model with `.predict(texts)`, its display name). Falls back to the lexicon unless told not to."""
    if cfg.sentiment_model == "lexicon":
        return LexiconSentiment(), "lexicon fallback (forced by analytics.sentiment_model)"
    try:
        from assistant.classifiers import default_classifiers
    except ImportError as exc:
        if cfg.sentiment_model == "classifier":
            raise ModelLoadError(f"analytics.sentiment_model is 'classifier' but it cannot be imported: {exc}") from None
        return LexiconSentiment(), "lexicon fallback (assistant.classifiers not installed)"
    try:
        if settings is None:
            from assistant.config import load_config

            settings = load_config()
        ccfg = getattr(settings, "classifiers", None)
        folder = getattr(ccfg, "sentiment_model", None)
        if cfg.sentiment_model == "auto" and folder:
            from assistant.config import resolve_path

            # First use would train the classifier (many minutes on 2 cores): not as a side effect of a chart.
            if not resolve_path(folder).exists():
                return LexiconSentiment(), ("lexicon fallback (sentiment classifier not trained yet: run "
                                            "`python -m assistant.classifiers train` or set "
                                            "analytics.sentiment_model: classifier)")
        _, clf = default_classifiers(ccfg)
        _quiet_jieba()
        return clf, f"project classifier ({type(clf).__name__})"
    except Exception as exc:  # a missing/untrained model must not stop the analysis: say so and go on
        if cfg.sentiment_model == "classifier":
            raise ModelLoadError(f"the sentiment classifier could not be loaded: {exc}") from None
        log.warning("sentiment classifier unavailable (%s): using the lexicon fallback", exc)
        return LexiconSentiment(), f"lexicon fallback (classifier failed to load: {str(exc)[:80]})"


def _quiet_jieba() -> None:
    """The classifier tokenises Chinese with jieba, whose logger is set to DEBUG on import: its dictionary
    banner ("Building prefix dict…") is noise in a CLI unless -v asked for details."""
    if log.isEnabledFor(logging.INFO):
        return
    try:
        import jieba
    except ImportError:
        return
    jieba.setLogLevel(logging.WARNING)


def normalise_label(label: Any) -> str:
    text = str(label).strip().lower()
    if text in ("1", "pos", "positive", "好评", "正面", "积极") or text.startswith("pos"):
        return "positive"
    if text in ("0", "-1", "neg", "negative", "差评", "负面", "消极") or text.startswith("neg"):
        return "negative"
    return "neutral"


def _polarity(pred: Any, label: str) -> float:
    """p(positive) - p(negative) when the model gives per-class scores, else ±score."""
    scores = getattr(pred, "scores", None) or {}
    if scores:
        pos = sum(v for k, v in scores.items() if normalise_label(k) == "positive")
        neg = sum(v for k, v in scores.items() if normalise_label(k) == "negative")
        return float(pos - neg)
    s = float(getattr(pred, "score", 0.5) or 0.5)
    return s if label == "positive" else (-s if label == "negative" else 0.0)


def score_texts(texts: list[str], model: Any, batch_size: int = 512) -> pd.DataFrame:
    """label / score / polarity per text, in order."""
    from tqdm import tqdm

    labels, scores, pols = [], [], []
    clean = ["" if not isinstance(t, str) else t for t in texts]
    # The lexicon does 20k texts in a second; the classifier takes minutes for a few thousand (~20-150/s),
    # so it shows progress from 1,000 texts on, counted in texts rather than batches.
    fast = isinstance(model, LexiconSentiment)
    if not fast:
        batch_size = min(batch_size, 128)
    bar = tqdm(total=len(clean), desc="sentiment", unit="text",
               disable=len(clean) < (20_000 if fast else 1_000))
    for i in range(0, len(clean), batch_size):
        for pred in model.predict(clean[i:i + batch_size]):
            label = normalise_label(getattr(pred, "label", "neutral"))
            labels.append(label)
            scores.append(float(getattr(pred, "score", 0.0) or 0.0))
            pols.append(_polarity(pred, label))
        bar.update(min(batch_size, len(clean) - i))
    bar.close()
    return pd.DataFrame({"sentiment": labels, "confidence": scores, "polarity": pols})


def cap_rows_for_model(table: Table, model_name: str, cfg: AnalyticsConfig, notes: list[str]) -> Table:
    """The trained classifier is ~700x slower than the lexicon: score a seeded uniform sample of big inputs."""
    n = len(table.df)
    if "fallback" in model_name or n <= cfg.classifier_max_rows:
        return table
    notes.append(f"the classifier scored a uniform random sample of {cfg.classifier_max_rows:,} of {n:,} rows "
                 f"(analytics.classifier_max_rows); use --sentiment-model lexicon to score every row")
    df = table.df.sample(cfg.classifier_max_rows, random_state=cfg.seed).sort_index().reset_index(drop=True)
    return Table(df, table.path, table.encoding, table.total_rows, table.notes)


def robust_z(values: pd.Series) -> pd.Series:
    """(x - median) / (1.4826 * MAD): a spike does not inflate its own yardstick as a std would."""
    med = values.median()
    mad = (values - med).abs().median() * 1.4826
    if not mad:
        mad = values.std(ddof=0) or 1.0
    return (values - med) / mad


def sentiment_trend(dates: pd.Series, labels: pd.Series, freq: str = "week", spike_z: float = 3.0) -> pd.DataFrame:
    """One row per period: n, share of each label, net sentiment, volume z, spike flag, and `partial` when the
    data begins after the period's first day or ends before its last (the first and last week of most exports)."""
    periods = dates.dt.to_period(FREQ_ALIASES[freq])
    period = periods.dt.start_time
    counts = pd.crosstab(period.values, labels.values).reindex(columns=list(LABELS), fill_value=0)
    # Periods with no messages at all are real zeros for volume (a quiet week), so fill the calendar.
    calendar = pd.period_range(periods.min(), periods.max(), freq=FREQ_ALIASES[freq])
    full = calendar.start_time
    counts = counts.reindex(full, fill_value=0)
    # Whole days only: a day's messages from 09:00 on do not make that day partial.
    first_day, last_day = dates.min().normalize(), dates.max().normalize()
    partial = (calendar.start_time < first_day) | (calendar.end_time.normalize() > last_day)
    if (dates.dropna().dt.normalize() == period.dropna()).all():
        # every row dated on its period's first day: a per-period export (ISO weeks "2026-W05", monthly rows on the
        # 1st), whose last period is whole, not one that stops on its Monday
        partial[:] = False
    n = counts.sum(axis=1)
    # A quiet period has no shares (NaN, a gap in the chart), not 0%: "net went to +0.0%" and "best +0.0%" once
    # named a week without a single message.
    shares = counts.div(n.where(n > 0), axis=0)
    trend = shares.copy()
    trend.insert(0, "n", n)
    trend["net"] = trend["positive"] - trend["negative"]
    trend["volume_z"] = robust_z(n.astype(float)).round(2)
    trend["spike"] = (trend["volume_z"] > spike_z) & (n >= 5)
    trend["partial"] = partial
    trend.index.name = "period"
    return trend.reset_index()


def _trend_headline(trend: pd.DataFrame, freq: str, dates: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """(first, last period the headline stands on, its text). A period the data covers only in part (it starts
    or stops mid-week) holds fewer, less typical messages: "went from +49% to +4%" once rested on half a week. So
    from/to/best/worst come from whole periods, and the headline says which were left out."""
    dated = trend[trend["n"] > 0]  # a period without messages has no sentiment to go from or to
    whole = dated[~dated["partial"]]
    basis = whole if len(whole) >= 2 else dated
    first, last = basis.iloc[0], basis.iloc[-1]
    text = (f"{len(trend)} periods from {trend['period'].iloc[0]:%Y-%m-%d} to {trend['period'].iloc[-1]:%Y-%m-%d}. "
            f"Net sentiment went from {first['net']:+.1%} ({first['period']:%Y-%m-%d}) to {last['net']:+.1%} "
            f"({last['period']:%Y-%m-%d}); best {basis['net'].max():+.1%}, worst {basis['net'].min():+.1%} "
            f"({basis.loc[basis['net'].idxmin(), 'period']:%Y-%m-%d}).")
    partial = trend[trend["partial"]]
    if not len(partial):
        return first, last, text
    span = f"the data runs from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"
    left_out = ", ".join(f"{p:%Y-%m-%d}" for p in partial["period"])
    if basis is whole:
        text += (f" Left out as partial {freq}s ({span}, so they cover only part of the {freq}): {left_out}; "
                 "marked in the table's `partial` column and hatched in the chart.")
    else:  # too few whole periods to leave any out: say the figures rest on partial ones
        text += (f" Fewer than two whole {freq}s ({span}): these figures include the partial {freq}s {left_out}; "
                 f"try a shorter --freq.")
    return first, last, text


def trend_long(trend: pd.DataFrame) -> pd.DataFrame:
    """Long form (period, sentiment, share) for an interactive line plot (gradio LinePlot)."""
    long = trend.melt(id_vars=["period"], value_vars=list(LABELS), var_name="sentiment", value_name="share")
    long = long.dropna(subset=["share"])  # quiet periods: no point (NaN is no JSON for the app's plot)
    return long.sort_values(["period", "sentiment"]).reset_index(drop=True)


def analyze_sentiment(table: Table, cfg: AnalyticsConfig | None = None, text_column: str | None = None,
                      date_column: str | None = None, group_column: str | None = None, model: Any = None,
                      settings: Any = None, freq: str | None = None) -> AnalysisResult:
    """Sentiment shares overall, per group (product/brand) and over time, with spikes flagged."""
    from assistant.analytics.plots import bar_figure, trend_figure

    cfg = cfg or AnalyticsConfig()
    freq = freq or cfg.freq
    df, notes = table.df, list(table.notes)
    text_col = find_text_column(df, text_column)
    table = drop_empty_texts(table, text_col, notes)
    if model is None:
        model, model_name = load_sentiment_model(cfg, settings)
    else:
        model_name = getattr(model, "name", type(model).__name__)
    df = cap_rows_for_model(table, model_name, cfg, notes).df
    scored = score_texts(df[text_col].tolist(), model)
    scored.insert(0, "text", df[text_col].astype(str).values)
    # the file's other columns come along (an id, the customer, the product), so the scores join back to it
    for c in df.columns:
        if c != text_col and str(c) not in scored.columns and str(c) != "date":
            scored[str(c)] = df[c].values
    if "fallback" in model_name:
        notes.append(f"sentiment by the {model_name}: a keyword model, less accurate than the trained classifier")
    overall = scored["sentiment"].value_counts().reindex(list(LABELS), fill_value=0)
    share = overall / max(1, overall.sum())
    overall_df = pd.DataFrame({"sentiment": list(LABELS), "count": overall.values, "share": share.round(4).values})
    tables = {"scored": scored, "overall": overall_df}
    figures: dict[str, Any] = {}
    facts: dict[str, Any] = {"rows": len(df), "model": model_name, "positive_share": float(share["positive"]),
                             "negative_share": float(share["negative"]),
                             "net_sentiment": float(share["positive"] - share["negative"])}
    lines = [f"# Sentiment of {len(df):,} messages", "",
             f"Model: {model_name}. Positive {share['positive']:.1%}, neutral {share['neutral']:.1%}, "
             f"negative {share['negative']:.1%} (net {facts['net_sentiment']:+.1%})."]

    date_col = find_date_column(df, date_column)
    dates = guessed_dates(df, date_col, bool(date_column), notes) if date_col else None
    if date_col is None:
        notes.append("no date column found: the trend over time is skipped (name one with --date-column)")
    elif dates is not None:
        scored["date"] = dates.values
        ok = dates.notna().values
        trend = sentiment_trend(dates[ok], scored["sentiment"][ok].set_axis(dates[ok].index), freq, cfg.spike_z)
        tables["trend"] = trend
        tables["trend_long"] = trend_long(trend)
        first, last = trend.iloc[0], trend.iloc[-1]
        if len(trend) == 1:  # "went from +44% to +44%" and a one-dot chart would pass for a flat trend
            lines += ["", f"## Trend per {freq}", "",
                      f"Every dated message falls in one {freq} ({first['period']:%Y-%m-%d}): no trend to show"
                      + ("; try --freq day." if freq != "day" else ".")]
            notes.append(f"all dates fall in one {freq}: the trend chart is left out")
        else:
            figures["trend"] = trend_figure(trend, f"Sentiment per {freq} ({model_name.split(' (')[0]})")
            first, last, headline = _trend_headline(trend, freq, dates[ok])
            lines += ["", f"## Trend per {freq}", "", headline]
        facts["partial_periods"] = [f"{p:%Y-%m-%d}" for p in trend.loc[trend["partial"], "period"]]
        spikes = trend[trend["spike"]]
        facts["spikes"] = [f"{p:%Y-%m-%d}" for p in spikes["period"]]
        facts["trend_first_net"], facts["trend_last_net"] = float(first["net"]), float(last["net"])
        if len(spikes):
            lines += ["", "**Volume spikes** (trend signals):", ""]
            for _, r in spikes.iterrows():
                lines.append(f"- {r['period']:%Y-%m-%d}: {int(r['n'])} messages (z = {r['volume_z']:.1f}), "
                             f"negative share {r['negative']:.0%}")
        else:
            lines += ["", "No volume spikes."]
    group_col = group_column if group_column else None
    if group_col:
        from assistant.analytics.io import group_labels, require_column

        require_column(df, group_col, "group")
        labels, blanks = group_labels(df[group_col])
        if blanks:
            notes.append(f"{blanks:,} message(s) with no {group_col!r} are shown as {BLANK}")
        by = pd.crosstab(labels.values, scored["sentiment"]).reindex(columns=list(LABELS), fill_value=0)
        by["n"] = by.sum(axis=1)
        by["net"] = ((by["positive"] - by["negative"]) / by["n"]).round(4)
        by = by.sort_values("n", ascending=False)
        by.index.name = group_col
        tables["by_group"] = by.reset_index()
        top = by.head(15).sort_values("net")
        figures["by_group"] = bar_figure(top.index.tolist(), (top["net"] * 100).tolist(),
                                         f"Net sentiment by {group_col}, %", fmt="{:+.0f}")
        worst = by[by["n"] >= 5].sort_values("net").head(3)
        lines += ["", f"## By {group_col}", "", "Lowest net sentiment: " + "; ".join(
            f"{i} {r['net']:+.0%} (n={int(r['n'])})" for i, r in worst.iterrows()) if len(worst) else
            f"Every {group_col} has fewer than 5 messages: too few to rank (see the by_group table)."]
    facts["polarity_mean"] = float(np.mean(scored["polarity"])) if len(scored) else 0.0
    return AnalysisResult("sentiment", "\n".join(lines), tables, figures, notes, facts)

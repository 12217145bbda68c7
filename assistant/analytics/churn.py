"""Who is likely to churn (or buy) and why: logistic regression, gradient boosting when clearly better.

Reports held-out AUC, precision/recall, calibration, global effects (odds ratios per standard deviation,
permutation importances) and, for every customer, the features that push the score up, in plain words.
The per-customer reasons are the logistic model's linear contributions (coefficient × standardised
value): exact for that model and readable, where SHAP would add a dependency for the same story.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import (
    AnalysisResult,
    Table,
    find_column,
    numeric_feature_columns,
    require_column,
    small_data_threads,
    to_numeric_frame,
)
from assistant.errors import InputError

log = logging.getLogger(__name__)

WEAK_AUC = 0.6  # below it a model ranks customers barely better than chance

TARGET_PATTERNS = (r"churn|churned|is_churn|churn_flag|purchased|converted|target|label|y|流失|是否流失|购买|是否购买",
                   r".*(churn|purchase|convert|流失|购买).*")
_POSITIVE = re.compile(r"^(1|1\.0|true|yes|y|churn|churned|purchased|converted|bought|是|流失|已流失|购买)$", re.I)


def binary_target(series: pd.Series, name: str, notes: list[str]) -> pd.Series:
    # "Yes" and "yes" typed by different people are one answer: four "values" stopped the model.
    series = series.where(series.isna(), series.astype(str).str.strip().str.lower())
    s = series.dropna()
    values = sorted(s.astype(str).str.strip().unique())
    if len(values) < 2:
        raise InputError(f"target column {name!r} has only one class ({values[0] if values else 'empty'}): "
                         "need both customers who did and who did not")
    if len(values) > 2:
        raise InputError(f"target column {name!r} must have two values (0/1, yes/no), got {len(values)}: "
                         + ", ".join(values[:5]))
    pos = [v for v in values if _POSITIVE.match(v)]
    if len(pos) != 1:
        pos = [s.astype(str).str.strip().value_counts().idxmin()]
        notes.append(f"target {name!r}: treating the rarer value {pos[0]!r} as the positive class")
    return (series.astype(str).str.strip() == pos[0]).astype(int).where(series.notna())


def _feature_columns(df: pd.DataFrame, target: str, id_col: str | None, notes: list[str]):
    num = numeric_feature_columns(df, exclude={target, *(c for c in (id_col,) if c)})
    cat = []
    for c in df.columns:
        if c in num or c in (target, id_col):
            continue
        nunique = df[c].nunique()
        # Few distinct text values = a category (channel, city tier); many = free text or an ID.
        if 2 <= nunique <= 20 and not pd.api.types.is_numeric_dtype(df[c]):
            cat.append(c)
        elif not pd.api.types.is_numeric_dtype(df[c]):
            notes.append(f"column {c!r} is neither a number nor a small category: left out")
    return num, cat


def _pipeline(num: list[str], cat: list[str], model: Any):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    steps = []
    if num:
        steps.append(("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                       ("scale", StandardScaler())]), num))
    if cat:
        steps.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                       ("onehot", OneHotEncoder(handle_unknown="ignore"))]), cat))
    return Pipeline([("prep", ColumnTransformer(steps, sparse_threshold=0)), ("model", model)])


def _metrics(y, p) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, f1_score, precision_score, recall_score, roc_auc_score

    pred = (p >= 0.5).astype(int)
    return {"auc": float(roc_auc_score(y, p)), "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)), "f1": float(f1_score(y, pred, zero_division=0)),
            "brier": float(brier_score_loss(y, p))}


def _pretty(name: str, cat: list[str]) -> str:
    """'channel_email' (a one-hot column) -> 'channel = email'."""
    for c in sorted(cat, key=len, reverse=True):
        if name.startswith(c + "_"):
            return f"{c} = {name[len(c) + 1:]}"
    return name


def explain_customer(row_contrib: pd.Series, raw: pd.Series, means: pd.Series, top: int = 3) -> str:
    """'recency_days 210 (avg 61) raises risk; frequency 1 (avg 5) raises risk' from one row of contributions.

    A category counts only when the customer has it: "channel = organic" also "raised" the risk of every customer
    who came by another channel (not being organic, against a negative coefficient), and was named for them."""
    parts = []
    for feat, c in row_contrib.sort_values(ascending=False).items():
        if c <= 0.05 or len(parts) == top:
            break
        if feat in means.index:
            parts.append(f"{feat} {_figure(raw[feat])} (avg {_figure(means[feat])})")
            continue
        column, _, value = str(feat).partition(" = ")
        if value and str(raw.get(column, "")) == value:
            parts.append(feat)
    return ("higher because of: " + "; ".join(parts)) if parts else "no strong risk factor"


def _figure(x) -> str:
    """A feature's value as people read it: 210, 1,299, 0.95 (a rate of 0.95 had read "1", against "avg 1")."""
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 100 or x.is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")


def analyze_churn(table: Table, cfg: AnalyticsConfig | None = None, target_column: str | None = None,
                  id_column: str | None = None, features: list[str] | None = None) -> AnalysisResult:
    cfg = cfg or AnalyticsConfig()
    df, notes = table.df, list(table.notes)
    target = find_column(df, target_column, TARGET_PATTERNS, "target")
    id_col = (require_column(df, id_column, "id") if id_column else
              find_column(df, None, (r"customer_id|user_id|id|客户id|用户id",), "id", required=False))
    y = binary_target(df[target], target, notes)
    if y.isna().any():  # said, or "57 customers" of 60 reads as a miscount
        notes.append(f"{int(y.isna().sum()):,} rows with no {target!r} value were left out")
    df = df[y.notna()]
    y = y[y.notna()].astype(int)
    if features:
        for c in features:
            require_column(df, c, "feature")
        # '¥1,299' or '12%' are numbers too (as for the automatic choice), not categories of text.
        num = [c for c in features if c in numeric_feature_columns(df[[c]], exclude=set()) or
               pd.api.types.is_numeric_dtype(df[c])]
        cat = [c for c in features if c not in num]
        for c in cat:  # one-hot of an ID gives every customer their own "reason": nothing learnt
            n_values = df[c].nunique()
            if n_values > 20 and n_values > len(df) / 2:
                raise InputError(f"feature {c!r} has {n_values:,} different text values in {len(df):,} rows: "
                                 "an ID or free text, not something to predict from")
    else:
        num, cat = _feature_columns(df, target, id_col, notes)
    if not num and not cat:
        raise InputError("no usable feature columns (numbers or small categories) besides the target")
    X = pd.concat([to_numeric_frame(df, num, notes), df[cat].astype(str)], axis=1)
    num = [c for c in num if c in X]
    # A column with one value cannot tell anyone apart: fitted anyway it gives AUC 0.5 and "odds × 1.00".
    constant = [c for c in X.columns if X[c].nunique(dropna=True) <= 1]
    if constant:
        notes.append("columns with a single value were left out: " + ", ".join(map(str, constant)))
        X = X.drop(columns=constant)
        num, cat = [c for c in num if c in X], [c for c in cat if c in X]
    if X.shape[1] == 0:
        raise InputError("every feature column holds a single value (or no numbers): nothing to predict "
                         f"{target!r} from")
    if len(X) < cfg.min_rows:
        raise InputError(f"churn/purchase model needs at least {cfg.min_rows} rows, got {len(X)}")
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 5:
        raise InputError(f"target {target!r} has only {minority} rows of its rarer class: need at least 5 of each")
    with small_data_threads(len(X)):
        return _fit_and_explain(X, y, df, num, cat, target, id_col, notes, cfg)


def _fit_and_explain(X, y, df, num, cat, target, id_col, notes, cfg) -> AnalysisResult:
    from sklearn.calibration import calibration_curve
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from assistant.analytics.plots import bar_figure, calibration_figure

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg.test_size, stratify=y, random_state=cfg.seed)
    minority = int(min(y.sum(), len(y) - y.sum()))
    lr = _pipeline(num, cat, LogisticRegression(max_iter=2000, class_weight="balanced")).fit(Xtr, ytr)
    # Balanced weights fit the model as if half the customers churned: at a 5% base rate every "probability"
    # came out ~5x too high (mean 27%). Shifting the intercept by the training logit of the base rate (prior
    # correction) gives probabilities on the real scale; the ranking, AUC and coefficients are unchanged.
    base = float(ytr.mean())
    lr.named_steps["model"].intercept_ += np.log(base / (1 - base))
    m_lr = _metrics(yte, lr.predict_proba(Xte)[:, 1])
    gb = _pipeline(num, cat, HistGradientBoostingClassifier(random_state=cfg.seed, max_iter=100,
                                                            early_stopping=len(Xtr) > 1000)).fit(Xtr, ytr)
    m_gb = _metrics(yte, gb.predict_proba(Xte)[:, 1])
    use_gb = m_gb["auc"] >= m_lr["auc"] + cfg.gb_min_gain
    best, m = (gb, m_gb) if use_gb else (lr, m_lr)
    chosen = "gradient boosting" if use_gb else "logistic regression"
    p_te = best.predict_proba(Xte)[:, 1]
    bins = min(10, max(2, minority // 10))
    prob_true, prob_pred = calibration_curve(yte, p_te, n_bins=bins, strategy="quantile")
    calib = pd.DataFrame({"predicted": prob_pred.round(4), "observed": prob_true.round(4)})

    # Global effects: odds ratio per one standard deviation (numbers) or vs. the other categories.
    names = [_pretty(n.split("__", 1)[1], cat) for n in lr.named_steps["prep"].get_feature_names_out()]
    coef = lr.named_steps["model"].coef_[0]
    effects = pd.DataFrame({"feature": names, "coefficient": coef.round(4), "odds_ratio": np.exp(coef).round(3)})
    effects = effects.reindex(effects["coefficient"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    imp = permutation_importance(best, Xte, yte, scoring="roc_auc", n_repeats=3, random_state=cfg.seed)
    importance = pd.DataFrame({"feature": X.columns, "auc_drop": imp.importances_mean.round(4)}).sort_values(
        "auc_drop", ascending=False).reset_index(drop=True)

    # Every customer: probability from the chosen model, reasons from the linear contributions.
    Zall = lr.named_steps["prep"].transform(X)
    # Centred: a reason is what sets this customer apart from the average one.
    contrib = pd.DataFrame((Zall - Zall.mean(axis=0)) * coef, columns=names, index=X.index)
    means = X[num].mean()
    proba = best.predict_proba(X)[:, 1]
    scores = pd.DataFrame({"customer": df[id_col].values if id_col else X.index.values,
                           "probability": proba.round(4), "actual": y.values})
    scores["why"] = [explain_customer(contrib.loc[i], X.loc[i], means) for i in X.index]
    scores = scores.sort_values("probability", ascending=False).reset_index(drop=True)

    words = []
    for _, r in effects.head(cfg.top_n).iterrows():
        f, orr = r["feature"], r["odds_ratio"]
        unit = f"one standard deviation more {f} (≈{X[f].std():,.1f})" if f in num else f"being {f}"
        words.append(f"- {unit} multiplies the odds of {target} by {orr:.2f} ({'more' if orr > 1 else 'less'} likely)")
    lines = [f"# Predicting {target!r} for {len(X):,} customers", "",
             f"Base rate {y.mean():.1%}. Held-out ({cfg.test_size:.0%}, {len(yte):,} rows): logistic regression "
             f"AUC {m_lr['auc']:.3f}, gradient boosting AUC {m_gb['auc']:.3f} → using **{chosen}**"
             + ("" if use_gb else f" (boosting must win by {cfg.gb_min_gain:.2f} AUC to be chosen)") + ".",
             f"At a 0.5 threshold: precision {m['precision']:.2f}, recall {m['recall']:.2f}, F1 {m['f1']:.2f}; "
             f"Brier {m['brier']:.3f}. A majority-class guess has AUC 0.500.", "", "## What drives it", "", *words, "",
             "## Highest-risk customers", ""]
    if m["auc"] < WEAK_AUC:  # a ranked list and "reasons" from a coin toss would still be acted on
        weak = (f"held-out AUC {m['auc']:.2f} is little better than guessing (0.50): these columns do not predict "
                f"{target!r}; do not act on the scores or reasons below")
        notes.append(weak)
        lines[2:2] = [f"**Warning: {weak}.**", ""]
    lines += [f"- {r['customer']}: {r['probability']:.0%} — {r['why']}" for _, r in scores.head(cfg.top_n).iterrows()]
    figures = {"calibration": calibration_figure(prob_true, prob_pred, m["auc"], f"Calibration ({chosen})"),
               "effects": bar_figure(effects["feature"].head(10).tolist(), effects["coefficient"].head(10).tolist(),
                                     "Logistic coefficients (per SD; >0 raises the odds)", fmt="{:+.2f}")}
    facts = {"target": target, "rows": len(X), "base_rate": float(y.mean()), "model": chosen,
             "auc": m["auc"], "auc_logistic": m_lr["auc"], "auc_boosting": m_gb["auc"], **{k: m[k] for k in
             ("precision", "recall", "f1", "brier")}, "top_driver": effects["feature"].iloc[0]}
    metrics = pd.DataFrame([{"model": "logistic regression", **m_lr}, {"model": "gradient boosting", **m_gb}])
    return AnalysisResult("churn", "\n".join(lines), {"scores": scores, "metrics": metrics, "effects": effects,
                                                      "importance": importance, "calibration": calib},
                          figures, notes, facts)

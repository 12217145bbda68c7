"""Customer segments: RFM features (from orders) or any numeric columns -> scaled K-means, k by silhouette.

Each segment gets a profile (size, mean of every feature next to the overall mean) and a short persona
written by the LLM from exactly those numbers, which are kept beside it so a marketer can check it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import (
    AMOUNT_PATTERNS,
    CUSTOMER_PATTERNS,
    AnalysisResult,
    Table,
    find_column,
    find_date_column,
    numeric_feature_columns,
    parse_dates,
    require_column,
    small_data_threads,
    to_numeric_frame,
)
from assistant.errors import GenerationError, InputError

log = logging.getLogger(__name__)

PRODUCT_PATTERNS = (r"product|product_name|product_title|item|item_name|lineitem_name|line_item_name|sku|category|商品|商品名称"
                    r"|品类|类目",)  # "Lineitem name": Shopify's orders export

PERSONA_SYSTEM = ("You are a marketing analyst. Describe a customer segment as a short persona in 2-3 sentences "
                  "and suggest one marketing action. Use only the numbers given; do not invent others.")


# An order number column: exports with one row per line item (Shopify's "Name" = "#1001") repeat it.
ORDER_PATTERNS = (r"order_id|order|order_no|order_number|order_name|订单号|订单编号|订单id",)


def order_column(df: pd.DataFrame, customer_col: str) -> str | None:
    """The order-number column, when rows are line items of fewer orders (else every row is an order)."""
    col = find_column(df, None, ORDER_PATTERNS, "order", required=False)
    if col is None and "name" in map(str.lower, map(str, df.columns)):
        name = next(c for c in df.columns if str(c).lower() == "name")
        if df[name].astype(str).str.fullmatch(r"#?\d+").mean() > 0.9:  # Shopify: "#1001"
            col = name
    if col is None or col == customer_col or df[col].nunique() >= df[col].notna().sum():
        return None
    return col


def rfm_features(orders: pd.DataFrame, customer_col: str, date_col: str, amount_col: str,
                 notes: list[str], order_col: str | None = None) -> pd.DataFrame:
    """recency_days (since the last order, relative to the day after the newest order), frequency (orders, not
    line items, when an order column is given), monetary."""
    dates = parse_dates(orders, date_col, notes)
    amount = to_numeric_frame(orders, [amount_col], notes)
    if amount_col not in amount:
        raise InputError(f"amount column {amount_col!r} is not numeric")
    frame = pd.DataFrame({"customer": orders[customer_col].values, "date": dates.values,
                          "amount": amount[amount_col].values,
                          "order": orders[order_col].values if order_col else range(len(orders))}
                         ).dropna(subset=["date", "customer"])
    snapshot = frame["date"].max() + pd.Timedelta(days=1)
    g = frame.groupby("customer")
    rfm = pd.DataFrame({"recency_days": (snapshot - g["date"].max()).dt.days,
                        "frequency": g["order"].nunique(), "monetary": g["amount"].sum().round(2)})
    if order_col:
        notes.append(f"{len(frame):,} rows are line items of {frame['order'].nunique():,} orders ({order_col!r}): "
                     "frequency counts orders")
    rfm.index.name = customer_col
    return rfm


def _commonest(s: pd.Series) -> Any:
    """The most frequent value, None when every cell is empty (a customer whose product cells are all blank
    stopped the segmentation with an IndexError)."""
    counts = s.value_counts()
    return counts.index[0] if len(counts) else None


def _scale(X: pd.DataFrame) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    Z = X.copy()
    for c in Z.columns:
        # Money and counts are heavy-tailed: without log1p one big spender becomes a segment of one.
        if (Z[c] >= 0).all() and Z[c].skew() > 1:
            Z[c] = np.log1p(Z[c])
    return StandardScaler().fit_transform(Z.values)


def choose_k(Z: np.ndarray, cfg: AnalyticsConfig) -> tuple[int, dict[int, float], Any]:
    """Fit K-means for each k and keep the best silhouette (scored on a sample for speed)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(Z)
    # More clusters than distinct rows leaves some empty (sklearn warns on stderr): never try them.
    distinct = len(np.unique(Z.round(9), axis=0))
    if distinct < cfg.min_k:
        raise InputError(f"only {distinct} distinct customer profile(s) in the data: fewer than the "
                         f"{cfg.min_k} segments analytics.min_k asks for")
    scores, models = {}, {}
    for k in range(cfg.min_k, min(cfg.max_k, n - 1, distinct) + 1):
        km = KMeans(n_clusters=k, n_init=4, random_state=cfg.seed).fit(Z)
        if len(set(km.labels_)) < 2:
            continue
        scores[k] = float(silhouette_score(Z, km.labels_, sample_size=min(cfg.silhouette_sample, n),
                                           random_state=cfg.seed))
        models[k] = km
    if not scores:
        raise InputError("the rows are all alike: no two segments can be told apart")
    best = max(scores, key=scores.get)
    return best, scores, models[best]


def _describe(means: pd.Series, overall: pd.Series, spread: pd.Series) -> str:
    z = ((means - overall) / spread.replace(0, 1)).sort_values(key=abs, ascending=False)
    return ", ".join(f"{'high' if v > 0 else 'low'} {c}" for c, v in z.head(2).items() if abs(v) > 0.25) or "average"


def rfm_name(means: pd.Series, overall: pd.Series) -> str:
    recent = means["recency_days"] < overall["recency_days"]
    frequent = means["frequency"] > overall["frequency"]
    big = means["monetary"] > overall["monetary"]
    if recent and frequent and big:
        return "champions"
    if recent and (frequent or big):
        return "loyal / growing"
    if recent:
        return "new or occasional"
    if frequent or big:
        return "at risk (valuable, lapsing)"
    return "lapsed / hibernating"


def profile_segments(X: pd.DataFrame, labels: np.ndarray, rfm: bool) -> pd.DataFrame:
    overall, spread = X.mean(), X.std(ddof=0)
    rows = []
    for seg in sorted(set(labels)):
        part = X[labels == seg]
        means = part.mean()
        row = {"segment": int(seg), "customers": len(part), "share": round(len(part) / len(X), 4)}
        row.update({c: round(float(v), 2) for c, v in means.items()})
        row["label"] = rfm_name(means, overall) if rfm else _describe(means, overall, spread)
        row["describes"] = _describe(means, overall, spread)
        rows.append(row)
    return pd.DataFrame(rows)


def persona_basis(row: pd.Series, features: list[str], overall: pd.Series) -> str:
    parts = [f"{c} {row[c]:,.1f} (all customers {overall[c]:,.1f})" for c in features]
    return (f"Segment {row['segment']} ({row['label']}): {row['customers']:,} customers, {row['share']:.0%} of all. "
            f"Averages: " + "; ".join(parts) + ".")


def write_personas(profiles: pd.DataFrame, features: list[str], overall: pd.Series, backend: Any,
                   cfg: AnalyticsConfig) -> pd.DataFrame:
    """Adds `persona_basis` (the numbers) and `persona` (LLM text, or the basis when no LLM is given)."""
    from assistant.llm import Message

    out = profiles.copy()
    bases, personas = [], []
    for _, row in profiles.iterrows():
        basis = persona_basis(row, features, overall)
        bases.append(basis)
        if backend is None:
            personas.append("")
            continue
        try:
            text = backend.generate([Message("system", PERSONA_SYSTEM), Message("user", basis)],
                                    max_tokens=cfg.persona_max_tokens, temperature=0.3, seed=cfg.seed)
        except GenerationError as exc:
            log.warning("persona for segment %s failed: %s", row["segment"], exc)
            text = ""
        personas.append(" ".join(text.split()))
    out["persona_basis"] = bases
    out["persona"] = personas
    return out


def analyze_segments(table: Table, cfg: AnalyticsConfig | None = None, backend: Any = None,
                     customer_column: str | None = None, date_column: str | None = None,
                     amount_column: str | None = None, features: list[str] | None = None) -> AnalysisResult:
    from sklearn.decomposition import PCA

    from assistant.analytics.plots import line_figure, scatter_segments_figure

    cfg = cfg or AnalyticsConfig()
    df, notes = table.df, list(table.notes)
    cust = find_column(df, customer_column, CUSTOMER_PATTERNS, "customer", required=False)
    date = find_date_column(df, date_column)
    amount = find_column(df, amount_column, AMOUNT_PATTERNS, "amount", required=False)
    orders = bool(cust) and df[cust].nunique() < len(df)  # a customer on several rows: these are orders
    use_rfm = not features and cust and date and amount and orders
    if orders and not features and not use_rfm:
        # each order would count as a customer of its own (one customer in several segments)
        missing = " and ".join(what for what, col in (("a date", date), ("an amount", amount)) if not col)
        raise InputError(f"these rows look like orders ({cust!r} repeats), and segmenting orders by customer needs "
                         f"{missing} column: name it with --{'date' if not date else 'amount'}-column, or give one "
                         "row per customer")
    top_product = None
    if use_rfm:
        X = rfm_features(df, cust, date, amount, notes, order_column(df, cust))
        ids = X.index.to_series().values
        product = find_column(df, None, PRODUCT_PATTERNS, "product", required=False)
        if product:  # what each customer buys most: the recommendation for the segment's e-mail
            top_product = df.groupby(cust)[product].agg(_commonest).reindex(X.index)
        method = f"RFM from orders ({cust}, {date}, {amount})"
    else:
        from assistant.analytics.churn import TARGET_PATTERNS

        # An outcome flag (churned, purchased) is what segments should explain later, not define them.
        target = find_column(df, None, TARGET_PATTERNS, "target", required=False)
        for c in features or ():
            require_column(df, c, "feature")
        cols = features or numeric_feature_columns(df, exclude={c for c in (cust, target) if c})
        X = to_numeric_frame(df, cols, notes)
        if features and X.shape[1] == 0:
            raise InputError(f"--features {', '.join(features)}: none of these columns holds numbers "
                             "(segments are built from numeric columns)")
        ids = df[cust].values if cust else np.arange(len(df))
        method = "numeric columns " + ", ".join(X.columns)
    if X.shape[1] == 0:
        raise InputError("no numeric columns to segment on (give orders with customer/date/amount, or numbers)")
    keep = X.notna().all(axis=1).values
    if (~keep).any():
        notes.append(f"{int((~keep).sum()):,} rows with missing values were left out")
    X, ids = X[keep], ids[keep]
    if len(X) < cfg.min_rows:  # before the constant columns: one customer's columns are all "constant"
        raise InputError(f"segmentation needs at least {cfg.min_rows} customers, got {len(X)}")
    constant = [c for c in X.columns if X[c].nunique() <= 1]
    if constant:
        notes.append("constant columns left out: " + ", ".join(constant))
        X = X.drop(columns=constant)
    if X.shape[1] == 0:
        raise InputError("every numeric column is constant: nothing to segment on")
    if len(X) < cfg.min_rows:
        raise InputError(f"segmentation needs at least {cfg.min_rows} customers, got {len(X)}")
    Z = _scale(X)
    with small_data_threads(len(Z)):
        k, sil, km = choose_k(Z, cfg)
    labels = km.labels_
    profiles = profile_segments(X, labels, bool(use_rfm))
    if top_product is not None:
        tops = top_product[keep].groupby(labels).agg(_commonest)
        profiles["top_product"] = profiles["segment"].map(tops)
    profiles = write_personas(profiles, list(X.columns), X.mean(), backend, cfg)
    if backend is None:
        notes.append("no LLM given: personas are left empty; persona_basis holds the numbers")
    assign = pd.DataFrame({"customer": ids, "segment": labels})
    xy = PCA(n_components=2, random_state=cfg.seed).fit_transform(Z) if Z.shape[1] >= 2 else np.c_[Z, np.zeros(len(Z))]
    figures = {"segments": scatter_segments_figure(xy, labels, f"{k} segments (PCA of scaled features)"),
               "silhouette": line_figure(list(sil), {"silhouette": list(sil.values())}, "Silhouette by k", "score")}
    lines = [f"# {k} customer segments", "", f"{len(X):,} customers, features: {method}. k = {k} chosen by "
             f"silhouette ({sil[k]:.3f}; tried k = {min(sil)}..{max(sil)}).", "",
             "| segment | label | customers | share | " + " | ".join(X.columns) + " |",
             "|---|---|---|---|" + "---|" * X.shape[1]]
    for _, r in profiles.iterrows():
        lines.append(f"| {r['segment']} | {r['label']} | {r['customers']:,} | {r['share']:.0%} | "
                     + " | ".join(f"{r[c]:,.1f}" for c in X.columns) + " |")
    if backend is not None:
        lines += ["", "## Personas (LLM-written from the numbers above)", ""]
        lines += [f"- **Segment {r['segment']}** ({r['label']}): {r['persona']}" for _, r in profiles.iterrows()]
    facts = {"k": k, "silhouette": sil[k], "silhouettes": sil, "customers": len(X), "rfm": bool(use_rfm),
             "features": list(X.columns)}
    return AnalysisResult("segment", "\n".join(lines), {"profiles": profiles, "assignments": assign},
                          figures, notes, facts)

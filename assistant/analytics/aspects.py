"""What customers talk about: aspects (物流/质量/价格/客服/包装…, shipping/quality/price…) × sentiment.

Each review is cut into clauses; an aspect mentioned in a clause takes that clause's lexicon sentiment
("物流很快，但质量很差" -> shipping positive, quality negative), or the whole review's label when the clause
carries no sentiment word. Chinese is tokenised with jieba so "快递员" is not read as "快递" + noise.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import AnalysisResult, Table, drop_empty_texts, find_text_column
from assistant.analytics.lexicon import ASPECT_NAMES_ZH, ASPECTS, CLAUSE_SPLIT, aspect_index, polarity
from assistant.analytics.sentiment import LABELS, cap_rows_for_model, load_sentiment_model, score_texts

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_WORD = re.compile(r"[a-z]+")
_jieba_ready = False


def _tokens(clause: str) -> list[str]:
    global _jieba_ready
    if _CJK.search(clause):
        import jieba

        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)  # its start-up banner is noise in a CLI
            for kws in ASPECTS.values():
                for kw in kws:
                    if _CJK.search(kw):
                        jieba.add_word(kw)
            _jieba_ready = True
        toks = [t.strip().lower() for t in jieba.lcut(clause)]
        return [t for t in toks if t]
    return _EN_WORD.findall(clause.lower())


def extract_aspects(text: str, review_label: str = "neutral") -> list[tuple[str, str, str, str]]:
    """[(aspect, keyword, sentiment, clause)] for every aspect mentioned, one per aspect and clause."""
    if not isinstance(text, str):
        return []
    index = aspect_index()
    found = []
    for clause in CLAUSE_SPLIT.split(text):
        clause = clause.strip()
        if not clause:
            continue
        seen = set()
        for tok in _tokens(clause):
            aspect = index.get(tok)
            if aspect is None or aspect in seen:
                continue
            seen.add(aspect)
            p = polarity(clause)
            label = "positive" if p > 0 else "negative" if p < 0 else review_label
            found.append((aspect, tok, label, clause))
    return found


def aspect_mentions(texts: list[str], labels: list[str]) -> pd.DataFrame:
    rows = []
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        for aspect, kw, sent, clause in extract_aspects(text, label):
            rows.append((i, aspect, kw, sent, clause))
    return pd.DataFrame(rows, columns=["row", "aspect", "keyword", "sentiment", "clause"])


def aspect_table(mentions: pd.DataFrame, n_reviews: int) -> pd.DataFrame:
    """aspect × sentiment counts, mention rate and negative share, most-complained first."""
    tab = pd.crosstab(mentions["aspect"], mentions["sentiment"]).reindex(columns=list(LABELS), fill_value=0)
    tab["mentions"] = tab.sum(axis=1)
    # Share of reviews that mention the aspect (a review saying "物流慢，物流差" counts once): a rate over mentions
    # read "300% of reviews" when one review names it in three clauses.
    reviews = mentions.groupby("aspect")["row"].nunique().reindex(tab.index, fill_value=0)
    tab["mention_rate"] = (reviews / max(1, n_reviews)).round(4)
    tab["negative_share"] = (tab["negative"] / tab["mentions"]).round(4)
    tab.insert(0, "aspect_zh", [ASPECT_NAMES_ZH.get(a, a) for a in tab.index])
    tab = tab.sort_values(["negative", "mentions"], ascending=False)
    tab.index.name = "aspect"
    return tab.reset_index()


def top_complaints(mentions: pd.DataFrame, n: int = 5, quotes: int = 3) -> pd.DataFrame:
    """Aspects with the most negative mentions, each with its most common keywords and example quotes."""
    neg = mentions[mentions["sentiment"] == "negative"]
    rows = []
    for aspect, grp in neg.groupby("aspect"):
        # Short, clearly negative clauses read best as quotes; dedupe identical ones.
        cand = grp.drop_duplicates("clause").assign(p=lambda g: g["clause"].map(polarity),
                                                     L=lambda g: g["clause"].str.len())
        cand = cand[(cand["L"] >= 4) & (cand["L"] <= 80)].sort_values(["p", "L"])
        rows.append({"aspect": aspect, "aspect_zh": ASPECT_NAMES_ZH.get(aspect, aspect),
                     "negative_mentions": len(grp),
                     "keywords": ", ".join(grp["keyword"].value_counts().head(4).index),
                     "examples": " | ".join(cand["clause"].head(quotes))})
    out = pd.DataFrame(rows, columns=["aspect", "aspect_zh", "negative_mentions", "keywords", "examples"])
    return out.sort_values("negative_mentions", ascending=False).head(n).reset_index(drop=True)


def analyze_aspects(table: Table, cfg: AnalyticsConfig | None = None, text_column: str | None = None,
                    model: Any = None, settings: Any = None, labels: list[str] | None = None) -> AnalysisResult:
    from assistant.analytics.plots import bar_figure, stacked_share_figure

    cfg = cfg or AnalyticsConfig()
    df, notes = table.df, list(table.notes)
    text_col = find_text_column(df, text_column)
    if labels is None:  # given labels are row-aligned with `table`: only then may rows not be dropped
        table = drop_empty_texts(table, text_col, notes)
        df = table.df
        if model is None:
            model, model_name = load_sentiment_model(cfg, settings)
        else:
            model_name = getattr(model, "name", type(model).__name__)
        df = cap_rows_for_model(table, model_name, cfg, notes).df
        labels = score_texts(df[text_col].tolist(), model)["sentiment"].tolist()
        if "fallback" in model_name:
            notes.append(f"review-level sentiment by the {model_name}")
    texts = df[text_col].tolist()
    mentions = aspect_mentions(texts, labels)
    if mentions.empty:
        notes.append("no known aspect (shipping, quality, price, service, packaging…) is mentioned")
        summary = f"# Aspects in {len(df):,} reviews\n\nNo aspect words found in column {text_col!r}."
        return AnalysisResult("aspects", summary, {}, {}, notes, {"rows": len(df), "mentions": 0})
    tab = aspect_table(mentions, len(df))
    complaints = top_complaints(mentions, cfg.top_n)
    figures = {"aspects": stacked_share_figure(tab.set_index("aspect")[list(LABELS)],
                                               "Sentiment of each aspect")}
    if len(complaints):
        figures["complaints"] = bar_figure(complaints["aspect"].tolist(), complaints["negative_mentions"].tolist(),
                                           "Top complaints (negative mentions)", fmt="{:.0f}", color="#c62828")
    lines = [f"# Aspects in {len(df):,} reviews", "",
             f"{len(mentions):,} aspect mentions. Most discussed: " + ", ".join(
                 f"{r['aspect']} ({r['aspect_zh']}) {r['mention_rate']:.0%} of reviews, "
                 f"{r['negative_share']:.0%} negative" for _, r in tab.sort_values("mentions", ascending=False).head(3).iterrows()),
             "", "## Top complaints", ""]
    for _, r in complaints.iterrows():
        quote = r["examples"].split(" | ")[0] if r["examples"] else ""
        lines.append(f"- **{r['aspect']} ({r['aspect_zh']})**: {r['negative_mentions']} negative mentions "
                     f"(keywords: {r['keywords']})" + (f' — e.g. "{quote}"' if quote else ""))
    facts = {"rows": len(df), "mentions": len(mentions),
             "top_complaint": complaints["aspect"].iloc[0] if len(complaints) else None}
    return AnalysisResult("aspects", "\n".join(lines), {"table": tab, "complaints": complaints,
                                                        "mentions": mentions}, figures, notes, facts)

"""Answer a marketer's question about an uploaded CSV: pick the analysis from the words (zh/en) and the
data, run it, and reply with the numbers, the main table and one plot.

The numbers in the reply are written by code from the analysis; the LLM only adds a short takeaway that is
labelled as such, so a small model cannot misquote a figure in the headline.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import AnalysisResult, load_csv
from assistant.analytics.report import default_analysis, detect_kind, run_analysis
from assistant.errors import GenerationError, InputError

log = logging.getLogger(__name__)

# analysis -> keywords; the analysis with the most hits wins, ties go to the order below.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "campaign": ("campaign", "channel", "ctr", "cvr", "cpa", "roi", "roas", "a/b", "ab test", "a/b test", "variant",
                 "beat", "ads", "advert", "conversion rate", "click", "活动", "渠道", "投放", "转化率", "点击率",
                 "广告", "实验", "版本", "回报"),
    "churn": ("churn", "retain", "retention", "leave", "lapse", "likely to buy", "purchase prediction", "predict",
              "who will", "流失", "留存", "预测", "会不会买", "购买意向", "复购"),
    "email": ("email", "e-mail", "newsletter", "write the", "邮件", "写一封", "文案"),
    "segment": ("segment", "cluster", "persona", "rfm", "groups of customers", "customer types", "分群", "细分",
                "人群", "画像", "客群", "聚类"),
    "aspects": ("complain", "complaint", "aspect", "shipping", "delivery", "quality", "price", "packaging", "issue",
                "problem", "投诉", "抱怨", "物流", "快递", "质量", "价格", "包装", "客服", "差评", "问题"),
    "sentiment": ("sentiment", "trend", "mood", "brand", "feel", "opinion", "over time", "week by week", "monthly",
                  "情感", "情绪", "口碑", "趋势", "舆情", "评价", "满意"),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class AnalyticsAnswer:
    text: str
    table: pd.DataFrame | None = None
    plot_path: str | None = None
    analysis: str = ""
    files: dict[str, str] = field(default_factory=dict)


def _count(q: str, keyword: str) -> int:
    """Latin keywords as whole words ("ctr" is not in "electric", "roi" not in "embroidery"); Chinese ones as
    written (no spaces between its words)."""
    if keyword.isascii():
        return len(re.findall(rf"(?<![a-z0-9]){re.escape(keyword)}(?:s|es|ed|ing|ers?)?(?![a-z0-9])", q))
    return q.count(keyword)


TEXT_ANALYSES = ("sentiment", "aspects")  # read customers' words: a file of orders or campaigns has none


def pick_analysis(question: str) -> str | None:
    q = question.lower()
    hits = {name: sum(_count(q, k) for k in kws) for name, kws in KEYWORDS.items()}
    best = max(hits, key=lambda k: hits[k])
    return best if hits[best] else None


_GROUP_WORDS = re.compile(r"product|item|sku|brand|categor|商品|产品|品牌|品类|类目|款")
_GROUP_COLUMN = re.compile(r".*(product|item|sku|brand|category|商品|产品|品牌|品类|类目).*")


def _asked_group(question: str, df: pd.DataFrame) -> str | None:
    """The product/brand column when the question compares them ("which product gets the worst reviews?"):
    the reply gave the shop's overall figures and named no product."""
    if not _GROUP_WORDS.search(question.lower()):
        return None
    return next((c for c in df.columns if _GROUP_COLUMN.fullmatch(str(c).strip().lower())
                 and df[c].nunique() <= max(50, len(df) // 10)), None)


def question_freq(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bday|daily|每天|每日|按天|日度", q):
        return "day"
    if re.search(r"month|每月|按月|月度", q):
        return "month"
    if re.search(r"week|每周|按周|周度", q):
        return "week"
    return None


def _headline(name: str, f: dict, zh: bool) -> str:
    if name == "sentiment":
        s = (f"{f['rows']:,} 条评论：正面 {f['positive_share']:.1%}，负面 {f['negative_share']:.1%}，净情感 "
             f"{f['net_sentiment']:+.1%}。" if zh else
             f"{f['rows']:,} messages: {f['positive_share']:.1%} positive, {f['negative_share']:.1%} negative "
             f"(net {f['net_sentiment']:+.1%}).")
        if "trend_first_net" in f:
            s += (f" 净情感从 {f['trend_first_net']:+.1%} 变为 {f['trend_last_net']:+.1%}。" if zh else
                  f" Net sentiment moved from {f['trend_first_net']:+.1%} to {f['trend_last_net']:+.1%}.")
        if f.get("spikes"):
            s += (" 声量异常：" if zh else " Volume spikes: ") + ", ".join(f["spikes"][:5]) + "."
        return s
    if name == "aspects":
        return (f"{f['rows']:,} 条评论中有 {f['mentions']:,} 次提到具体方面；投诉最多的是 {f['top_complaint']}。" if zh
                else f"{f['mentions']:,} aspect mentions in {f['rows']:,} reviews; most complaints: {f['top_complaint']}.")
    if name in ("segment", "email"):
        return (f"{f['customers']:,} 位客户分成 {f['k']} 个群（轮廓系数 {f['silhouette']:.2f}）。" if zh else
                f"{f['customers']:,} customers fall into {f['k']} segments (silhouette {f['silhouette']:.2f}).")
    if name == "churn":
        return (f"预测 {f['target']}：{f['model']} 留出集 AUC {f['auc']:.3f}（基准 0.5），精确率 {f['precision']:.2f}，"
                f"召回率 {f['recall']:.2f}；最主要因素：{f['top_driver']}。" if zh else
                f"Predicting {f['target']}: {f['model']}, held-out AUC {f['auc']:.3f} (majority baseline 0.500), "
                f"precision {f['precision']:.2f}, recall {f['recall']:.2f}; strongest driver: {f['top_driver']}.")
    if name == "campaign":
        parts = [f"{k.upper()} {f[k]:.2%}" if k in ("ctr", "cvr") else f"{k.upper()} {f[k]:,.2f}"
                 for k in ("ctr", "cvr", "cpa", "roas") if k in f and pd.notna(f[k])]  # ROAS of no spend: none
        s = ("整体：" if zh else "Overall: ") + ", ".join(parts) + "."
        for dim, zh_dim in (("channel", "渠道"), ("campaign", "活动")):  # "which channel works best?" named none
            metric = next((k for k in ("roas", "cvr") if f"best_{dim}_{k}" in f), None)
            if metric and f.get(f"best_{dim}_clear"):
                v = f[f"best_{dim}_{metric}"]
                shown = f"{v:.2%}" if metric == "cvr" else f"{v:.2f}"
                s += (f" 最佳{zh_dim}（按 {metric.upper()}）：{f[f'best_{dim}']}（{shown}）。" if zh else
                      f" Best {dim} by {metric.upper()}: {f[f'best_{dim}']} ({shown}).")
        if "ab_significant" in f:
            s += (f" {f['ab_significant']} 个 A/B 对比显著。" if zh else f" {f['ab_significant']} A/B comparison(s) significant.")
        return s
    return ""


_MAIN_TABLE = {"sentiment": ("trend", "overall"), "aspects": ("table",), "segment": ("profiles",),
               "churn": ("scores",), "campaign": ("ab_tests", "by_campaign", "by_channel"), "email": ("emails",)}


def _takeaway(question: str, result: AnalysisResult, backend: Any, zh: bool) -> str:
    from assistant.llm import Message

    ask = (f"Question: {question}\n\nAnalysis results:\n{result.summary[:1800]}\n\n"
           + ("用两句话给营销人员总结要点和一个建议，只用上面的数字。" if zh else
              "In two sentences, tell a marketer what this means and one thing to do. Use only the numbers above."))
    try:
        return " ".join(backend.generate([Message("user", ask)], max_tokens=90, temperature=0.2).split())
    except GenerationError as exc:
        log.warning("takeaway failed: %s", exc)
        return ""


def answer_analytics_question(question: str, csv_path: str, backend: Any = None,
                              cfg: AnalyticsConfig | None = None, output_dir: str | Path | None = None,
                              settings: Any = None, adcopy_cfg: Any = None) -> AnalyticsAnswer:
    """Pick and run the analysis the question asks for on `csv_path`; numbers, main table, one plot.

    `settings` (the loaded config) lets the sentiment classifier and the ad-copy e-mail writer use the
    shop's configuration; `adcopy_cfg` overrides the latter alone.
    """
    from assistant.config import resolve_path

    if not question or not question.strip():
        raise InputError("ask a question about the data (e.g. 'how did sentiment move week by week?')")
    cfg = cfg or AnalyticsConfig()
    zh = bool(_CJK.search(question))
    table = load_csv(csv_path, cfg)
    kind = detect_kind(table.df)
    asked = pick_analysis(question)
    prefix = ""
    if asked in TEXT_ANALYSES and kind != "reviews":  # no review texts: scoring product names says nothing
        asked = None
        prefix = (f"（这个文件没有顾客评价，是 {kind} 数据；改做 {default_analysis(kind)}。）\n" if zh else
                  f"(This file holds no customer reviews: it looks like {kind} data, so here is the "
                  f"{default_analysis(kind)} analysis.)\n")
    name = asked or default_analysis(kind)
    wanted = "segment" if name == "email" else name
    opts = {"freq": question_freq(question), "group_column": _asked_group(question, table.df) if name == "sentiment"
            else None}
    try:
        result = run_analysis(wanted, table, cfg, backend, opts, settings)
    except InputError as exc:
        fallback = default_analysis(kind)
        if fallback == wanted:
            raise
        prefix = (f"（这个文件不适合做 {wanted}：{exc}；改做 {fallback}。）\n" if zh else
                  f"(This file cannot answer a {wanted} question: {exc}. It looks like {kind} data, so here is "
                  f"the {fallback} analysis.)\n")
        name = wanted = fallback
        result = run_analysis(wanted, table, cfg, backend, opts, settings)
    if name == "email" and backend is not None:
        from assistant.analytics.content import segment_emails

        result.tables["emails"] = segment_emails(result.tables["profiles"], backend, cfg,
                                                 language="zh" if zh else "en", adcopy_cfg=adcopy_cfg or settings)
    digest = hashlib.sha1(f"{Path(csv_path).resolve()}|{question}".encode()).hexdigest()[:10]
    out = Path(output_dir) if output_dir else resolve_path(cfg.output_dir) / "chat" / f"{Path(csv_path).stem}-{digest}"
    files = {k: str(v) for k, v in result.save(out).items()}
    plot = next((files[f"{result.name}_{n}.png"] for n in result.figures), None)
    main = next((result.tables[t] for t in _MAIN_TABLE.get(name, ()) if t in result.tables), None)
    if "by_group" in result.tables:  # the question compared products: their table and chart answer it
        main, plot = result.tables["by_group"], files.get(f"{result.name}_by_group.png", plot)
    lines = [prefix + _headline(name, result.facts, zh)]
    if name == "email" and "emails" in result.tables:
        for _, e in result.tables["emails"].iterrows():
            lines.append(f"- Segment {e['segment']} ({e['label']}): **{e['subject']}** — {e['body'][:300]}")
    elif name == "churn":
        lines += [f"- {r['customer']}: {r['probability']:.0%} — {r['why']}" for _, r in main.head(3).iterrows()]
    elif name == "aspects" and "complaints" in result.tables:
        lines += [f"- {r['aspect']} ({r['aspect_zh']}): {r['negative_mentions']} — {r['examples'].split(' | ')[0]}"
                  for _, r in result.tables["complaints"].head(3).iterrows()]
    elif name == "sentiment" and "by_group" in result.tables:
        by = result.tables["by_group"]
        ranked = by[by["n"] >= 5].sort_values("net").head(3)  # as the summary: fewer than 5 reviews rank nothing
        lines += [f"- {r.iloc[0]}: net {r['net']:+.0%} (n={int(r['n'])})" for _, r in ranked.iterrows()]
    elif name == "campaign":
        lines += result.facts.get("ab_lines", [])[:8]
    elif name == "segment":
        lines += [f"- {r['segment']} {r['label']}: {r['customers']:,} ({r['share']:.0%})" + (f" — {r['persona']}" if r['persona'] else "")
                  for _, r in result.tables["profiles"].iterrows()]
    if result.notes:
        lines.append(("注：" if zh else "Notes: ") + "; ".join(result.notes))  # one run-on line read as one note
    if backend is not None and name != "email":
        take = _takeaway(question, result, backend, zh)
        if take:
            lines.append(("要点（AI 根据以上数字撰写）：" if zh else "Takeaway (AI-written from the numbers above): ") + take)
    result.close()
    return AnalyticsAnswer("\n".join(lines), main, plot, name, files)

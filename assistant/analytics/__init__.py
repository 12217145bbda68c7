"""Marketing analytics over a shop's own CSVs: consumer voice (sentiment, aspects, trend), segments with
LLM personas, churn/purchase prediction, campaign KPIs and A/B tests, per-segment e-mails, demo data.

Every `analyze_*` function takes a `Table` (from `load_csv`) and returns an `AnalysisResult` with DataFrames,
matplotlib figures and a Markdown summary, ready for the CLI, the app's Analytics tab and the chat.
"""

from assistant.analytics.aspects import analyze_aspects, extract_aspects
from assistant.analytics.campaign import analyze_campaigns
from assistant.analytics.churn import analyze_churn
from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.content import segment_emails
from assistant.analytics.demo import demo_frames, write_demo_data
from assistant.analytics.io import AnalysisResult, Table, load_csv
from assistant.analytics.qa import AnalyticsAnswer, answer_analytics_question
from assistant.analytics.report import build_report, detect_kind, run_analysis
from assistant.analytics.segment import analyze_segments
from assistant.analytics.sentiment import analyze_sentiment, load_sentiment_model, score_texts

__all__ = [
    "AnalysisResult", "AnalyticsAnswer", "AnalyticsConfig", "Table", "analyze_aspects", "analyze_campaigns",
    "analyze_churn", "analyze_segments", "analyze_sentiment", "answer_analytics_question", "build_report",
    "demo_frames", "detect_kind", "extract_aspects", "load_csv", "load_sentiment_model", "run_analysis",
    "score_texts", "segment_emails", "write_demo_data",
]

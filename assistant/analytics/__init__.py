"""Marketing analytics over a shop's own CSVs: consumer voice (sentiment, aspects, trend), segments with
LLM personas, churn/purchase prediction, campaign KPIs and A/B tests, per-segment e-mails, demo data.

Every `analyze_*` function takes a `Table` (from `load_csv`) and returns an `AnalysisResult` with DataFrames,
matplotlib figures and a Markdown summary, ready for the CLI, the app's Analytics tab and the chat.
"""

from assistant.lazy_exports import lazy_exports

_EXPORTS = {
    "analyze_aspects": "assistant.analytics.aspects",
    "extract_aspects": "assistant.analytics.aspects",
    "analyze_campaigns": "assistant.analytics.campaign",
    "analyze_churn": "assistant.analytics.churn",
    "AnalyticsConfig": "assistant.analytics.config",
    "segment_emails": "assistant.analytics.content",
    "demo_frames": "assistant.analytics.demo",
    "write_demo_data": "assistant.analytics.demo",
    "AnalysisResult": "assistant.analytics.io",
    "Table": "assistant.analytics.io",
    "load_csv": "assistant.analytics.io",
    "AnalyticsAnswer": "assistant.analytics.qa",
    "answer_analytics_question": "assistant.analytics.qa",
    "build_report": "assistant.analytics.report",
    "detect_kind": "assistant.analytics.report",
    "run_analysis": "assistant.analytics.report",
    "analyze_segments": "assistant.analytics.segment",
    "analyze_sentiment": "assistant.analytics.sentiment",
    "load_sentiment_model": "assistant.analytics.sentiment",
    "score_texts": "assistant.analytics.sentiment",
}
__all__ = [
    "AnalysisResult", "AnalyticsAnswer", "AnalyticsConfig", "Table", "analyze_aspects", "analyze_campaigns",
    "analyze_churn", "analyze_segments", "analyze_sentiment", "answer_analytics_question", "build_report",
    "demo_frames", "detect_kind", "extract_aspects", "load_csv", "load_sentiment_model", "run_analysis",
    "score_texts", "segment_emails", "write_demo_data",
]
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

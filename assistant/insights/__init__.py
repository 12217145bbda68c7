"""Insights for the shop: knowledge gaps turned into FAQ answers, per-document and per-chunk usage, how
conversations end (resolved, handed off, abandoned) with CSAT, and a regression suite of conversations.

Reads what `assistant.web.events` records for every answer (`records`); see docs/insights.md.
"""

from assistant.insights.config import InsightsConfig

__all__ = ["InsightsConfig"]

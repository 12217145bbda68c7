"""Where each customer message goes: knowledge-base answer, small talk, clarifying question, fallback, or a human.

`Router.route(text, state)` classifies the message (intent, sentiment, language) and applies the hand-off
rules; `ConversationState` carries the counters those rules need across a conversation. Every decision
comes with `reasons` in plain words, scores included: they are shown to agents and logged.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from assistant.classifiers.language import detect_language
from assistant.errors import ConfigError

log = logging.getLogger(__name__)

ACTIONS = ("kb_answer", "small_talk", "clarify", "fallback", "handoff")


@dataclass
class RouterConfig:
    human_intents: list[str] = field(default_factory=lambda: ["human_agent"],
                                     metadata={"help": "intents meaning 'let me talk to a person'"})
    complaint_intents: list[str] = field(default_factory=lambda: ["complaint"],
                                         metadata={"help": "intents handed off when sentiment is strongly negative"})
    small_talk_intents: list[str] = field(default_factory=lambda: ["greeting"],
                                          metadata={"help": "intents answered with small talk"})
    fallback_intents: list[str] = field(default_factory=lambda: ["out_of_scope"],
                                        metadata={"help": "intents the shop does not handle (polite fallback)"})
    negative_labels: list[str] = field(default_factory=lambda: ["negative", "neg", "0"],
                                       metadata={"help": "sentiment labels that count as negative"})
    negative_handoff_score: float = field(
        default=0.8, metadata={"help": "P(negative) at or above which a complaint goes to a human"})
    max_kb_abstentions: int = field(default=2, metadata={"help": "hand off after this many KB abstentions in a row"})
    max_low_confidence: int = field(default=2,
                                    metadata={"help": "hand off after this many low-confidence messages in a row"})
    human_keywords: list[str] = field(
        default_factory=lambda: ["转人工", "人工客服", "找人工", "真人", "talk to a human", "speak to a human",
                                 "real person", "live agent", "human agent"],
        metadata={"help": "phrases that ask for a person whatever the classifier says (case-insensitive)"})

    def __post_init__(self):
        if not 0.0 <= self.negative_handoff_score <= 1.0:
            raise ConfigError(f"negative_handoff_score must be in [0, 1], got {self.negative_handoff_score:g}")
        for name in ("max_kb_abstentions", "max_low_confidence"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class Route:
    intent: str
    sentiment: str
    language: str
    confidence: float  # calibrated probability of the intent
    action: str
    reasons: list[str] = field(default_factory=list)
    sentiment_score: float = 0.0  # calibrated probability of the sentiment label

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ConversationState:
    """Per-conversation counters for the hand-off rules; the chat keeps one per session."""

    turns: int = 0
    low_confidence_streak: int = 0
    kb_abstention_streak: int = 0
    handed_off: bool = False
    last_route: Route | None = None

    def record_kb_abstained(self) -> None:
        """The knowledge base found nothing good enough to answer the last message."""
        self.kb_abstention_streak += 1

    def record_kb_answered(self) -> None:
        self.kb_abstention_streak = 0


class Router:
    def __init__(self, cfg: RouterConfig, intent_clf, sentiment_clf):
        self.cfg = cfg
        self.intent_clf = intent_clf
        self.sentiment_clf = sentiment_clf

    def _negative_score(self, scores: dict[str, float]) -> float:
        return max((p for label, p in scores.items() if label.lower() in self.cfg.negative_labels), default=0.0)

    def _asks_for_human(self, text: str) -> str | None:
        lowered = text.lower()
        return next((k for k in self.cfg.human_keywords if k.lower() in lowered), None)

    def route(self, text: str, state: ConversationState | None = None) -> Route:
        state = state if state is not None else ConversationState()
        state.turns += 1
        text = text or ""
        language = detect_language(text)
        intent = self.intent_clf.predict([text])[0]
        sentiment = self.sentiment_clf.predict([text])[0]
        negative = self._negative_score(sentiment.scores)
        reasons = [f"intent {intent.label} ({intent.score:.2f}"
                   + (f", below the confidence threshold {self.intent_clf.threshold:.2f})" if intent.low_confidence
                      else ")"),
                   f"sentiment {sentiment.label} ({sentiment.score:.2f}; negative {negative:.2f})",
                   f"language {language}"]

        def done(action: str, why: str) -> Route:
            route = Route(intent.label, sentiment.label, language, round(intent.score, 4), action,
                          reasons + [why], round(sentiment.score, 4))
            if action == "handoff":
                state.handed_off = True
            state.last_route = route
            log.info("route: %s because %s", action, "; ".join(route.reasons))
            return route

        if not text.strip():
            return done("clarify", "the message is empty: ask what the customer needs")
        if state.handed_off:
            return done("handoff", "the conversation is already with a human agent")
        keyword = self._asks_for_human(text)
        if keyword or (intent.label in self.cfg.human_intents and not intent.low_confidence):
            state.low_confidence_streak = 0
            return done("handoff", f"the customer asked for a human (said {keyword!r})" if keyword
                        else f"the customer asked for a human (intent {intent.label} {intent.score:.2f})")
        if intent.label in self.cfg.complaint_intents and negative >= self.cfg.negative_handoff_score:
            return done("handoff", f"complaint with strongly negative sentiment ({negative:.2f} >= "
                                   f"{self.cfg.negative_handoff_score:.2f})")
        if state.kb_abstention_streak >= self.cfg.max_kb_abstentions:
            return done("handoff", f"the knowledge base could not answer {state.kb_abstention_streak} times in a row")
        if intent.low_confidence:
            state.low_confidence_streak += 1
            if state.low_confidence_streak >= self.cfg.max_low_confidence:
                return done("handoff", f"low confidence {state.low_confidence_streak} times in a row")
            return done("clarify", "not sure what the customer wants: ask a clarifying question")
        state.low_confidence_streak = 0
        if intent.label in self.cfg.small_talk_intents:
            return done("small_talk", "greeting or small talk")
        if intent.label in self.cfg.fallback_intents:
            return done("fallback", "outside what the shop can help with")
        return done("kb_answer", "a shop question: answer from the knowledge base")

    def kb_abstained(self, state: ConversationState, route: Route) -> Route:
        """Record that the KB could not answer `route`'s message; hand off when that makes it too many."""
        state.record_kb_abstained()
        n = state.kb_abstention_streak
        if n >= self.cfg.max_kb_abstentions:
            action, why = "handoff", f"the knowledge base could not answer {n} times in a row"
            state.handed_off = True
        else:
            action, why = "fallback", f"the knowledge base had no answer ({n} of {self.cfg.max_kb_abstentions})"
        updated = Route(route.intent, route.sentiment, route.language, route.confidence, action,
                        [*route.reasons, why], route.sentiment_score)
        state.last_route = updated
        log.info("route: %s because %s", action, why)
        return updated

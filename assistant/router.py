"""Where each customer message goes: knowledge-base answer, small talk, clarifying question, fallback, an
honest "I don't know", or a human.

`Router.route(text, state, lookup)` classifies the message (intent, sentiment) and decides in one call, with
what the knowledge base found for it (`lookup`): a question the shop's documents answer is answered, however
annoyed it sounds or however unsure the intent classifier is; only an explicit request for a person, or a
conversation already with one, outranks it. `ConversationState` carries the counters the hand-off rules need.
Every decision comes with `reasons` in plain words, scores included: they are shown to agents and logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field

from assistant.errors import ConfigError
from assistant.language import detect_language
from assistant.small_talk import (
    about_assistant,
    asks_if_person,
    asks_shop_name,
    asks_what_shop_sells,
    chit_chat,
    only_asks_if_person,
    without_person_question,
)

# An accepting reply, compared without its punctuation, emoji and spaces at either end; the words after a comma
# ("yes, thanks") may follow it.
_ACCEPT_TRIM = re.compile(r"^[\W_]+|[\W_]+$")
_ACCEPT_SPLIT = re.compile(r"[,，。.!！;；]")

log = logging.getLogger(__name__)
# Among the reasons when the second reading accepted the evidence only hesitantly (knowledge_base.verify_unsure_below).
UNSURE_REASON = "knowledge base: the second reading was unsure (listed as a knowledge gap)"

ACTIONS = ("kb_answer", "small_talk", "clarify", "fallback", "decline", "handoff")


@dataclass
class RouterConfig:
    human_intents: list[str] = field(default_factory=lambda: ["human_agent"],
                                     metadata={"help": "intents meaning 'let me talk to a person'"})
    complaint_intents: list[str] = field(default_factory=lambda: ["complaint"],
                                         metadata={"help": "intents handed off when sentiment is strongly negative"})
    small_talk_intents: list[str] = field(default_factory=lambda: ["greeting"],
                                          metadata={"help": "intents answered with small talk"})
    greetings_first: bool = field(
        default=True, metadata={"help": "a confident greeting that asks nothing (or three words or fewer), or a "
                                        "question about the assistant itself, is small talk even when documents "
                                        "come near it (assistant.small_talk)"})
    out_of_scope_near_documents: bool = field(
        default=True, metadata={"help": "an out-of-scope message whose evidence the second reading turned down is a "
                                        "shop question the documents do not answer: declined with the offer of a "
                                        "person, not sent away with the fallback"})
    fallback_intents: list[str] = field(default_factory=lambda: ["out_of_scope"],
                                        metadata={"help": "intents the shop does not handle (polite fallback)"})
    negative_labels: list[str] = field(default_factory=lambda: ["negative", "neg", "0"],
                                       metadata={"help": "sentiment labels that count as negative"})
    negative_handoff_score: float = field(
        default=0.8, metadata={"help": "P(negative) at or above which a complaint goes to a human"})
    max_kb_abstentions: int = field(default=2, metadata={"help": "hand off after this many questions in a row the "
                                                                  "knowledge base could not answer"})
    max_low_confidence: int = field(default=2,
                                    metadata={"help": "hand off after this many low-confidence messages in a row"})
    human_intent_min_score: float = field(
        default=0.5, metadata={"help": "a request for a person read by the intent classifier alone (no words such as "
                                       "'human' or '人工') hands off at this score or more: 'Can I buy a puppy from "
                                       "you?' read as human_agent 0.38 opened a ticket unasked"})
    human_keywords: list[str] = field(
        default_factory=lambda: ["转人工", "人工客服", "找人工", "要人工", "人工服务", "真人", "talk to a human",
                                 "speak to a human", "talk to a person", "speak to a person", "talk to someone",
                                 "speak to someone", "speak with someone", "want a human", "need a human",
                                 "real person", "live agent", "human agent"],
        metadata={"help": "phrases that ask for a person whatever the classifier says (case-insensitive)"})
    accept_words: list[str] = field(
        default_factory=lambda: ["yes", "yes please", "yeah", "yep", "sure", "ok", "okay", "please", "please do",
                                 "go ahead", "yes connect me", "connect me", "好", "好的", "好啊", "好吧", "可以",
                                 "行", "嗯", "嗯嗯", "是", "是的", "对", "需要", "要", "麻烦了", "麻烦你了", "好的麻烦了",
                                 "好的谢谢", "转吧", "帮我转"],
        metadata={"help": "replies that accept the offer of a colleague made by the answer before (case-insensitive,"
                          " the whole message, or one of them and a few more words after a comma)"})
    human_service_questions: list[str] = field(
        default_factory=lambda: ["几点", "什么时候", "时间", "上班", "下班", "营业", "周末", "周六", "周日", "节假日",
                                 "电话", "联系方式", "what time", "when ", "hours", "opening", "open on",
                                 "around on", "weekend", "saturday", "sunday", "holiday", "phone number"],
        metadata={"help": "words of a question ABOUT the human service (its hours, days, phone): answered from "
                          "the documents when they say, instead of handing off (case-insensitive)"})

    def __post_init__(self):
        if not 0.0 <= self.negative_handoff_score <= 1.0:
            raise ConfigError(f"negative_handoff_score must be in [0, 1], got {self.negative_handoff_score:g}")
        if not 0.0 <= self.human_intent_min_score <= 1.0:
            raise ConfigError(f"human_intent_min_score must be in [0, 1], got {self.human_intent_min_score:g}")
        for name in ("max_kb_abstentions", "max_low_confidence"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


def asks_for_human(text: str, cfg: RouterConfig) -> str | None:
    """The phrase of `cfg.human_keywords` that `text` asks for a person with ("转人工", "real person"), or None."""
    lowered = text.lower()
    return next((k for k in cfg.human_keywords if k.lower() in lowered), None)


def accepts(text: str, cfg: RouterConfig) -> bool:
    """"yes please", "好的，麻烦了": the message says yes (`cfg.accept_words`) and little else."""
    said = _ACCEPT_TRIM.sub("", text.lower())
    head = _ACCEPT_SPLIT.split(said, maxsplit=1)[0].strip()
    words = {w.lower() for w in cfg.accept_words}
    if said in words or (head in words and len(said) <= len(head) + 24):
        return True
    return len(said) <= 30 and any(said.startswith(f"{w} ") for w in words if w.isascii())  # "yes please do"


_NOTHING = set("?？.。…!！,，、~～") | {" ", "\t", "\n", "\u3000"}


def says_nothing(text: str) -> bool:
    """Whether `text` is only question marks, dots and the like ("?", "...", "？？"): no word, number or emoji, and
    no emoticon either (":)", "-_-" say thanks or how the customer feels)."""
    return all(c in _NOTHING for c in text)


def asks_about_human_service(text: str, cfg: RouterConfig) -> bool:
    """'What times can I reach a real person?', '人工客服几点下班' ask about the service, not for a person."""
    lowered = f"{text.lower()} "
    return any(w.lower() in lowered for w in cfg.human_service_questions)


@dataclass
class Route:
    intent: str
    sentiment: str
    language: str
    confidence: float  # calibrated probability of the intent
    action: str
    reasons: list[str] = field(default_factory=list)
    sentiment_score: float = 0.0  # calibrated probability of the sentiment label
    category: str = ""  # for a refused message: the guardrail category that refused it

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
    offered_human: bool = False  # the last answer offered a colleague ("Would you like me to connect you ...?")

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
        return asks_for_human(text, self.cfg)

    def _accepts(self, text: str) -> bool:
        return accepts(text, self.cfg)

    def _asks_about_human_service(self, text: str) -> bool:
        return asks_about_human_service(text, self.cfg)

    def route(self, text: str, state: ConversationState | None = None, lookup=None,
              language: str | None = None) -> Route:
        """`lookup`: the knowledge base's Lookup for this message (None when there is no knowledge base)."""
        state = state if state is not None else ConversationState()
        state.turns += 1
        text = text or ""
        language = language or detect_language(text)
        intent = self.intent_clf.predict([text])[0]
        sentiment = self.sentiment_clf.predict([text])[0]
        negative = self._negative_score(sentiment.scores)
        answerable = lookup is not None and lookup.answerable
        reasons = [f"intent {intent.label} ({intent.score:.2f}"
                   + (f", below the confidence threshold {self.intent_clf.threshold:.2f})" if intent.low_confidence
                      else ")"),
                   f"sentiment {sentiment.label} ({sentiment.score:.2f}; negative {negative:.2f})",
                   f"language {language}"]
        if lookup is not None:
            reasons.append(f"knowledge base: {'has' if answerable else 'no'} answer (best {lookup.best_score:.2f})")
            if answerable and getattr(lookup, "unsure", False):
                reasons.append(UNSURE_REASON)

        def done(action: str, why: str) -> Route:
            route = Route(intent.label, sentiment.label, language, round(intent.score, 4), action,
                          reasons + [why], round(sentiment.score, 4))
            if action == "handoff":
                state.handed_off = True
            if action == "kb_answer" and lookup is not None:
                state.record_kb_answered()
            state.last_route = route
            log.info("route: %s because %s", action, "; ".join(route.reasons))
            return route

        if not text.strip():
            return done("clarify", "the message is empty: ask what the customer needs")
        if state.handed_off:
            # Waiting for a colleague (who may be hours away) is no reason to withhold what the documents say; a
            # greeting, or anything they do not answer, is left to the colleague.
            if answerable and not self._asks_for_human(text) and not (chit_chat(text) or about_assistant(text)):
                state.low_confidence_streak = 0
                return done("kb_answer", "the conversation waits for a colleague; meanwhile the shop's documents "
                                         "answer this question")
            return done("handoff", "the conversation is already with a human agent")
        offered, state.offered_human = state.offered_human, False
        if offered and self._accepts(text):
            return done("handoff", "the customer accepted the offer of a colleague")
        if says_nothing(text):
            # "?", "...", "？？": nothing to look up. Read as a shop question they got "I don't know the answer to that"
            # (a knowledge gap in the reports), and a second one a ticket. Not counted toward the low-confidence
            # hand-off either: such a message asks nothing a colleague could answer.
            return done("clarify", "the message is only punctuation: ask what the customer needs")
        # "Are you a real person?" asks what the assistant is: its "real person" is no request for one (a ticket was
        # opened for it), what else the message says may still be ("Are you a bot? I want a real person")
        keyword = self._asks_for_human(without_person_question(text) if asks_if_person(text) else text)
        asks_if_bot = only_asks_if_person(text)  # ... and the question alone is not for the classifier to hand off
        # the classifier's guess alone does not hand off on a weak score: a ticket is a colleague's time, and a
        # decline offers the customer a person anyway
        wants_human = keyword or (intent.label in self.cfg.human_intents and not intent.low_confidence
                                  and intent.score >= self.cfg.human_intent_min_score and not asks_if_bot)
        if wants_human and answerable and self._asks_about_human_service(text):
            state.low_confidence_streak = 0
            return done("kb_answer", "a question about the human service that the shop's documents answer")
        if wants_human:
            state.low_confidence_streak = 0
            return done("handoff", f"the customer asked for a human (said {keyword!r})" if keyword
                        else f"the customer asked for a human (intent {intent.label} {intent.score:.2f})")
        small_talk = intent.label in self.cfg.small_talk_intents and not intent.low_confidence
        # the second reading turned down the evidence it read: documents came near a question they do not answer
        near_miss = lookup is not None and bool(getattr(lookup, "turned_down", False))
        # "What's your store called?": the shop's identity text names it, whatever intent the classifier read
        asks_name = asks_shop_name(text) or asks_what_shop_sells(text)  # ... and its description what it sells
        asks_name = asks_name or asks_if_bot  # ... and what the assistant is (an AI, a colleague on request)
        if self.cfg.greetings_first and (asks_name or small_talk and (chit_chat(text) or about_assistant(text))):
            # "hi", "谢谢", "在吗", "who are you?" always retrieve some passage; neither the second reading turning it
            # down nor a yes to the store-address row makes a greeting a shop question.
            state.low_confidence_streak = 0
            return done("small_talk", "a greeting, thanks or a question about the assistant: small talk, whatever "
                                      "the documents near it say")
        if answerable:
            state.low_confidence_streak = 0
            return done("kb_answer", "the shop's documents answer it" + (
                " (even though it sounds like a complaint)" if intent.label in self.cfg.complaint_intents else ""))
        if intent.label in self.cfg.complaint_intents and negative >= self.cfg.negative_handoff_score:
            return done("handoff", f"complaint with strongly negative sentiment ({negative:.2f} >= "
                                   f"{self.cfg.negative_handoff_score:.2f}) that the documents do not answer")
        if small_talk:
            if not near_miss:
                return done("small_talk", "greeting or small talk")
            # "你们发海外吗" read as a greeting: small talk would answer "yes, we ship abroad" from nothing.
            reasons.append("sounds like small talk, but the documents came close: a shop question they do not answer")
        if intent.label in self.cfg.fallback_intents and not intent.low_confidence:
            if not (near_miss and self.cfg.out_of_scope_near_documents):
                return done("fallback", "outside what the shop can help with")
            # "晚上几点下班呀" read as out of scope: a shop question all the same; "I can only help with our
            # products..." would not say that the documents do not answer it, nor offer a person.
            reasons.append("sounds out of scope, but the documents came close: a shop question they do not answer")
        if lookup is None:
            if intent.low_confidence:
                state.low_confidence_streak += 1
                if state.low_confidence_streak >= self.cfg.max_low_confidence:
                    return done("handoff", f"low confidence {state.low_confidence_streak} times in a row")
                return done("clarify", "not sure what the customer wants: ask a clarifying question")
            state.low_confidence_streak = 0
            return done("kb_answer", "a shop question: answer from the knowledge base")
        if intent.low_confidence and len(text.strip()) < 12:
            # Too short to tell what it is about ("hmm", "ok?"): ask, rather than say "I don't know".
            state.low_confidence_streak += 1
            if state.low_confidence_streak >= self.cfg.max_low_confidence:
                return done("handoff", f"low confidence {state.low_confidence_streak} times in a row")
            return done("clarify", "not sure what the customer wants: ask a clarifying question")
        # A shop question the documents do not answer: say so honestly; a human after too many in a row.
        state.low_confidence_streak = 0
        state.record_kb_abstained()
        n = state.kb_abstention_streak
        if n >= self.cfg.max_kb_abstentions:
            return done("handoff", f"the knowledge base could not answer {n} times in a row")
        return done("decline", f"the knowledge base has no answer ({n} of {self.cfg.max_kb_abstentions})")

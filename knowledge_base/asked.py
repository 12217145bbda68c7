"""What a sentence must say to answer a question, when plain code can tell: the kind of value asked
(questions.asked_unit: a weight, a price …; else questions.answer_kind: a number, a day or time) and the place named
(places.asked_place). Sentences that say it come first; for a question asking a value, only they answer. A sentence
about another size than the one asked (amounts.asked_amount: the 3 ml vial for "a 30 ml bottle") or another model
(model_codes.asked_models: the P70's row for "沧浪 14K") is not read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from knowledge_base.amounts import AskedAmount, asked_amount
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.grounding import SENTENCE_END, Evidence
from knowledge_base.model_codes import AskedModels, asked_models
from knowledge_base.places import AskedPlace, asked_place
from knowledge_base.questions import AskedUnit, answer_kind, asked_unit


@dataclass(frozen=True)
class AskedFor:
    unit: AskedUnit | None  # a value of this kind: only sentences stating one answer
    place: AskedPlace | None  # named places: sentences naming them first; only they answer a value asked there
    kind: Callable[[str], bool] | None  # a looser kind (answer_kind): its sentences first, the others may answer
    amount: AskedAmount | None = None  # the sizes named: a sentence about another size is not read (of_asked)
    models: AskedModels | None = None  # the model codes named: a sentence about another model is not read

    def of_asked(self, ranked: Sequence[Evidence], window: int = 8) -> list[Evidence]:
        """`ranked` without the sentences (with their headings) about another model or size than the one asked; when
        one of the first `window` names the size asked ("Ink – 50 毫升瓶装: 88 元"), only those that name it ("那 50
        毫升的呢？" had got a cartridge's price, which names no size, before the 50 ml bottle's)."""
        if self.models is not None:
            ranked = [e for e in ranked if self.models.about(e.quoted) is not False]
        if self.amount is None:
            return list(ranked)
        about = [(e, self.amount.about(e.quoted)) for e in ranked]  # each sentence's sizes read once
        kept = [e for e, size in about if size is not False]
        naming = [e for e, size in about if size]
        return naming if any(e in naming for e in kept[:window]) else kept

    @property
    def required(self) -> bool:
        """Whether sentences that do not say it are no answer at all."""
        return self.unit is not None or (self.place is not None and self.place.value)

    def wanted(self, ranked: Sequence[Evidence]) -> Callable[[str], bool] | None:
        """The test pick_evidence moves sentences forward by (it reads a sentence's text; a place may be named in its
        heading, "Shipping to Hong Kong > Fees")."""
        of_kind = self.unit.states if self.unit is not None else self.kind
        if self.place is None:
            return of_kind
        quoted = {e.text: e.quoted for e in ranked}
        return lambda text: self.place.speaks_for(quoted.get(text, text)) and (of_kind is None or of_kind(text))

    def says(self, e: Evidence) -> bool:
        if e.faq_question:  # an FAQ row's answer is read whole: held to what a row matched as the question is
            return self.says_row(e.faq_question, e.text)
        return ((self.unit is None or self.unit.states(e.text))
                and (self.place is None or not self.place.value or self.place.speaks_for(e.quoted)))

    def says_row(self, question: str, answer: str) -> bool:
        """Whether an FAQ row (matched as the question, or read whole as evidence: `says`) answers it: a weight,
        duration, price… asked needs a row whose answer states one ("How long does it take to ship?" had met "How much
        is shipping?" and got the fee), and a value asked for a place a row about that place, or a sentence of it
        naming the place that states one."""
        def states(text: str) -> bool:
            return self.unit is None or self.unit.states(text)

        if self.models is not None and self.models.about(f"{question} {answer}") is False:
            return False  # a row about another model ("Does the H2 …?" for the K1)
        if self.place is None or not self.place.value or self.place.speaks_for(question):
            return states(answer)
        # a row about everywhere: one sentence must name the place and state the value ("Hong Kong, Macau, Taiwan
        # and overseas orders have their own rates" beside the mainland's ¥12 does not give Taiwan's fee)
        return any(self.place.speaks_for(s) and states(s) for s in SENTENCE_END.split(answer) if s.strip())

    def __str__(self) -> str:
        return " and ".join(([f"states a {self.unit.kind}"] if self.unit else [])
                            + (["names the place asked"] if self.place else []))


def asked_for(question: str, cfg: KnowledgeBaseConfig) -> AskedFor:
    """What answers `question`, as far as the checks `cfg` turns on say (knowledge_base.asked_unit_check,
    asked_place_check with its places_file, asked_amount_check, asked_model_check)."""
    unit = asked_unit(question) if cfg.asked_unit_check else None
    return AskedFor(unit, asked_place(question, cfg.places_file) if cfg.asked_place_check else None,
                    None if unit else answer_kind(question),
                    asked_amount(question) if cfg.asked_amount_check else None,
                    asked_models(question) if cfg.asked_model_check else None)

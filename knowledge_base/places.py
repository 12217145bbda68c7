"""The places a question names, and whether a sentence speaks for them.

Shops answer delivery, store and service questions place by place ("江浙沪 1–2 天，新疆、西藏 4–7 天", "Shipping within
mainland China costs ¥12", "暂不支持寄送台湾地区"), and the sentence closest in meaning to "How many days does delivery
to Hong Kong take?" is the mainland's delivery time: a right-looking answer for the wrong place. A sentence speaks for
a place when it names it or a region that holds it (places.yaml: "江浙沪" holds Shanghai, "mainland China" holds
Beijing but not Hong Kong); the aliases of both languages map to one id, so the check works on a translated question
too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.grounding import SENTENCE_END
from knowledge_base.text import has_cjk

PLACES_FILE = Path(__file__).with_name("places.yaml")
# A time zone, not a place: "10:00-19:00 (Beijing time)", "北京时间"
_NOT_A_PLACE = re.compile(r"\b(?:beijing|china|hong kong) (?:standard )?time\b|北京时间", re.IGNORECASE)
# What a follow-up that only names a new place says besides it: "and to Hong Kong?", "那寄到香港呢？", "what about HK"
_FOLLOW_UP_WORDS = re.compile(r"\b(?:and|what|how|about|to|for|in|into|then|if|it's|is|it|shipping|delivery|"
                              r"delivered|shipped|sent|the)\b|那么|那|呢|如果是|如果|要是|的话|寄到|寄去|发到|送到|寄|到|去")


@dataclass(frozen=True)
class Gazetteer:
    pattern: re.Pattern  # every alias, longest first
    ids: dict[str, str]  # alias (lower case) -> place id
    holders: dict[str, frozenset[str]]  # place id -> itself and every region that holds it
    home: frozenset[str] = frozenset()  # the regions a sentence naming no place speaks for (`home: true`)
    written: dict[str, dict[str, str]] = field(default_factory=dict)  # place id -> {"en"/"zh": its first alias}

    def named(self, text: str) -> frozenset[str]:
        """The ids of the places `text` names."""
        return frozenset(self.ids[m.group(0).lower()] for m in self._matches(text))

    def _matches(self, text: str) -> list[re.Match]:
        # a time zone is blanked to its own length, so the matches' offsets are the text's
        return list(self.pattern.finditer(_NOT_A_PLACE.sub(lambda m: " " * len(m.group(0)), text)))

    def swapped(self, previous: str, follow_up: str) -> str | None:
        """"Do you ship to Japan?" then "and to Hong Kong?": the previous question about the follow-up's place
        ("Do you ship to Hong Kong?"). The model had joined them ("…to Japan and Hong Kong?") and the customer was
        told what the shop says of Japan. None unless the follow-up says nothing but one place and the previous
        question named one other place."""
        new, old = self._matches(follow_up), self._matches(previous)
        if len(new) != 1 or len({self.ids[m.group(0).lower()] for m in old}) != 1:
            return None
        place = self.ids[new[0].group(0).lower()]
        rest = (follow_up[:new[0].start()] + " " + follow_up[new[0].end():]).lower()
        if place == self.ids[old[0].group(0).lower()] or _FOLLOW_UP_WORDS.sub(" ", rest).strip(" ?？.。!！,，"):
            return None
        name = self.written[place].get("zh" if has_cjk(previous) else "en") or new[0].group(0)
        for m in reversed(old):  # "to Japan … Japan's customs": every mention of it
            previous = previous[:m.start()] + name + previous[m.end():]
        return previous

    def speaks_for(self, text: str, places: frozenset[str]) -> bool:
        """Whether a sentence of `text` names each of `places` or a region holding it; a sentence naming no place
        speaks for the shop's home ("Standard shipping costs ¥15" answers for Beijing, not for Hong Kong)."""
        for sentence in SENTENCE_END.split(text):  # as the evidence is cut: "e.g." ends no sentence
            named = self.named(sentence) or self.home
            if sentence.strip() and all(self.holders[p] & named for p in places):
                return True
        return False


def _holders(place: str, parents: dict[str, list[str]], seen: frozenset[str] = frozenset()) -> frozenset[str]:
    out = {place}
    for parent in parents.get(place, []):
        if parent not in seen:
            out |= _holders(parent, parents, seen | {place})
    return frozenset(out)


@lru_cache(maxsize=4)
def gazetteer(path: str = str(PLACES_FILE)) -> Gazetteer:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    ids: dict[str, str] = {}
    parents: dict[str, list[str]] = {}
    for place, entry in data.items():
        for parent in entry.get("in", []):
            if parent not in data:
                raise ValueError(f"{path}: {place} is in {parent!r}, which is not a place of the file")
        parents[place] = list(entry.get("in", []))
        for alias in [*entry.get("en", []), *entry.get("zh", [])]:
            if ids.setdefault(str(alias).lower(), place) != place:
                raise ValueError(f"{path}: {alias!r} names both {ids[str(alias).lower()]} and {place}")
    english = sorted((a for a in ids if a.isascii()), key=len, reverse=True)
    chinese = sorted((a for a in ids if not a.isascii()), key=len, reverse=True)
    # English aliases are whole words, never part of a code ("HK-200"); Chinese ones match inside text
    pattern = re.compile("|".join([rf"(?<![a-z0-9-]){re.escape(a)}(?![a-z0-9]|-[a-z0-9])" for a in english]
                                  + [re.escape(a) for a in chinese]), re.IGNORECASE)
    home = frozenset(place for place, entry in data.items() if entry.get("home"))
    written = {place: {lang: _as_written(str(entry[lang][0]), lang) for lang in ("en", "zh") if entry.get(lang)}
               for place, entry in data.items()}
    return Gazetteer(pattern, ids, {place: _holders(place, parents) for place in data}, home, written)


def _as_written(alias: str, lang: str) -> str:
    """An English alias as a name is written ("hong kong" -> "Hong Kong"); capitals the file gives are kept."""
    return alias if lang == "zh" or alias != alias.lower() else " ".join(w[:1].upper() + w[1:] for w in alias.split())


@dataclass(frozen=True)
class AskedPlace:
    """The places a question names, and whether it asks for a value there ("How much is shipping to Hong Kong?")
    rather than yes or no ("Do you ship to Taiwan?", answered as well by "we ship within mainland China only")."""

    places: frozenset[str]
    value: bool
    names: Gazetteer

    def speaks_for(self, text: str) -> bool:
        return self.names.speaks_for(text, self.places)


def places_for(setting: str) -> Gazetteer:
    """The places of the `knowledge_base.places_file` setting ('' = the shipped places.yaml; a relative path is the
    project's); a file that cannot be read is a ConfigError."""
    from assistant.config import resolve_path
    from assistant.errors import ConfigError

    path = str(resolve_path(setting)) if setting else str(PLACES_FILE)
    try:
        return gazetteer(path)
    except (OSError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise ConfigError(f"knowledge_base.places_file {setting!r}: {exc}") from exc


def asked_place(question: str, places_file: str = "") -> AskedPlace | None:
    """The places `question` names (those of `places_file`; '' = the shipped places.yaml), or None when it names
    none."""
    from knowledge_base.questions import asks_for_value

    names = places_for(places_file)
    places = names.named(question)
    return AskedPlace(places, asks_for_value(question), names) if places else None

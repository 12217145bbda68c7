"""Channel specs as data: which fields an ad has on each channel, each field's hard limit and its unit.

The specs live in `data/channels.yaml` (a shop can point `adcopy.channels_file` at its own); this module
only loads them and measures text in a field's unit, so every check and score counts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.adcopy.text import display_width, sms_capacity, sms_segments
from assistant.errors import ConfigError, NotFoundError

DEFAULT_CHANNELS_FILE = Path(__file__).with_name("data") / "channels.yaml"
UNITS = ("chars", "width", "sms_segments")
UNIT_HELP = {
    "chars": "characters",
    "width": "width units (Chinese/full-width characters count 2, as in Google Ads)",
    "sms_segments": "SMS segments (70 Chinese or 160 GSM-7 characters each)",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    limit: int
    unit: str = "chars"
    style: str = "line"  # "line": several per LLM call as a numbered list; "block": free text, one per call
    derive: str = ""  # "keywords": built from the brief's keywords, not written by the model
    help: str = ""

    def measure(self, text: str) -> int:
        if self.unit == "width":
            return display_width(text)
        if self.unit == "sms_segments":
            return sms_segments(text)
        return len(text)

    def fits(self, text: str) -> bool:
        return self.measure(text) <= self.limit

    def capacity_chars(self, text: str) -> int:
        """How many characters of this text's kind fit (what the model is told, and what fit scores use)."""
        if self.unit == "sms_segments":
            return sms_capacity(text, self.limit)
        if self.unit == "width":
            wide = sum(1 for c in text if display_width(c) == 2)
            share = wide / len(text) if text else 0.0
            return int(self.limit / (1 + share))
        return self.limit

    def fill_ratio(self, text: str) -> float:
        """Used space / available space, in characters (1.0 = exactly at the limit)."""
        cap = self.capacity_chars(text)
        return len(text) / cap if cap else 0.0

    def budget_for(self, language: str) -> int:
        """The limit in characters of the brief's language, for the prompt."""
        if self.unit == "sms_segments":
            return sms_capacity("中" if language == "zh" else "a", self.limit)
        if self.unit == "width" and language == "zh":
            return self.limit // 2
        return self.limit

    def describe(self) -> str:
        return f"{self.name} ≤ {self.limit} {UNIT_HELP[self.unit]}"


@dataclass(frozen=True)
class ChannelSpec:
    id: str
    title: str
    fields: dict[str, FieldSpec]
    generate: tuple[str, ...]

    def field(self, name: str) -> FieldSpec:
        try:
            return self.fields[name]
        except KeyError:
            raise NotFoundError(
                f"channel {self.id} has no field {name!r} (fields: {', '.join(self.fields)})"
            ) from None

    def as_dict(self) -> dict:
        return {
            "id": self.id, "title": self.title, "generate": list(self.generate),
            "fields": {
                n: {"limit": f.limit, "unit": f.unit, "counting": UNIT_HELP[f.unit], "style": f.style,
                    "derive": f.derive, "help": f.help}
                for n, f in self.fields.items()
            },
        }


def _parse_field(channel: str, name: str, raw) -> FieldSpec:
    where = f"channel {channel} field {name}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping with 'limit' and 'unit', got {raw!r}")
    unknown = set(raw) - {"limit", "unit", "style", "derive", "help"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    limit, unit = raw.get("limit"), raw.get("unit", "chars")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ConfigError(f"{where}: limit must be a positive integer, got {limit!r}")
    if unit not in UNITS:
        raise ConfigError(f"{where}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    style = raw.get("style", "line")
    if style not in ("line", "block"):
        raise ConfigError(f"{where}: style must be line or block, got {style!r}")
    derive = raw.get("derive", "") or ""
    if derive not in ("", "keywords"):
        raise ConfigError(f"{where}: derive must be 'keywords' or empty, got {derive!r}")
    return FieldSpec(name, limit, unit, style, derive, str(raw.get("help", "")))


def parse_channels(data) -> dict[str, ChannelSpec]:
    if not isinstance(data, dict) or not data:
        raise ConfigError("a channels file must map channel ids to specs")
    out: dict[str, ChannelSpec] = {}
    for cid, raw in data.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict) or not raw["fields"]:
            raise ConfigError(f"channel {cid} must have a non-empty 'fields' mapping")
        fields = {str(n): _parse_field(cid, str(n), f) for n, f in raw["fields"].items()}
        gen = tuple(raw.get("generate") or [n for n, f in fields.items() if not f.derive])
        missing = [g for g in gen if g not in fields]
        if missing:
            raise ConfigError(f"channel {cid}: 'generate' names unknown field(s) {', '.join(missing)}")
        out[str(cid)] = ChannelSpec(str(cid), str(raw.get("title", cid)), fields, gen)
    return out


@lru_cache(maxsize=8)
def _load_cached(path: str) -> dict[str, ChannelSpec]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"channels file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"bad YAML in channels file {path}: {exc}") from None
    return parse_channels(data)


def load_channels(path: str | Path | None = None) -> dict[str, ChannelSpec]:
    """All channel specs, from `path` or the shipped `data/channels.yaml`."""
    return dict(_load_cached(str(path or DEFAULT_CHANNELS_FILE)))


def get_channel(channel_id: str, path: str | Path | None = None) -> ChannelSpec:
    channels = load_channels(path)
    if channel_id not in channels:
        raise NotFoundError(f"unknown channel {channel_id!r}; known channels: {', '.join(channels)}")
    return channels[channel_id]

"""One YAML, one dataclass per component: load, merge, override from the environment, validate.

Precedence (lowest first): the dataclass defaults < config/default.yaml < --config FILE < environment
variables `ASSISTANT_SECTION__KEY=value`. Every value remembers where it came from (`config show`).

Two rules for a shop's own config file: its `shop:` section replaces default.yaml's (the demo shop's) whole,
so no demo name or contact detail is inherited; and `${config_dir}` in its strings is the folder the file is
in, so a shop folder made by `python -m assistant init` works wherever it is moved.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = REPO_ROOT / "config" / "default.yaml"
ENV_PREFIX = "ASSISTANT_"
ENV_CONFIG_FILE = "ASSISTANT_CONFIG"

# Section name -> "module:DataclassName". Imported when the config is loaded, so each component owns its
# dataclass in its own module; a section whose module does not exist (yet) stays a plain namespace.
SECTIONS: dict[str, str] = {
    "shop": "assistant.shop:ShopConfig",
    "llm": "assistant.llm.config:LLMConfig",
    "chat": "assistant.chat:ChatConfig",
    "app": "assistant.app_config:AppConfig",
    "knowledge_base": "knowledge_base.config:KnowledgeBaseConfig",
    "classifiers": "assistant.classifiers.config:ClassifierConfig",
    "router": "assistant.router:RouterConfig",
    "handoff": "assistant.handoff:HandoffConfig",
    "adcopy": "assistant.adcopy.config:AdCopyConfig",
    "privacy": "assistant.privacy:PrivacyConfig",
    "guardrails": "assistant.guardrails:GuardrailsConfig",
    "storage": "assistant.storage:StorageConfig",
    "analytics": "assistant.analytics.config:AnalyticsConfig",
    "finetune": "finetune.config:FinetuneConfig",
    "autotrain": "finetune.autotrain:AutotrainConfig",
    "gate": "finetune.gate:GateConfig",
    "insights": "assistant.insights.config:InsightsConfig",
    "orders": "assistant.orders.config:OrdersConfig",
}


def resolve_path(value: str | os.PathLike | None) -> Path | None:
    """Relative paths in config are relative to the repo root, so the app works from any cwd."""
    if value is None or value == "":
        return None
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else REPO_ROOT / p


@dataclass
class Settings:
    """All sections, plus where each value came from ("default", a file path, or an env variable)."""

    sections: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"no config section {name!r}")

    def as_dict(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, section in self.sections.items():
            if dataclasses.is_dataclass(section):
                out[name] = dataclasses.asdict(section)
            else:
                out[name] = dict(vars(section))
        return out

    def to_yaml(self, with_sources: bool = True) -> str:
        """YAML of the effective config; each leaf is followed by a comment naming its origin."""
        lines: list[str] = []
        for name, values in self.as_dict().items():
            lines.append(f"{name}:")
            for key, value in values.items():
                dumped = yaml.safe_dump({key: value}, allow_unicode=True, default_flow_style=True, width=1 << 16)
                text = dumped.strip()[1:-1].strip()  # "{key: value}" -> "key: value"
                src = self.sources.get(f"{name}.{key}", "default")
                lines.append(f"  {text}" + (f"  # {src}" if with_sources else ""))
        return "\n".join(lines) + "\n"


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key given twice in one mapping is an error: PyYAML keeps the last, so a
    section pasted again at the end of a shop's file silently dropped the first (its store path among them)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice in one mapping (line {seen[key] + 1} and line "
                            f"{key_node.start_mark.line + 1}): the second would silently replace the first",
                key_node.start_mark)
        if isinstance(key, str | int | float | bool):
            seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml_file(path: Path, what: str = "config file", error: type[Exception] = ConfigError) -> Any:
    """Parsed YAML, or one clear `error` naming the file (and line/column for syntax errors)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except UnicodeDecodeError as exc:
        # an editor saving in the system's code page (GBK on a Chinese Windows) said only "can't decode byte 0xd4"
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        raise error(f"cannot read {what} {path}: not UTF-8 text (line {line}); save it as UTF-8, e.g. "
                    "iconv -f GBK -t UTF-8") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        label = "" if what == "config file" else f"{what} "
        raise error(f"bad YAML in {label}{path}{where}: {getattr(exc, 'problem', exc)}") from None


# Sections a config file replaces whole instead of key by key (identity must not be half inherited).
WHOLE_SECTIONS = ("shop",)
CONFIG_DIR = "${config_dir}"


# A string that is a URL (storage.url: sqlite:///${config_dir}/data/assistant.db) takes the folder as URL text
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _url_escaped(folder: str) -> str:
    """`folder` as it may stand in a URL's path: a "?" in it began the query, a "#" the fragment and a "%" an
    escape, so a shop folder named "Tea? Shop" kept its database in /…/Tea. Only those three are escaped, so
    `config show` still reads spaces and Chinese folder names as written; URL parsers (SQLAlchemy too) undo it."""
    return folder.replace("%", "%25").replace("?", "%3F").replace("#", "%23")


def _expand_config_dir(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return value.replace(CONFIG_DIR, _url_escaped(folder) if _URL_SCHEME.match(value) else folder)
    if isinstance(value, list):
        return [_expand_config_dir(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _expand_config_dir(v, folder) for k, v in value.items()}
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    data = load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict | type(None)) for v in data.values()):
        raise ConfigError(f"{path} must map section names to mappings (e.g. 'llm: {{backend: fake}}')")
    folder = str(Path(path).resolve().parent)
    return {k: _expand_config_dir(v or {}, folder) for k, v in data.items()}


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == ENV_CONFIG_FILE:
            continue
        section, _, key = name[len(ENV_PREFIX):].partition("__")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        out.setdefault(section.lower(), {})[key.lower()] = value
    return out


def _section_class(section: str) -> type | None:
    target = SECTIONS.get(section)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this component is not there" is tolerated; a broken import inside it is a real error.
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    cls = getattr(module, class_name, None)
    if cls is None:
        logging.getLogger(__name__).warning("config section %r: %s has no %s; values kept unvalidated",
                                            section, module_name, class_name)
    return cls


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert YAML/env scalars to the field's declared type, or say clearly why not."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint is None:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "1", "0", "on", "off"}:
            return value.lower() in {"true", "yes", "1", "on"}
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | str | float):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        try:
            f = float(value)
        except ValueError:
            raise ConfigError(f"{where} must be an integer, got {value!r}") from None
        if f != int(f):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return int(f)
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, dict | list):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return "" if value is None else str(value)
    if value is None and (origin in (list, tuple, dict) or hint in (list, tuple, dict)):
        # a key left blank (`hours:` with nothing after it) is empty, as a blank string is "": half-filling a
        # shop's section by hand stopped the app with "must be a mapping, got None"
        return {} if dict in (origin, hint) else []
    if origin in (list, tuple) or hint in (list, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        inner = args[0] if args else Any
        return [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    return value


def build_section(section: str, cls: type, values: Mapping[str, Any]) -> Any:
    """Instantiate one section's dataclass, prefixing its validation errors with the section name."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]} (known keys: {', '.join(sorted(known))})")
    kwargs = {k: _coerce(v, hints.get(k, Any), f"{section}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(f"{section}.") else f"{section}.{msg}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {exc}") from None


def load_config(
    path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Effective settings from defaults, default.yaml, an optional user file, env vars and overrides."""
    env = os.environ if env is None else env
    layers: list[tuple[str, dict[str, Any]]] = []
    if DEFAULT_CONFIG_PATH.exists():
        layers.append(("config/default.yaml", _read_yaml(DEFAULT_CONFIG_PATH)))
    user_path = path or env.get(ENV_CONFIG_FILE) or None
    config_file = Path(user_path) if user_path else None
    if config_file is not None:
        layers.append((str(config_file), _read_yaml(config_file)))
    for name, values in _env_overrides(env).items():
        layers.append(("env", {name: values}))
    if overrides:
        layers.append(("overrides", {k: dict(v) for k, v in overrides.items()}))

    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    sources: dict[str, str] = {}
    for origin, data in layers:
        for section, values in data.items():
            if section not in SECTIONS:
                raise ConfigError(f"unknown config section {section!r} in {origin} (known: {', '.join(SECTIONS)})")
            if section in WHOLE_SECTIONS and origin not in ("config/default.yaml", "env", "overrides"):
                merged[section] = {}
                for key in [k for k in sources if k.startswith(section + ".")]:
                    del sources[key]
            for key, value in values.items():
                merged[section][key] = value
                label = f"env {ENV_PREFIX}{section.upper()}__{key.upper()}" if origin == "env" else origin
                sources[f"{section}.{key}"] = label

    settings = Settings(sources=sources, config_file=config_file)
    for section, values in merged.items():
        cls = _section_class(section)
        settings.sections[section] = (
            build_section(section, cls, values) if cls is not None else types.SimpleNamespace(**values)
        )
    return settings

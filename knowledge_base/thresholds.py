"""Where the trust thresholds come from: the shop's own calibration file, else the shipped defaults.

`python -m knowledge_base calibrate --write` stores what it measured for one shop (collection + embedder) in the
shop's file (knowledge_base.calibration_file, default calibration.json in db_path); the package file
knowledge_base/calibration.json holds the defaults measured on the demo shop, shared by every shop, and is
rewritten only on an explicit `--write-shipped`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from assistant.config import resolve_path
from assistant.errors import ConfigError, StorageError
from knowledge_base.config import KnowledgeBaseConfig

log = logging.getLogger(__name__)
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# Used only for an embedder nobody calibrated: abstain rarely, never answer FAQs verbatim on similarity alone.
UNCALIBRATED = {"abstain": 0.0, "faq": 1.01, "evidence": 0.0}
KEPT = ("abstain", "faq", "abstain_balanced_accuracy", "abstain_leave_one_out_accuracy", "faq_verbatim_wrong",
        "faq_paraphrases_caught", "questions", "data")


def shop_calibration_file(cfg: KnowledgeBaseConfig) -> Path | None:
    """The shop's own calibration file: calibration_file, else calibration.json in db_path (None: neither set)."""
    if cfg.calibration_file:
        return resolve_path(cfg.calibration_file)
    return resolve_path(cfg.db_path) / "calibration.json" if cfg.db_path else None


def _read(path: Path | None, strict: bool = False) -> dict:
    """The JSON object in `path`; {} when it is not there. A broken file is skipped with a warning at run time,
    and an error when it is about to be rewritten (`strict`): rewriting it would lose what it held."""
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data
    except (OSError, ValueError) as exc:
        if strict:
            raise ConfigError(f"{path}: cannot read the calibration file ({exc}); fix or move it first") from None
        log.warning("%s: calibration file ignored (%s)", path, exc)
        return {}


def _shop_entry(cfg: KnowledgeBaseConfig | None, embedder_name: str) -> tuple[dict, Path | None]:
    if cfg is None:
        return {}, None
    path = shop_calibration_file(cfg)
    entry = (_read(path).get(cfg.collection) or {}).get(embedder_name) or {}
    return (entry, path) if isinstance(entry, dict) and entry else ({}, None)


def calibrated_thresholds(embedder_name: str, cfg: KnowledgeBaseConfig | None = None) -> dict[str, float]:
    """Thresholds measured for this embedder: the shop's own (`cfg`'s collection) first, key by key, then the
    shipped defaults, then the uncalibrated fallbacks."""
    own, _ = _shop_entry(cfg, embedder_name)
    shipped = _read(CALIBRATION_FILE).get(embedder_name) or {}
    return {key: float(own.get(key, shipped.get(key, default))) for key, default in UNCALIBRATED.items()}


def calibration_source(embedder_name: str, cfg: KnowledgeBaseConfig | None = None) -> str:
    """Which file the thresholds came from, for `stats` (a path, or 'uncalibrated')."""
    _, path = _shop_entry(cfg, embedder_name)
    if path is not None:
        return str(path)
    return str(CALIBRATION_FILE) if _read(CALIBRATION_FILE).get(embedder_name) else "uncalibrated"


def _write_json(path: Path, data: dict) -> None:
    # Via a temporary file: an interrupted write must not leave a half file that loses the other shops' entries.
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the calibration file ({exc.strerror or exc})") from None


def write_shop_calibration(cfg: KnowledgeBaseConfig, embedder_name: str, result: dict) -> Path:
    """Store `result` (evaluate.calibrate) as this shop's thresholds; returns the file written."""
    path = shop_calibration_file(cfg)
    if path is None:
        raise ConfigError("knowledge_base.calibration_file: set it (server mode has no db_path to keep the shop's "
                          "thresholds in)")
    data = _read(path, strict=True)
    entry = {k: result[k] for k in KEPT if k in result}
    entry["how"] = "python -m knowledge_base calibrate --write"
    data.setdefault(cfg.collection, {})[embedder_name] = entry
    _write_json(path, data)
    return path


def write_shipped_calibration(embedder_name: str, result: dict) -> Path:
    """Rewrite the package's defaults (every shop without a file of its own reads them): `--write-shipped` only."""
    data = _read(CALIBRATION_FILE, strict=True)
    data[embedder_name] = {k: result[k] for k in KEPT if k in result and k != "data"}
    data[embedder_name]["how"] = "python -m knowledge_base calibrate --write-shipped (demo KB + calibration_questions.csv)"
    _write_json(CALIBRATION_FILE, data)
    return CALIBRATION_FILE

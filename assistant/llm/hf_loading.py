"""Load a causal LM + tokenizer with transformers from an HF folder or a GGUF file (dequantised).

Loading a GGUF through transformers takes ~30 s and the result cannot be `save_pretrained` as is, so the
first load writes a plain HF copy into the cache folder; later loads take well under a second.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from assistant.errors import ModelLoadError
from assistant.llm.embedded import default_cache_dir, resolve_embedded, sha256_of
from assistant.outputs import follow_umask

log = logging.getLogger(__name__)


def import_transformers():
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelLoadError(f"the transformers backend needs torch and transformers: {exc}") from None
    return torch, transformers


def resolve_model_source(model: str, cache_dir: str = "") -> tuple[str, str | None, str]:
    """(folder or hub id, gguf file name or None, a stable id for caching/adapter checks)."""
    embedded = resolve_embedded(model, cache_dir)
    if embedded is not None:
        return str(embedded.path.parent), embedded.path.name, embedded.profile
    p = Path(os.path.expanduser(model))
    if p.suffix == ".gguf":
        if not p.exists():
            raise ModelLoadError(f"model file not found: {p}")
        return str(p.parent), p.name, f"{p.stem}-{sha256_of(p)[:12]}"
    if p.exists():
        return str(p), None, str(p.resolve())
    if "/" in model and not model.startswith((".", "/")):
        return model, None, model  # a hub id: works offline only when it is already in the HF cache
    raise ModelLoadError(f"model not found: {model!r} is neither an embedded profile, a GGUF file nor a folder")


def load_causal_lm(model: str, cache_dir: str = "", quantization_config=None, device: str = "auto"):
    """Return (model, tokenizer, model_id). `device` is auto/cpu/cuda."""
    torch, transformers = import_transformers()
    folder, gguf_file, model_id = resolve_model_source(model, cache_dir)
    cached = default_cache_dir(cache_dir) / "hf" / model_id.replace("/", "--") if gguf_file else None
    if cached is not None and (cached / "config.json").exists():
        folder, gguf_file = str(cached), None
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    kwargs: dict = {}
    if quantization_config is not None:
        kwargs.update(quantization_config=quantization_config, device_map="auto")
    try:
        tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
        lm = transformers.AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=gguf_file, dtype=torch.bfloat16 if use_cuda else torch.float32, **kwargs
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"transformers could not load {model!r}: {exc}") from None
    if gguf_file and cached is not None:
        _save_plain_copy(lm, tok, cached)
    if quantization_config is None and use_cuda:
        lm = lm.to("cuda")
    lm.eval()
    # peft records this as an adapter's base; the stable id (not a cache folder) lets adapters be checked.
    lm.config._name_or_path = model_id
    lm.name_or_path = model_id  # peft reads the instance attribute, set from the config at load time
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return lm, tok, model_id


def _save_plain_copy(lm, tok, target: Path) -> None:
    # The GGUF quantizer object blocks save_pretrained; the weights are already plain tensors.
    lm.hf_quantizer = None
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    try:
        lm.save_pretrained(tmp)
        follow_umask(tmp)  # safetensors writes its shards 0600, the config beside them follows the umask
        tok.save_pretrained(tmp)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not cache a plain HF copy at %s (%s); the next load will be slow", target, exc)

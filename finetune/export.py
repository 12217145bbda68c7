"""Ship a trained adapter: merged HF safetensors folder, or a GGUF LoRA that llama.cpp loads with `lora_path`.

The GGUF LoRA is written with the `gguf` package (its writer and HF→GGUF tensor-name map), following
llama.cpp's adapter format: general.type "adapter", adapter.type "lora", adapter.lora.alpha, tensors
`<gguf weight name>.lora_a` (r × in) and `.lora_b` (out × r). Each layer's update is taken from peft's own
`get_delta_weight` (so LoRA, rsLoRA and AdaLoRA's SVD form all export the same way) and factored back by
SVD at its true rank; ranks are zero-padded to one common R and alpha = R, so llama.cpp's scale
alpha / rank is exactly 1 whatever the method. For the llama architecture, Q and K rows are permuted as
convert_hf_to_gguf.py does for the base weights.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from assistant.errors import ConfigError, InputError, ModelLoadError
from assistant.llm.adapter_registry import GGUF_BASE_KEY, check_adapter_base

log = logging.getLogger(__name__)

#: HF model_type -> whether convert_hf_to_gguf permutes q/k rows for it (rotary layout)
GGUF_ARCHES = {"llama": True, "mistral": True, "qwen2": False, "qwen3": False}


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"corrupt adapter folder: {path.name} is not readable JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise InputError(f"corrupt adapter folder: {path.name} is not a JSON object")
    return obj


def read_meta(adapter_dir: Path) -> dict:
    meta = adapter_dir / "finetune_meta.json"
    if meta.exists():
        return _read_json(meta)
    cfg = adapter_dir / "adapter_config.json"
    if not cfg.exists():
        raise InputError(f"{adapter_dir} is not an adapter folder (no adapter_config.json)")
    base = _read_json(cfg).get("base_model_name_or_path")
    if not base:
        raise InputError(f"{adapter_dir}/adapter_config.json does not name its base model")
    return {"base_model": base}


def load_adapter(adapter_dir: str | Path, cache_dir: str = "", trainable: bool = False):
    """(PeftModel, tokenizer, base model id) for a trained adapter folder, after checking its base."""
    from peft import PeftModel

    from assistant.llm.hf_loading import load_causal_lm

    adapter_dir = Path(adapter_dir)
    if not adapter_dir.is_dir():
        raise InputError(f"adapter folder not found: {adapter_dir}")
    meta = read_meta(adapter_dir)
    base, tok, model_id = load_causal_lm(meta["base_model"], cache_dir, None, "cpu")
    check_adapter_base(adapter_dir, model_id)
    try:
        model = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=trainable)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"could not load adapter {adapter_dir}: {exc}") from None
    model.eval()
    return model, tok, model_id


def export_merged(model, tok, output: str | Path) -> Path:
    """merge_and_unload → a plain HF safetensors folder any HF tool (or convert_hf_to_gguf.py) can load."""
    out = Path(output)
    merged = model.merge_and_unload()
    merged.hf_quantizer = None  # a base that came from GGUF keeps a quantizer object that blocks saving
    if hasattr(merged.config, "quantization_config"):
        del merged.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def _permute(w, n_head: int):
    # Same reordering convert_hf_to_gguf.py applies to q/k weights (HF half-split → interleaved rotary).
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def lora_factors(model) -> dict[str, tuple]:
    """HF weight name -> (A: r×in, B: out×r) float32 tensors with B @ A == the layer's update."""
    import torch

    out = {}
    for name, module in model.named_modules():
        if not (hasattr(module, "get_delta_weight") and "default" in getattr(module, "lora_A", {})):
            continue
        with torch.no_grad():
            delta = module.get_delta_weight("default").float()
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        keep = max(1, int((s > s[0] * 1e-4).sum())) if s[0] > 0 else 1
        root = s[:keep].sqrt()
        weight = name.removeprefix("base_model.model.") + ".weight"
        out[weight] = ((root[:, None] * vh[:keep]).contiguous(), (u[:, :keep] * root[None, :]).contiguous())
    if not out:
        raise InputError("the model has no LoRA layers to export")
    return out


def export_gguf_lora(model, output: str | Path, model_id: str) -> Path:
    """Write the adapter of a loaded PeftModel as a llama.cpp GGUF LoRA file."""
    import gguf
    import torch

    config = model.get_base_model().config
    arch = config.model_type
    if arch not in GGUF_ARCHES:
        raise ConfigError(f"--format gguf supports {', '.join(GGUF_ARCHES)} models, not {arch!r}; "
                          "use --format merged")
    gguf_arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch), None)
    if gguf_arch is None:
        raise ConfigError(f"the gguf package does not know the architecture {arch!r}")
    names = gguf.get_tensor_name_map(gguf_arch, config.num_hidden_layers)
    factors = lora_factors(model)
    rank = max(a.shape[0] for a, _ in factors.values())
    n_head, n_kv = config.num_attention_heads, getattr(config, "num_key_value_heads", config.num_attention_heads)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf_arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))  # scale = alpha / rank = 1
    writer.add_uint32("general.base_model.count", 1)
    writer.add_string(GGUF_BASE_KEY, model_id)
    for hf_name, (a, b) in sorted(factors.items()):
        target = names.get_name(hf_name, try_suffixes=(".weight",))
        if target is None:
            raise ConfigError(f"no GGUF tensor for {hf_name}; this target module cannot be exported to GGUF")
        pad = rank - a.shape[0]
        a = torch.cat([a, a.new_zeros(pad, a.shape[1])]) if pad else a
        b = torch.cat([b, b.new_zeros(b.shape[0], pad)], dim=1) if pad else b
        if GGUF_ARCHES[arch] and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            b = _permute(b, n_head if hf_name.endswith("q_proj.weight") else n_kv)
        writer.add_tensor(f"{target}.lora_a", a.numpy())
        writer.add_tensor(f"{target}.lora_b", b.numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    log.info("wrote %s: %d LoRA layers at rank %d", out, len(factors), rank)
    return out

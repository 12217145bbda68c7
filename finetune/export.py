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
import os
import re
import shutil
from pathlib import Path

from assistant.errors import ConfigError, InputError, ModelLoadError
from assistant.llm.adapter_registry import GGUF_BASE_KEY, check_adapter_base
from assistant.outputs import follow_umask

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
    # Written beside the target and renamed in: an interrupted export leaves no folder that looks complete.
    tmp, old = out.with_name(out.name + f".tmp-{os.getpid()}"), out.with_name(out.name + f".old-{os.getpid()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        follow_umask(tmp)  # safetensors writes its shards 0600, the config beside them follows the umask
        tok.save_pretrained(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def _permute(w, n_head: int):
    # Same reordering convert_hf_to_gguf.py applies to q/k weights (HF half-split → interleaved rotary).
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def lora_factors(model) -> dict[str, tuple]:
    """HF weight name -> (A: r×in, B: out×r) float32 CPU tensors with B @ A == the layer's update."""
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
        # on the CPU: the GGUF writer takes numpy arrays, and a QLoRA job's layers sit on the GPU
        out[weight] = ((root[:, None] * vh[:keep]).cpu().contiguous(), (u[:, :keep] * root[None, :]).cpu().contiguous())
    if not out:
        raise InputError("the model has no LoRA layers to export")
    return out


def export_gguf_lora(model, output: str | Path, model_id: str, base_gguf: str | Path | None = None,
                     modelfile: bool = True) -> Path:
    """Write the adapter of a loaded PeftModel as a llama.cpp GGUF LoRA file, and an Ollama `Modelfile` beside
    it when the base is a GGUF file (`base_gguf`, or the embedded profile `model_id` names)."""
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
    # Written under another name and renamed in: a killed export must not leave a truncated adapter.gguf that
    # the gate or llama.cpp would take for the real one.
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    try:
        writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf_arch])
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
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote %s: %d LoRA layers at rank %d", out, len(factors), rank)
    if modelfile:
        base = Path(base_gguf) if base_gguf else base_gguf_for(model_id)
        if base is not None:
            write_modelfile(out, base)
        else:
            log.warning("no Modelfile for %s: the base %r is not a GGUF file this install knows", out, model_id)
    return out


def export_gguf_base(source: str | Path, output: str | Path, dtype: str = "f32") -> Path:
    """A full-precision copy of a (quantised) GGUF model: every tensor dequantised to f32 or f16, every metadata
    key (tokenizer, chat template) kept. These are the very weights transformers trains on (it dequantises the
    same file), so llama.cpp on this copy answers as the HF model does, without quantisation noise."""
    import gguf
    import numpy as np

    if dtype not in ("f32", "f16"):
        raise ConfigError(f"dtype must be f32 or f16, got {dtype!r}")
    reader = gguf.GGUFReader(str(source))
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), arch)
    skip = {gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE, "general.quantization_version"}
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, f.contents(), f.types[0], sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == "f32" else gguf.LlamaFileType.MOSTLY_F16)
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).reshape(tuple(reversed(t.shape.tolist())))
        # llama.cpp keeps norms and other 1-D tensors in f32 whatever the file type
        keep32 = dtype == "f32" or values.ndim == 1
        writer.add_tensor(t.name, values.astype(np.float32 if keep32 else np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    return out


# --- Ollama -----------------------------------------------------------------------------------------------------
MODELFILE = "Modelfile"
MODELFILE_HEADER = "# Ollama: ollama create NAME -f "  # first line of every Modelfile an export writes
_PROBE = ("S\u00a7", "U\u00a7", "A\u00a7")  # marker texts that no template writes by itself


def base_gguf_for(model_id: str) -> Path | None:
    """The GGUF file of an embedded profile (what llama.cpp serves as the base), else None."""
    from assistant.llm.embedded import resolve_embedded

    try:
        embedded = resolve_embedded(model_id)
    except Exception:  # noqa: BLE001 - a model we cannot assemble here simply gets no Modelfile
        return None
    return embedded.path if embedded is not None and embedded.path.exists() else None


def render_chat_template(template: str, messages: list[dict], add_generation_prompt: bool = True,
                         bos_token: str = "", eos_token: str = "") -> str:
    """Render a GGUF's Jinja chat template as transformers and llama-cpp-python both do (trim + lstrip blocks)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise InputError(f"chat template: {msg}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **_: json.dumps(x, ensure_ascii=False)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                            bos_token=bos_token, eos_token=eos_token,
                                            raise_exception=raise_exception)


def chatml_default_system(template: str) -> str | None:
    """For a ChatML template (Qwen2.5, SmolLM2): the system text it inserts when none is given ("" for none);
    None when the template is not ChatML, so no Go template is written for it."""
    s, u, a = _PROBE
    conv = [{"role": "system", "content": s}, {"role": "user", "content": u}, {"role": "assistant", "content": a},
            {"role": "user", "content": u}]
    want = (f"<|im_start|>system\n{s}<|im_end|>\n<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n{a}"
            f"<|im_end|>\n<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n")
    if render_chat_template(template, conv) != want:
        return None
    bare = render_chat_template(template, conv[1:2])
    tail = f"<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n"
    if not bare.endswith(tail):
        return None
    head = bare[: -len(tail)]
    if not head:
        return ""
    if head.startswith("<|im_start|>system\n") and head.endswith("<|im_end|>\n"):
        return head[len("<|im_start|>system\n"): -len("<|im_end|>\n")]
    return None


def chatml_go_template(default_system: str) -> str:
    """Ollama's Go template for ChatML, with the model's own default system text when none is sent."""
    fallback = f"<|im_start|>system\n{default_system}<|im_end|>\n" if default_system else ""
    return ("{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ else }}" + fallback + "{{ end }}"
            "{{ range .Messages }}{{ if ne .Role \"system\" }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
            "{{ end }}{{ end }}<|im_start|>assistant\n")


def modelfile_path(adapter_gguf: Path) -> Path:
    """`Modelfile` beside the adapter, unless that file is someone else's: one the user wrote (an export to
    ~/ollama/shop/support.gguf must not replace their SYSTEM prompt and parameters) or an export's for another
    GGUF still beside it. Then `<gguf stem>.Modelfile` (`ollama create NAME -f support.Modelfile`)."""
    plain = adapter_gguf.with_name(MODELFILE)
    try:
        text = plain.read_text(encoding="utf-8") if plain.exists() else None
    except (OSError, UnicodeDecodeError):
        text = ""
    if text is None:
        return plain
    mine = text.startswith(MODELFILE_HEADER)
    other = re.search(r"(?m)^ADAPTER \./(.+)$", text) if mine else None
    if mine and (other is None or other.group(1) == adapter_gguf.name or not (plain.parent / other.group(1)).exists()):
        return plain
    named = adapter_gguf.with_name(f"{adapter_gguf.stem}.{MODELFILE}")
    whose = f"for {other.group(1)}" if other else "not written by an export"
    log.warning("%s is kept (%s): the Modelfile for %s is %s", plain, whose, adapter_gguf.name, named)
    return named


def write_modelfile(adapter_gguf: str | Path, base_gguf: str | Path) -> Path:
    """`Modelfile` beside the adapter: FROM the base GGUF, ADAPTER the LoRA, TEMPLATE = the chat template the
    adapter was trained with (ChatML: written out; other templates: Ollama reads it from the GGUF), stops."""
    import gguf

    adapter_gguf, base_gguf = Path(adapter_gguf), Path(base_gguf).resolve()
    reader = gguf.GGUFReader(str(base_gguf))
    field = reader.get_field("tokenizer.chat_template")
    template = field.contents() if field is not None else ""
    tokens = reader.get_field("tokenizer.ggml.tokens")
    eos = reader.get_field("tokenizer.ggml.eos_token_id")
    stops = []
    if tokens is not None and eos is not None:
        stops.append(tokens.contents(int(eos.contents())))
    system = chatml_default_system(template) if template else None
    out = modelfile_path(adapter_gguf)
    lines = [f"{MODELFILE_HEADER}{out.name}  (the base must be the GGUF this adapter was trained on)",
             f"FROM {base_gguf}", f"ADAPTER ./{adapter_gguf.name}"]
    if system is not None:
        lines.append(f'TEMPLATE """{chatml_go_template(system)}"""')
        stops = list(dict.fromkeys([*stops, "<|im_end|>", "<|im_start|>"]))
    else:
        lines.append("# TEMPLATE: not ChatML; Ollama uses the chat template stored in the base GGUF")
    lines += [f'PARAMETER stop "{s}"' for s in stops if s]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def read_modelfile(path: str | Path) -> dict:
    """Parse a Modelfile's instructions ({"FROM": [...], "ADAPTER": [...], "TEMPLATE": [...], "PARAMETER": [...]});
    triple-quoted values may span lines. Unknown instructions are an InputError, as `ollama create` refuses them."""
    known = {"FROM", "ADAPTER", "TEMPLATE", "PARAMETER", "SYSTEM", "LICENSE", "MESSAGE", "REQUIRES"}
    text = Path(path).read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    pos = 0
    for m in re.finditer(r'(?m)^(\w+)[ \t]+("""(.*?)"""|[^\n]*)', text, re.S):
        between = text[pos:m.start()]
        if any(line.strip() and not line.strip().startswith("#") for line in between.splitlines()):
            raise InputError(f"{path}: cannot parse {between.strip()[:40]!r}")
        pos = m.end()
        name = m.group(1).upper()
        if name not in known:
            raise InputError(f"{path}: unknown instruction {m.group(1)!r}")
        value = m.group(3) if m.group(3) is not None else m.group(2).strip()
        out.setdefault(name, []).append(value)
    if "FROM" not in out:
        raise InputError(f"{path}: no FROM line")
    return out

"""The one place that knows bitsandbytes: builds the 4-bit config for QLoRA and 4-bit serving.

bitsandbytes is imported only here and only when asked for, so CPU installs never touch CUDA code.
"""

from __future__ import annotations

from assistant.errors import ModelLoadError


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def get_quantization_config(load_in_4bit: bool, compute_dtype: str = "bfloat16"):
    """nf4 + double quantisation + bf16 compute (the QLoRA recipe), or None when 4-bit is off."""
    if not load_in_4bit:
        return None
    if not cuda_available():
        raise ModelLoadError(
            "4-bit loading (bitsandbytes nf4 / QLoRA) needs a CUDA GPU and none is visible; "
            "set llm.load_in_4bit: false (or use --method lora) on this machine"
        )
    try:
        import bitsandbytes  # noqa: F401  (import checks the CUDA build is usable)
        import torch
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise ModelLoadError(f"4-bit loading needs bitsandbytes: pip install bitsandbytes==0.50.2 ({exc})") from None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=getattr(torch, compute_dtype),
    )

"""The one fine-tuning config: dataclass fields = CLI flags = YAML keys (section `finetune`), TRL style.

Validated where it is made; `get_peft_config` (finetune/methods.py) and `get_quantization_config`
(assistant/llm/quantization.py) are the only code that turns it into peft / bitsandbytes objects.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from assistant.errors import ConfigError

METHODS = ("lora", "adalora", "qlora")
TASKS = ("support", "adcopy")
DEFAULT_REGISTRY = "data/adapters/registry.json"
DEFAULT_LR = {"lora": 1e-3, "qlora": 1e-3, "adalora": 1e-2}


def require_finite(config) -> None:
    """nan passes every `<`/`>` range check and inf overflows a step plan: both end in a torch traceback or an
    adapter full of NaNs, so no float setting of a training config may be either."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number, got {value}")


@dataclass
class FinetuneConfig:
    base_model: str = field(
        default="smollm2-135m",
        metadata={"help": "embedded profile (smollm2-135m, qwen2.5-0.5b), a GGUF file or an HF folder"},
    )
    method: str = field(default="lora", metadata={"help": f"one of {METHODS}"})
    task: str = field(default="support", metadata={"help": f"task the adapter is registered for: {TASKS}"})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "linear layers that get an adapter"},
    )
    r: int = field(default=8, metadata={"help": "LoRA rank; for AdaLoRA the average rank it ends with"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the adapter input"})
    adalora_init_r: int = field(default=12, metadata={"help": "AdaLoRA: rank every layer starts with"})
    adalora_tinit: float = field(default=0.1, metadata={"help": "AdaLoRA: warm-up before pruning, fraction of steps"})
    adalora_tfinal: float = field(default=0.2, metadata={"help": "AdaLoRA: steps at the final budget, fraction"})
    adalora_delta_t: int = field(default=1, metadata={"help": "AdaLoRA: optimizer steps between budget updates"})
    adalora_beta: float = field(default=0.85, metadata={"help": "AdaLoRA: EMA factor of the sensitivity scores"})
    adalora_orth_reg: float = field(
        default=0.1, metadata={"help": "AdaLoRA: orthogonality regulariser weight (peft's 0.5 stalls short runs)"},
    )
    max_seq_len: int = field(default=512, metadata={"help": "tokens per packed training row"})
    packing: bool = field(default=True, metadata={"help": "pack several examples per row (no padding waste)"})
    batch_size: int = field(default=2, metadata={"help": "rows per optimizer micro-batch"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    learning_rate: float = field(
        default=0.0, metadata={"help": "peak AdamW learning rate; 0 = per method (lora/qlora 1e-3, adalora 1e-2)"},
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "linear warm-up, fraction of steps (then cosine)"})
    num_epochs: float = field(default=3.0, metadata={"help": "passes over the training split (if max_steps=0)"})
    max_steps: int = field(default=0, metadata={"help": "optimizer steps; 0 = from num_epochs"})
    eval_fraction: float = field(default=0.15, metadata={"help": "share of examples held out for eval"})
    eval_every: int = field(default=0, metadata={"help": "steps between eval passes; 0 = about 5 per run"})
    save_every: int = field(default=0, metadata={"help": "steps between resumable checkpoints; 0 = at evals"})
    save_every_minutes: float = field(
        default=0.0, metadata={"help": "also checkpoint when this many minutes passed since the last one; 0 = off"},
    )
    seed: int = field(default=42, metadata={"help": "seed for the split, the init and dropout"})
    redact_pii: bool = field(default=True, metadata={"help": "mask e-mails/phones/etc. before training"})
    num_samples: int = field(default=5, metadata={"help": "before/after sample generations in the report"})
    sample_max_tokens: int = field(default=48, metadata={"help": "new tokens per sample / metric generation"})
    metric_examples: int = field(default=16, metadata={"help": "eval examples scored by the task metric"})
    export_gguf: bool = field(default=True, metadata={"help": "also write adapter.gguf for llama.cpp after training"})
    register: bool = field(default=True, metadata={"help": "record the trained adapter in the registry"})
    registry: str = field(default=DEFAULT_REGISTRY, metadata={"help": "adapter registry JSON file"})
    qlora_fp32_upcast: bool = field(
        default=True, metadata={"help": "QLoRA: cast the base's 16-bit weights (embeddings, head, norms) to fp32 as "
                                "peft's prepare_model_for_kbit_training does; false keeps them bf16 (less memory)"},
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})
    num_threads: int = field(default=0, metadata={"help": "torch CPU threads; 0 = torch's default"})
    cache_dir: str = field(default="", metadata={"help": "model cache; '' = ~/.cache/shop-assistant"})

    @property
    def lr(self) -> float:
        """The learning rate to use. AdaLoRA's update B·diag(E)·A starts at E = 0 with A, B ~ N(0, 0.02), so it
        grows roughly with the cube of the step size: on a few dozen CPU steps it needs 10x LoRA's rate."""
        return self.learning_rate or DEFAULT_LR[self.method]

    def __post_init__(self):
        require_finite(self)
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if not self.target_modules:
            raise ConfigError("target_modules must name at least one layer, got []")
        for name, value in (("r", self.r), ("adalora_init_r", self.adalora_init_r), ("batch_size", self.batch_size),
                            ("gradient_accumulation_steps", self.gradient_accumulation_steps),
                            ("adalora_delta_t", self.adalora_delta_t), ("lora_alpha", self.lora_alpha)):
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        # Only AdaLoRA prunes from adalora_init_r down to r: a LoRA of rank 16 must not need --adalora-init-r.
        if self.method == "adalora" and self.adalora_init_r < self.r:
            raise ConfigError(f"adalora_init_r must be >= r ({self.r}) for adalora, got {self.adalora_init_r}")
        for name, value in (("lora_dropout", self.lora_dropout), ("warmup_ratio", self.warmup_ratio),
                            ("adalora_tinit", self.adalora_tinit), ("adalora_tfinal", self.adalora_tfinal)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value:g}")
        if self.adalora_tinit + self.adalora_tfinal >= 0.9:
            raise ConfigError(f"adalora_tinit + adalora_tfinal must leave a budgeting phase (< 0.9), "
                              f"got {self.adalora_tinit + self.adalora_tfinal:g}")
        if not 0.0 < self.adalora_beta < 1.0:
            raise ConfigError(f"adalora_beta must be in (0, 1), got {self.adalora_beta:g}")
        if not 0.0 < self.eval_fraction < 0.9:
            raise ConfigError(f"eval_fraction must be in (0, 0.9), got {self.eval_fraction:g}")
        if self.max_seq_len < 32:
            raise ConfigError(f"max_seq_len must be >= 32, got {self.max_seq_len}")
        if self.learning_rate < 0:
            raise ConfigError(f"learning_rate must be >= 0 (0 = the method's default), got {self.learning_rate:g}")
        if self.max_steps < 0 or self.num_epochs <= 0:
            raise ConfigError(f"max_steps must be >= 0 and num_epochs > 0, got {self.max_steps}, {self.num_epochs:g}")
        for name, value in (("eval_every", self.eval_every), ("save_every", self.save_every),
                            ("num_samples", self.num_samples), ("metric_examples", self.metric_examples),
                            ("num_threads", self.num_threads), ("adalora_orth_reg", self.adalora_orth_reg),
                            ("weight_decay", self.weight_decay), ("save_every_minutes", self.save_every_minutes)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        if self.sample_max_tokens < 1:
            raise ConfigError(f"sample_max_tokens must be >= 1, got {self.sample_max_tokens}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not self.base_model:
            raise ConfigError("base_model must name an embedded profile, a GGUF file or an HF folder")

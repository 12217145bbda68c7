"""The only code that builds peft configs: LoRA, AdaLoRA (with its real budget schedule) and QLoRA.

Also loads the base model for training (4-bit through `get_quantization_config` for QLoRA) and writes the
AdaLoRA rank report: which layers kept how much of their rank once the budget was spent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError, ModelLoadError
from assistant.llm.hf_loading import load_causal_lm
from assistant.llm.quantization import cuda_available, get_quantization_config
from finetune.config import FinetuneConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaLoraSchedule:
    total_step: int
    tinit: int
    tfinal: int
    delta_t: int


def adalora_schedule(cfg: FinetuneConfig, total_steps: int) -> AdaLoraSchedule:
    """Steps of warm-up / budgeting / final phases from the run's real number of optimizer steps.

    peft needs `tinit < total_step - tfinal`; a run too short for a budgeting phase is a config error,
    not a silent fall-back to plain LoRA.
    """
    tinit = int(cfg.adalora_tinit * total_steps)
    tfinal = int(cfg.adalora_tfinal * total_steps)
    if total_steps - tfinal - tinit < 2:
        raise ConfigError(f"max_steps must leave AdaLoRA a budgeting phase: {total_steps} steps with "
                          f"tinit={tinit}, tfinal={tfinal} do not; train longer or lower adalora_tinit/adalora_tfinal")
    delta_t = max(1, min(cfg.adalora_delta_t, (total_steps - tfinal - tinit) // 2))
    return AdaLoraSchedule(total_steps, tinit, tfinal, delta_t)


def get_peft_config(cfg: FinetuneConfig, total_steps: int | None = None):
    """LoraConfig for lora/qlora, AdaLoraConfig for adalora (which needs the run's `total_steps`)."""
    from peft import AdaLoraConfig, LoraConfig, TaskType

    if cfg.method in ("lora", "qlora"):
        return LoraConfig(
            r=cfg.r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.target_modules), task_type=TaskType.CAUSAL_LM, bias="none",
        )
    if total_steps is None:
        raise ConfigError("adalora needs the run's total optimizer steps (total_steps) to plan its rank budget")
    s = adalora_schedule(cfg, total_steps)
    return AdaLoraConfig(
        init_r=cfg.adalora_init_r, target_r=cfg.r, tinit=s.tinit, tfinal=s.tfinal, deltaT=s.delta_t,
        total_step=s.total_step, beta1=cfg.adalora_beta, beta2=cfg.adalora_beta,
        orth_reg_weight=cfg.adalora_orth_reg, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.target_modules), task_type=TaskType.CAUSAL_LM,
    )


def load_base(cfg: FinetuneConfig):
    """(model, tokenizer, model_id) ready for an adapter; QLoRA stops clearly when CUDA is missing."""
    qcfg = None
    if cfg.method == "qlora":
        if not cuda_available():
            raise ModelLoadError("qlora trains on a 4-bit base and needs a CUDA GPU, none is visible; "
                                 "use --method lora or adalora on this machine")
        qcfg = get_quantization_config(True)
    elif cfg.device == "cuda" and not cuda_available():
        raise ModelLoadError("finetune.device is cuda but no CUDA GPU is visible")
    device = "cpu" if cfg.device == "cpu" else cfg.device
    model, tok, model_id = load_causal_lm(cfg.base_model, cfg.cache_dir, qcfg, device)
    if qcfg is not None and cfg.qlora_fp32_upcast:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    elif qcfg is not None:
        # peft's prepare casts every 16-bit weight to fp32, embeddings and head included, which never train:
        # on a 7B with a 152k vocabulary that is 2.2 GB more. Same freezing and checkpointing, weights left bf16.
        for p in model.parameters():
            p.requires_grad_(False)
        enable_checkpointing(model)
    return model, tok, model_id


def enable_checkpointing(model) -> None:
    """Gradient checkpointing as prepare_model_for_kbit_training switches it on (inputs need grads for it)."""
    model.gradient_checkpointing_enable()
    model.enable_input_require_grads()


def wrap(model, cfg: FinetuneConfig, total_steps: int):
    """Freeze the base and add the configured adapter; returns the PeftModel."""
    from peft import get_peft_model

    names = [n for n, _ in model.named_modules()]
    # peft only refuses when no name matches at all: `q_proj,v_prj` would train q_proj alone, silently.
    unmatched = [t for t in cfg.target_modules if not any(n == t or n.endswith("." + t) for n in names)]
    if unmatched:
        import torch

        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise ConfigError(f"target_modules: {', '.join(unmatched)} matches no layer of this model (its linear "
                          f"layers: {', '.join(linear)})")
    try:
        return get_peft_model(model, get_peft_config(cfg, total_steps))
    except ValueError as exc:  # e.g. target modules that the architecture does not have
        raise ConfigError(f"target_modules: peft refused the adapter: {exc}") from None


def is_adalora(model) -> bool:
    return type(getattr(model, "base_model", None)).__name__ == "AdaLoraModel"


def adalora_ranks(model) -> dict[str, int]:
    """Current rank of each AdaLoRA layer = the singular values (lora_E) not pruned to zero."""
    ranks = {}
    for name, p in model.named_parameters():
        if name.endswith("lora_E.default"):
            ranks[name.removesuffix(".lora_E.default").removeprefix("base_model.model.")] = int(
                (p.detach() != 0).sum()
            )
    return ranks


def rank_report(ranks: dict[str, int], init_r: int, out_dir: Path) -> str:
    """Markdown table (layer × module) of final ranks and a heat map PNG next to it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    layers: dict[int, dict[str, int]] = {}
    modules: list[str] = []
    for name, rank in ranks.items():
        parts = name.split(".")
        idx = next((int(p) for p in parts if p.isdigit()), -1)
        mod = parts[-1]
        layers.setdefault(idx, {})[mod] = rank
        if mod not in modules:
            modules.append(mod)
    order = sorted(layers)
    grid = np.array([[layers[i].get(m, 0) for m in modules] for i in order])
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(modules), 1.0 + 0.22 * len(order)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=init_r)
    ax.set_xticks(range(len(modules)), modules, rotation=45, ha="right")
    ax.set_yticks(range(len(order)), [str(i) for i in order], fontsize=6)
    ax.set_ylabel("layer")
    ax.set_title(f"AdaLoRA final rank (of {init_r})")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out_dir / "rank_report.png", dpi=110)
    plt.close(fig)
    total = int(grid.sum())
    lines = ["| layer | " + " | ".join(modules) + " | sum |", "|---" * (len(modules) + 2) + "|"]
    for i, row in zip(order, grid, strict=True):
        lines.append(f"| {i} | " + " | ".join(str(int(v)) for v in row) + f" | {int(row.sum())} |")
    per_module = " · ".join(f"{m}: {grid[:, j].mean():.1f}" for j, m in enumerate(modules))
    lines.append(f"\nTotal rank {total} of {init_r * grid.size} at start; mean final rank per module: {per_module}.")
    return "\n".join(lines)

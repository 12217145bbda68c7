"""What the CLI verbs do, start to end: train (data → adapter → report → GGUF → registry) and eval."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import resolve_path
from assistant.errors import AssistantError, InputError
from assistant.llm import adapter_registry
from assistant.llm.embedded import file_sha256
from finetune import dataset
from finetune.config import FinetuneConfig
from finetune.evaluate import eval_loss, generate, perplexity, task_metric
from finetune.methods import adalora_ranks, is_adalora, load_base, rank_report
from finetune.report import Report, render
from finetune.trainer import (
    Progress,
    accelerator,
    check_resume,
    remove_checkpoints,
    run_recipe,
    save_adapter,
    seed_everything,
    train_adapter,
)

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    output: Path
    report: Path
    metrics: dict[str, float]
    gguf: Path | None


def _set_threads(cfg: FinetuneConfig) -> None:
    if cfg.num_threads:
        import torch

        torch.set_num_threads(cfg.num_threads)


def read_examples(cfg: FinetuneConfig, data: str | Path):
    """(train, eval) examples with PII redacted; runs before any model loads, so bad data fails fast."""
    examples = dataset.load_jsonl(data)
    if cfg.redact_pii:
        changed = dataset.redact_examples(examples)
        if changed:
            log.info("redacted PII in %d turn(s)", changed)
    return dataset.split(examples, cfg.eval_fraction, cfg.seed)


def prepare_data(cfg: FinetuneConfig, data: str | Path, tok, examples=None):
    """(train rows, eval rows, eval examples) with PII redacted and the chat template applied."""
    train_ex, eval_ex = examples or read_examples(cfg, data)
    train_rows = dataset.pack(dataset.encode_all(tok, train_ex, cfg.max_seq_len), cfg.max_seq_len, cfg.packing)
    eval_rows = dataset.pack(dataset.encode_all(tok, eval_ex, cfg.max_seq_len), cfg.max_seq_len, cfg.packing)
    return train_rows, eval_rows, eval_ex


def run_train(cfg: FinetuneConfig, data: str | Path, output: str | Path, resume: bool = False,
              progress: bool = True, on_progress: Callable[[Progress], None] | None = None,
              pause: Callable[[], float] | None = None, overwrite: bool = False) -> TrainResult:
    """Train, evaluate, report, export and register one adapter. The checkpoints stay until the very end, so a
    run killed while it evaluates or exports resumes from its last checkpoint instead of starting over.
    `pause()` is called before every decoder layer's forward and backward (finetune/yield_to_chat.py).
    `overwrite`: the files of an earlier run in `output` are removed once data and model are ready."""
    output = Path(output)
    examples = read_examples(cfg, data)  # bad data fails before torch is even imported
    recipe = run_recipe(cfg, data)
    if resume:
        check_resume(output, recipe)  # before the model loads, as every other check on the run
    from finetune.output_guard import training_lock

    with training_lock(output):
        return _train_locked(cfg, data, output, examples, recipe, resume, progress, on_progress, pause, overwrite)


def _train_locked(cfg: FinetuneConfig, data, output: Path, examples, recipe, resume: bool, progress: bool,
                  on_progress, pause, overwrite: bool) -> TrainResult:
    _set_threads(cfg)
    seed_everything(cfg.seed)
    model, tok, model_id = load_base(cfg)
    if pause is not None:
        from finetune.yield_to_chat import install_layer_pauses

        install_layer_pauses(model, pause)
    train_rows, eval_rows, eval_ex = prepare_data(cfg, data, tok, examples)
    n_tok, n_loss = dataset.count_tokens(train_rows)
    log.info("%d training rows (%d tokens, %d with loss), %d eval rows", len(train_rows), n_tok, n_loss, len(eval_rows))
    main_process = accelerator(cfg).is_main_process  # rank 0 of a distributed launch, or a single process
    if overwrite and main_process:  # only now: a run refused for its data or model keeps the old adapter
        from finetune.output_guard import clear_previous_run

        clear_previous_run(output)
    probe = eval_ex[: max(cfg.metric_examples, cfg.num_samples)] if main_process else []
    before = generate(model, tok, probe, cfg.sample_max_tokens) if probe else []
    started = time.perf_counter()
    state = train_adapter(model, tok, cfg, train_rows, eval_rows, output, resume=resume, progress=progress,
                          on_progress=on_progress, recipe=recipe)
    wall = time.perf_counter() - started
    if not main_process:
        # Under `accelerate launch` / torchrun every rank trains; only rank 0 evaluates, saves, exports and
        # registers (the other ranks have no eval history and would race it for the same files).
        return TrainResult(output, output / "report.md", {}, None)
    model = state.model
    loss_before, loss_after = state.history.eval[0][1], state.history.eval[-1][1]
    after = generate(model, tok, probe, cfg.sample_max_tokens) if probe else []
    metric_name, m_before, n_scored = task_metric(cfg.task, before)
    _, m_after, _ = task_metric(cfg.task, after)
    metrics = {"eval_loss_before": round(loss_before, 4), "eval_loss_after": round(loss_after, 4),
               "perplexity_before": round(perplexity(loss_before), 3),
               "perplexity_after": round(perplexity(loss_after), 3)}
    if m_after is not None:
        metrics.update(task_metric_before=round(m_before, 3), task_metric_after=round(m_after, 3))
    tps = state.history.tokens_per_s
    meta = {"method": cfg.method, "task": cfg.task, "data": str(Path(data).resolve()), "data_sha256": file_sha256(Path(data))[:16],
            "steps": state.total_steps, "processes": state.processes, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "metrics": metrics, "config": dataclasses.asdict(cfg)}
    save_adapter(state, tok, output, model_id, meta)
    rank_table = ""
    if is_adalora(model):
        rank_table = rank_report(adalora_ranks(model), cfg.adalora_init_r, output)
    facts = {"base model": model_id, "method": cfg.method, "task": cfg.task, "data": f"{data} ({len(train_rows)} "
             f"packed train rows, {len(eval_rows)} eval rows)", "steps": str(state.total_steps),
             "trainable parameters": f"{state.trainable:,} of {state.total_params:,} "
             f"({100 * state.trainable / state.total_params:.2f} %)",
             "training time": f"{wall:.0f} s, {tps:.0f} training tokens/s (evals excluded)", "seed": str(cfg.seed)}
    report = render(Report(f"Fine-tuning report: {cfg.task} ({cfg.method})", facts, loss_before, loss_after,
                           metric_name, m_before, m_after, n_scored, before, after, rank_table,
                           state.history.train, state.history.eval), output, cfg.num_samples)
    gguf_path = None
    if cfg.export_gguf:
        from finetune.export import export_gguf_lora

        try:
            gguf_path = export_gguf_lora(model, output / "adapter.gguf", model_id)
        except AssistantError as exc:  # the peft folder is still usable with the transformers backend
            log.warning("no GGUF export: %s", exc.one_line())
    if cfg.register:
        adapter_registry.register_adapter(cfg.task, output, model_id, cfg.method, metrics, gguf_path or "",
                                          registry=resolve_path(cfg.registry))
    remove_checkpoints(output)  # finished: nothing left to resume
    return TrainResult(output, report, metrics, gguf_path)


def run_eval(adapter_dir: str | Path, data: str | Path, cfg: FinetuneConfig,
             progress: bool = False) -> dict[str, float]:
    """Eval loss/perplexity of base vs adapter and the task metric on a whole JSONL file; `progress`: a bar on
    stderr (a large file takes minutes on a CPU: two loss passes and two rounds of generation)."""
    from tqdm.auto import tqdm

    from finetune.export import load_adapter, read_meta

    if not Path(adapter_dir).is_dir():
        raise InputError(f"adapter folder not found: {adapter_dir}")
    meta = read_meta(Path(adapter_dir))
    task = meta.get("task", cfg.task)
    examples = dataset.load_jsonl(data)  # bad data fails before the model loads
    if cfg.redact_pii:
        dataset.redact_examples(examples)
    _set_threads(cfg)
    model, tok, _ = load_adapter(adapter_dir, cfg.cache_dir)
    rows = dataset.pack(dataset.encode_all(tok, examples, cfg.max_seq_len), cfg.max_seq_len, cfg.packing)
    probe = examples[: cfg.metric_examples]
    with tqdm(total=2 * (len(rows) + len(probe)), desc="eval base+adapter", unit="row", disable=not progress) as bar:
        with model.disable_adapter():
            base_loss = eval_loss(model, rows, cfg.batch_size, tok.pad_token_id, cfg.packing, bar.update)
            base_gen = generate(model, tok, probe, cfg.sample_max_tokens, advance=bar.update)
        loss = eval_loss(model, rows, cfg.batch_size, tok.pad_token_id, cfg.packing, bar.update)
        gen = generate(model, tok, probe, cfg.sample_max_tokens, advance=bar.update)
    name, m_base, n = task_metric(task, base_gen)
    _, m_adapter, _ = task_metric(task, gen)
    return {"examples": len(examples), "eval_loss_base": loss_round(base_loss), "eval_loss": loss_round(loss),
            "perplexity_base": loss_round(perplexity(base_loss)), "perplexity": loss_round(perplexity(loss)),
            "metric": name, "metric_examples": n, "metric_base": m_base, "metric_adapter": m_adapter}


def loss_round(x: float) -> float:
    return round(x, 4)

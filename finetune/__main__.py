"""`python -m finetune train|eval|export|list|support-data`: train task adapters, score them, ship them to llama.cpp.

Every FinetuneConfig field is also a `train` flag (`--learning-rate 5e-4`), layered over the YAML
section `finetune` (config/default.yaml < --config FILE < env < flags). Multi-GPU / multi-node runs
need no code change: `accelerate launch -m finetune train ...`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import build_section, load_config, resolve_path
from finetune.config import METHODS, TASKS, FinetuneConfig

EXAMPLES = """examples:
  python -m finetune support-data --kb-folder my_shop/knowledge --output data/support_pairs.jsonl
  python -m finetune train --base-model qwen2.5-0.5b --task support --data data/support_pairs.jsonl --output adapters/support
  python -m finetune train --method adalora --data finetune/data/support.jsonl --output adapters/support
  python -m finetune train --method lora --task adcopy --data finetune/data/adcopy.jsonl --output adapters/adcopy
  python -m finetune eval --adapter adapters/support --data finetune/data/support.jsonl
  python -m finetune export --adapter adapters/support --format gguf --output adapters/support/adapter.gguf
  python -m finetune list
  accelerate launch -m finetune train --method qlora --data my.jsonl --output adapters/support   # GPUs
"""


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per config field; defaults are SUPPRESSed so only what the user typed overrides YAML."""
    hints = typing.get_type_hints(FinetuneConfig)
    fixed = {"method": METHODS, "task": TASKS}
    for f in dataclasses.fields(FinetuneConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        kw: dict = {"default": argparse.SUPPRESS, "help": f.metadata.get("help", ""), "dest": f.name}
        if f.name in fixed:
            kw["choices"] = fixed[f.name]
        elif hint is bool:
            kw.update(metavar="true|false")
        elif typing.get_origin(hint) is list:
            kw.update(metavar="A,B,...")
        elif hint in (int, float):
            kw.update(type=hint, metavar="N" if hint is int else "X")
        p.add_argument(flag, **kw)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m finetune", description=__doc__.splitlines()[0],
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    t = add_common_args(sub.add_parser("train", help="train a LoRA / AdaLoRA / QLoRA adapter"))
    t.add_argument("--data", required=True, metavar="FILE.jsonl", help="alpaca, sharegpt or OpenAI-messages JSONL")
    t.add_argument("--output", required=True, metavar="DIR", help="adapter folder (report, checkpoint, GGUF)")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint")
    again.add_argument("--overwrite", action="store_true",
                       help="replace the adapter or interrupted run already in DIR (else such a DIR is refused)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_config_flags(t)
    e = add_common_args(sub.add_parser("eval", help="eval loss, perplexity and task metric, base vs adapter"))
    e.add_argument("--adapter", required=True, metavar="DIR", help="adapter folder written by `train`")
    e.add_argument("--data", required=True, metavar="FILE.jsonl",
                   help="examples to score (same formats as train --data), e.g. a held-out file")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    x = add_common_args(sub.add_parser("export", help="merged HF folder or GGUF LoRA for llama.cpp"))
    x.add_argument("--adapter", required=True, metavar="DIR", help="adapter folder written by `train`")
    x.add_argument("--format", required=True, choices=("merged", "gguf"),
                   help="merged: base + adapter as one HF folder; gguf: the LoRA alone, for llama.cpp / Ollama")
    x.add_argument("--output", required=True, metavar="PATH",
                   help="folder (merged) or .gguf file; only DIR/adapter.gguf becomes the registry's GGUF for DIR")
    add_common_args(sub.add_parser("list", help="registered adapters per task, background training, gate decisions"))
    # Verbs owned by their modules (flags and behaviour live there; this file only dispatches).
    from finetune import autotrain, feedback_retrain, gate

    autotrain.add_arguments(add_common_args(sub.add_parser(
        "autotrain", help="train the shipped task adapters in the background (what `dev.sh run` starts)")))
    gate.add_gate_arguments(add_common_args(sub.add_parser(
        "gate", help="evaluate a candidate adapter against the served one and swap it in when it wins")))
    gate.add_rollback_arguments(add_common_args(sub.add_parser(
        "rollback", help="serve the previous adapter of a task again")))
    feedback_retrain.add_arguments(add_common_args(sub.add_parser(
        "retrain", help="train the next adapter from the shop's own feedback (thumbs, edits, corrected drafts)")))
    d = add_common_args(sub.add_parser(
        "support-data", help="grounded-answer training pairs (evidence + question -> answer or NOT_FOUND)",
        description="Builds the `support` adapter's training JSONL from a shop's documents, in the exact prompt "
                    "the knowledge base sends (both languages; positives, yes/no and NOT_FOUND pairs)."))
    d.add_argument("--output", required=True, metavar="FILE.jsonl", help="training pairs to write")
    d.add_argument("--kb-folder", action="append", metavar="DIR",
                   help="documents and FAQ tables, as for `python -m knowledge_base ingest` (repeatable; "
                        "default: knowledge_base.demo_path)")
    d.add_argument("--questions", action="append", metavar="FILE.yaml",
                   help="hand-written questions (format: finetune/data/support_questions.yaml; default: that "
                        "file when the demo shop's documents are used)")
    d.add_argument("--shared-data", metavar="DIR",
                   help="optional public FAQ sets: DIR/stackfaq/, DIR/bank_faqs/, DIR/afqmc/ (skipped if absent)")
    d.add_argument("--heldout-output", metavar="FILE.jsonl",
                   help="also write pairs of held-out facts (never in --output) for an honest evaluation")
    d.add_argument("--heldout-fraction", type=float, default=0.12, metavar="X", help="share of facts held out")
    d.add_argument("--negative-share", type=float, default=0.45, metavar="X",
                   help="NOT_FOUND pairs made per answerable pair (0-1)")
    d.add_argument("--seed", type=int, default=42, metavar="N", help="seed for sampling, negatives and the split")
    return parser


def finetune_config(args: argparse.Namespace) -> FinetuneConfig:
    settings = load_config(config_path(args))
    values = dataclasses.asdict(settings.finetune)
    for f in dataclasses.fields(FinetuneConfig):
        if hasattr(args, f.name):
            values[f.name] = getattr(args, f.name)
    return build_section("finetune", FinetuneConfig, values)


def _train(args, cfg: FinetuneConfig) -> int:
    from finetune.output_guard import check_registry, check_train_output
    from finetune.pipeline import run_train

    registry = resolve_path(cfg.registry)
    if cfg.register:
        check_registry(registry)
    # the registry is read even when this run does not register: the folder may be the one customers are served
    check_train_output(args.output, args.data, args.resume, args.overwrite, registry)
    result = run_train(cfg, args.data, args.output, resume=args.resume, progress=not args.no_progress,
                       overwrite=args.overwrite)
    m = result.metrics
    if not m:  # a non-zero rank of a distributed launch: rank 0 prints the results
        return 0
    print(f"eval loss {m['eval_loss_before']:.3f} -> {m['eval_loss_after']:.3f} "
          f"(perplexity {m['perplexity_before']:.2f} -> {m['perplexity_after']:.2f})")
    print(f"adapter: {result.output}\nreport:  {result.report}")
    if result.gguf:
        print(f"gguf:    {result.gguf}")
    if cfg.register:  # registered is not served: the gate compares it with what customers get now
        print(_serve_hint(args, cfg, result.output))
    return 0


def _serve_hint(args, cfg: FinetuneConfig, output: Path) -> str:
    """How to serve the new adapter. The gate refuses one trained on another base than the app's llm.model (the
    shipped defaults differ: finetune.base_model smollm2-135m, llm.model qwen2.5-0.5b), so say that instead of
    sending the user to a command that will refuse it. Only an embedded profile's id is known without reading
    (or assembling) its GGUF; for other models the gate says it."""
    from assistant.errors import AssistantError
    from assistant.llm.embedded import PROFILES
    from finetune.export import read_meta

    gate_cmd = f"python -m finetune gate --task {cfg.task} --adapter {output}"
    served = load_config(config_path(args)).llm.model
    try:
        trained_on = read_meta(Path(output)).get("base_model")
    except AssistantError:
        trained_on = None
    if served in PROFILES and trained_on and trained_on != served:
        return (f"to serve it: the app serves {served} (llm.model) and this adapter is for {trained_on}; set "
                f"llm.model: {cfg.base_model}, then {gate_cmd} (or train with --base-model {served})")
    return f"to serve it when it beats the current one: {gate_cmd}"


def _export(args, cfg: FinetuneConfig) -> int:
    from finetune.export import export_gguf_lora, export_merged, load_adapter
    from finetune.output_guard import check_export_output

    registry = resolve_path(cfg.registry)
    check_export_output(args.adapter, args.format, args.output, registry)  # before the model loads
    model, tok, model_id = load_adapter(args.adapter, cfg.cache_dir)
    if args.format == "merged":
        out = export_merged(model, tok, args.output)
    else:
        out = export_gguf_lora(model, args.output, model_id)
        _record_gguf(Path(args.adapter), out, registry)
    print(out)
    return 0


def _record_gguf(adapter: Path, out: Path, registry: Path) -> None:
    """Only the adapter folder's own adapter.gguf becomes what the registry serves to llama.cpp: an export to a
    scratch path (to copy elsewhere, to try out) must not move a served adapter onto a file that may be gone
    tomorrow."""
    from assistant.llm.adapter_registry import list_adapters, set_gguf

    if out.resolve() == (adapter / "adapter.gguf").resolve():
        if set_gguf(adapter, out, registry=registry):
            print(f"registry: {adapter} now serves llama.cpp from {out}")
        return
    record = next((r for r in list_adapters(registry) if r.path == str(adapter.resolve())), None)
    if record is not None:
        print(f"registry unchanged: llama.cpp is served {record.gguf or 'no GGUF'} for {adapter} (only "
              f"{adapter / 'adapter.gguf'} is recorded there)")


def _list(args, cfg: FinetuneConfig) -> int:
    from assistant.llm.adapter_registry import list_adapters, serving_state
    from finetune import autotrain, gate

    settings = load_config(config_path(args))
    for line in autotrain.status_lines(settings) + gate.decision_lines(settings):
        print(line)
    registry = resolve_path(cfg.registry)
    records = list_adapters(registry)
    if not records:
        print(f"no adapters registered in {registry}")
        return 0
    served = {s.path for s in serving_state(registry) if s.path}
    for r in records:
        loss = r.metrics.get("eval_loss_after")
        state = "  SERVED" if r.path in served else ""
        # the llamacpp backend fails every answer of a served task whose GGUF is gone: say so where people look
        missing = "  (MISSING: llama.cpp cannot serve it; export --format gguf again)" if (
            r.path in served and r.gguf and not Path(r.gguf).is_file()) else ""
        print(f"{r.task:8} {r.base_model:14} {r.method:8} eval_loss={loss if loss is not None else '-'} "
              f"{r.created}  {r.path}  gguf={r.gguf or '-'}{missing}{state}")
    return 0


def _typed_path(value: str) -> Path:
    """A folder typed on the command line: relative to the current folder, as `knowledge_base ingest` reads it;
    earlier releases read it from the repo root, so that is still tried when nothing is at the first place."""
    path = Path(value).expanduser()
    fallback = resolve_path(value)
    return fallback if not path.exists() and fallback is not None and fallback.exists() else path


def _outside_documents(option: str, path: Path, folders: list[Path]) -> None:
    """The pairs are never written over or among the shop's documents: over one they destroy it (a faq.csv
    replaced by JSONL), beside them the next `knowledge_base ingest` would read the pairs as a document."""
    from assistant.errors import InputError

    target = path.resolve()
    for folder in folders:
        where = folder.resolve()
        if target == where or target.is_relative_to(where):
            what = "one of the documents in" if target.exists() else "inside"
            raise InputError(f"{option} {path} is {what} --kb-folder {folder}: the pairs would replace or join the shop's "
                             "documents; write them elsewhere (e.g. data/support_pairs.jsonl)")


def _support_data(args) -> int:
    from assistant.errors import InputError
    from assistant.outputs import output_file
    from finetune.support_data import QUESTIONS_FILE, build

    settings = load_config(config_path(args))
    demo = resolve_path(settings.knowledge_base.demo_path)
    folders = [_typed_path(f) for f in args.kb_folder] if args.kb_folder else [demo]
    questions = args.questions or ([str(QUESTIONS_FILE)] if demo.resolve() in {f.resolve() for f in folders} else [])
    for name, value in (("heldout-fraction", args.heldout_fraction), ("negative-share", args.negative_share)):
        if not 0.0 <= value < 1.0:  # `not` also refuses nan
            raise InputError(f"--{name} must be in [0, 1), got {value:g}")
    output = output_file(args.output, "--output", "support_pairs.jsonl")  # checked before the documents load
    heldout = output_file(args.heldout_output, "--heldout-output", "heldout.jsonl") if args.heldout_output else None
    if heldout is not None and heldout.resolve() == output.resolve():
        raise InputError("--heldout-output must differ from --output: the held-out pairs would replace the training "
                         "pairs")
    if output.resolve() in {Path(q).resolve() for q in questions}:
        raise InputError(f"--output {output} is a --questions file: it would be replaced by the pairs")
    for option, path in (("--output", output), ("--heldout-output", heldout)):
        if path is not None:
            _outside_documents(option, path, folders)
    report = build(folders, output, settings.shop.name, [Path(q) for q in questions],
                   Path(args.shared_data) if args.shared_data else None, heldout,
                   args.heldout_fraction, args.negative_share, seed=args.seed)
    print(report.summary())
    print(f"wrote {args.output}" + (f" and {args.heldout_output}" if args.heldout_output else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    if args.command == "support-data":
        return _support_data(args)
    if args.command in ("autotrain", "gate", "rollback", "retrain"):
        from finetune import autotrain, feedback_retrain, gate

        settings = load_config(config_path(args))
        run = {"autotrain": autotrain.run, "gate": gate.run_gate, "rollback": gate.run_rollback,
               "retrain": feedback_retrain.run}[args.command]
        return run(args, settings)
    cfg = finetune_config(args)
    if args.command == "train":
        return _train(args, cfg)
    if args.command == "eval":
        from finetune.pipeline import run_eval

        result = run_eval(args.adapter, args.data, cfg, progress=not args.no_progress)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    if args.command == "export":
        return _export(args, cfg)
    return _list(args, cfg)


if __name__ == "__main__":
    sys.exit(run_cli(main))

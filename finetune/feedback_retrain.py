"""`python -m finetune retrain`: the next adapter from the shop's own feedback (thumbs, edits, corrected drafts).

adcopy: copywriters' thumbs and edits (assistant.adcopy.feedback) become judged examples in the generator's own
prompt; with enough thumbs-down they train with KTO (finetune/kto.py), else SFT on the liked and edited texts.
support: tickets whose agent reply (the note an agent resolves the ticket with) differs from the grounded draft
become SFT rows in the support adapter's prompt, the draft's sentences as the facts. The candidate is exported
to GGUF (with an Ollama Modelfile) and handed to the gate, which decides whether it is served. The output is a
log for people (the Admin tab shows it) ending with one `verdict:` line.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError, ConfigError, InputError
from assistant.outputs import follow_umask
from finetune.kto import Judged, KTOConfig

TASK_CHOICES = ("adcopy", "support", "all")


@dataclass
class RetrainConfig:
    task: str = field(default="all", metadata={"help": f"one of {TASK_CHOICES}"})
    min_adcopy: int = field(default=20, metadata={"help": "judged ad texts needed before adcopy retrains"})
    min_desirable: int = field(default=8, metadata={"help": "thumbs-up or edited texts needed among them"})
    min_undesirable: int = field(default=8, metadata={"help": "thumbs-down texts needed to use KTO (else SFT)"})
    min_support: int = field(default=10, metadata={"help": "corrected support replies needed before support retrains"})
    # sft by default: on the feedback bench (bench/kto.py) KTO lost to SFT-only on held-out briefs.
    objective: str = field(default="sft", metadata={"help": "sft (default: measured better on bench/kto.py), kto, "
                                                            "or auto (kto when enough thumbs-down)"})
    resume: bool = field(default=True, metadata={"help": "continue the served LoRA adapter (false: a new adapter)"})
    beta: float = field(default=0.1, metadata={"help": "KTO β"})
    max_steps: int = field(default=0, metadata={"help": "optimizer steps; 0 = num_epochs passes"})
    num_epochs: float = field(default=3.0, metadata={"help": "passes over the feedback when max_steps is 0"})
    batch_size: int = field(default=8, metadata={"help": "examples per step"})
    learning_rate: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    output: str = field(default="", metadata={"help": "candidate folder, new or empty (with --task all: one subfolder "
                                                       "per task, DIR/adcopy and DIR/support); '' = "
                                                       "data/adapters/<task>-feedback-<time>"})
    dry_run: bool = field(default=False, metadata={"help": "count the feedback and stop before training"})

    def __post_init__(self):
        if self.task not in TASK_CHOICES:
            raise ConfigError(f"task must be one of {', '.join(TASK_CHOICES)}, got {self.task!r}")
        if self.objective not in ("auto", "kto", "sft"):
            raise ConfigError(f"objective must be auto, kto or sft, got {self.objective!r}")
        for name in ("min_adcopy", "min_desirable", "min_undesirable", "min_support"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        KTOConfig(**self.kto_values("kto" if self.objective == "auto" else self.objective))  # same checks

    def kto_values(self, objective: str) -> dict:
        return dict(objective=objective, beta=self.beta, max_steps=self.max_steps,
                    num_epochs=self.num_epochs, batch_size=self.batch_size, learning_rate=self.learning_rate)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune retrain` (one per RetrainConfig field)."""
    p.description = ("Trains the next adcopy / support adapter from the shop's own feedback (thumbs, edits, corrected "
                     "drafts), exports it to GGUF and hands it to the gate; ends with one 'verdict:' line.")
    p.epilog = ("examples:\n  python -m finetune retrain --task adcopy\n  python -m finetune retrain --dry-run\n"
                "  python -m finetune retrain --task support --no-resume --max-steps 40")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    for f in dataclasses.fields(RetrainConfig):
        flag, kw = "--" + f.name.replace("_", "-"), {"default": argparse.SUPPRESS, "help": f.metadata["help"]}
        if f.name in ("task", "objective"):
            kw["choices"] = TASK_CHOICES if f.name == "task" else ("auto", "kto", "sft")
        elif f.name == "output":
            kw["metavar"] = "DIR"
        elif f.type == "bool":  # annotations are strings here (from __future__ import annotations)
            kw["action"] = argparse.BooleanOptionalAction if f.name == "resume" else "store_true"
        elif f.type in ("int", "float"):
            kw.update(type=int if f.type == "int" else float, metavar="N" if f.type == "int" else "X")
        p.add_argument(flag, dest=f.name, **kw)


def say(text: str) -> None:
    print(text, flush=True)  # the Admin tab streams this output line by line


# --- feedback → judged examples ------------------------------------------------------------------------------
def adcopy_examples(rows, brand) -> tuple[list[Judged], dict[str, int]]:
    """Judged examples from stored ad-copy feedback, in the generator's prompt (system + one-item request).

    A liked text and an edited text are desirable; a disliked text is undesirable, and so is the original of an
    edit (the copywriter changed it) unless it was also liked."""
    from assistant.adcopy.brief import Brief
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.prompts import generation_messages

    out: list[Judged] = []
    counts = {"judgements": len(rows), "liked": 0, "edited": 0, "disliked": 0, "skipped": 0}
    for row in rows:
        try:
            brief = Brief.from_dict(json.loads(row.brief_json))
            channel = get_channel(brief.channel)
            original, edited = json.loads(row.variant_json), json.loads(row.edited_json or "{}")
        except (AssistantError, ValueError, KeyError):  # a channel removed since, a damaged row: not fatal
            counts["skipped"] += 1
            continue
        required = list(dict.fromkeys(brand.required(brief.language) + brief.required_terms))
        for i, (name, text) in enumerate(original.items()):
            try:
                msgs = generation_messages(brief, channel, name, 1, brand, required if i == 0 else [])
            except AssistantError:
                counts["skipped"] += 1
                continue
            prompt = [m.as_dict() for m in msgs]
            group = row.brief_json
            better = (edited.get(name) or "").strip()
            if better and better != text:
                out.append(Judged(prompt, f"1. {better}", True, group))
                counts["edited"] += 1
                if row.rating <= 0:
                    out.append(Judged(prompt, f"1. {text}", False, group))
                    counts["disliked"] += 1
            elif row.rating > 0:
                out.append(Judged(prompt, f"1. {text}", True, group))
                counts["liked"] += 1
            elif row.rating < 0:
                out.append(Judged(prompt, f"1. {text}", False, group))
                counts["disliked"] += 1
    return out, counts


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a).lower() == re.sub(r"\W+", "", b).lower()


def support_examples(tickets, shop, redact=None) -> tuple[list[Judged], dict[str, int]]:
    """SFT rows from tickets whose agent reply differs from the grounded draft: the draft's sentences as the
    facts and the customer's last question, in the support adapter's prompt → the agent's reply. `redact`
    (privacy.apply_to.training_data) takes the customer's phone, e-mail... out of the question and of the reply
    the agent wrote to that one customer: an adapter must never learn them."""
    redact = redact or (lambda text: text)
    from knowledge_base.answer import Answerer, FaqHit, Lookup

    answerer = Answerer(lambda lang: shop.text("answer_prompt", lang), lambda lang: shop.text("abstain", lang),
                        style="phrase")
    out: list[Judged] = []
    counts = {"tickets": len(tickets), "with_draft_and_reply": 0, "corrected": 0}
    for t in tickets:
        # The reply the agent saved in the Agent tab; tickets from before that field kept it in the note.
        reply = redact((getattr(t, "agent_reply", "") or t.agent_note or "").strip())
        draft = redact((t.draft_reply or "").strip())
        # the question the ticket was opened for (its draft answers it), not what the customer added later
        question = redact(next((m["content"] for m in reversed(t.transcript) if m.get("role") == "user"
                                and not m.get("later")), "").strip())
        if not (reply and draft and question):
            continue
        counts["with_draft_and_reply"] += 1
        if _same(reply, draft):
            continue  # sent as drafted: nothing new to learn
        lang = t.language if t.language in ("zh", "en") else ("zh" if re.search(r"[\u4e00-\u9fff]", question) else "en")
        # The draft is the shop's own evidence sentences (handoff.grounded_draft): the facts the runtime quotes.
        lookup = Lookup(question, lang, faq=FaqHit(f"ticket-{t.id}", question, draft, "ticket", 1.0, lang),
                        answerable=True)
        prompt = [{"role": m.role, "content": m.content} for m in answerer.messages(lookup, question)]
        out.append(Judged(prompt, reply, True, f"ticket-{t.id}"))
        counts["corrected"] += 1
    return out, counts


def too_little(task: str, items: list[Judged], cfg: RetrainConfig) -> str:
    """'' when there is enough feedback to train `task`, else the one-line reason (with how much is needed)."""
    good = sum(i.desirable for i in items)
    if task == "support":
        if len(items) < cfg.min_support:
            return (f"too little feedback for support: {len(items)} corrected agent replies, need "
                    f"{cfg.min_support} (tickets resolved with a reply that differs from the draft)")
        return ""
    if len(items) < cfg.min_adcopy or good < cfg.min_desirable:
        return (f"too little feedback for adcopy: {len(items)} judged texts ({good} liked or edited), need "
                f"{cfg.min_adcopy} with at least {cfg.min_desirable} liked or edited")
    return ""


def read_feedback(task: str, settings) -> tuple[list[Judged], dict[str, int]]:
    from assistant.storage import get_engine

    engine = get_engine(settings.storage)
    if task == "adcopy":
        from assistant.adcopy.brand import brand_for
        from assistant.adcopy.feedback import FeedbackStore

        return adcopy_examples(FeedbackStore(engine).rows(), brand_for(settings))
    from assistant.handoff import STATUSES, HandoffQueue
    from assistant.privacy import Redactor, with_shop_contacts
    from assistant.shop import Shop

    redactor = Redactor(with_shop_contacts(settings))
    return support_examples(HandoffQueue(engine).queue(statuses=STATUSES), Shop.from_config(settings.shop),
                            redact=lambda text: redactor.redact_for("training_data", text))


# --- training --------------------------------------------------------------------------------------------------
def served_lora(task: str, model_id: str, registry: Path) -> Path | None:
    """The served adapter's peft folder when it is a plain LoRA we can continue (AdaLoRA needs its own loop)."""
    from assistant.llm.adapter_registry import served_adapter

    try:
        rec = served_adapter(task, model_id, registry=registry)
    except AssistantError:
        return None
    if rec is None:  # the bare base model answers: a fresh adapter
        return None
    path = Path(rec.path)
    cfg = path / "adapter_config.json"
    if not cfg.is_file():
        return None
    return path if json.loads(cfg.read_text(encoding="utf-8")).get("peft_type") == "LORA" else None


def candidate_outputs(cfg: RetrainConfig, tasks: list[str], registry: Path) -> dict[str, Path | None]:
    """task -> the folder its candidate goes to (None: a new time-stamped one), checked before any feedback is
    read or model loaded: a folder holding an adapter (the served one above all) is never written."""
    from finetune.output_guard import check_candidate_output, is_adapter_folder

    if not cfg.output:
        return {task: None for task in tasks}
    out = Path(cfg.output)
    if cfg.task != "all":
        return {cfg.task: check_candidate_output(out, registry)}
    # Two candidates in one folder would overwrite each other's weights: one subfolder per task.
    if out.exists() and not out.is_dir():
        raise InputError(f"--output takes a folder (with --task all: DIR/adcopy and DIR/support), but {out} is a file")
    if is_adapter_folder(out):
        raise InputError(f"--output {out} holds an adapter; give a new folder for the candidates (DIR/adcopy and "
                         "DIR/support)")
    return {task: check_candidate_output(out / task, registry) for task in tasks}


def train_candidate(task: str, items: list[Judged], objective: str, settings, cfg: RetrainConfig,
                    output: Path | None = None) -> Path:
    """Train, save, export GGUF (+ Modelfile) and return the candidate folder (`output`, checked beforehand by
    candidate_outputs; None = a new time-stamped folder)."""
    import torch

    from assistant.config import resolve_path
    from finetune.export import export_gguf_lora
    from finetune.kto import logp_margin, plan_steps, train_on_feedback
    from finetune.methods import load_base, wrap

    # The app's model, not finetune.base_model (smollm2-135m by default): the gate refuses a candidate trained on
    # another base than llm.model, and only an adapter of that base can be the served one continued here.
    ft = dataclasses.replace(settings.finetune, method="lora", task=task, base_model=settings.llm.model)
    if ft.num_threads:
        torch.set_num_threads(ft.num_threads)
    torch.manual_seed(ft.seed)
    kcfg = KTOConfig(**cfg.kto_values(objective), max_seq_len=ft.max_seq_len, seed=ft.seed)
    say(f"{task}: loading the base model {ft.base_model}")
    base, tok, model_id = load_base(ft)
    registry = resolve_path(ft.registry)
    served = served_lora(task, model_id, registry) if cfg.resume else None
    if served is not None:
        from peft import PeftModel

        say(f"{task}: continuing the served adapter {served}")
        model = PeftModel.from_pretrained(base, str(served), is_trainable=True)
    else:
        say(f"{task}: training a new LoRA adapter (r={ft.r}, {', '.join(ft.target_modules)})")
        model = wrap(base, ft, plan_steps(kcfg, len(items)))
    probe = items[:64]
    before = logp_margin(model, tok, probe, ft.max_seq_len) if objective == "kto" else None
    every = max(1, plan_steps(kcfg, len(items)) // 10)
    hist = train_on_feedback(model, tok, items, kcfg, progress=lambda s, n, loss: (
        say(f"{task}: step {s}/{n} loss {loss:.4f}") if s % every == 0 or s == n else None))
    say(f"{task}: trained {hist.steps} steps on {hist.examples} examples ({hist.desirable} desirable) "
        f"in {hist.seconds:.0f} s")
    if before is not None:
        after = logp_margin(model, tok, probe, ft.max_seq_len)
        say(f"{task}: log-prob margin liked − disliked (per token, training feedback): "
            f"{before['margin']:+.3f} → {after['margin']:+.3f}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = output or resolve_path(f"data/adapters/{task}-feedback-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    model.peft_config["default"].base_model_name_or_path = model_id
    model.save_pretrained(out)
    follow_umask(out)  # safetensors writes its file 0600, the config beside it follows the umask
    tok.save_pretrained(out)
    meta = {"base_model": model_id, "method": "lora", "task": task, "objective": objective, "steps": hist.steps,
            "examples": hist.examples, "desirable": hist.desirable, "resumed_from": str(served or ""),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "source": "feedback",
            "kto": dataclasses.asdict(kcfg)}
    (out / "finetune_meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    gguf = export_gguf_lora(model, out / "adapter.gguf", model_id)
    say(f"{task}: candidate {out} (GGUF {gguf.name}, Modelfile for Ollama)")
    return out


def retrain_task(task: str, settings, cfg: RetrainConfig, output: Path | None = None) -> tuple[bool, str]:
    """(trained, verdict part) for one task."""
    items, counts = read_feedback(task, settings)
    say(f"{task}: feedback read: {', '.join(f'{k} {v}' for k, v in counts.items())}")
    reason = too_little(task, items, cfg)
    if reason:
        say(f"{task}: {reason}")
        return False, f"{task} not trained ({reason})"
    n_bad = sum(not i.desirable for i in items)
    objective = cfg.objective
    if task == "support":
        objective = "sft"  # every row is a correction: there is nothing undesirable to push away from
    elif objective == "auto":
        objective = "kto" if n_bad >= cfg.min_undesirable else "sft"
    if objective == "kto" and n_bad == 0:
        objective = "sft"
    say(f"{task}: {len(items)} examples ({len(items) - n_bad} desirable, {n_bad} undesirable): training with {objective}")
    if cfg.dry_run:
        return True, f"{task} has enough feedback ({len(items)} examples, {objective}); dry run, nothing trained"
    candidate = train_candidate(task, items, objective, settings, cfg, output)
    from finetune import gate

    try:
        decision = gate.evaluate_and_promote(task, candidate, settings)
    except NotImplementedError:
        return True, f"{task} candidate {candidate} trained; not evaluated (the gate is not available)"
    say(f"{task}: gate: {decision.reason}")
    for line in gate.figure_lines(decision.figures or {}):
        say(f"  {line}")
    state = "promoted: now served" if decision.promoted else "kept the served adapter"
    return True, f"{task} {state} ({decision.reason})"


def run(args: argparse.Namespace, settings) -> int:
    """`python -m finetune retrain ...`: 0 when a task trained (whatever the gate decided) and none failed; 1 when
    none had enough feedback or one failed."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(RetrainConfig) if hasattr(args, f.name)}
    cfg = RetrainConfig(**values)
    tasks = ["adcopy", "support"] if cfg.task == "all" else [cfg.task]
    from assistant.config import resolve_path

    # a bad --output is the user's to fix: one line and exit 2 now, not a failed task after the training
    outputs = candidate_outputs(cfg, tasks, resolve_path(settings.finetune.registry))
    results = []
    for task in tasks:
        try:
            results.append(retrain_task(task, settings, cfg, outputs[task]))
        except AssistantError as exc:
            say(f"{task}: {exc.one_line()}")
            results.append((None, f"{task} failed: {exc.one_line()}"))
    say("verdict: " + "; ".join(part for _, part in results))
    sys.stdout.flush()
    return 0 if any(ok for ok, _ in results) and all(ok is not None for ok, _ in results) else 1

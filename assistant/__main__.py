"""`python -m assistant`: chat with the shop assistant, show the effective config, check the models, prepare."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import load_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant",
        description="Shop assistant: customer chat, config and models. Other tools: python -m "
        "assistant.insights (knowledge gaps, usage, outcomes) | assistant.orders | assistant.adcopy | "
        "assistant.analytics | assistant.classifiers | assistant.privacy | assistant.guardrails | assistant.web, "
        "python -m knowledge_base, python -m finetune.",
    )
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    chat = sub.add_parser("chat", help="ask the assistant; the answer streams to the terminal")
    add_common_args(chat)
    chat.add_argument("message", nargs="?", help="the question; omit it for an interactive session")
    chat.add_argument("--backend", help="override llm.backend (fake, llamacpp, transformers, openai)")
    chat.add_argument("--model", help="override llm.model (embedded profile, GGUF file or HF path)")
    chat.add_argument("--max-tokens", type=int, help="override llm.max_tokens")

    config = sub.add_parser("config", help="inspect the configuration")
    add_common_args(config)
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="print the effective config as YAML, with where each value came from")
    add_common_args(show)
    show.add_argument("--no-sources", action="store_true", help="plain YAML without origin comments")

    models = sub.add_parser("models", help="list the embedded models and verify they are usable")
    add_common_args(models)

    first_start = ("do the first-start work now (assemble the model and check it really generates, in a child "
                   "process; train the default classifiers; ingest the demo knowledge base) so the first customer "
                   "does not wait; exit status 1 with the reason when something fails")
    prepare = sub.add_parser("prepare", help=first_start, description=first_start)
    add_common_args(prepare)

    init = sub.add_parser("init", help="create a new shop's folder (config, example documents, intents, brand)",
                          description="Scaffold a new shop: DIR/config.yaml with its shop: section, a knowledge/ "
                          "folder with an example of every supported file type, intents, brand voice and a README "
                          "of the next commands. Then: python app.py --config DIR/config.yaml")
    add_common_args(init)
    init.add_argument("dir", help="the new shop's folder (created; must be empty)")
    init.add_argument("--name", required=True, help="the shop's name (English or the main language)")
    init.add_argument("--name-zh", default="", help="the shop's Chinese name")
    init.add_argument("--email", default="", help="support e-mail shown to customers")
    init.add_argument("--phone", default="", help="support phone number")
    init.add_argument("--language", default="en", choices=("en", "zh"), help="default answer language")
    init.add_argument("--currency", default="USD", help="ISO currency code of your prices (default USD)")
    init.add_argument("--timezone", default="UTC", help="the shop's IANA time zone, e.g. Asia/Shanghai: the day "
                      "reports count a conversation under (default UTC)")
    init.add_argument("--description", default="", help="what the shop is, e.g. 'an online bike shop'")
    init.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    forget = sub.add_parser("forget", help="delete one customer's conversation everywhere it is stored (a request to "
                            "delete their data)",
                            description="Delete one conversation's rows: its messages, events, votes, handoff tickets, "
                            "order requests (and their audit lines), order dialogue and gap-report turns. Name it by "
                            "a ticket number (the Agent tab shows it) or the session id. Without --yes it only says "
                            "what would be deleted.")
    add_common_args(forget)
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("--ticket", type=int, help="a handoff ticket of the conversation")
    which.add_argument("--session", help="the conversation's session id")
    forget.add_argument("--yes", action="store_true", help="delete (without it: only count what would go)")
    suite = sub.add_parser("test-suite", help="run a shop's regression suite (YAML conversations with "
                           "expectations) and show what changed since the last run",
                           description="Run every conversation of FILE through the chat pipeline of the current "
                           "config, check route, citations, handoff and must/must-not phrases, and print the diff "
                           "against the previous run (kept beside FILE as NAME.last-run.json, or --output). "
                           "Exit status 1 when a check fails. Format: docs/insights.md")
    add_common_args(suite)
    suite.add_argument("file", help="the suite, e.g. shop_suite.yaml")
    suite.add_argument("--output", metavar="JSON", help="where this run is kept and the last one read from")
    suite.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _test_suite(args, settings) -> int:
    from assistant.insights.suite import run_file

    results, text = run_file(settings, args.file, args.output, progress=not args.no_progress)
    print(text)
    return 1 if any(r.checked and not r.passed for r in results) else 0


def _init(args) -> int:
    from pathlib import Path

    from assistant.scaffold import ShopDetails, scaffold, shell_path

    details = ShopDetails(args.name, args.name_zh, args.email, args.phone, args.language, args.currency.upper(),
                          args.description, args.timezone)
    folder = Path(args.dir).resolve()
    # scaffold() loads the new config before writing anything: a bad --email etc. fails clearly, leaving no files
    written = scaffold(folder, details, force=args.force)
    print(f"created {len(written)} files in {folder}")
    print(f"next: edit {folder / 'config.yaml'} and replace the examples in {folder / 'knowledge'}, then")
    print(f"  python -m assistant prepare --config {shell_path(folder / 'config.yaml')}")
    print(f"  python app.py --config {shell_path(folder / 'config.yaml')}")
    return 0


def _prepare(settings) -> int:
    from assistant.runtime import Runtime

    problems = []

    def report(step: str, seconds: float, problem: str | None) -> None:
        print(f"{step:15s} {'ready' if not problem else 'PROBLEM'}  {seconds:6.1f} s"
              + (f"  ({problem})" if problem else ""), file=sys.stderr, flush=True)
        if problem:
            problems.append(step)

    print(f"preparing the assistant ({settings.llm.backend}: {settings.llm.model}); first time takes minutes",
          file=sys.stderr, flush=True)
    runtime = Runtime(settings)
    runtime.warm_up(report)
    if not runtime.ready:
        why = runtime.degraded.get("language_model", "the model did not answer a test question")
        print(f"error: the assistant cannot answer: {why}", file=sys.stderr, flush=True)
        return 1
    return 1 if problems else 0


def _chat(args, settings) -> int:
    from assistant.errors import InputError
    from assistant.runtime import Runtime

    if args.message is not None and not args.message.strip():  # in the CLI's language, before models load
        raise InputError("the message is empty: give a question, or no message for an interactive session")
    chat = Runtime(settings).chat
    session = chat.sessions.get()

    def ask(text: str) -> None:
        stream = chat.respond(text, session)
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")

    if args.message is not None:
        ask(args.message)
        return 0
    print("Chatting with the shop assistant. Empty line or Ctrl-D to quit.", file=sys.stderr)
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return 0
        if not text.strip():
            return 0
        ask(text)


def _models(settings) -> int:
    from assistant.llm.embedded import PROFILES, resolve_embedded

    for profile, (family, langs) in PROFILES.items():
        model = resolve_embedded(profile, settings.llm.cache_dir)
        size = model.path.stat().st_size / 1e6
        print(f"{profile:14s} {family:38s} {'+'.join(langs):6s} {size:6.0f} MB  {model.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    if args.command == "init":
        return _init(args)
    overrides: dict = {}
    if args.command == "chat":
        llm = {k: v for k, v in {"backend": args.backend, "model": args.model,
                                 "max_tokens": args.max_tokens}.items() if v is not None}
        overrides = {"llm": llm} if llm else {}
    settings = load_config(config_path(args), overrides=overrides)
    if args.command == "chat":
        return _chat(args, settings)
    if args.command == "config":
        from assistant.shop import Shop

        Shop(settings.shop)  # the messages file is checked where the app checks it, before it is shown as fine
        sys.stdout.write(settings.to_yaml(with_sources=not args.no_sources))
        return 0
    if args.command == "models":
        return _models(settings)
    if args.command == "prepare":
        return _prepare(settings)
    if args.command == "test-suite":
        return _test_suite(args, settings)
    if args.command == "forget":
        return _forget(args, settings)
    return 2


def _forget(args, settings) -> int:
    from assistant.errors import InputError, NotFoundError
    from assistant.storage import forget_conversation, get_engine

    engine = get_engine(settings.storage)
    session_id = (args.session or "").strip()
    if args.ticket is not None:
        from assistant.handoff import HandoffQueue

        session_id = HandoffQueue(engine).get(args.ticket).session_id
    if not session_id or len(session_id) > 200:
        raise InputError("--session must be a conversation's session id")
    found = forget_conversation(engine, session_id, dry_run=not args.yes)
    if not found:
        raise NotFoundError(f"nothing is stored for conversation {session_id[:8]}…")
    rows = ", ".join(f"{n} from {t}" for t, n in found.items())
    if args.yes:
        print(f"deleted conversation {session_id[:8]}…: {rows}")
    else:
        print(f"would delete conversation {session_id[:8]}…: {rows}\nrun again with --yes to delete")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

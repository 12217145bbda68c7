"""`python -m assistant.adcopy generate|feed|export|lint|email|channels|abtest|export-feedback`: the copywriter's CLI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from assistant.adcopy.config import AdCopyConfig
from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import load_config
from assistant.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = add_common_args(argparse.ArgumentParser(
        prog="python -m assistant.adcopy",
        description="On-brand ad copy that fits each channel's limits, ranked; A/B tests; feedback export.",
    ))
    sub = parser.add_subparsers(dest="command", required=True)

    g = add_common_args(sub.add_parser("generate", help="write ranked ad variants for a channel"))
    g.add_argument("--product", required=True, help="what to advertise (name and key facts)")
    g.add_argument("--channel", default="google_rsa", help="channel id (see `channels`), default google_rsa")
    g.add_argument("--n", type=int, default=5, help="how many variants, at least 1 (default 5); more than "
                   f"adcopy.max_variants ({AdCopyConfig().max_variants} by default) is capped")
    g.add_argument("--audience", default="", help="who the ad is for")
    g.add_argument("--tone", default="", help="e.g. warm, playful, calm")
    g.add_argument("--language", choices=("zh", "en"), default=None, help="default: detected from --product")
    g.add_argument("--brand", metavar="FILE.yaml", default=None, help="brand profile; default: adcopy.brand_file")
    g.add_argument("--keywords", default="", help="comma-separated words the copy should use (scored)")
    g.add_argument("--banned", default="", help="comma-separated words that must not appear (besides the brand's)")
    g.add_argument("--required", default="", help="comma-separated terms every variant must contain")
    g.add_argument("--attributes", default="", help="comma-separated selling points")
    g.add_argument("--offer", default="", help="price or promotion, quoted as given")
    g.add_argument("--fields", default="", help="only these fields, e.g. headline (default: the channel's)")
    g.add_argument("--output", metavar="OUT.csv|OUT.json", default=None,
                   help="write the variants; .csv also writes <stem>.google_ads.csv for google_rsa")
    g.add_argument("--url", metavar="URL", default="", help="the landing page (http or https): the Final URL of "
                   "<stem>.google_ads.csv, without which Google Ads Editor refuses the import")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    g.add_argument("--long-text-model", metavar="MODEL", default=None,
                   help="who writes the long fields (weibo, xiaohongshu body, Meta primary text): an embedded profile "
                        "such as qwen2.5-1.5b (more fluent, about 1.5x slower) or a .gguf file; '' = the chat model; "
                        "default: adcopy.long_text_model")

    f = add_common_args(sub.add_parser(
        "feed", help="write assets for every product of a CSV/XLSX feed (resumable), as a review sheet",
        description="Column mapping: docs/adcopy.md (title, description, attributes, price, sale_price, url, id, ...). "
                    "Rows already done are read back from <output stem>.state.jsonl, not redone."))
    f.add_argument("--input", required=True, metavar="FEED.csv|FEED.xlsx", help="one product a row, a header row first")
    f.add_argument("--channel", required=True, help="channel id (see `channels`)")
    f.add_argument("--language", choices=("zh", "en"), default=None, help="default: the row's language column, "
                   "else detected from the row")
    f.add_argument("--output", required=True, metavar="ASSETS.csv", help="review sheet: one asset a row, with an "
                   "`approved` column for `export`; a re-run keeps the approvals and edits already in it")
    f.add_argument("--n", type=int, default=None, help="variants per row, at least 1 (default 3 for google_rsa, "
                   "whose ads need 3 headlines; else 1)")
    f.add_argument("--map", default="", metavar="FIELD=COLUMN,...", help="override the column mapping, e.g. "
                   "title=Product Name,id=SKU")
    f.add_argument("--limit", type=int, default=None, help="only the first N rows (0: every row, the default)")
    f.add_argument("--brand", metavar="FILE.yaml", default=None, help="brand profile; default: adcopy.brand_file")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.add_argument("--retry-empty", action="store_true",
                   help="write again the rows an earlier run got no usable asset for (after you changed the row, "
                        "the brand file or the settings); other finished rows are still resumed")
    f.add_argument("--long-text-model", metavar="MODEL", default=None,
                   help="who writes the long fields (weibo, xiaohongshu body, Meta primary text): an embedded profile "
                        "such as qwen2.5-1.5b (more fluent, about 1.5x slower) or a .gguf file; '' = the chat model; "
                        "default: adcopy.long_text_model")

    x2 = add_common_args(sub.add_parser(
        "export", help="turn a reviewed assets sheet into the channel's import file (Google Ads Editor, Meta, CSV)"))
    x2.add_argument("--input", required=True, metavar="ASSETS.csv|ASSETS.xlsx", help="the sheet `feed` wrote "
                    "(as CSV, UTF-8 or GB18030, or saved from Excel as .xlsx)")
    x2.add_argument("--output", required=True, metavar="IMPORT.csv", help="the import file; an existing file is "
                    "replaced only when it is an import file `export` wrote. A row with a field over the channel's "
                    "limit or breaking a lint rule, or a url that is no http(s) address, is left out and named")
    x2.add_argument("--all", action="store_true", help="export every asset, not only rows marked approved")
    x2.add_argument("--campaign", default="", help="campaign name in the import file (default 'Ad copy'; in the "
                    "plain layout a campaign column, written only when given)")
    x2.add_argument("--brand", metavar="FILE.yaml", default=None, help="banned words from this brand file are "
                    "checked again (pass the file `feed --brand` used; default: the configured shop's)")

    li = add_common_args(sub.add_parser(
        "lint", help="check copy for Advertising Law, Google editorial and brand-word violations",
        description="Exit status 0 when every text passes, 1 when any breaks a rule (each hit names its rule id "
                    "and, where the rules' fixes give a passing text, a suggested rewrite)."))
    li.add_argument("--input", required=True, metavar="FILE", help=".txt (one copy a line; - reads stdin) or "
                    ".csv/.xlsx (every text column, or the channel's field columns)")
    li.add_argument("--channel", default="", help="apply this channel's rules too (google_rsa: Google editorial)")
    li.add_argument("--language", choices=("zh", "en"), default=None, help="default: detected per text")
    li.add_argument("--brand", metavar="FILE.yaml", default=None, help="banned words from this brand file "
                    "(default: the configured shop's)")
    li.add_argument("--json", action="store_true", help="machine-readable report")

    e = add_common_args(sub.add_parser("email", help="write a personalised marketing e-mail for a segment"))
    e.add_argument("--segment", required=True, help="who receives it, e.g. 'bought bedding last winter'")
    e.add_argument("--product", required=True, help="what the e-mail promotes")
    e.add_argument("--language", choices=("zh", "en"), default=None, help="default: detected from --product")
    e.add_argument("--tone", default="", help="e.g. warm, playful, calm")
    e.add_argument("--offer", default="", help="price or promotion, quoted as given")
    e.add_argument("--brand", metavar="FILE.yaml", default=None, help="brand profile; default: adcopy.brand_file")
    e.add_argument("--json", action="store_true", help="print the e-mail as JSON (subject, preheader, body, cta, "
                   "alternatives, scores)")

    c = add_common_args(sub.add_parser("channels", help="list channels, fields, limits and how length is counted"))
    c.add_argument("--json", action="store_true", help="machine-readable output")

    a = add_common_args(sub.add_parser("abtest", help="compare variants: CTR, CVR, lift, p-value, CI, sample size"))
    a.add_argument("--data", required=True, metavar="FILE.csv", help="columns variant,impressions,clicks[,conversions]")
    a.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    a.add_argument("--power", type=float, default=0.8, help="power for the sample size (default 0.8)")
    a.add_argument("--json", action="store_true", help="print the result as JSON")

    x = add_common_args(sub.add_parser("export-feedback", help="write SFT rows and preference pairs (JSONL)"))
    x.add_argument("--output", required=True, metavar="FILE.jsonl", help="alpaca SFT rows (instruction/input/output); "
                   "an existing file is replaced only when it is .jsonl")
    x.add_argument("--pairs", metavar="FILE.jsonl", default=None,
                   help="preference pairs (prompt/chosen/rejected), not the --output file; default <stem>.pairs.jsonl")

    t = add_common_args(sub.add_parser(
        "training-data", help="write the shipped headline lists (+ exported feedback) as adcopy adapter training rows",
        description="Rows in the generator's own prompt format, for `python -m finetune train --task adcopy`."))
    t.add_argument("--output", required=True, metavar="FILE.jsonl", help="OpenAI-messages JSONL to write; an "
                   "existing file is replaced only when it is .jsonl")
    t.add_argument("--feedback", metavar="FILE.jsonl", default=None,
                   help="SFT rows from `export-feedback` (each line a JSON object with instruction and output), "
                        "checked, then appended as they are")
    return parser


def _settings(args):
    model = getattr(args, "long_text_model", None)
    return load_config(config_path(args), overrides={"adcopy": {"long_text_model": model}} if model is not None
                       else None)


def _generator(args, settings, brand=None):
    """`brand`: a BrandProfile already read from --brand / the config (default: read here)."""
    from assistant.adcopy.generator import AdCopyGenerator
    from assistant.runtime import Runtime

    # The runtime's backend, as the app builds it: config adapters plus the registered ones.
    return AdCopyGenerator(Runtime(settings).backend, settings, brand or args.brand)


def _cmd_generate(args) -> int:
    from assistant.adcopy.brief import Brief
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.export import (
        NO_FINAL_URL,
        check_url,
        google_ads_notes,
        google_ads_rows,
        write_result,
    )

    settings = _settings(args)
    brief = Brief(product=args.product, channel=args.channel, n=args.n, audience=args.audience, tone=args.tone,
                  language=args.language or "", keywords=args.keywords, banned_words=args.banned,
                  required_terms=args.required, attributes=args.attributes, offer=args.offer, fields=args.fields)
    channel = get_channel(brief.channel, settings.adcopy.channels_file or None)  # fail before loading a model
    if args.output and not args.output.lower().endswith((".csv", ".json")):
        print(f"InputError: --output must end in .csv or .json, got {args.output!r}", file=sys.stderr)
        return 2
    if args.output:  # a folder, or a file where a folder should be, is said before the model runs
        from assistant.outputs import output_file

        output_file(args.output, "--output", "ads.csv")
    url = check_url(args.url) if args.url else ""
    # said once, so nobody looks for the URL in a file that has no place for it
    if url and channel.id != "google_rsa":
        print(f"note: --url is the Final URL of google_rsa's import file; {channel.id} writes none", file=sys.stderr)
    elif url and not (args.output or "").lower().endswith(".csv"):
        print("note: --url goes into <stem>.google_ads.csv, written only with --output X.csv", file=sys.stderr)
    from assistant.cli_support import working

    generator = _generator(args, settings)  # a bad brand file is one line before any status line
    with working(f"writing {brief.n} {channel.id} variant{'s' if brief.n != 1 else ''} (a minute or two on a CPU)"):
        result = generator.generate(brief)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.output and result.variants:
        for path in write_result(result, args.output, final_url=url):
            print(f"wrote {path}", file=sys.stderr)
            if not path.name.endswith(".google_ads.csv"):
                continue
            if not url:
                print(f"note: {path} has an empty Final URL; {NO_FINAL_URL}: pass --url with the landing page",
                      file=sys.stderr)
            for note in google_ads_notes(google_ads_rows(result, final_url=url), "ask for more with --n"):
                print(f"note: {path.name}: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        for v in result.variants:
            print(f"#{v.rank}  total {v.scores.get('total', 0):.2f}  " +
                  "  ".join(f"{k} {v.scores[k]:.2f}" for k in ("fit", "keywords", "readability", "tone", "diversity")
                            if k in v.scores))
            for name, text in v.fields.items():
                spec = channel.field(name)
                print(f"    {name} ({spec.measure(text)}/{spec.limit} {spec.unit}): {text}")
            # what the checks changed, and the words nothing in the brief states: for the person who approves it
            for fix in v.fixes:
                print(f"    fixed: {fix}")
            if v.review:
                print(f"    check before use (not in the brief): {', '.join(v.review)}")
        print(f"{result.produced} of {result.requested} variants in {result.seconds:.1f} s", file=sys.stderr)
    if not result.variants:
        return 1
    return 0


def _cmd_feed(args) -> int:
    from assistant.adcopy.brand import pick_brand
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.feed import language_mismatch, parse_mapping, read_feed
    from assistant.adcopy.feed_run import LazyGenerator, model_key, run_feed
    from assistant.adcopy.sheet import refuse_same_file

    settings = _settings(args)
    get_channel(args.channel, settings.adcopy.channels_file or None)  # fail before loading a model
    if args.n is not None and args.n < 1:
        raise InputError(f"n must be at least 1, got {args.n}")
    if args.limit is not None and args.limit < 0:
        raise InputError(f"--limit must be 0 (every row) or more, got {args.limit}")
    refuse_same_file(args.input, args.output, "the review sheet")
    if not str(args.output).lower().endswith(".csv"):  # before a model loads (seconds): see run_feed
        raise InputError(f"--output must be a .csv file, got {args.output!r}")
    from assistant.outputs import output_file

    output_file(args.output, "--output", "assets.csv")
    from assistant.adcopy.sheet import read_previous

    read_previous(args.output)  # a file `feed` did not write stops here, before the model loads
    feed = read_feed(args.input, parse_mapping(args.map))
    print(feed.describe(), file=sys.stderr)
    for problem in feed.skipped:
        print(f"note: {problem}", file=sys.stderr)
    if not feed.products:
        print(f"InputError: no product rows in {args.input}", file=sys.stderr)
        return 2
    products = feed.products[:args.limit] if args.limit else feed.products
    warning = language_mismatch(products, args.language or "")
    if warning:
        print(warning, file=sys.stderr)
    n = args.n or (3 if args.channel == "google_rsa" else 1)
    # a bad brand file is one line here, before any model; the rows are keyed by its name
    brand = pick_brand(args.brand, settings, settings.adcopy.brand_file)
    writer = LazyGenerator(lambda: _generator(args, settings, brand), brand)
    long_model = settings.adcopy.long_text_model
    run = run_feed(writer, feed, args.channel, args.output, n=n, language=args.language or "",
                   progress=not args.no_progress, limit=args.limit, retry_empty=args.retry_empty,
                   long_model=model_key(long_model))
    if run.rows and run.resumed == len(run.rows):
        print(f"every row ({len(run.rows)}) was already done: read back from {run.state_path}, no model loaded",
              file=sys.stderr)
    print(f"{run.summary()}\nwrote {args.output} (review it, mark `approved`, then "
          f"`python -m assistant.adcopy export --input {args.output} --output import.csv`)", file=sys.stderr)
    return 0 if run.assets else 1


def _cmd_export(args) -> int:
    from assistant.adcopy.brand import brand_for, load_brand
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.export import (
        bad_urls,
        failing_fields,
        layout_for,
        refuse_foreign_output,
        write_import,
    )
    from assistant.adcopy.feed_run import is_approved, read_assets
    from assistant.adcopy.lint import Linter
    from assistant.adcopy.sheet import is_asset, refuse_same_file, sheet_column
    from assistant.outputs import output_file, writing

    refuse_same_file(args.input, args.output, "the import file")
    output = output_file(args.output, "--output", "import.csv")
    if output.suffix.lower() != ".csv":  # the import layouts are CSV: "y.xlsx" would hold CSV text
        raise InputError(f"--output must be a .csv file (the import layouts are CSV), got {args.output!r}")
    rows = read_assets(args.input)
    chosen = rows if args.all else [r for r in rows if is_approved(r.get("approved"))]
    channels = list(dict.fromkeys(r["channel"].strip() for r in chosen if r.get("channel", "").strip()))
    for r in chosen:  # a row a reviewer added by hand (a missing headline) with its channel cell left empty
        if not r.get("channel", "").strip() and len(channels) == 1:
            r["channel"] = channels[0]
    if not rows:
        raise InputError(f"{args.input} has no asset rows")
    if not chosen:
        print(f"InputError: no row of {args.input} is marked approved (yes/x/1/✓ in the approved column); "
              "or pass --all", file=sys.stderr)
        return 2
    if not channels:
        raise InputError(f"no approved row of {args.input} names its channel (the channel column is empty)")
    if len(channels) > 1:
        print(f"InputError: the sheet mixes channels ({', '.join(channels)}); export one channel's sheet at a time",
              file=sys.stderr)
        return 2
    refuse_foreign_output(output, channels[0])
    settings = _settings(args)
    channel = get_channel(channels[0], settings.adcopy.channels_file or None)
    brand = load_brand(args.brand) if args.brand else brand_for(settings)
    linter = Linter(brand.banned(""), settings.adcopy.lint_rules_file or None, brand.all_names())
    passing, failing = failing_fields(chosen, channel, linter)
    passing, wrong_urls = bad_urls(passing)
    failing += wrong_urls
    for line in failing:
        print(f"left out: {line}", file=sys.stderr)
    left_out = len(chosen) - len(passing)
    if left_out and not any(is_asset(a) for a in passing):  # only rows without an asset remain
        raise InputError(f"nothing written: every chosen asset of {args.input} has a field over the limit, "
                         "breaking a lint rule or a url that is no web address (listed above); fix them in the sheet")
    with writing(output, "--output"):
        path, count, notes = write_import(passing, channel.id, output, args.campaign,
                                          [sheet_column(f) for f in channel.fields])
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {count} row{'' if count == 1 else 's'} to {path} ({layout_for(channel.id)} layout, from "
          f"{sum(map(is_asset, passing))} of {sum(map(is_asset, rows))} assets; {left_out} left out for "
          "a field over the limit, breaking a lint rule or a url that is no web address)", file=sys.stderr)
    return 0


def _cmd_lint(args) -> int:
    from assistant.adcopy.brand import brand_for, load_brand
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.lint import Linter, read_texts
    from assistant.adcopy.text import detect_language

    settings = _settings(args)
    if args.channel:  # an unknown channel would silently lint without its rules
        get_channel(args.channel, settings.adcopy.channels_file or None)
    brand = load_brand(args.brand) if args.brand else brand_for(settings)
    linter = Linter(brand.banned(""), settings.adcopy.lint_rules_file or None, brand.all_names())
    results = []
    texts = read_texts(args.input, args.channel)
    if not texts:  # "0 of 0 texts break a rule" read as a pass
        raise InputError(f"no text to lint in {args.input}")
    for where, field_name, text in texts:
        language = args.language or detect_language(text)
        results.append((where, field_name, linter.rewrite(text, language, args.channel, field_name)))
    bad = [(w, f, r) for w, f, r in results if not r.ok]
    if args.json:
        print(json.dumps([{"where": w, "field": f, **r.as_dict()} for w, f, r in results], ensure_ascii=False, indent=2))
    else:
        for where, _field, r in bad:
            print(f"{where}: {r.text}")  # a sheet's place names its column; a text file's line has no field
            for v in r.violations:
                print(f"    [{v.rule}] {v.match!r}: {v.explanation}")
            print(f"    rewrite: {r.rewrite}" if r.rewrite else "    rewrite: none passes automatically; rewrite by hand")
        print(f"{len(bad)} of {len(results)} texts break a rule", file=sys.stderr)
    scoped = list(dict.fromkeys(r.id for r in linter.rules if r.channels))
    if scoped and not args.channel:  # "FREE shipping 😀" passed without a word on why: Google's rules are per channel
        print(f"note: without --channel, the channel rules were not applied ({', '.join(scoped)}); "
              "pass e.g. --channel google_rsa", file=sys.stderr)
    return 1 if bad else 0


def _cmd_email(args) -> int:
    from assistant.adcopy.emails import generate_email

    settings = _settings(args)
    draft = generate_email(None, args.segment, args.product, args.language or "", tone=args.tone, offer=args.offer,
                           generator=_generator(args, settings))
    for note in draft.notes:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps(draft.as_dict(), ensure_ascii=False, indent=2) if args.json else draft.as_text())
    return 0


def _cmd_channels(args) -> int:
    from assistant.adcopy.channels import UNIT_HELP, load_channels

    settings = _settings(args)
    channels = load_channels(settings.adcopy.channels_file or None)
    if args.json:
        print(json.dumps({cid: c.as_dict() for cid, c in channels.items()}, ensure_ascii=False, indent=2))
        return 0
    for cid, c in channels.items():
        print(f"{cid}  ({c.title}); writes: {', '.join(c.generate)}")
        for name, f in c.fields.items():
            extra = f"  [{f.help}]" if f.help else ""
            how = "derived from keywords" if f.derive else f.style
            print(f"    {name:<13} ≤ {f.limit:>4} {UNIT_HELP[f.unit].split(' (')[0]:<13} {how}{extra}")
    return 0


def _cmd_abtest(args) -> int:
    from assistant.abtest import ab_test, read_ab_csv

    result = ab_test(read_ab_csv(args.data), alpha=args.alpha, power=args.power)
    print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) if args.json else result.as_text())
    return 0


def _cmd_export_feedback(args) -> int:
    from assistant.adcopy.feedback import FeedbackStore, export_paths
    from assistant.storage import get_engine

    export_paths(args.output, args.pairs)  # a path mistake is named first, even with nothing to export
    settings = _settings(args)
    store = FeedbackStore(get_engine(settings.storage))
    if not store.rows():  # empty files would read as an export that worked
        print("no feedback recorded yet: nothing written", file=sys.stderr)
        return 1
    from assistant.adcopy.brand import brand_for

    counts = store.export(args.output, args.pairs, brand=brand_for(settings))
    print(f"wrote {counts['sft']} SFT rows to {counts['sft_path']} and {counts['pairs']} preference pairs to "
          f"{counts['pairs_path']} (from {counts['feedback']} feedback rows)")
    if counts["left_out"]:
        print("left out of the training data (liked or edited texts): "
              + ", ".join(f"{n} {why}" for why, n in sorted(counts["left_out"].items())), file=sys.stderr)
    return 0


def _cmd_training_data(args) -> int:
    from assistant.adcopy.training_data import write_training_data

    count = write_training_data(args.output, args.feedback)
    print(f"wrote {count} training rows to {args.output}; next: python -m finetune train --task adcopy "
          f"--data {args.output} --output adapters/adcopy")
    return 0


COMMANDS = {"generate": _cmd_generate, "feed": _cmd_feed, "export": _cmd_export, "lint": _cmd_lint,
            "email": _cmd_email, "channels": _cmd_channels, "abtest": _cmd_abtest,
            "export-feedback": _cmd_export_feedback, "training-data": _cmd_training_data}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(run_cli(main))

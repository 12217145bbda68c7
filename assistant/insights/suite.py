"""A shop's regression suite: conversations with expectations, run through the real chat pipeline of the
current config, compared with the previous run. A shop that edits prices or the FAQ before a sale sees what
changed: `python -m assistant test-suite shop_suite.yaml`.

    conversations:
      - id: shipping-cost
        turns:
          - say: How much does shipping cost?
            expect: {action: kb_answer, cites: faq.csv, handoff: false, must: ["¥15"], must_not: ["¥20"]}
          - say: 那快递呢？               # a turn without `expect` is only said

`action` may be a list (any of them; each must be a known action, see known_actions()); `cites` a source file name, row id or title (or a list: all of them
must be cited); `must` / `must_not` phrases are matched ignoring case, width, hyphens and spacing, but not across a
word's or a number's end ('¥15' is not in '¥150'). A suite, a conversation and a turn may also hold a `description`
(not a turn); any other key is an error, and a turn the model failed on fails whether or not it has `expect`.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.errors import InputError
from assistant.orders.desk import ACTIONS as ORDER_ACTIONS

KEYS = {"action", "cites", "handoff", "must", "must_not"}
# What a suite, a conversation and a turn may hold: a mistyped key ("expected:") would silently check nothing.
SUITE_KEYS, CONVERSATION_KEYS, TURN_KEYS = {"conversations", "description"}, {"id", "turns", "description"}, \
    {"say", "expect"}


def _known_keys(data: dict, allowed: set[str], where: str) -> None:
    import difflib

    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{where}: unknown key {key!r}{hint}; expected {', '.join(sorted(allowed))}")


def known_actions() -> tuple[str, ...]:
    """Every action a turn can end with: the router's, a refused attack (guardrails, in chat.py), the order
    desk's, and `error` (a turn that raised, see run())."""
    from assistant.router import ACTIONS

    return (*ACTIONS, "refuse", *ORDER_ACTIONS, "error")


def _actions(value, where: str) -> list[str]:
    """A typo (`kb_anwser`) would make the turn fail on every run, so the suite is refused when it loads."""
    import difflib

    actions, known = _strings(value, where), known_actions()
    for action in actions:
        if action not in known:
            close = difflib.get_close_matches(action, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InputError(f"{where}: unknown action {action!r}{hint}; valid actions: {', '.join(known)}")
    return actions


@dataclass
class Expectation:
    action: list[str] = field(default_factory=list)
    cites: list[str] = field(default_factory=list)
    handoff: bool | None = None
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)


@dataclass
class Case:
    id: str
    turns: list[tuple[str, Expectation | None]]


@dataclass
class TurnResult:
    case: str
    turn: int  # 1-based
    say: str
    text: str
    action: str
    cited: list[str]
    handoff: bool
    checked: bool  # the turn had expectations
    failures: list[str] = field(default_factory=list)
    expect: dict | None = None  # the expectation as the suite wrote it: an edited one is no change of the assistant

    @property
    def key(self) -> str:
        return f"{self.case} #{self.turn}"

    @property
    def passed(self) -> bool:
        return not self.failures


_DASHES = str.maketrans({c: " " for c in "-‐‑–—"})


def _fold(text: str) -> str:
    """Case, full/half width, hyphens and spacing do not matter: '1-year' matches '1 year'."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().translate(_DASHES).split())


def says(text: str, phrase: str) -> bool:
    """`phrase` in `text`, ignoring case, width, spaces and hyphens ('30天内' in '30 天内', 'email us' in 'e-mail
    us'), where a Latin letter or digit at either end of the phrase meets a word boundary in the text ('no tea' is
    not in 'piano teacher')."""
    want = "".join(_fold(phrase).split())
    if not want:
        return False
    folded = _fold(text)
    keep = [i for i, c in enumerate(folded) if not c.isspace()]
    compact = "".join(folded[i] for i in keep)
    start = compact.find(want)
    while start >= 0:
        first, last = keep[start], keep[start + len(want) - 1]
        open_start = not want[0].isascii() or not want[0].isalnum() or first == 0 or not _word(folded[first - 1])
        open_end = not want[-1].isascii() or not want[-1].isalnum() or last == len(folded) - 1 \
            or not _word(folded[last + 1])
        if open_start and open_end:
            return True
        start = compact.find(want, start + 1)
    return False


def _word(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise InputError(f"{where} must be a text or a list of texts, got {value!r}")


def parse(data, name: str = "suite") -> list[Case]:
    """Cases from the loaded YAML; a malformed suite is one InputError naming the conversation and turn."""
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list) or not data["conversations"]:
        raise InputError(f"{name}: expected a mapping with a non-empty 'conversations' list")
    _known_keys(data, SUITE_KEYS, name)
    cases, seen = [], set()
    for i, conv in enumerate(data["conversations"], 1):
        if not isinstance(conv, dict) or not isinstance(conv.get("turns"), list) or not conv["turns"]:
            raise InputError(f"{name}: conversation {i} needs a non-empty 'turns' list")
        cid = str(conv.get("id") or f"conversation-{i}")
        _known_keys(conv, CONVERSATION_KEYS, f"{name}: {cid}")
        if cid in seen:
            raise InputError(f"{name}: conversation id {cid!r} is used twice")
        seen.add(cid)
        turns = []
        for j, turn in enumerate(conv["turns"], 1):
            where = f"{name}: {cid} turn {j}"
            if isinstance(turn, str):
                turn = {"say": turn}
            if not isinstance(turn, dict) or not str(turn.get("say") or "").strip():
                raise InputError(f"{where} needs 'say: <the customer's message>'")
            _known_keys(turn, TURN_KEYS, where)
            expect = turn.get("expect")
            if expect is None:
                turns.append((str(turn["say"]), None))
                continue
            if not isinstance(expect, dict) or not set(expect) <= KEYS:
                raise InputError(f"{where}: 'expect' keys must be among {', '.join(sorted(KEYS))}, got {expect!r}")
            handoff = expect.get("handoff")
            if handoff is not None and not isinstance(handoff, bool):
                raise InputError(f"{where}: handoff must be true or false, got {handoff!r}")
            turns.append((str(turn["say"]), Expectation(_actions(expect.get("action"), f"{where} action"),
                                                        _strings(expect.get("cites"), f"{where} cites"), handoff,
                                                        _strings(expect.get("must"), f"{where} must"),
                                                        _strings(expect.get("must_not"), f"{where} must_not"))))
        cases.append(Case(cid, turns))
    return cases


def load(path: str | Path) -> list[Case]:
    from assistant.config import load_yaml_file

    path = Path(path)
    if path.is_dir():
        raise InputError(f"the regression suite is a folder, not a YAML file: {path}")
    return parse(load_yaml_file(path, "regression suite", InputError), path.name)


def check(expect: Expectation, text: str, action: str, citations: list, handoff: bool) -> list[str]:
    failures = []
    if expect.action and action not in expect.action:
        failures.append(f"action {action or '-'} (expected {' or '.join(expect.action)})")
    for want in expect.cites:
        w = _fold(want)
        # the document's name, not its path: `cites: returns` passed on any citation of a shop kept in /srv/returns-shop
        names = [_fold(n) for c in citations for n in (Path(c.source or "").name, c.title or "", c.row_id or "")]
        if not any(w in n for n in names):
            failures.append(f"does not cite {want!r}")
    if expect.handoff is not None and handoff != expect.handoff:
        failures.append("handed off" if handoff else "not handed off")
    failures += [f"missing {p!r}" for p in expect.must if not says(text, p)]
    failures += [f"says {p!r}" for p in expect.must_not if says(text, p)]
    return failures


def unknown_cites(kb, cases: list[Case]) -> list[str]:
    """Notes on `cites` that no document name, title or FAQ row id of the knowledge base holds (matched as check()
    matches them): such a turn can never pass, and the name is usually mistyped or the document was removed."""
    if kb is None:
        return []
    names = set()
    for _, _, meta in kb.store.iter_all(documents=False):
        names.update(_fold(str(meta.get(f) or "")) for f in ("title", "row_id"))
        names.add(_fold(Path(str(meta.get("source") or "")).name))
    notes = []
    for case in cases:
        for n, (_, expect) in enumerate(case.turns, 1):
            for want in expect.cites if expect else []:
                if not any(_fold(want) in name for name in names if name):
                    notes.append(f"{case.id} #{n}: cites {want!r}, which no document, title or FAQ row of the "
                                 f"knowledge base holds")
    return notes


def run(chat, cases: list[Case], progress: bool = True) -> list[TurnResult]:
    """Each conversation in a fresh session of `chat` (assistant.chat.ChatService), turn by turn."""
    from tqdm import tqdm

    from assistant.errors import AssistantError

    results = []
    for case in tqdm(cases, desc="conversations", unit="conv", disable=not progress):
        session = chat.sessions.get()
        for n, (say, expect) in enumerate(case.turns, 1):
            failed = ""
            try:
                reply = chat.respond(say, session).collect()
                text, route, cites = reply.text, reply.route or {}, list(reply.citations)
                handoff, action = bool(reply.handoff), str(route.get("action", ""))
                failed = reply.error or ""
            except AssistantError as exc:
                text, cites, handoff, action = exc.one_line(), [], False, "error"
                if expect is None:  # the conversation did not go as written: said, not silently passed over
                    failed = text
            result = TurnResult(case.id, n, say, text, action,
                                # two passages of one document are one source to the reader of the diff
                                list(dict.fromkeys(c.row_id or Path(c.source).name for c in cites)), handoff,
                                expect is not None, expect=asdict(expect) if expect is not None else None)
            if expect is not None:
                result.failures = check(expect, text, action, cites, handoff)
            if failed:  # the customer got the shop's apology: a suite run on a broken model proves nothing
                result.checked = True
                what = "the turn raised" if action == "error" else "the model failed"
                result.failures.insert(0, f"{what}: {_short(failed, 120)}")
            results.append(result)
    return results


def results_path(suite: str | Path, output: str | Path | None = None) -> Path:
    """Where a run is kept: --output, else beside the suite (`shop.yaml` -> `shop.last-run.json`)."""
    suite = Path(suite)
    return Path(output) if output else suite.with_name(f"{suite.stem}.last-run.json")


def save(path: Path, results: list[TurnResult], meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"meta": meta, "results": [asdict(r) for r in results]}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def previous(path: Path) -> tuple[dict, dict[str, dict]] | str | None:
    """The earlier run's (meta, results by turn); None when there is none, the reason when it cannot be read."""
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return body.get("meta", {}), {f"{r['case']} #{r['turn']}": r for r in body["results"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"the earlier run in {path} cannot be read ({type(exc).__name__}); it is kept as {path.name}.unreadable"


def _short(text: str, n: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def diff(before: dict[str, dict] | None, results: list[TurnResult]) -> list[str]:
    """What changed since the previous run, one line per turn: FIXED, BROKEN, CHANGED, NEW (a new turn, an
    expectation added or edited since, a turn whose question was rewritten), GONE."""
    if before is None:
        return []
    lines, now = [], {r.key: r for r in results}
    for key, r in now.items():
        old = before.get(key)
        if old is None:
            lines.append(f"NEW     {key}: {'pass' if r.passed else 'FAIL'}")
            continue
        was_ok = not old.get("failures")
        if "say" in old and _fold(old["say"]) != _fold(r.say):
            # another question under the same number (a turn rewritten, or one inserted above it): its answer is
            # not the old one's, so nothing of it is a fix, a regression or a change
            lines.append(f"NEW     {key}: {'pass' if r.passed else 'FAIL'} (the customer's words changed since the "
                         f"last run: {_short(old['say'], 60)!r} -> {_short(r.say, 60)!r})")
            continue
        if r.checked and not old.get("checked", True):
            # an `expect` added since: its failure is no regression of the assistant, whatever it says now
            lines.append(f"NEW     {key}: {'pass' if r.passed else 'FAIL'} (checked for the first time)")
        elif r.checked and "expect" in old and old["expect"] != r.expect:
            # the shop edited what it expects (a new price): passing or failing now says nothing of a change
            lines.append(f"NEW     {key}: {'pass' if r.passed else 'FAIL'} (its expectation changed since the last "
                         "run)")
        elif r.checked and was_ok and not r.passed:
            lines.append(f"BROKEN  {key}: {'; '.join(r.failures)}")
        elif r.checked and not was_ok and r.passed:
            lines.append(f"FIXED   {key}")
        changes = []
        if old.get("action") != r.action:
            changes.append(f"action {old.get('action')} -> {r.action}")
        if old.get("cited") != r.cited:
            changes.append(f"cites {old.get('cited')} -> {r.cited}")
        if bool(old.get("handoff")) != r.handoff:
            changes.append(f"handoff {bool(old.get('handoff'))} -> {r.handoff}")
        if _fold(old.get("text", "")) != _fold(r.text):
            changes.append(f"answer {_short(old.get('text', ''))!r} -> {_short(r.text)!r}")
        if changes:
            lines.append(f"CHANGED {key}: " + "; ".join(changes))
    lines += [f"GONE    {key}" for key in before if key not in now]
    return lines


def report(results: list[TurnResult], changes: list[str] | None, seconds: float, before_meta: dict | None) -> str:
    checked = [r for r in results if r.checked]
    failed = [r for r in checked if not r.passed]
    convs = len({r.case for r in results})
    lines = [f"regression suite: {len(checked) - len(failed)} passed, {len(failed)} failed "
             f"({len(checked)} checked turn{'' if len(checked) == 1 else 's'} in {convs} "
             f"conversation{'' if convs == 1 else 's'}, {seconds:.1f} s)"]
    for r in checked:  # every checked turn, in the suite's order
        if r.passed:
            lines.append(f"  pass {r.key}")
            continue
        lines.append(f"  FAIL {r.key}: {'; '.join(r.failures)}")
        lines.append(f"       said {_short(r.say, 60)!r} -> {_short(r.text)!r}")
    if not checked:
        lines.append("no turn has 'expect': nothing was checked (the answers are still compared with the last run)")
    if changes is None:
        lines.append("no earlier run to compare with: this run is the reference")
    elif changes:
        lines.append(f"changes since the run of {before_meta.get('when', '?')}:")
        lines += [f"  {c}" for c in changes]
    else:
        lines.append(f"no change since the run of {before_meta.get('when', '?')}")
    return "\n".join(lines)


def run_file(settings, suite: str | Path, output: str | Path | None = None, progress: bool = True):
    """Run a suite file against `settings` (conversations and tickets go to a throw-away store, never the
    shop's); save the run; return (results, report text)."""
    import dataclasses
    import tempfile

    from assistant.outputs import output_file, writing
    from assistant.runtime import Runtime
    from assistant.storage import sqlite_url

    cases = load(suite)
    # Checked before the run: a run can take minutes, and its results must have somewhere to go.
    option = "--output" if output else "the run file beside the suite (choose another with --output)"
    path = output_file(results_path(suite, output), option, "run.json")
    earlier = previous(path)
    unreadable = ""
    if isinstance(earlier, str):  # set aside, not overwritten: it may be the only copy of a good reference
        unreadable, earlier = earlier, None
        path.replace(path.with_name(f"{path.name}.unreadable"))
    with tempfile.TemporaryDirectory(prefix="test-suite-") as tmp:
        settings.sections["storage"] = dataclasses.replace(settings.storage, url=sqlite_url(Path(tmp) / "suite.db"))
        # The per-session limit guards against a flooding customer; the suite sends a long conversation's turns
        # as fast as they are answered, and its 21st turn within a minute failed as "too many messages".
        settings.sections["chat"] = dataclasses.replace(settings.chat, rate_limit_per_minute=0)
        runtime = Runtime(settings)
        start = time.perf_counter()
        results = run(runtime.chat, cases, progress)
        seconds = time.perf_counter() - start
        unknown = unknown_cites(runtime.kb, cases)
    changes = diff(earlier[1], results) if earlier else None
    meta = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "suite": str(suite),
            "model": f"{settings.llm.backend}:{settings.llm.model}", "seconds": round(seconds, 1)}
    text = report(results, changes, seconds, earlier[0] if earlier else None)
    if unknown:
        text += "\n" + "\n".join(["the suite names sources the knowledge base does not have:"] +
                                  [f"  {note}" for note in unknown])
    if unreadable:
        text += f"\n{unreadable}"
    try:
        with writing(path, option):
            save(path, results, meta)
    except InputError as exc:  # the results are still shown; only the copy for the next diff is missing
        return results, text + f"\nthis run was not kept: {exc}"
    return results, text + f"\nthis run: {path}"

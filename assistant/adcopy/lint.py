"""Compliance lint for ad copy: China's Advertising Law (absolute terms, medical claims), Google Ads editorial
rules (capitals, punctuation, emoji, phone numbers), health claims in English, and the brand's banned words.

The rules are data (`data/lint_rules.yaml`: id, pattern, explanation, fix). `Linter.check` lists what a text
breaks; `Linter.rewrite` applies the rules' fixes and returns the text only when the result passes every rule.
The generator runs it on every item before anything is returned; `python -m assistant.adcopy lint` runs it on
copy a person wrote.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.adcopy.checks import drop_clauses
from assistant.adcopy.text import contains_term, has_cjk, script_variants
from assistant.cli_support import decode_text_lines, read_text_lines
from assistant.config import load_yaml_file
from assistant.errors import ConfigError

DEFAULT_RULES_FILE = Path(__file__).with_name("data") / "lint_rules.yaml"
# A landing page in the copy is an address, not a claim: its query string's digits are no phone number, and a fix
# must not cut it in half ("Visit https://shop.example/p?"). Trailing sentence marks are the copy's, not the URL's.
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*[A-Za-z0-9\-_~/#=&%+]", re.IGNORECASE)
FIX_KINDS = ("replace", "delete", "case")
BRAND_RULE = "brand.banned"


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern
    explanation: str
    fix: dict
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    def applies(self, language: str | set[str], channel: str, field_name: str) -> bool:
        languages = {language} if isinstance(language, str) else language
        return ((not self.languages or not any(languages) or bool(languages & set(self.languages)))
                and (not self.channels or any(fnmatch.fnmatch(channel or "", c) for c in self.channels))
                and (not self.fields or not field_name or field_name in self.fields))


@dataclass(frozen=True)
class Violation:
    rule: str
    match: str
    explanation: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "match": self.match, "explanation": self.explanation}


@dataclass
class LintResult:
    """What a text breaks and, when the rules' fixes give a passing text, that rewrite."""

    text: str
    violations: list[Violation] = field(default_factory=list)
    rewrite: str | None = None  # None: no violation, or no automatic rewrite passes (rewrite it by hand)

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict:
        return {"text": self.text, "ok": self.ok, "violations": [v.as_dict() for v in self.violations],
                "rewrite": self.rewrite}


def _compile(raw: dict, i: int, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: rules[{i}] must be a mapping")
    missing = [k for k in ("id", "pattern", "fix", "explanation") if not raw.get(k)]
    if missing:
        raise ConfigError(f"{where}: rules[{i}] lacks {', '.join(missing)}")
    fix = raw["fix"]
    if not isinstance(fix, dict) or len(fix) != 1 or next(iter(fix)) not in FIX_KINDS:
        raise ConfigError(f"{where}: rule {raw['id']} fix must be one of {{replace: TEXT}}, {{delete: clause}}, "
                          f"{{case: title}}, got {fix!r}")
    flags = 0 if raw.get("case_sensitive") else re.IGNORECASE
    try:
        pattern = re.compile(raw["pattern"], flags)
    except re.error as exc:
        raise ConfigError(f"{where}: rule {raw['id']} has a bad pattern: {exc}") from None
    return Rule(str(raw["id"]), pattern, str(raw["explanation"]), dict(fix),
                tuple(raw.get("languages") or ()), tuple(raw.get("channels") or ()), tuple(raw.get("fields") or ()))


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> tuple[tuple[Rule, ...], frozenset[str]]:
    """The rules and the capitalised words (acronyms) the capitals rule allows."""
    p = Path(path) if path else DEFAULT_RULES_FILE
    data = load_yaml_file(p, what="lint rules file", error=ConfigError)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"lint rules file {p} must have a 'rules' list")
    rules = tuple(_compile(r, i, f"lint rules file {p}") for i, r in enumerate(data["rules"]))
    return rules, frozenset(str(w).upper() for w in data.get("allow_caps") or [])


class Linter:
    """`Linter(banned=[...]).check(text, language, channel, field)` / `.rewrite(...)`; rules from YAML."""

    def __init__(self, banned: list[str] | None = None, rules_file: str | Path | None = None, names=()):
        """`names`: the product's and the brand's names, whose words in capitals (MUJI, IKEA) are names as written,
        which Google allows, not shouting."""
        self.rules, self.allow_caps = load_rules(str(rules_file) if rules_file else None)
        self.allow_caps = self.allow_caps | _capitals(names)
        self.banned = [w for w in (banned or []) if w.strip()]
        # A banned word a law rule also catches is left to that rule, which knows its exceptions: a brand that bans
        # 第一 still may say 第一次 ("the first time"), as the Advertising Law's rank rule allows.
        self.by_law = {w for w in self.banned if any(r.id.startswith("zh.adlaw") and r.pattern.search(w)
                                                      for r in self.rules)}

    def named(self, *names: str) -> Linter:
        """This linter with more names whose capitals are allowed (a sheet row's product title)."""
        words = _capitals(names)
        if words <= self.allow_caps:
            return self
        other = copy.copy(self)
        other.allow_caps = self.allow_caps | words
        return other

    @staticmethod
    def languages(text: str, language: str) -> set[str]:
        """The languages whose rules apply: the one given, and those the text is written in (Chinese copy under
        --language en still falls under the Advertising Law)."""
        found = {language} if language else set()
        if has_cjk(text):
            found.add("zh")
        if re.search(r"[A-Za-z]{2,}", text):
            found.add("en")
        return found

    def _hits(self, rule: Rule, text: str) -> list[re.Match]:
        hits = list(rule.pattern.finditer(text))
        if rule.fix.get("case"):  # an acronym in capitals is no shouting
            hits = [m for m in hits if m.group(0).upper() not in self.allow_caps]
        urls = [u.span() for u in _URL.finditer(text)]
        return [m for m in hits if m.group(0).strip() and not any(a <= m.start() and m.end() <= b for a, b in urls)]

    def _sub(self, rule: Rule, text: str, repl) -> str:
        """`rule.pattern.sub(repl, text)` for the matches `_hits` counts (none inside a URL, no allowed acronym)."""
        out, at = [], 0
        for m in self._hits(rule, text):
            out += [text[at:m.start()], m.expand(repl) if isinstance(repl, str) else repl(m)]
            at = m.end()
        return "".join(out) + text[at:]

    def check(self, text: str, language: str = "", channel: str = "", field_name: str = "") -> list[Violation]:
        # Traditional characters and full-width letters are read as simplified and half-width too: 國家級 and
        # ＦＲＥＥ！！ break the same rules as 国家级 and FREE!!.
        out: list[Violation] = []
        for variant in script_variants(text):
            out += [v for v in self._rule_hits(variant, language, channel, field_name)
                    if not any(o.rule == v.rule for o in out)]
        out += [Violation(BRAND_RULE, w, "the brand file bans this word") for w in self.banned
                if w not in self.by_law and contains_term(text, w)]
        return list(dict.fromkeys(out))

    def _rule_hits(self, text: str, language: str, channel: str, field_name: str) -> list[Violation]:
        out: list[Violation] = []
        languages = self.languages(text, language)
        taken: list[tuple[int, int]] = []  # "全网最低价" is one lowest-price hit, not also a superlative one
        for rule in self.rules:
            if not rule.applies(languages, channel, field_name):
                continue
            for m in self._hits(rule, text):
                if any(a <= m.start() and m.end() <= b for a, b in taken):
                    continue
                taken.append(m.span())
                out.append(Violation(rule.id, m.group(0).strip(), rule.explanation))
        return out

    def _apply(self, rule: Rule, text: str) -> str:
        kind, arg = next(iter(rule.fix.items()))
        if kind == "delete":
            return drop_clauses(text, lambda c: bool(self._hits(rule, c)))
        if kind == "case":
            return self._sub(rule, text, lambda m: m.group(0).capitalize())
        return _tidy(self._sub(rule, text, str(arg or "")))

    def rewrite(self, text: str, language: str = "", channel: str = "", field_name: str = "") -> LintResult:
        """The violations, and the text with every applicable fix applied when that passes the whole lint."""
        violations = self.check(text, language, channel, field_name)
        if not violations:
            return LintResult(text)
        # Rewritten as written when the rules see everything there; else in the simplified, half-width reading
        # (only a text in traditional or full-width characters has another reading to scan).
        fixed, variants = text, script_variants(text)
        if len(variants) > 1:
            seen = {v.rule for v in self._rule_hits(text, language, channel, field_name)}
            if not all(v.rule in seen or v.rule == BRAND_RULE for v in violations):
                fixed = variants[-1]
        for _ in range(3):  # a fix can uncover another rule's match ("最佳!!" -> two rules); settle in a few passes
            languages = self.languages(fixed, language)
            for rule in self.rules:
                if rule.applies(languages, channel, field_name) and self._hits(rule, fixed):
                    fixed = self._apply(rule, fixed)
            for word in self.banned:
                if word not in self.by_law:
                    fixed = drop_clauses(fixed, lambda c, w=word: contains_term(c, w))
            if not self.check(fixed, language, channel, field_name):
                break
        passes = bool(re.sub(r"\W+", "", fixed)) and not self.check(fixed, language, channel, field_name)
        return LintResult(text, violations, fixed if passes else None)


def _capitals(names) -> frozenset[str]:
    return frozenset(w for name in names for w in re.findall(r"[A-Z]{3,}", str(name or "")))


def _tidy(text: str) -> str:
    """Spacing and separators left behind when a fix deleted a word."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", text)
    text = re.sub(r"([，、；])\s*[，、；]+", r"\1", text)
    # "Buy now... limited stock" -> "Buy now. Limited stock": a sentence the fix ended has the next one start it
    text = re.sub(r"(?<=[A-Za-z0-9][.!?] )([a-z])", lambda m: m.group(1).upper(), text)
    return text.strip().strip("，、；,;:：").strip()  # "理想床品，" once 国家级 went: no dangling comma either


# Columns that hold ad text in the sheets people lint: our fields, Google Ads Editor's and Meta's bulk columns.
_TEXT_COLUMNS = {"headline": "headline", "description": "description", "text": "text", "primary_text": "primary_text",
                 "title": "title", "ad_title": "title", "body": "body", "subject": "subject", "preheader": "preheader", "cta": "cta",
                 "copy": "", "ad text": "", "文案": "", "标题": "headline", "描述": "description", "link description":
                 "description"}


def _column_field(header: str) -> str | None:
    """The channel field a column holds ('Headline 3' -> headline), '' for text of no particular field, None: no text."""
    h = re.sub(r"\s*\d+$", "", header.strip().lower())
    return _TEXT_COLUMNS.get(h)


def _is_sheet(lines: list[str]) -> bool:
    """Whether text lines are a CSV/TSV with a header naming an ad-text column ('Headline 1', 'text', 'Body')."""
    if len(lines) < 2:
        return False
    first = lines[0].lstrip("\ufeff")
    delimiter = max(",;\t", key=first.count)
    cells = [c.strip().strip('"') for c in first.split(delimiter)]
    # column names are a few words without sentence marks, and every row has as many separators as the header:
    # lines of copy that happen to hold a comma ("Body, mind and soul: linen") have neither
    return (len(cells) >= 2 and any(_column_field(c) is not None for c in cells)
            and all(len(c.split()) <= 3 and not re.search(r"[:：!?！？。.]", c) for c in cells)
            and all(line.count(delimiter) >= len(cells) - 1 for line in lines[1:] if line.strip()))


def read_texts(path: str | Path, channel: str = "") -> list[tuple[str, str, str]]:
    """(where, field, text) for every text to lint: each line of a .txt, each ad-text cell of a .csv/.xlsx.

    In a feed's assets sheet 'title' is the product's name, which is not copy (a channel's own title field is
    written there as 'ad_title'); elsewhere it is an ad field where the channel has one (xiaohongshu). A sheet's
    texts are placed by row id and variant where the sheet has them, else by the file's line."""
    from assistant.errors import InputError
    from assistant.tables import read_table

    p = Path(path)
    if str(path) == "-" or p.suffix.lower() in (".txt", ".md", ""):
        # Text as the feed reader takes it (UTF-8, else GB18030); binary input is one line, not a traceback.
        if str(path) == "-":
            stream = getattr(sys.stdin, "buffer", None)  # None: stdin replaced by a text stream (tests, notebooks)
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
            lines = decode_text_lines(data, "<stdin>", "input", fallback="gb18030")
            if _is_sheet(lines):  # `cat ads.csv | lint --input -`: its header was linted as copy, each row as one text
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    sheet = Path(tmp) / "stdin.csv"
                    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
                    return read_texts(sheet, channel)
        else:
            lines = read_text_lines(p, "file", fallback="gb18030")
        return [(f"line {i}", "", t.strip()) for i, t in enumerate(lines, 1) if t.strip()]
    from assistant.adcopy.sheet import from_excel

    header, rows = read_table(p)
    rows = [from_excel(r) for r in rows]  # a review sheet's "'-20% today" is the copy "-20% today"
    cols = {h: _column_field(h) for h in header}
    if "row_id" in header and (channel != "xiaohongshu" or "ad_title" in header):
        cols.pop("title", None)
    cols = {h: f for h, f in cols.items() if f is not None}
    if not cols:
        raise InputError(f"{p.name}: no ad-text column (headline, description, text, primary_text, body, "
                         f"Headline 1, ...); columns: {', '.join(header)}")

    def place(i: int, row: dict[str, str]) -> str:
        if row.get("row_id", "").strip():
            variant = row.get("variant", "").strip()
            return f"{row['row_id'].strip()}{f' variant {variant}' if variant else ''}"
        return f"line {i + 1}"  # the header is line 1

    return [(f"{place(i, row)} {h}", f, row[h]) for i, row in enumerate(rows, 1) for h, f in cols.items()
            if row.get(h, "").strip()]

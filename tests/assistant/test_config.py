from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.errors import ConfigError
from tests.conftest import run_module


def test_defaults_come_from_default_yaml():
    s = load_config(env={})
    assert s.llm.backend == "llamacpp"
    assert s.llm.model == "qwen2.5-0.5b"
    assert s.sources["llm.backend"] == "config/default.yaml"


def test_user_file_then_env_override_in_that_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("llm:\n  temperature: 0.7\n  max_tokens: 100\n")
    s = load_config(f, env={"ASSISTANT_LLM__TEMPERATURE": "1.5", "ASSISTANT_LLM__BACKEND": "fake"})
    assert s.llm.temperature == 1.5
    assert s.llm.max_tokens == 100
    assert s.llm.backend == "fake"
    assert s.sources["llm.temperature"] == "env ASSISTANT_LLM__TEMPERATURE"
    assert s.sources["llm.max_tokens"] == str(f)


def test_env_lists_and_dicts_parse_as_yaml():
    s = load_config(env={"ASSISTANT_LLM__STOP": "[END, STOP]", "ASSISTANT_LLM__ADAPTERS": "{support: /x.gguf}"})
    assert s.llm.stop == ["END", "STOP"]
    assert s.llm.adapters == {"support": "/x.gguf"}


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ASSISTANT_LLM__TEMPERATURE": "5"}, "llm.temperature must be in [0, 2], got 5"),
        ({"ASSISTANT_LLM__BACKEND": "gpt9"}, "llm.backend must be one of"),
        ({"ASSISTANT_LLM__N_CTX": "lots"}, "llm.n_ctx must be an integer"),
        ({"ASSISTANT_LLM__COLOUR": "red"}, "unknown key llm.colour"),
        ({"ASSISTANT_NOPE__X": "1"}, "unknown config section 'nope'"),
    ],
)
def test_invalid_values_give_one_clear_error(env, message):
    with pytest.raises(ConfigError) as err:
        load_config(env=env)
    assert message in str(err.value)


def test_bad_yaml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("llm:\n  backend: [fake\n")
    with pytest.raises(ConfigError, match=r"bad YAML in .*bad.yaml \(line"):
        load_config(f, env={})


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_yaml_must_be_sections(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must map section names"):
        load_config(f, env={})


def test_config_show_prints_yaml_with_sources(tmp_path):
    r = run_module("assistant", "config", "show", env={"ASSISTANT_LLM__TEMPERATURE": "0.9"})
    assert r.returncode == 0, r.stderr
    assert "temperature: 0.9  # env ASSISTANT_LLM__TEMPERATURE" in r.stdout
    assert "backend: llamacpp  # config/default.yaml" in r.stdout
    import yaml

    parsed = yaml.safe_load(r.stdout)  # comments aside, it is valid YAML
    assert parsed["llm"]["temperature"] == 0.9


def test_cli_config_error_is_one_line_exit_2():
    r = run_module("assistant", "config", "show", env={"ASSISTANT_LLM__TEMPERATURE": "5"})
    assert r.returncode == 2
    assert r.stderr.strip() == "ConfigError: llm.temperature must be in [0, 2], got 5"
    assert "Traceback" not in r.stderr


def test_cli_config_file_flag_bad_yaml(tmp_path):
    f = Path(tmp_path) / "bad.yaml"
    f.write_text("llm: [\n")
    r = run_module("assistant", "config", "show", "--config", str(f))
    assert r.returncode == 2
    assert r.stderr.startswith("ConfigError: bad YAML in")
    assert len(r.stderr.strip().splitlines()) == 1


def test_config_show_checks_the_messages_file_as_the_app_does(tmp_path):
    """`config show` printed a config whose messages file the app then refused at start."""
    (tmp_path / "messages.yaml").write_text("greting:\n  en: Hi there\n")
    f = tmp_path / "config.yaml"
    f.write_text("shop:\n  messages_file: ${config_dir}/messages.yaml\n")
    r = run_module("assistant", "config", "show", "--config", str(f))
    assert r.returncode == 2
    assert "unknown message key 'greting' (did you mean 'greeting'?)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_section_given_twice_is_an_error_naming_both_lines(tmp_path):
    """PyYAML keeps the last of two equal keys: a `knowledge_base:` pasted again at the end of a shop's file
    dropped its db_path and collection, and the shop wrote into the demo's store without a word."""
    import pytest

    from assistant.config import load_config
    from assistant.errors import ConfigError

    path = tmp_path / "shop.yaml"
    path.write_text("knowledge_base:\n  collection: mine\napp:\n  port: 7861\nknowledge_base:\n  chunk_size: 300\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'knowledge_base' is given twice in one mapping \(line 1 and line 5\)"):
        load_config(path, env={})
    path.write_text("knowledge_base:\n  collection: mine\n  chunk_size: 300\n", encoding="utf-8")
    assert load_config(path, env={}).knowledge_base.collection == "mine"


def test_a_mapping_or_list_left_blank_is_empty(tmp_path):
    """A shop owner emptying `hours:` or `description:` by hand (nothing after the colon) was refused with
    "shop.hours must be a mapping, got None", although a blank text (`website:`) was fine."""
    from assistant.config import load_config

    path = tmp_path / "shop.yaml"
    path.write_text("shop:\n  name: {en: Velo Works}\n  hours:\n  description:\n  website:\nllm:\n  stop:\n",
                    encoding="utf-8")
    settings = load_config(path, env={})
    assert settings.shop.hours == {} and settings.shop.description == {} and settings.shop.website == ""
    assert settings.llm.stop == []


def test_a_shop_file_saved_in_gbk_says_how_to_fix_it(tmp_path):
    """A config or messages file saved by an editor in GBK (a Chinese Windows' default) was refused with only
    "'utf-8' codec can't decode byte 0xd4 in position 40"."""
    from assistant.shop import Shop, ShopConfig

    path = tmp_path / "config.yaml"
    path.write_bytes("shop:\n  name:\n    zh: 云叶茶庄\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"config.yaml: not UTF-8 text \(line 3\); save it as UTF-8"):
        load_config(path, env={})
    messages = tmp_path / "messages.yaml"
    messages.write_bytes("greeting:\n  zh: 您好\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"message catalog .*messages.yaml: not UTF-8 text \(line 2\)"):
        Shop(ShopConfig(messages_file=str(messages)))

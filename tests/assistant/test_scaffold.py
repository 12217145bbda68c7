"""`python -m assistant init DIR`: a new shop's folder that loads, ingests and speaks as that shop."""

import pytest

from assistant.__main__ import main


def test_init_writes_a_shop_folder_that_loads_and_ingests(tmp_path, capsys):
    from assistant.config import load_config
    from knowledge_base import KnowledgeBase
    from knowledge_base.embeddings import FakeEmbedder

    folder = tmp_path / "bikes"
    assert main(["init", str(folder), "--name", "Spoke & Chain", "--email", "help@spoke.example",
                 "--description", "an online bike shop"]) == 0
    assert "python app.py --config" in capsys.readouterr().out
    kinds = {p.suffix for p in (folder / "knowledge").rglob("*") if p.is_file()}
    assert {".csv", ".md", ".txt", ".html", ".docx", ".pdf", ".xlsx"} <= kinds  # one of every supported type
    settings = load_config(folder / "config.yaml", env={})
    assert settings.shop.name == {"en": "Spoke & Chain"} and settings.shop.contact_email == "help@spoke.example"
    assert str(folder) in settings.knowledge_base.db_path  # ${config_dir} resolved to the folder
    # The shop section replaced the demo's whole: nothing of it is inherited.
    assert "Aurora" not in str(settings.shop) and "aurorahome" not in str(settings.shop)
    kb = KnowledgeBase.from_config(settings.knowledge_base, FakeEmbedder())
    report = kb.ingest([settings.knowledge_base.demo_path], progress=False)
    assert not report.errors and len(report.files) == 7


def test_init_refuses_a_non_empty_folder_and_bad_details(tmp_path):
    from assistant.errors import ConfigError, InputError

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        main(["init", str(tmp_path / "x"), "--name", "A"])
    with pytest.raises(ConfigError, match="contact_email"):
        main(["init", str(tmp_path / "y"), "--name", "A", "--email", "not-an-email"])


def test_init_help():
    from tests.conftest import run_module

    done = run_module("assistant", "init", "--help")
    assert done.returncode == 0 and "--name" in done.stdout


def test_a_refused_init_leaves_nothing_behind_and_can_be_rerun(tmp_path, capsys):
    from assistant.errors import ConfigError

    folder = tmp_path / "shops" / "bad1"
    for bad in (["--email", "notanemail"], ["--currency", "EURO"]):
        with pytest.raises(ConfigError):
            main(["init", str(folder), "--name", "X", *bad])
        assert not (tmp_path / "shops").exists()  # not even the parent folder it would have made
    assert main(["init", str(folder), "--name", "X", "--email", "help@x.example"]) == 0
    assert "created 12 files" in capsys.readouterr().out


@pytest.mark.parametrize("where, message", [
    ("{tmp}/plain/sub", r"cannot create .*sub: .*plain is a file, not a folder"),
    ("{tmp}/plain", r"plain exists and is not a folder"),
    ("/proc/no-such-shop", r"cannot write the shop folder: /proc/no-such-shop: "),
])
def test_init_where_no_folder_can_be_made_is_one_line(tmp_path, where, message):
    from pathlib import Path

    from assistant.errors import InputError

    if where.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("needs Linux /proc")
    (tmp_path / "plain").write_text("mine")
    with pytest.raises(InputError, match=message):
        main(["init", where.replace("{tmp}", str(tmp_path)), "--name", "X"])
    assert (tmp_path / "plain").read_text() == "mine"


def test_init_that_fails_while_writing_removes_what_it_wrote(tmp_path, monkeypatch):
    from pathlib import Path

    from assistant.errors import InputError

    real = Path.write_bytes

    def full_disk(self, data):
        if self.suffix == ".pdf":
            raise OSError(28, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(InputError, match="size-chart.pdf: No space left on device"):
        main(["init", str(tmp_path / "new" / "shop"), "--name", "X"])
    assert not (tmp_path / "new").exists()
    # --force into a folder with the shop's own files: those stay, only the new ones go
    (tmp_path / "old" / "knowledge").mkdir(parents=True)
    (tmp_path / "old" / "knowledge" / "mine.md").write_text("mine")
    with pytest.raises(InputError):
        main(["init", str(tmp_path / "old"), "--name", "X", "--force"])
    assert {p.name for p in (tmp_path / "old").rglob("*")} == {"knowledge", "mine.md"}


def test_the_example_documents_are_recognised_until_replaced(tmp_path):
    from assistant.scaffold import EXAMPLE_DOCUMENTS, placeholder_documents

    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", "X"]) == 0
    knowledge = folder / "knowledge"
    written = {p.relative_to(knowledge).as_posix() for p in knowledge.rglob("*") if p.is_file()}
    assert written == set(EXAMPLE_DOCUMENTS)
    assert [p.relative_to(knowledge).as_posix() for p in placeholder_documents(knowledge)] == list(EXAMPLE_DOCUMENTS)
    (knowledge / "faq.csv").write_text("id,question,answer,lang\nd,Delivery?,3 days.,en\n", encoding="utf-8")
    (knowledge / "guides" / "care-guide.docx").unlink()
    left = {p.name for p in placeholder_documents(knowledge)}
    assert "faq.csv" not in left and "care-guide.docx" not in left and "faq-more.xlsx" in left


def test_a_shop_still_on_the_examples_is_warned_about_at_start_but_serves(tmp_path, monkeypatch, caplog):
    """Customers of a fresh `init` shop would be told "REPLACE ME: ...": the start-up log and /healthz's degraded
    list name the files to edit; the app still starts and reports ready."""
    import logging

    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", "X"]) == 0
    settings = load_config(folder / "config.yaml", env={})
    with caplog.at_level(logging.WARNING, logger="assistant.runtime"):
        runtime = Runtime(settings, backend=FakeBackend())
    warning = runtime.degraded["knowledge_base_examples"]
    assert "REPLACE ME" in warning and "faq.csv" in warning and "policies/returns.md" in warning
    assert str(folder / "knowledge") in warning and warning in caplog.text
    runtime.ready = True
    health = runtime.health()
    assert health["status"] == "ready" and health["degraded"]["knowledge_base_examples"] == warning

    for path in (folder / "knowledge").rglob("*"):  # the shop puts its own documents in place
        if path.is_file():
            path.unlink()
    (folder / "knowledge" / "faq.csv").write_text("id,question,answer,lang\nd,Delivery?,3 days.,en\n")
    assert "knowledge_base_examples" not in Runtime(settings, backend=FakeBackend()).degraded


def test_everything_a_new_shop_writes_stays_in_its_folder(tmp_path, monkeypatch, caplog):
    """Uploads, published gap answers, translations, analytics outputs and feed runs of an `init` shop live under
    its folder: in the project's shared data/ folder, Sync pulled one shop's uploads into another's collection.
    A shop config that still points there is warned about at start."""
    import logging

    from assistant.config import REPO_ROOT, load_config, resolve_path
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", "Tea House"]) == 0
    settings = load_config(folder / "config.yaml", env={})
    written = [settings.app.upload_dir, settings.insights.faq_file, settings.insights.translation_cache,
               settings.analytics.output_dir, settings.adcopy.feed_dir, settings.knowledge_base.db_path]
    assert all(resolve_path(p).is_relative_to(folder) for p in written), written
    with caplog.at_level(logging.WARNING, logger="assistant.runtime"):
        Runtime(settings, backend=FakeBackend())
    assert "shared" not in caplog.text
    old = load_config(folder / "config.yaml", env={}, overrides={"app": {"upload_dir": "data/uploads"},
                                                                 "insights": {"faq_file": "data/uploads/g.csv"}})
    with caplog.at_level(logging.WARNING, logger="assistant.runtime"):
        Runtime(old, backend=FakeBackend())
    assert "app.upload_dir, insights.faq_file write into the project's shared" in caplog.text
    assert str(REPO_ROOT / "data") in caplog.text


def test_a_chinese_name_and_description_are_stored_as_chinese(tmp_path):
    # `--name 云叶茶庄` was stored as the English name: an English customer read "云叶茶庄 is 一家…"; brand.yaml kept
    # its REPLACE ME description although one was given
    import yaml

    from assistant.config import load_config
    from assistant.shop import Shop

    folder = tmp_path / "tea"
    assert main(["init", str(folder), "--name", "云叶茶庄", "--language", "zh",
                 "--description", "一家销售中国绿茶的网上茶庄: 龙井"]) == 0
    shop = Shop.from_config(load_config(folder / "config.yaml").shop)
    assert shop.cfg.name == {"zh": "云叶茶庄"} and shop.cfg.description == {"zh": "一家销售中国绿茶的网上茶庄: 龙井"}
    brand = yaml.safe_load((folder / "brand.yaml").read_text(encoding="utf-8"))
    assert brand["description"] == {"zh": "一家销售中国绿茶的网上茶庄: 龙井"}


def test_a_shop_named_without_latin_letters_gets_a_collection_of_its_own_not_the_demos():
    from assistant.scaffold import slug

    assert slug("Aurora Home") == "aurora-home"
    names = {slug(n) for n in ("维洛单车", "云叶茶庄", "!!", "Shop")}
    assert "shop" not in names and len(names) == 4
    assert all(3 <= len(n) <= 63 and n.replace("-", "").isalnum() for n in names)
    assert slug("维洛单车") == slug("维洛单车")  # the same name always names the same collection


@pytest.mark.parametrize("name", ["Tea: Co", "#1 Bikes", "*Star* Shop", "[Brackets] Ltd", "Yes"])
def test_a_name_yaml_would_misread_is_the_brand_files_name_as_written(tmp_path, name):
    # brand.yaml had `name: Tea: Co` unquoted: the Copywriter tab then failed on a YAML error ("#1 Bikes" lost its
    # name to a comment, "Yes" became the name True), although the shop itself loaded fine
    from assistant.adcopy.brand import brand_for
    from assistant.config import load_config

    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", name]) == 0
    brand = brand_for(load_config(folder / "config.yaml", env={}))
    assert brand.name == name and brand.names == {"en": name}


def test_the_title_follows_the_shops_name_when_the_owner_edits_it(tmp_path):
    # init wrote app.title "Working Name · Shop Assistant": renaming the shop in config.yaml left customers the
    # old name in the widget and UI title
    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime

    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", "Working Name"]) == 0
    config = folder / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("en: Working Name", "en: Velo Works"),
                      encoding="utf-8")
    title = Runtime(load_config(config, env={}), backend=FakeBackend()).title
    assert "Velo Works" in title and "Working Name" not in title


def test_a_chinese_shops_title_is_chinese_unless_the_config_sets_one(tmp_path):
    # A shop made with --language zh showed its customers "云叶茶庄 · Shop Assistant" as the page and widget title
    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime

    def title(folder):
        return Runtime(load_config(folder / "config.yaml", env={}), backend=FakeBackend()).title

    assert main(["init", str(tmp_path / "tea"), "--name", "云叶茶庄", "--language", "zh"]) == 0
    assert main(["init", str(tmp_path / "bikes"), "--name", "Velo Works", "--language", "en"]) == 0
    assert title(tmp_path / "tea") == "云叶茶庄 · 智能客服"
    assert title(tmp_path / "bikes") == "Velo Works · Shop Assistant"
    config = tmp_path / "tea" / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("title: ''", "title: Cloud Leaf Tea"), encoding="utf-8")
    assert title(tmp_path / "tea") == "Cloud Leaf Tea"  # a title the owner wrote in the config wins


def test_every_example_faq_answer_is_marked_and_none_repeats_the_contact_details(tmp_path):
    # faq.csv began with an unmarked row "Write to our support address; we answer within one working day." (no
    # --email): an owner who filled in the marked rows kept it, and customers asking how to reach the shop got it
    # instead of the phone number the config set (answered from the shop: section itself)
    import csv

    from assistant.scaffold import PLACEHOLDER

    folder = tmp_path / "shop"
    assert main(["init", str(folder), "--name", "Velo Works", "--phone", "+1 555 0100"]) == 0
    with open(folder / "knowledge" / "faq.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(PLACEHOLDER in r["answer"] for r in rows)
    assert not any("support address" in r["answer"] or "contact" in r["question"].lower() for r in rows)


def test_the_next_commands_work_for_a_folder_with_a_space(tmp_path, capsys):
    # "python -m assistant prepare --config /home/me/My Shop/config.yaml", as init printed it and wrote it in the
    # shop's README, was refused by the shell-split command line: "unrecognized arguments: Shop/config.yaml"
    import shlex

    folder = tmp_path / "My Shop"
    assert main(["init", str(folder), "--name", "My Shop"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if "--config" in line]
    readme = [line for line in (folder / "README.md").read_text(encoding="utf-8").splitlines()
              if line.strip().startswith("python ")]
    assert len(printed) == 2 and len(readme) == 2
    for line in printed + readme:
        words = shlex.split(line)
        assert words[words.index("--config") + 1] == str(folder / "config.yaml")

import logging

import pytest

from assistant.classifiers.dataset import LabelledTexts, check_trainable, read_labelled_csv, split_train_dev
from assistant.errors import InputError


def test_reads_utf8_with_bom_and_skips_empty_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("\ufefftext,label\n你好,greeting\n,greeting\nhi,\nWhere is my order?,order_status\n",
                    encoding="utf-8")
    data = read_labelled_csv(path)
    assert data.texts == ["你好", "Where is my order?"]
    assert data.labels == ["greeting", "order_status"]


def test_missing_column_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,label\nok,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column 'text'.*columns: review, label"):
        read_labelled_csv(path)


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"text,label\n\xff\xfe bad,1\n", "not UTF-8"),
])
def test_unusable_files(tmp_path, content, match):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        read_labelled_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_labelled_csv(tmp_path / "nope.csv")


def test_single_label_is_refused():
    with pytest.raises(InputError, match="at least 2 different labels"):
        check_trainable(LabelledTexts(["a", "b"], ["x", "x"]))


def test_label_with_one_example_stays_in_train(caplog):
    data = LabelledTexts([f"t{i}" for i in range(11)], ["a"] * 5 + ["b"] * 5 + ["lonely"])
    with caplog.at_level(logging.WARNING):
        check_trainable(data)
    assert "lonely" in caplog.text
    train, dev = split_train_dev(data, 0.2, seed=1)
    assert 10 in train and 10 not in dev
    assert {data.labels[i] for i in dev} == {"a", "b"}
    assert sorted(train + dev) == list(range(11))
    # Seeded: the same split every time.
    assert split_train_dev(data, 0.2, seed=1) == (train, dev)

"""Classifier fixtures: the default pair, trained once per test session on the shipped demo sets."""

from __future__ import annotations

import pytest


def demo_config(base):
    from assistant.classifiers import ClassifierConfig

    # No shared review data: the session trains in seconds and never depends on ../shared/data.
    return ClassifierConfig(intent_model=str(base / "intent"), sentiment_model=str(base / "sentiment"),
                            sentiment_shared_rows=0, method="linear")


@pytest.fixture(scope="session")
def demo_cfg(tmp_path_factory):
    return demo_config(tmp_path_factory.getbasetemp() / "default_classifiers")


@pytest.fixture(scope="session")
def default_pair(demo_cfg):
    from assistant.classifiers import default_classifiers

    return default_classifiers(demo_cfg)


@pytest.fixture(scope="session")
def intent_clf(default_pair):
    return default_pair[0]


@pytest.fixture(scope="session")
def sentiment_clf(default_pair):
    return default_pair[1]

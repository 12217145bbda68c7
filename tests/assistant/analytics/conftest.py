"""Shared, session-scoped demo data (small) so every analytics test reuses one generated shop."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    from assistant.analytics.demo import write_demo_data

    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, seed=7, customers=800, n_reviews=1200)
    return out


@pytest.fixture(scope="session")
def cfg():
    from assistant.analytics.config import AnalyticsConfig

    # The lexicon keeps these tests independent of the classifier's first-use training.
    return AnalyticsConfig(sentiment_model="lexicon", max_k=5)


@pytest.fixture(scope="session")
def tables(demo_dir, cfg):
    from assistant.analytics.io import load_csv

    return {name: load_csv(demo_dir / f"{name}.csv", cfg) for name in ("customers", "orders", "reviews", "campaigns")}


@pytest.fixture(scope="session")
def small_demo_dir(tmp_path_factory):
    """A tiny shop for end-to-end runs (report, CLI) where only the plumbing is under test."""
    from assistant.analytics.demo import write_demo_data

    out = tmp_path_factory.mktemp("small_demo")
    write_demo_data(out, seed=3, customers=200, n_reviews=300)
    return out

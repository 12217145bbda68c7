"""Ad copy for copywriters: many on-brand variants that fit each channel's limits, ranked and exported.

    from assistant.adcopy import Brief, AdCopyGenerator, load_channels, load_brand
    gen = AdCopyGenerator(backend, settings)          # settings or an AdCopyConfig; brand: demo by default
    result = gen.generate(Brief(product="linen duvet cover", channel="google_rsa", n=15, language="en"))
    result.variants[0].fields, result.variants[0].scores, result.notes

Feed mode: `read_feed(path)` -> `run_feed(gen, feed, channel, "assets.csv")` (resumable), `write_import(...)`.
Every returned item has passed `FactChecker` (no invented facts) and `Linter` (ad law, Google, brand words).

CLI: `python -m assistant.adcopy generate|feed|export|lint|channels|abtest|export-feedback` (see docs/adcopy.md).
"""

from assistant.adcopy.brand import BrandProfile, load_brand
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import ChannelSpec, FieldSpec, get_channel, load_channels
from assistant.adcopy.config import AdCopyConfig
from assistant.adcopy.emails import EmailDraft, generate_email
from assistant.adcopy.export import write_csv, write_google_ads_csv, write_import, write_json, write_result
from assistant.adcopy.facts import FactChecker
from assistant.adcopy.feed import read_feed
from assistant.adcopy.feed_run import run_feed
from assistant.adcopy.feedback import FeedbackStore
from assistant.adcopy.generator import AdCopyGenerator, GenerationResult, Variant
from assistant.adcopy.lint import Linter

__all__ = [
    "AdCopyConfig", "AdCopyGenerator", "BrandProfile", "Brief", "ChannelSpec", "EmailDraft", "FactChecker",
    "FeedbackStore", "FieldSpec", "GenerationResult", "Linter", "Variant", "generate_email", "get_channel",
    "load_brand", "load_channels", "read_feed", "run_feed", "write_csv", "write_google_ads_csv", "write_import",
    "write_json", "write_result",
]

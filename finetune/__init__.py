"""Fine-tuning task adapters (LoRA, AdaLoRA, QLoRA) for the assistant's base model, with peft.

CLI: `python -m finetune train|eval|export|list`. Library: `FinetuneConfig`, `get_peft_config`,
`run_train`, `run_eval`; trained adapters land in the registry (`assistant.llm.adapter_registry`).
"""

from finetune.config import FinetuneConfig
from finetune.methods import get_peft_config

__all__ = ["FinetuneConfig", "get_peft_config"]

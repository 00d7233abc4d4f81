"""Models: the preprocessing contract, the offline tiny BERT, and loading pretrained models.

The model folder is a standard transformers folder. Two extra fields in its `config.json`
make it self-describing for every consumer (evaluate, predict, the card's usage code):
- `preprocessing`: {"type": "arabert", "model_name": ...} or {"type": "none"};
- `thresholds`: {label: decision threshold} tuned on validation (0.5 when absent).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from training.config import ModelConfig
from training.errors import UserError
from training.io_utils import first_line
from training.labels import LABELS
from training.model.vocabulary import bert_tokenizer, frequent_words_vocab

logger = logging.getLogger(__name__)
TINY = "tiny"
ID2LABEL = dict(enumerate(LABELS))
LABEL2ID = {label: i for i, label in ID2LABEL.items()}


@dataclass(frozen=True)
class Preprocessor:
    """Text preprocessing applied before tokenization, identically in training and inference."""

    kind: str = "none"
    model_name: str = ""

    @classmethod
    def from_model_config(cls, model_config) -> "Preprocessor":
        spec = getattr(model_config, "preprocessing", None) or {"type": "none"}
        return cls(spec.get("type", "none"), spec.get("model_name", ""))

    @classmethod
    def from_config(cls, config: ModelConfig) -> "Preprocessor":
        if config.preprocessing == "arabert":
            return cls("arabert", config.arabert_model_name)
        return cls("none")

    def to_dict(self) -> dict:
        return {"type": self.kind, "model_name": self.model_name} if self.kind != "none" else {"type": "none"}

    def __call__(self, texts: Iterable[str]) -> list[str]:
        if self.kind == "none":
            return list(texts)
        arabert = _arabert(self.model_name)
        return [arabert.preprocess(t) for t in texts]


@lru_cache(maxsize=4)
def _arabert(model_name: str):
    try:
        from arabert.preprocess import ArabertPreprocessor
    except ImportError as err:
        raise UserError("this model needs AraBERT preprocessing: pip install arabert") from err
    return ArabertPreprocessor(model_name=model_name)


def thresholds_of(model_config) -> dict[str, float]:
    """Per-label thresholds from a model config; 0.5 for any label without one."""
    saved = getattr(model_config, "thresholds", None) or {}
    labels = [model_config.id2label[i] for i in sorted(model_config.id2label)]
    return {label: float(saved.get(label, 0.5)) for label in labels}


def build_tiny_model(train_texts: list[str], config: ModelConfig, seed: int):
    """A small BERT built from a config, with a WordPiece tokenizer made from `train_texts`.

    Deterministic for a seed; needs no network. Returns (model, tokenizer).
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    if not train_texts:
        raise UserError("cannot build the tiny model: no training sentences")
    vocab = frequent_words_vocab(train_texts, config.tiny_vocab_size)
    tokenizer = bert_tokenizer(vocab, config.max_length)
    bert_config = BertConfig(
        vocab_size=len(vocab), hidden_size=config.tiny_hidden_size, num_hidden_layers=config.tiny_layers,
        num_attention_heads=config.tiny_heads, intermediate_size=config.tiny_intermediate_size,
        max_position_embeddings=max(512, config.max_length), num_labels=len(LABELS),
        problem_type="multi_label_classification", id2label=ID2LABEL, label2id=LABEL2ID,
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(bert_config), tokenizer


def _hub_hint(name: str) -> str:
    return (f"cannot load {name!r}: the Hugging Face Hub is unreachable and no local copy is cached; "
            "train offline with --config configs/tiny.yaml, or pass --model.name_or_path=LOCAL_DIR")


def load_pretrained(config: ModelConfig):
    """Load a BERT-family checkpoint (Hub id or local folder) with a fresh 3-label multi-label head.

    A Hub id that is neither cached nor reachable fails within seconds with one clear line.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    name = config.name_or_path
    local = Path(name).is_dir()
    if not local and not _cached_or_reachable(name):
        raise UserError(_hub_hint(name))
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, model_max_length=config.max_length)
        model = AutoModelForSequenceClassification.from_pretrained(
            name, num_labels=len(LABELS), problem_type="multi_label_classification",
            id2label=ID2LABEL, label2id=LABEL2ID, ignore_mismatched_sizes=True)
    except OSError as err:
        raise UserError(f"cannot load {name!r}: {first_line(err, None)}") from None
    return model, tokenizer


def load_pretrained_parts(name: str, model_class, resume_from: str | None = None):
    """(model, tokenizer) of a BERT checkpoint as `model_class`, for continued pretraining;
    `resume_from` (a run's checkpoint) replaces the source when given."""
    from transformers import AutoConfig, AutoTokenizer

    source = resume_from or name
    if not resume_from and not Path(name).is_dir() and not _cached_or_reachable(name):
        raise UserError(_hub_hint(name))
    try:
        model_type = AutoConfig.from_pretrained(source).model_type
        if model_type != "bert":
            raise UserError(f"{name}: continued pretraining takes BERT checkpoints; this one is {model_type!r}")
        return model_class.from_pretrained(source), AutoTokenizer.from_pretrained(source)
    except OSError as err:
        raise UserError(f"cannot load {name!r}: {first_line(err, None)}") from None


def _cached_or_reachable(name: str) -> bool:
    """True when the model's config is in the local HF cache or the Hub answers."""
    from huggingface_hub import model_info, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return True
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    try:
        model_info(name, timeout=10)
        return True
    except Exception as err:  # noqa: BLE001 - any network or auth failure means "not reachable"
        logger.debug("hub check for %s failed: %s", name, err)
        return False


def create_model(config: ModelConfig, train_texts: list[str], seed: int):
    """The model and tokenizer a run starts from: the tiny BERT or a pretrained checkpoint."""
    if config.name_or_path == TINY:
        return build_tiny_model(train_texts, config, seed)
    return load_pretrained(config)

"""Checks on a model folder before it is used: a damaged folder is one clear line, not bad predictions.

transformers loads a folder without its tokenizer files by building a 5-token tokenizer (every
word becomes [UNK]), and a folder with a non-numeric threshold or truncated weights fails deep
inside the first batch. `check_model_folder` looks at each file the classifier depends on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from training.errors import UserError
from training.io_utils import first_line

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model")
# Some models pad the embedding matrix past the vocabulary (to a multiple of 64 or 128 rows, for
# speed); a larger gap means the tokenizer belongs to another model.
EMBEDDING_PADDING_ROWS = 128


def read_model_config(folder: Path) -> dict:
    """config.json as a dict, or one line naming what is wrong with it."""
    path = folder / "config.json"
    if not path.is_file():
        raise UserError(f"{folder}: not a model folder (no config.json)")
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: not readable JSON ({err})") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: expected a JSON object")
    return config


def check_labels_and_thresholds(config: dict, path: Path) -> None:
    """id2label numbered 0..n-1 with unique names; thresholds numbers in [0, 1] for known labels."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise UserError(f"{path}: no id2label: not a classification model")
    if sorted(map(str, id2label)) != sorted(str(i) for i in range(len(id2label))) or \
            len(set(id2label.values())) != len(id2label):
        raise UserError(f"{path}: id2label must number its labels 0..{len(id2label) - 1} with distinct names")
    thresholds = config.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise UserError(f"{path}: 'thresholds' must map label names to numbers")
    for label, value in thresholds.items():
        if label not in id2label.values():
            raise UserError(f"{path}: threshold for unknown label {label!r} (labels: {list(id2label.values())})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            raise UserError(f"{path}: threshold of {label!r} is {value!r}; expected a number in [0, 1]")


def check_weights(folder: Path) -> None:
    """Every safetensors file opens: safetensors checks its header and that the file holds every
    byte the header promises (a truncated copy fails here)."""
    from safetensors import safe_open

    weights = sorted(folder.glob("*.safetensors"))
    if not weights and not any(folder.glob("*.bin")):
        raise UserError(f"{folder}: no model weights (*.safetensors)")
    for path in weights:
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
            raise UserError(f"{path}: incomplete or damaged weights ({first_line(err, 160)}); "
                            f"copy or train the model again") from None


def check_tokenizer_files(folder: Path) -> None:
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"{folder}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); "
                        f"copy them from the training run's model folder")


def check_vocabulary(folder: Path, tokenizer, config: dict) -> None:
    """A loaded tokenizer's vocabulary is the size of the model's embedding matrix."""
    vocab = config.get("vocab_size")
    if isinstance(vocab, int) and not vocab - EMBEDDING_PADDING_ROWS <= len(tokenizer) <= vocab:
        raise UserError(f"{folder}: the tokenizer has {len(tokenizer)} tokens but the model's embeddings have "
                        f"{vocab} rows (config.json vocab_size): the tokenizer belongs to another model")


def check_model_folder(folder: str | Path) -> dict:
    """All file-level checks of a local model folder (the tokenizer is checked once it is loaded)."""
    folder = Path(folder)
    config = read_model_config(folder)
    check_labels_and_thresholds(config, folder / "config.json")
    check_weights(folder)
    check_tokenizer_files(folder)
    return config

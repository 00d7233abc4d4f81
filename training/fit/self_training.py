"""One self-training round: a fine-tuned model relabels its training data where it is sure.

The rules label sentences only where a cue word fires. After one fine-tune the model has seen
the contexts of those cues and can be more sure than the rules: of an attack that no cue lists,
or that a cue fired out of its sense. A round revises the training split's targets per label:

- the model scores the label >= `confidence` and no rule voted on that label (neither a cue nor
  a veto): the target becomes 1, an event the rules cannot see;
- the model scores it <= 1 - `confidence` and a positive cue of that label fired: the target
  becomes 0, a cue word out of its sense.

Everything else keeps the weak label, so the rules still anchor the model; vetoes are never
overridden. Validation (and test) keep their weak labels, so thresholds and early stopping stay
comparable between rounds. This is the confident-relabelling step of COSINE (Yu et al. 2021)
and ASTRA (Karamanolakis et al. 2021), without their contrastive or rule-attention parts.

The output is a new dataset folder (the input is never touched) that `train.py` reads: start
from the round's model (`--model.name_or_path=MODEL`) to continue, or from the encoder again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from training.data.revision import SELF_TRAINING_RECORD, label_changes, save_revised
from training.errors import UserError
from training.fit.distillation import teacher_scores
from training.io_utils import atomic_write_json
from training.labels import LABELS
from training.weak.labeling import ABSTAIN, POSITIVE, LFApplier
from training.outputs import check_output, output_folder

logger = logging.getLogger(__name__)


def revised_targets(targets: np.ndarray, scores: np.ndarray, voted: np.ndarray, cued: np.ndarray,
                    confidence: float) -> np.ndarray:
    """New [n, labels] targets: confident model positives where no rule voted, confident model
    negatives where a positive cue fired; the weak target elsewhere."""
    revised = targets.copy()
    revised[(scores >= confidence) & ~voted] = 1.0
    revised[(scores <= 1 - confidence) & cued] = 0.0
    return revised


def rule_coverage(texts: list[str], applier: LFApplier) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence and label: did any rule vote on it (`voted`), did a positive cue fire (`cued`)."""
    votes = applier.apply(texts)
    voted = np.zeros((len(texts), len(LABELS)), dtype=bool)
    cued = np.zeros_like(voted)
    for k, label in enumerate(LABELS):
        columns = applier.columns(label)
        voted[:, k] = (votes[:, columns] != ABSTAIN).any(axis=1)
        cued[:, k] = (votes[:, columns] == POSITIVE).any(axis=1)
    return voted, cued


def self_training_round(model_dir: str | Path, data_dir: str | Path, output_dir: str | Path,
                        confidence: float = 0.9, batch_size: int | None = None, overwrite: bool = False) -> dict:
    """Relabel `data_dir`'s training split with the model in `model_dir` (see module docstring)
    and write the revised dataset folder to `output_dir` atomically. Returns the counts."""
    from training.fit.trainer import load_training_data

    if not 0.5 < confidence < 1:
        raise UserError(f"--confidence must be in (0.5, 1), got {confidence}")
    output_dir = Path(output_dir)
    check_output(output_dir, "self_train", [model_dir, data_dir], overwrite)
    data = load_training_data(data_dir)
    train_split = data["train"]
    texts = train_split["text"]
    scores = teacher_scores([model_dir], texts, batch_size)[0]  # the round's model teaches the next one
    voted, cued = rule_coverage(texts, LFApplier())
    targets = np.array(train_split["targets"], dtype=np.float32)
    revised = revised_targets(targets, scores, voted, cued, confidence)
    counts = label_changes(targets, revised)
    with output_folder(output_dir, "self_train", [model_dir, data_dir], overwrite) as tmp:
        save_revised(data, data_dir, tmp, revised, "self-train")
        atomic_write_json(tmp / SELF_TRAINING_RECORD, {"model": str(model_dir), "data": str(data_dir),
                                                       "confidence": confidence, "train_sentences": len(texts),
                                                       "changes": counts})
    for label, c in counts.items():
        logger.info("%s: %d new positives where no rule voted, %d cue positives dropped", label,
                    c["new_positives"], c["dropped_positives"])
    return counts


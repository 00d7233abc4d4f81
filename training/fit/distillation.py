"""Distillation: several fine-tuned models teach one student through the training split's targets.

Runs of the same recipe that differ only in their seed disagree where the weak labels leave the
task open, and the mean of their scores ranks the hand-labelled sets better than any one of them
(README, "The third set on the small shape": five runs' mean reaches seeds `withdrawal_talks` F1
0.82 where the best single run has 0.78). The product ships one model folder, so the mean has to
be learnt by one model. This is knowledge distillation (Hinton et al. 2015) from an ensemble of
seeds, with the teachers' sigmoid scores as soft targets:

    target = (1 - weak_weight) * mean(teacher scores) + weak_weight * weak target

per training sentence and label. Sentences of the build's hand-labelled files
(`data.gold_files`) keep their hand labels: a person outranks the teachers as they outrank the
rules. Validation (and test) keep their weak labels, so thresholds and early stopping stay
comparable with the teachers' own runs. The output is a new dataset folder that `train.py` reads
(with the default `training.soft_targets=true`, which trains on the targets as they are).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml
from tqdm.auto import tqdm

from training.data.revision import DISTILLATION_RECORD, label_changes, save_revised
from training.errors import UserError
from training.inputs.gold import HandLabels, load_any_gold
from training.io_utils import atomic_write_json, chunked
from training.labels import LABELS
from training.outputs import check_output, output_folder

logger = logging.getLogger(__name__)

SCORE_CHUNK = 8192  # sentences scored per call: bounded memory for the preprocessed inputs


def distilled_targets(weak: np.ndarray, teacher_scores: np.ndarray, hand: np.ndarray,
                      weak_weight: float = 0.0) -> np.ndarray:
    """New [n, labels] targets from the weak ones [n, labels], the teachers' scores
    [teachers, n, labels] and the mask of hand-labelled rows [n] (see module docstring)."""
    mean = teacher_scores.mean(axis=0)
    revised = (1.0 - weak_weight) * mean + weak_weight * weak
    revised[hand] = weak[hand]
    return revised.astype(np.float32)


def hand_labelled_rows(data_dir: Path, texts: Sequence[str]) -> np.ndarray:
    """Which sentences took their targets from a hand-labelled file of the build (the folder's
    build_config.yaml, `data.gold_files`); all False for a build without one."""
    config_path = data_dir / "build_config.yaml"
    gold_files = []
    if config_path.is_file():
        gold_files = (yaml.safe_load(config_path.read_text("utf-8")) or {}).get("data", {}).get("gold_files") or []
    missing = [f for f in gold_files if not Path(f).is_file()]
    if missing:
        raise UserError(f"{config_path}: the build's hand-labelled file {missing[0]} is not there (paths are "
                        f"relative to where the build ran); run distill.py from that folder so the hand labels are kept")
    if not gold_files:
        return np.zeros(len(texts), dtype=bool)
    hand = HandLabels([row for f in gold_files for row in load_any_gold(f)], [])
    return np.array([hand.labels_sentence(text) for text in texts], dtype=bool)


def teacher_scores(model_dirs: Sequence[str | Path], texts: list[str], batch_size: int | None = None) -> np.ndarray:
    """Each teacher's sigmoid scores of `texts`: [teachers, n, labels], labels in `LABELS` order."""
    from training.model.inference import EventClassifier

    scores = []
    for model_dir in model_dirs:
        classifier = EventClassifier.from_pretrained(str(model_dir), compile=False)
        if list(classifier.labels) != list(LABELS):
            raise UserError(f"{model_dir}: the model's labels are {classifier.labels}, expected {list(LABELS)}; "
                            f"every teacher must be fine-tuned on this project's labels")
        chunks = tqdm(list(chunked(texts, SCORE_CHUNK)), desc=f"scoring with {Path(model_dir).name}", unit="chunk")
        scores.append(np.concatenate([classifier.predict_scores(chunk, batch_size)[0] for chunk in chunks]))
    return np.stack(scores)


def distillation_round(model_dirs: Sequence[str | Path], data_dir: str | Path, output_dir: str | Path,
                       weak_weight: float = 0.0, batch_size: int | None = None, overwrite: bool = False) -> dict:
    """Replace `data_dir`'s training targets with the teachers' mean score (see module docstring)
    and write the revised dataset folder to `output_dir` atomically. Returns the record it saves."""
    from training.fit.trainer import load_training_data

    if not model_dirs:
        raise UserError("no teacher: pass --teacher MODEL_DIR once per fine-tuned model")
    if not 0.0 <= weak_weight < 1.0:
        raise UserError(f"--weak-weight must be in [0, 1), got {weak_weight} (1 would ignore the teachers)")
    data_dir, output_dir = Path(data_dir), Path(output_dir)
    inputs = [*model_dirs, data_dir]
    check_output(output_dir, "distill", inputs, overwrite)
    data = load_training_data(data_dir)
    texts = data["train"]["text"]
    hand = hand_labelled_rows(data_dir, texts)
    weak = np.array(data["train"]["targets"], dtype=np.float32)
    scores = teacher_scores(model_dirs, texts, batch_size)
    revised = distilled_targets(weak, scores, hand, weak_weight)
    record = {"teachers": [str(m) for m in model_dirs], "data": str(data_dir), "weak_weight": weak_weight,
              "train_sentences": len(texts), "hand_labelled_kept": int(hand.sum()),
              "mean_target": dict(zip(LABELS, revised.mean(axis=0).round(5).tolist())),
              "mean_weak_target": dict(zip(LABELS, weak.mean(axis=0).round(5).tolist())),
              "teacher_spread": dict(zip(LABELS, scores.std(axis=0).mean(axis=0).round(5).tolist())),
              "changes": label_changes(weak, revised)}
    with output_folder(output_dir, "distill", inputs, overwrite) as tmp:
        save_revised(data, data_dir, tmp, revised, "distill")
        atomic_write_json(tmp / DISTILLATION_RECORD, record)
    for label, c in record["changes"].items():
        logger.info("%s: %d positives after (%d new, %d dropped at 0.5)", label, c["positives_after"],
                    c["new_positives"], c["dropped_positives"])
    return record

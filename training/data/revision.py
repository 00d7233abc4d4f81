"""A copy of a dataset folder whose training targets were revised (self-training, distillation).

The commands that revise targets (`self_train.py`, `distill.py`) change the training split only:
validation and test keep their weak labels, so thresholds and early stopping stay comparable with
the run on the original folder. This module writes such a copy: the Arrow dataset with the
revised `labels` / `targets` / `label_vector` columns, `sentences.jsonl` to match, and the build's
reports as they were.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from training.data.dataset_files import label_columns
from training.io_utils import iter_jsonl
from training.labels import LABELS

BUILD_REPORTS = ("lf_report.md", "lf_report.json", "build_config.yaml")
# what each revising command records of its round (its inputs, its counts); train.py copies them into the
# model folder, so a student says which teachers (or which self-training model) made its targets
SELF_TRAINING_RECORD, DISTILLATION_RECORD = "self_training.json", "distillation.json"
REVISION_RECORDS = (SELF_TRAINING_RECORD, DISTILLATION_RECORD)


def save_revised(data, data_dir: str | Path, folder: Path, revised: np.ndarray, tag: str) -> None:
    """Write `data` (the DatasetDict of `data_dir`) into `folder` with the training split's targets
    replaced by `revised` [train rows, labels]; `tag` names the revision in the Arrow fingerprint."""
    data_dir = Path(data_dir)
    train_split = data["train"]
    columns = [label_columns(row) for row in revised]
    data["train"] = _with_columns(train_split, columns, f"{tag}-" + hashlib.sha256(revised.tobytes()).hexdigest()[:16])
    data.save_to_disk(str(folder / "dataset"))
    keys = zip(train_split["doc_id"], train_split["sent_id"])
    _write_sentences(data_dir / "sentences.jsonl", folder / "sentences.jsonl", dict(zip(keys, columns)))
    for report in BUILD_REPORTS:
        if (data_dir / report).is_file():
            shutil.copy(data_dir / report, folder / report)


def label_changes(before: np.ndarray, after: np.ndarray) -> dict:
    """Per label: training rows that became positive, that stopped being positive, and positives after."""
    return {label: {"new_positives": int(((before[:, k] < 0.5) & (after[:, k] >= 0.5)).sum()),
                    "dropped_positives": int(((before[:, k] >= 0.5) & (after[:, k] < 0.5)).sum()),
                    "positives_after": int((after[:, k] >= 0.5).sum())}
            for k, label in enumerate(LABELS)}


def _with_columns(split, columns: list[tuple], fingerprint: str):
    """The split with `labels`, `targets` and `label_vector` replaced by the revised ones
    (fingerprinted by their content, so the same revision writes the same dataset)."""

    def replace(batch, indices):
        picked = [columns[i] for i in indices]
        return {name: [c[k] for c in picked] for k, name in enumerate(("labels", "targets", "label_vector"))}

    return split.map(replace, with_indices=True, batched=True, features=split.features, desc="revising targets",
                     new_fingerprint=fingerprint)


def _write_sentences(source: Path, target: Path, revised: dict[tuple, tuple]) -> None:
    """sentences.jsonl with the training rows' revised labels; other splits' rows as they were."""
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for row in iter_jsonl(src, source):
            key = (row["doc_id"], row["sent_id"])
            if key in revised:
                row["labels"], targets, _ = revised[key]
                row["probs"] = dict(zip(LABELS, targets))
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")

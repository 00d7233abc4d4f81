"""Where the model and the rules disagree: the sentences an analyst reads first.

A disagreement is a sentence on which the model's labels and the rules' labels differ on at
least one label. Each record holds both answers, the labels only the model found
(`model_only`: events no cue word lists) and only the rules found (`rules_only`: often a cue
word out of its sense), the model's scores, the names of the rules that fired, and the
model's confidence: on the labels in dispute, how far its score lies beyond its threshold,
as a share of the room on that side (1: certain, 0: on the threshold). Records are written
most confident first: where the model is surest the rules are wrong, they most often are,
and that is where the rules get their next cues.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from training.io_utils import atomic_file, chunked
from training.weak.label_model import aggregate
from training.labels import LABELS
from training.weak.labeling import ABSTAIN, LFApplier

FILE_NAME = "disagreements.jsonl"


def rules_answers(texts: list[str], applier: LFApplier | None = None) -> tuple[np.ndarray, list[list[str]]]:
    """The rules' [n, labels] probabilities (majority vote) and, per sentence, the rules that fired."""
    applier = applier or LFApplier()
    votes = applier.apply(texts)
    probs = aggregate(votes, applier.lfs, "majority")
    names = [lf.name for lf in applier.lfs]
    fired = [[names[j] for j in np.flatnonzero(row != ABSTAIN)] for row in votes]
    return probs, fired


def model_confidence(scores: np.ndarray, thresholds: np.ndarray, disputed: np.ndarray) -> np.ndarray:
    """Per sentence, the largest margin (0..1) of the model's score beyond its threshold on the
    disputed labels; 0 where nothing is disputed."""
    above = (scores - thresholds) / np.maximum(1 - thresholds, 1e-9)
    below = (thresholds - scores) / np.maximum(thresholds, 1e-9)
    margin = np.clip(np.where(scores >= thresholds, above, below), 0, 1)
    return np.where(disputed, margin, 0.0).max(axis=1, initial=0.0)


def disagreement_records(rows: list[dict], scores: np.ndarray, thresholds: np.ndarray, rules_probs: np.ndarray,
                         fired: list[list[str]]) -> Iterator[tuple[float, dict]]:
    """(confidence, record) for each row whose model and rules labels differ, in input order."""
    names = np.array(LABELS)
    model, rules = scores >= thresholds, rules_probs >= 0.5
    disputed = model != rules
    confidence = model_confidence(scores, thresholds, disputed)
    for i in np.flatnonzero(disputed.any(axis=1)):
        row = rows[i]
        yield float(confidence[i]), {
            "doc_id": row.get("doc_id"), "sent_id": row.get("sent_id"), "text": row["text"],
            "confidence": round(float(confidence[i]), 4),
            "model": names[model[i]].tolist(), "rules": names[rules[i]].tolist(),
            "model_only": names[model[i] & ~rules[i]].tolist(), "rules_only": names[rules[i] & ~model[i]].tolist(),
            "model_scores": {k: round(float(v), 4) for k, v in zip(LABELS, scores[i])},
            "rules_fired": fired[i],
            **({"gold": row["labels"]} if isinstance(row.get("labels"), list) and "scores" not in row else {}),
        }


def write_sorted(path: Path, records: Iterable[tuple[float, dict]]) -> int:
    """Write records most confident first (ties in input order), atomically. Records are spooled
    to a temporary file, so memory holds only (confidence, offset) pairs, not the records."""
    keys, offsets = [], [0]
    with tempfile.TemporaryFile("w+b") as spool:
        for confidence, record in records:
            keys.append(-confidence)
            spool.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            offsets.append(spool.tell())
        with atomic_file(path, "wb") as out:
            for k in np.argsort(np.array(keys), kind="stable"):
                spool.seek(offsets[k])
                out.write(spool.read(offsets[k + 1] - offsets[k]))
    return len(keys)


def disagreements_path(predictions: Path) -> Path:
    """`preds.jsonl` -> `preds.disagreements.jsonl`, beside the predictions."""
    return predictions.with_name(predictions.name.rsplit(".", 1)[0] + "." + FILE_NAME)


def from_predictions(predictions: Path, thresholds: np.ndarray, output: Path, read_rows, chunk: int = 4096) -> int:
    """Disagreements of a finished predictions file (`read_rows` yields its rows), chunk by chunk."""
    applier = LFApplier()
    records = (record for rows in chunked(read_rows(predictions), chunk)
               for record in _chunk_records(rows, thresholds, applier))
    return write_sorted(output, records)


def _chunk_records(rows: list[dict], thresholds: np.ndarray, applier: LFApplier):
    scores = np.array([[row["scores"][label] for label in LABELS] for row in rows], dtype=float)
    probs, fired = rules_answers([row["text"] for row in rows], applier)
    yield from disagreement_records(rows, scores, thresholds, probs, fired)


"""The project's metrics, shipped as a local `evaluate` module so that no Hub access is needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

METRIC_DIR = Path(__file__).resolve().parent / "multilabel_f1"


@lru_cache(maxsize=1)
def load_metric():
    """The multi-label metric, loaded by path through `evaluate.load` (offline)."""
    import evaluate

    return evaluate.load(str(METRIC_DIR))


def multilabel_scores(gold: np.ndarray, pred: np.ndarray, labels: list[str], scores: np.ndarray | None = None) -> dict:
    """Compute every figure of the metric for [n, labels] 0/1 arrays (and optional probabilities)."""
    kwargs = {"label_names": list(labels)}
    if scores is not None:
        kwargs["scores"] = np.asarray(scores).tolist()
    return load_metric().compute(predictions=np.asarray(pred, dtype=int).tolist(),
                                 references=np.asarray(gold, dtype=int).tolist(), **kwargs)


SCORE_COLUMNS = ["label", "precision", "recall", "F1", "support"]


def per_label_rows(per_label: dict, roc_auc: bool = False) -> list[list[str]]:
    """Table rows [label, precision, recall, F1, support(, ROC-AUC)] of a result's `per_label`."""
    rows = []
    for label, v in per_label.items():
        row = [label, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"])]
        if roc_auc:
            row.append("" if v.get("roc_auc") is None else f"{v['roc_auc']:.3f}")
        rows.append(row)
    return rows


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (reports, the model card)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

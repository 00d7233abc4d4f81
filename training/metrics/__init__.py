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

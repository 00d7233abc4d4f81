"""Multi-label classification metrics as a local `evaluate` module (no Hub needed).

Load it by path: `evaluate.load(str(Path(training.__file__).parent / "metrics" / "multilabel_f1"))`,
or with `training.metrics.load_metric()`.

Inputs: `predictions` and `references` are [n, labels] 0/1 lists; optional `scores` ([n, labels]
probabilities) adds ROC-AUC per label where both classes occur; `label_names` names the columns.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Per-label precision/recall/F1/support, micro and macro F1, subset accuracy, Hamming loss, ROC-AUC."
_KWARGS = """
Args:
    predictions: list of lists of 0/1, one column per label.
    references: list of lists of 0/1, same shape.
    scores: optional list of lists of probabilities, same shape (for ROC-AUC).
    label_names: optional list of label names (default: label_0, label_1, ...).
Returns:
    per_label: {name: {precision, recall, f1, support, roc_auc}}, macro_f1, micro_f1,
    subset_accuracy, hamming_loss, labels_without_gold.
    macro_f1 averages the labels that have at least one gold positive: a label absent from the
    references has no F1 to measure, and counting it as 0 would understate every system alike.
    Those labels are listed in labels_without_gold.
"""


def _safe_div(a, b):
    return float(a) / float(b) if b else 0.0


def _roc_auc(truth, scores):
    """Mann-Whitney ROC-AUC (ties count half); None when only one class occurs."""
    pos, neg = scores[truth == 1], scores[truth == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class MultilabelF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("int32")),
                                        "references": datasets.Sequence(datasets.Value("int32"))}),
        )

    def _compute(self, predictions, references, scores=None, label_names=None):
        pred = np.asarray(predictions, dtype=bool)
        gold = np.asarray(references, dtype=bool)
        if pred.shape != gold.shape or pred.ndim != 2:
            raise ValueError(f"predictions {pred.shape} and references {gold.shape} must be equal [n, labels] arrays")
        names = list(label_names) if label_names else [f"label_{k}" for k in range(gold.shape[1])]
        score_arr = None if scores is None else np.asarray(scores, dtype=float)
        per_label = {}
        for k, name in enumerate(names):
            tp = int((pred[:, k] & gold[:, k]).sum())
            fp = int((pred[:, k] & ~gold[:, k]).sum())
            fn = int((~pred[:, k] & gold[:, k]).sum())
            p, r = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
            per_label[name] = {"precision": p, "recall": r, "f1": _safe_div(2 * p * r, p + r),
                               "support": int(gold[:, k].sum()),
                               "roc_auc": None if score_arr is None else _roc_auc(gold[:, k].astype(int), score_arr[:, k])}
        tp = int((pred & gold).sum())
        fp = int((pred & ~gold).sum())
        fn = int((~pred & gold).sum())
        measured = [v["f1"] for v in per_label.values() if v["support"] > 0]
        return {
            "per_label": per_label,
            "macro_f1": float(np.mean(measured)) if measured else 0.0,
            "labels_without_gold": [name for name, v in per_label.items() if v["support"] == 0],
            "micro_f1": _safe_div(2 * tp, 2 * tp + fp + fn),
            "subset_accuracy": float((pred == gold).all(axis=1).mean()) if len(gold) else 0.0,
            "hamming_loss": float((pred != gold).mean()) if gold.size else 0.0,
        }

"""Scoring a model, the weak-label rules and a majority baseline on a gold file, side by side.

Writes to REPORT_DIR: metrics.json (sections model / rules / baseline), report.md, f1.png
(per-label F1, model vs rules), pr_curves.png (precision-recall per label with the chosen
threshold marked), errors.jsonl (every sentence where model, rules and gold disagree) and
disagreements.jsonl (where model and rules disagree, most confident first; see training.analysis.disagreements).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from training.inputs.gold import label_matrix, load_any_gold
from training.model.inference import EventClassifier
from training.errors import UserError
from training.io_utils import atomic_write_json, atomic_write_text
from training.analysis.bootstrap import difference_text, paired_bootstrap
from training.analysis.disagreements import FILE_NAME as DISAGREEMENTS, disagreement_records, rules_answers, write_sorted
from training.labels import LABELS
from training.metrics import SCORE_COLUMNS, markdown_table, multilabel_scores, per_label_rows
from training.outputs import check_output, output_folder

logger = logging.getLogger(__name__)


def majority_baseline(model_dir: Path, n: int) -> np.ndarray:
    """Predict, per label, the class that is the majority in the model's training data."""
    report = model_dir / "lf_report.json"
    pred = np.zeros((n, len(LABELS)), dtype=bool)
    if report.is_file():
        data = json.loads(report.read_text("utf-8"))
        total = max(data.get("sentences", 0), 1)
        for k, label in enumerate(LABELS):
            pred[:, k] = data["labels"].get(label, {}).get("positives", 0) / total > 0.5
    return pred


def precision_recall_curve(gold: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every distinct score used as a threshold (descending)."""
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gold[order].astype(float)
    tp, fp = np.cumsum(g), np.cumsum(1 - g)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / max(g.sum(), 1)
    return precision, recall, s[last]


def _plots(out: Path, results: dict, gold: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(LABELS))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for offset, system in ((-0.2, "model"), (0.2, "rules")):
        ax.bar(x + offset, [results[system]["per_label"][lab]["f1"] for lab in LABELS], width=0.4, label=system)
    ax.set_xticks(x, LABELS)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("Per-label F1: model vs rules")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "f1.png", dpi=120)
    plt.close(fig)
    fig, axes = plt.subplots(1, len(LABELS), figsize=(4 * len(LABELS), 3.5))
    for k, (ax, label) in enumerate(zip(np.atleast_1d(axes), LABELS)):
        if gold[:, k].sum() > 0:
            p, r, t = precision_recall_curve(gold[:, k], scores[:, k])
            ax.plot(r, p, marker=".")
            at = np.argmin(np.abs(t - thresholds[k]))
            ax.scatter([r[at]], [p[at]], color="red", zorder=3, label=f"threshold {thresholds[k]:.2f}")
            ax.legend(loc="lower left")
        ax.set_title(label)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    fig.tight_layout()
    fig.savefig(out / "pr_curves.png", dpi=120)
    plt.close(fig)


def _report_markdown(results: dict, data_file: str, model_id: str, thresholds: dict) -> str:
    lines = ["# Evaluation report\n", f"- data: `{data_file}` ({results['model']['sentences']} sentences)",
             f"- model: `{model_id}`", "- thresholds: " + ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items())]
    missing = results["model"]["labels_without_gold"]
    if missing:
        lines.append(f"- no gold positive of {', '.join(missing)} in this file: "
                     f"{'its F1 is' if len(missing) == 1 else 'their F1s are'} not measured and left out of macro F1")
    lines.append("")
    for system in ("model", "rules", "baseline"):
        r = results[system]
        lines += [f"## {system}\n", markdown_table(SCORE_COLUMNS + ["ROC-AUC"], per_label_rows(r["per_label"], roc_auc=True))]
        lines.append(f"\nmacro F1 **{r['macro_f1']:.3f}**, micro F1 {r['micro_f1']:.3f}, subset accuracy "
                     f"{r['subset_accuracy']:.3f}, Hamming loss {r['hamming_loss']:.3f}\n")
    lines.append(f"**model - rules**, macro F1: {difference_text(results['model_vs_rules'])}\n")
    lines += ["![per-label F1](f1.png)\n", "![precision-recall](pr_curves.png)\n"]
    return "\n".join(lines)


def evaluate_model(model_dir: str, data_file: str, output_dir: str | None = None,
                   threshold: float | None = None, classifier: EventClassifier | None = None,
                   overwrite: bool = False) -> dict:
    """Score model, rules and baseline on `data_file`; write the report folder if `output_dir`."""
    inputs = [model_dir, data_file]
    if output_dir is not None:
        check_output(output_dir, "evaluate", inputs, overwrite)  # before the slow part
    rows = load_any_gold(data_file)
    texts = [r["text"] for r in rows]
    gold = label_matrix(rows).astype(bool)
    clf = classifier or EventClassifier.from_pretrained(model_dir)
    if clf.labels != list(LABELS):
        raise UserError(f"{model_dir}: model labels {clf.labels} differ from the gold labels {list(LABELS)}")
    if threshold is not None:
        clf.thresholds = np.full(len(LABELS), threshold)
    scores, _ = clf.predict_scores(texts)
    model_pred = scores >= clf.thresholds
    rules_probs, fired = rules_answers(texts)
    results = {
        "model": multilabel_scores(gold, model_pred, list(LABELS), scores),
        "rules": multilabel_scores(gold, rules_probs >= 0.5, list(LABELS), rules_probs),
        "baseline": multilabel_scores(gold, majority_baseline(Path(model_dir), len(rows)), list(LABELS)),
    }
    for r in results.values():
        r["sentences"] = len(rows)
    results["model_vs_rules"] = paired_bootstrap(gold, model_pred, rules_probs >= 0.5)
    thresholds = dict(zip(LABELS, map(float, clf.thresholds)))
    results["thresholds"] = thresholds
    results["data_file"] = str(data_file)
    results["model_dir"] = str(model_dir)
    results["macro_f1"] = results["model"]["macro_f1"]
    if results["model"]["labels_without_gold"]:
        logger.warning("%s has no gold positive of %s: left out of macro F1", data_file,
                       ", ".join(results["model"]["labels_without_gold"]))
    if output_dir is not None:
        with output_folder(output_dir, "evaluate", inputs, overwrite) as tmp:
            atomic_write_json(tmp / "metrics.json", results)
            atomic_write_text(tmp / "report.md", _report_markdown(results, str(data_file), str(model_dir), thresholds))
            _plots(tmp, results, gold, scores, clf.thresholds)
            _write_errors(tmp / "errors.jsonl", rows, gold, model_pred, rules_probs >= 0.5, scores, rules_probs)
            write_sorted(tmp / DISAGREEMENTS, disagreement_records(rows, scores, clf.thresholds, rules_probs, fired))
        logger.info("model macro F1 %.3f, rules %.3f (model - rules %s), baseline %.3f -> %s", results["model"]["macro_f1"],
                    results["rules"]["macro_f1"], difference_text(results["model_vs_rules"]),
                    results["baseline"]["macro_f1"], output_dir)
    return results


def _write_errors(path: Path, rows, gold, model_pred, rules_pred, scores, rules_probs) -> None:
    names = np.array(LABELS)
    lines = []
    for i, row in enumerate(rows):
        if (gold[i] == model_pred[i]).all() and (gold[i] == rules_pred[i]).all():
            continue
        lines.append(json.dumps({
            "doc_id": row.get("doc_id"), "sent_id": row.get("sent_id"), "text": row["text"],
            "gold": names[gold[i]].tolist(), "model": names[model_pred[i]].tolist(), "rules": names[rules_pred[i]].tolist(),
            "model_scores": {k: round(float(v), 4) for k, v in zip(LABELS, scores[i])},
            "rules_probs": {k: round(float(v), 4) for k, v in zip(LABELS, rules_probs[i])},
            "note": row.get("note", ""),
        }, ensure_ascii=False))
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))

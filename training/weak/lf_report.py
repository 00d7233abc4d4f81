"""The labeling report: what each rule does, how rules interact, and (with gold) how right they are.

Per function: label, polarity, coverage, overlaps, conflicts and, with gold, correct /
incorrect / empirical accuracy. Per label: coverage, the label distribution of the
aggregated labels and, with gold, precision / recall / F1 for every label model.
"""

from __future__ import annotations

import numpy as np

from training.labels import LABELS
from training.metrics import SCORE_COLUMNS, markdown_table, multilabel_scores, per_label_rows
from training.weak.labeling import ABSTAIN, NEGATIVE, POSITIVE, LabelingFunction, voters


def lf_table(votes: np.ndarray, lfs: list[LabelingFunction], gold: np.ndarray | None = None) -> list[dict]:
    """One row per function; `gold` is a [n, labels] 0/1 array or None."""
    n = max(votes.shape[0], 1)
    rows = []
    for j, lf in enumerate(lfs):
        same = [k for k in voters(lfs, lf.label) if k != j]
        fired = votes[:, j] != ABSTAIN
        others = votes[:, same] if same else np.full((votes.shape[0], 0), ABSTAIN)
        overlap = fired & (others != ABSTAIN).any(axis=1)
        opposite = NEGATIVE if lf.polarity == POSITIVE else POSITIVE
        conflict = fired & (others == opposite).any(axis=1)
        row = {
            "name": lf.name, "label": lf.label, "polarity": "+" if lf.polarity == POSITIVE else "-",
            "weight": lf.weight, "coverage": fired.sum() / n, "overlaps": overlap.sum() / n,
            "conflicts": conflict.sum() / n, "fired": int(fired.sum()),
        }
        if gold is not None:
            truth = gold[fired, LABELS.index(lf.label)] == (1 if lf.polarity == POSITIVE else 0)
            row.update(correct=int(truth.sum()), incorrect=int((~truth).sum()),
                       accuracy=float(truth.mean()) if truth.size else None)
        rows.append(row)
    return rows


def build_report(votes: np.ndarray, lfs: list[LabelingFunction], probs_by_model: dict[str, np.ndarray],
                 chosen: str, gold: np.ndarray | None = None, gold_name: str = "") -> dict:
    """Everything the report shows, as plain data (written as lf_report.json)."""
    n = votes.shape[0]
    labels_chosen = probs_by_model[chosen] >= 0.5
    per_label = {}
    for k, label in enumerate(LABELS):
        cols = voters(lfs, label)
        per_label[label] = {"coverage": float((votes[:, cols] != ABSTAIN).any(axis=1).mean()) if n else 0.0,
                            "positives": int(labels_chosen[:, k].sum())}
    report = {
        "sentences": n, "label_model": chosen, "functions": lf_table(votes, lfs, gold), "labels": per_label,
        "distribution": {"none": int((~labels_chosen.any(axis=1)).sum()),
                         **{label: int(labels_chosen[:, k].sum()) for k, label in enumerate(LABELS)}},
    }
    if gold is not None:
        report["gold"] = {"file": gold_name, "sentences": int(gold.shape[0]),
                          "models": {m: multilabel_scores(gold, p >= 0.5, list(LABELS)) for m, p in probs_by_model.items()}}
    return report


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def render_markdown(report: dict) -> str:
    """The human-readable lf_report.md."""
    has_gold = "gold" in report
    lines = ["# Labeling report\n", f"{report['sentences']} sentences; labels from the `{report['label_model']}` label model.\n",
             "## Labeling functions\n"]
    header = "| function | label | vote | weight | coverage | overlaps | conflicts |"
    rule = "|---|---|---|---|---|---|---|"
    if has_gold:
        header += " correct | incorrect | accuracy |"
        rule += "---|---|---|"
    lines += [header, rule]
    for r in report["functions"]:
        line = (f"| {r['name']} | {r['label']} | {r['polarity']} | {r['weight']:g} | {_pct(r['coverage'])} | "
                f"{_pct(r['overlaps'])} | {_pct(r['conflicts'])} |")
        if has_gold:
            line += f" {r['correct']} | {r['incorrect']} | {_pct(r['accuracy'])} |"
        lines.append(line)
    lines += ["\n## Labels\n", "| label | coverage | positives |", "|---|---|---|"]
    for label, r in report["labels"].items():
        lines.append(f"| {label} | {_pct(r['coverage'])} | {r['positives']} |")
    dist = report["distribution"]
    lines.append("\nDistribution: " + ", ".join(f"{k} {v}" for k, v in dist.items()) + "\n")
    if has_gold:
        g = report["gold"]
        rows = [row for model, m in g["models"].items()
                for row in [[model] + r for r in per_label_rows(m["per_label"])]
                + [[model, "**macro F1**", "", "", f"**{m['macro_f1']:.3f}**", ""]]]
        lines += [f"## Against gold: `{g['file']}` ({g['sentences']} sentences)\n",
                  markdown_table(["label model"] + SCORE_COLUMNS, rows)]
    return "\n".join(lines) + "\n"

"""The local evaluate metric, evaluate_model.py's report, and bad gold files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SEEDS, assert_one_line_error, read_jsonl, requires_corpus, run_script
from training.analysis.bootstrap import paired_bootstrap
from training.analysis.evaluation import precision_recall_curve
from training.metrics import multilabel_scores


def test_metric_module_figures_by_hand():
    gold = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    pred = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    scores = np.array([[0.9, 0.1, 0.4], [0.2, 0.8, 0.1], [0.7, 0.3, 0.2], [0.1, 0.2, 0.6]])
    m = multilabel_scores(gold, pred, ["a", "b", "c"], scores)
    assert m["per_label"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2, "roc_auc": 1.0}
    assert m["per_label"]["b"]["recall"] == 0.5 and m["per_label"]["b"]["f1"] == pytest.approx(2 / 3)
    assert m["per_label"]["c"]["f1"] == 0.0 and m["per_label"]["c"]["roc_auc"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert m["subset_accuracy"] == 0.25 and m["hamming_loss"] == pytest.approx(3 / 12)


def test_roc_auc_is_none_when_one_class_is_missing():
    m = multilabel_scores(np.array([[1], [1]]), np.array([[1], [0]]), ["a"], np.array([[0.9], [0.2]]))
    assert m["per_label"]["a"]["roc_auc"] is None


def test_precision_recall_curve():
    precision, recall, thresholds = precision_recall_curve(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]))
    assert thresholds.tolist() == [0.9, 0.8, 0.7, 0.1]
    assert precision.tolist() == [1.0, 0.5, 2 / 3, 0.5] and recall.tolist() == [0.5, 0.5, 1.0, 1.0]


def _systems(n: int, wrong_a: float, wrong_b: float, seed: int = 1):
    """Gold [n, 3] and two systems that flip each answer with chance wrong_a and wrong_b."""
    rng = np.random.default_rng(seed)
    gold = rng.random((n, 3)) < 0.3
    return gold, gold ^ (rng.random((n, 3)) < wrong_a), gold ^ (rng.random((n, 3)) < wrong_b)


def test_paired_bootstrap_difference_is_the_metrics_own_and_its_interval_holds_it():
    gold, a, b = _systems(300, 0.05, 0.15)
    result = paired_bootstrap(gold, a, b)
    expected = multilabel_scores(gold, a, list("xyz"))["macro_f1"] - multilabel_scores(gold, b, list("xyz"))["macro_f1"]
    assert result["difference"] == pytest.approx(expected)
    assert 0 < result["low"] < result["difference"] < result["high"]  # a clearly better system: 0 is outside
    assert result["share_a_better"] == 1.0 and result["resamples"] == 1000
    assert paired_bootstrap(gold, a, b) == result  # seeded: the same figures on every run


def test_paired_bootstrap_of_close_systems_on_few_sentences_spans_zero():
    gold, a, b = _systems(60, 0.10, 0.12, seed=2)
    result = paired_bootstrap(gold, a, b)
    assert result["low"] < 0 < result["high"] and 0 < result["share_a_better"] < 1
    same = paired_bootstrap(gold, a, a)
    assert (same["difference"], same["low"], same["high"], same["share_a_better"]) == (0.0, 0.0, 0.0, 0.0)


def test_paired_bootstrap_leaves_out_labels_without_gold_as_the_metric_does():
    gold = np.array([[1, 0], [1, 0], [0, 0]], dtype=bool)
    a = np.array([[1, 1], [1, 0], [0, 0]], dtype=bool)  # a false alarm on a label with no gold positive
    b = np.array([[1, 0], [0, 0], [0, 0]], dtype=bool)
    result = paired_bootstrap(gold, a, b, resamples=50)
    assert result["difference"] == pytest.approx(1.0 - 2 / 3)  # label 2 is in neither macro F1
    with pytest.raises(ValueError, match="non-empty"):
        paired_bootstrap(gold[:0], a[:0], b[:0])


def test_evaluate_writes_model_rules_and_baseline_side_by_side(chain, tmp_path):
    out = tmp_path / "eval"
    result = run_script("evaluate_model.py", "--model", chain["model"], "--data", SEEDS / "gold.jsonl", "--output", out)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    for system in ("model", "rules", "baseline"):
        assert set(metrics[system]["per_label"]) == {"attack", "casualty", "withdrawal_talks"}
        assert "macro_f1" in metrics[system] and "micro_f1" in metrics[system]
    assert metrics["rules"]["macro_f1"] >= 0.98 and "macro_f1" in metrics
    report = (out / "report.md").read_text()
    assert "## model" in report and "## rules" in report and "thresholds:" in report and str(chain["model"]) in report
    difference = metrics["model_vs_rules"]
    assert difference["difference"] == pytest.approx(metrics["model"]["macro_f1"] - metrics["rules"]["macro_f1"])
    assert difference["low"] <= difference["high"] and "paired redraws" in report
    assert (out / "f1.png").read_bytes()[:4] == b"\x89PNG" and (out / "pr_curves.png").stat().st_size > 1000
    errors = read_jsonl(out / "errors.jsonl")
    assert errors and all(set(e["gold"]) != set(e["model"]) or set(e["gold"]) != set(e["rules"]) for e in errors)
    disagreements = read_jsonl(out / "disagreements.jsonl")
    assert [d["text"] for d in disagreements] and all(set(d["model"]) != set(d["rules"]) for d in disagreements)
    assert all("gold" in d for d in disagreements)  # a gold file's labels come along, for the reader
    assert {d["text"] for d in disagreements} <= {e["text"] for e in errors}


def test_threshold_override(chain, tmp_path):
    result = run_script("evaluate_model.py", "--model", chain["model"], "--data", SEEDS / "gold.jsonl",
                        "--output", tmp_path / "e", "--threshold", "0.99")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert set(metrics["thresholds"].values()) == {0.99}


@pytest.mark.parametrize("content,message", [
    ('{"text": "جملة"}\n', "missing 'labels'"),
    ('{"text": "جملة", "labels": ["bombing"]}\n', "unknown label"),
    ("", "empty"),
])
def test_bad_gold_files_are_one_clear_error(chain, tmp_path, content, message):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(content, encoding="utf-8")
    result = run_script("evaluate_model.py", "--model", chain["model"], "--data", gold, "--output", tmp_path / "e")
    assert_one_line_error(result, "gold.jsonl", message)
    assert not (tmp_path / "e").exists()


@requires_corpus
def test_news_gold_is_rebuilt_from_the_corpus_by_hash():
    from training.inputs.gold import load_corpus_gold, text_hash

    refs = read_jsonl(SEEDS / "gold_news.jsonl")
    rows = load_corpus_gold(SEEDS / "gold_news.jsonl")
    assert len(rows) == len(refs) >= 150
    assert all(text_hash(r["text"]) == ref["sha1"] for r, ref in zip(rows, refs))
    assert sum(ref["sample"] == "random" for ref in refs) >= len(refs) // 2
    assert all("text" not in ref for ref in refs)  # the corpus text is never committed

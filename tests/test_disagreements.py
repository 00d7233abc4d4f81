"""Disagreements between the model and the rules: what counts, how sure, in which order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SEEDS, read_jsonl, run_script
from training.analysis.disagreements import disagreement_records, model_confidence, rules_answers, write_sorted
from training.labels import LABELS


def test_confidence_is_the_largest_margin_beyond_the_threshold_on_disputed_labels():
    scores = np.array([[0.9, 0.2, 0.5], [0.55, 0.1, 0.3]])
    thresholds = np.array([0.5, 0.4, 0.5])
    disputed = np.array([[True, True, False], [True, False, False]])
    # row 0: attack (0.9-0.5)/0.5 = 0.8, casualty (0.4-0.2)/0.4 = 0.5 -> 0.8; row 1: 0.05/0.5 = 0.1
    assert model_confidence(scores, thresholds, disputed) == pytest.approx([0.8, 0.1])
    assert model_confidence(scores, thresholds, np.zeros_like(disputed)).tolist() == [0.0, 0.0]


def test_records_hold_only_disputed_sentences_with_both_answers_and_sort_most_confident_first(tmp_path):
    rows = [{"doc_id": "d", "sent_id": i, "text": f"s{i}"} for i in range(4)]
    scores = np.array([[0.9, 0.1, 0.1], [0.6, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.95, 0.1]])
    rules = np.array([[0.0, 0, 0], [0.0, 0, 0], [0.0, 0, 0], [0.0, 0, 1.0]])
    fired = [[], [], [], ["forces_withdrawal"]]
    out = tmp_path / "d.jsonl"
    assert write_sorted(out, disagreement_records(rows, scores, np.full(3, 0.5), rules, fired)) == 3
    written = read_jsonl(out)
    assert [r["sent_id"] for r in written] == [3, 0, 1]  # 0.9 (casualty), 0.8, 0.2; row 2 agrees
    assert written[0]["model_only"] == ["casualty"] and written[0]["rules_only"] == ["withdrawal_talks"]
    assert written[0]["rules_fired"] == ["forces_withdrawal"] and written[0]["model"] == ["casualty"]
    assert written[1]["confidence"] == pytest.approx(0.8) and written[2]["confidence"] == pytest.approx(0.2)


def test_ties_keep_input_order_and_nothing_disputed_writes_an_empty_file(tmp_path):
    rows = [{"text": f"s{i}"} for i in range(3)]
    scores = np.full((3, 3), 0.75)
    out = tmp_path / "d.jsonl"
    write_sorted(out, disagreement_records(rows, scores, np.full(3, 0.5), np.zeros((3, 3)), [[]] * 3))
    assert [r["text"] for r in read_jsonl(out)] == ["s0", "s1", "s2"]
    write_sorted(out, disagreement_records(rows, scores, np.full(3, 0.5), np.ones((3, 3)), [[]] * 3))
    assert out.read_text() == ""


def test_rules_answers_name_the_rules_that_fired():
    gold = [json.loads(line) for line in (SEEDS / "gold.jsonl").read_text("utf-8").splitlines()]
    attack = next(r["text"] for r in gold if r["labels"] == ["attack"])
    probs, fired = rules_answers([attack, "الطقس معتدل اليوم في معظم المناطق"])
    assert probs[0, LABELS.index("attack")] >= 0.5 and fired[0]
    assert fired[1] == [] and (probs[1] < 0.5).all()


@pytest.mark.slow
def test_predict_writes_the_disagreements_beside_the_predictions(chain, tmp_path):
    out = tmp_path / "preds.csv"
    result = run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", out)
    assert result.returncode == 0, result.stderr[-2000:]
    records = read_jsonl(tmp_path / "preds.disagreements.jsonl")
    confidences = [r["confidence"] for r in records]
    assert confidences == sorted(confidences, reverse=True)
    probs, _ = rules_answers([r["text"] for r in records])
    for record, rule_probs in zip(records, probs):
        assert record["rules"] == [label for label, p in zip(LABELS, rule_probs) if p >= 0.5]
        assert set(record["model"]) ^ set(record["rules"]) == set(record["model_only"]) | set(record["rules_only"])
        assert record["model_only"] or record["rules_only"]
    skipped = run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", tmp_path / "p.jsonl",
                         "--no-disagreements")
    assert skipped.returncode == 0 and not (tmp_path / "p.disagreements.jsonl").exists()

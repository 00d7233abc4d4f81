"""Distillation: the teachers' mean score replaces the weak targets, except where a person labelled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasets import load_from_disk

from conftest import SEEDS, assert_one_line_error, read_jsonl, run_script
from training.fit.distillation import distilled_targets
from training.inputs.gold import label_matrix
from training.labels import LABELS
from training.model.inference import EventClassifier

TINY = "configs/tiny.yaml"


def test_targets_are_the_teachers_mean_and_hand_labels_stand():
    weak = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    scores = np.array([[[0.9, 0.2, 0.0], [0.4, 0.0, 0.6], [0.1, 0.1, 0.1]],
                       [[0.7, 0.0, 0.2], [0.2, 0.0, 0.8], [0.9, 0.9, 0.9]]])
    hand = np.array([False, False, True])
    revised = distilled_targets(weak, scores, hand)
    assert np.allclose(revised, [[0.8, 0.1, 0.1], [0.3, 0.0, 0.7], [0.0, 1.0, 0.0]])
    blended = distilled_targets(weak, scores, hand, weak_weight=0.5)
    assert np.allclose(blended[0], [0.9, 0.05, 0.05]) and np.allclose(blended[2], weak[2])
    assert weak[2].tolist() == [0.0, 1.0, 0.0] and scores[1, 2, 0] == 0.9  # the inputs are not modified


@pytest.mark.slow
def test_distilled_copy_holds_the_teachers_scores_and_the_hand_labels(chain, tmp_path):
    gold = read_jsonl(SEEDS / "gold.jsonl")[::2]  # half the seed sentences hand-labelled, half weakly
    gold_file, data, out = tmp_path / "gold.jsonl", tmp_path / "data", tmp_path / "distilled"
    gold_file.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in gold), "utf-8")
    built = run_script("build_dataset.py", "--input", SEEDS, "--output", data, "--config", TINY,
                       f"--data.gold_files=[{gold_file}]")
    assert built.returncode == 0, built.stderr[-3000:]
    # The same teacher twice: its mean is its own score, which the test can compute on its own.
    result = run_script("distill.py", "--teacher", chain["model"], "--teacher", chain["model"],
                        "--data", data, "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    before, after = load_from_disk(str(data / "dataset")), load_from_disk(str(out / "dataset"))
    assert after["validation"]["targets"] == before["validation"]["targets"]
    texts = after["train"]["text"]
    assert texts == before["train"]["text"]
    hand = {row["text"]: label_matrix([row])[0].tolist() for row in gold}
    scores = EventClassifier.from_pretrained(str(chain["model"]), compile=False).predict_scores(texts)[0]
    targets = np.array(after["train"]["targets"])
    kept = np.array([text in hand for text in texts])
    assert 0 < kept.sum() < len(texts)
    assert np.allclose(targets[~kept], scores[~kept], atol=1e-4)
    assert all(targets[i].tolist() == hand[texts[i]] for i in np.flatnonzero(kept))
    record = json.loads((out / "distillation.json").read_text("utf-8"))
    assert record["hand_labelled_kept"] == kept.sum() and len(record["teachers"]) == 2
    for row, vector in zip(after["train"], after["train"]["label_vector"]):
        assert row["labels"] == [label for label, v in zip(LABELS, vector) if v]
    rows = {(r["doc_id"], r["sent_id"]): r["labels"] for r in read_jsonl(out / "sentences.jsonl")}
    assert all(rows[(r["doc_id"], r["sent_id"])] == r["labels"] for r in after["train"])
    trained = run_script("train.py", "--config", TINY, "--data", out, "--output", tmp_path / "student",
                         "--training.max_steps=2", "--card.gold_file=")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert json.loads((tmp_path / "student" / "distillation.json").read_text("utf-8")) == record
    assert "--training.pos_weight=none" in trained.stderr  # the default auto weights would count twice


def test_distill_refuses_a_bad_weight_a_missing_teacher_and_an_existing_output(chain, tmp_path):
    base = ["--data", chain["data"], "--output", tmp_path / "out"]
    bad_weight = run_script("distill.py", "--teacher", chain["model"], *base, "--weak-weight", "1")
    assert_one_line_error(bad_weight, "--weak-weight")
    missing = run_script("distill.py", "--teacher", tmp_path / "nowhere", *base)
    assert_one_line_error(missing, "nowhere")
    (tmp_path / "out").mkdir()
    existing = run_script("distill.py", "--teacher", chain["model"], *base)
    assert_one_line_error(existing, "already exists")
    assert not any((tmp_path / "out").iterdir())

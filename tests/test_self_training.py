"""Self-training: the model overrules the rules only where it is sure and they are silent (or a cue fired)."""

from __future__ import annotations

import json

import numpy as np
from datasets import load_from_disk

from conftest import assert_one_line_error, read_jsonl, run_script
from training.labels import LABELS
from training.weak.labeling import LFApplier
from training.fit.self_training import revised_targets, rule_coverage


def test_revision_overrules_only_silent_rules_and_fired_cues():
    targets = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.6, 0.0, 0.0]])
    scores = np.array([[0.95, 0.95, 0.5], [0.02, 0.5, 0.5], [0.99, 0.1, 0.1], [0.5, 0.5, 0.5]])
    voted = np.array([[False, True, False], [True, False, False], [True, False, False], [True, False, False]])
    cued = np.array([[False, True, False], [True, False, False], [False, False, False], [True, False, False]])
    revised = revised_targets(targets, scores, voted, cued, confidence=0.9)
    assert revised.tolist() == [
        [1.0, 0.0, 0.0],   # attack: sure, and no rule voted -> new positive; casualty: a rule voted -> kept
        [0.0, 0.0, 0.0],   # attack: a cue fired and the model is sure it is not one -> dropped
        [0.0, 0.0, 0.0],   # attack: sure, but a veto voted (voted, not cued) -> the veto stands
        [0.6, 0.0, 0.0],   # unsure -> the weak target stays
    ]
    assert targets[0, 0] == 0.0  # the input is not modified


def test_rule_coverage_tells_vetoes_from_cues():
    sentences = ["شن الفريق هجوما كاسحا على مرمى المنافس في الشوط الثاني من المباراة.",
                 "قتل ثلاثة جنود في هجوم بطائرة مسيرة على قاعدة عسكرية.",
                 "ارتفعت أسعار النفط في الأسواق العالمية."]
    voted, cued = rule_coverage(sentences, LFApplier())
    attack = LABELS.index("attack")
    assert voted[0, attack] and not cued[0, attack]  # football: the sports veto votes, no cue counts
    assert cued[1, attack] and cued[1, LABELS.index("casualty")]
    assert not voted[2].any()


def test_round_writes_a_revised_copy_and_keeps_validation(chain, tmp_path):
    out = tmp_path / "round1"
    result = run_script("self_train.py", "--model", chain["model"], "--data", chain["data"], "--output", out,
                        "--confidence", "0.501")
    assert result.returncode == 0, result.stderr[-3000:]
    before, after = load_from_disk(str(chain["data"] / "dataset")), load_from_disk(str(out / "dataset"))
    assert after["validation"]["targets"] == before["validation"]["targets"]
    assert after["train"]["text"] == before["train"]["text"]
    record = json.loads((out / "self_training.json").read_text("utf-8"))
    changed = sum(c["new_positives"] + c["dropped_positives"] for c in record["changes"].values())
    differing = sum(a != b for a, b in zip(after["train"]["labels"], before["train"]["labels"]))
    assert changed >= differing > 0  # the demo model's scores sit just above 0.5: at 0.501 it overrules silent rules
    for row, labels in zip(after["train"], after["train"]["label_vector"]):
        assert row["labels"] == [label for label, v in zip(LABELS, labels) if v]
    rows = {(r["doc_id"], r["sent_id"]): r["labels"] for r in read_jsonl(out / "sentences.jsonl")}
    assert all(rows[(r["doc_id"], r["sent_id"])] == r["labels"] for r in after["train"])
    trained = run_script("train.py", "--config", "configs/tiny.yaml", "--data", out, "--output", tmp_path / "m1",
                         f"--model.name_or_path={chain['model']}", "--training.max_steps=2", "--card.gold_file=")
    assert trained.returncode == 0, trained.stderr[-3000:]


def test_round_refuses_an_existing_output_and_a_bad_confidence(chain, tmp_path):
    (tmp_path / "taken").mkdir()
    assert_one_line_error(run_script("self_train.py", "--model", chain["model"], "--data", chain["data"],
                                     "--output", tmp_path / "taken"), "already exists")
    assert_one_line_error(run_script("self_train.py", "--model", chain["model"], "--data", chain["data"],
                                     "--output", tmp_path / "x", "--confidence", "0.3"), "--confidence")
    assert not (tmp_path / "x").exists()

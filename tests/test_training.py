"""Training: the model-folder contract, determinism, thresholds, resume after Ctrl-C, and errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import ROOT, SEEDS, assert_one_line_error, interrupt_at_first_checkpoint, run_script, script_env
from training.config import TrainingConfig, load_config
from training.errors import ConfigError, UserError
from training.inputs.gold import label_matrix, load_gold
from training.labels import LABELS
from training.metrics import multilabel_scores
from training.model.inference import EventClassifier
from training.fit.sampling import kept_cueless_indices, oversampled_indices, positive_weights
from training.fit.trainer import choose_thresholds, multilabel_loss, train, tune_thresholds

TINY = ROOT / "configs" / "tiny.yaml"


def test_model_folder_is_a_standard_transformers_folder(chain):
    model = chain["model"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "training_config.yaml", "metrics.json", "README.md"):
        assert (model / name).is_file(), name
    config = json.loads((model / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    assert set(config["thresholds"]) == set(LABELS)
    assert config["preprocessing"] == {"type": "arabert", "model_name": "bert-base-arabertv02"}
    assert not list(model.glob("checkpoint-*")) and not (model.parent / "model.run").exists()


def test_plain_pipeline_loads_the_model_folder(chain):
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(chain["model"]), top_k=None)
    out = clf(["قتل ثلاثة جنود في هجوم على قاعدة عسكرية"])[0]
    assert {d["label"] for d in out} == set(LABELS)
    # the pipeline applies the sigmoid of multi-label classification, as EventClassifier does
    from training.model.inference import EventClassifier

    ours = EventClassifier.from_pretrained(str(chain["model"]), device="cpu")
    expected = ours.predict(["قتل ثلاثة جنود في هجوم على قاعدة عسكرية"])[0].scores
    assert {d["label"]: round(d["score"], 4) for d in out} == pytest.approx(expected, abs=2e-4)


def test_metrics_hold_train_and_validation_figures_per_label(chain):
    metrics = json.loads((chain["model"] / "metrics.json").read_text())
    for split in ("train", "validation"):
        per_label = metrics[split]["per_label"]
        assert set(per_label) == set(LABELS)
        measured = [v["f1"] for label, v in per_label.items() if label not in metrics[split]["labels_without_gold"]]
        assert metrics[split]["macro_f1"] == pytest.approx(sum(measured) / len(measured))  # the mean it claims
    assert metrics["global_step"] > 0 and set(metrics["thresholds"]) == set(LABELS)


def test_training_figures_come_from_a_seeded_sample_of_the_training_split(chain, tmp_path):
    from datasets import load_from_disk

    config = load_config(TINY, ["--training.max_steps=2", "--card.gold_file=", "--training.train_metrics_sentences=10"])
    train(config, chain["data"], tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    total = len(load_from_disk(str(chain["data"] / "dataset"))["train"])
    assert total > 10
    assert metrics["train"]["sentences"] == 10 and metrics["train"]["sampled_from"] == total
    assert metrics["validation"]["sentences"] == len(load_from_disk(str(chain["data"] / "dataset"))["validation"])


def test_same_seed_gives_the_same_weights(chain, tmp_path):
    config = load_config(TINY, ["--training.max_steps=6", "--card.gold_file="])
    train(config, chain["data"], tmp_path / "a")
    train(config, chain["data"], tmp_path / "b")
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_positive_weights_and_threshold_tuning():
    vectors = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=float)
    assert positive_weights(vectors, cap=3.0).tolist() == [3.0, 3.0, 1.0]
    gold = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    scores = np.array([[0.3, 0.1, 0.1], [0.35, 0.2, 0.2], [0.1, 0.9, 0.1], [0.2, 0.1, 0.6]])
    thresholds = tune_thresholds(gold, scores)
    assert thresholds["attack"] in (0.25, 0.3) and thresholds["casualty"] == 0.5 and thresholds["withdrawal_talks"] == 0.5


def test_oversampling_repeats_only_the_rare_labels_positives():
    # label 0: 6 positives of 10 (enough); label 1: 2 positives (rows 3, 7); label 2: none
    vectors = np.zeros((10, 3))
    vectors[[0, 1, 2, 4, 5, 6], 0] = 1
    vectors[[3, 7], 1] = 1
    indices = oversampled_indices(vectors, min_positives=5, seed=0)
    counts = np.bincount(indices, minlength=10)
    assert vectors[indices].sum(axis=0).tolist() == [6, 5, 0]
    assert counts[[3, 7]].tolist() in ([3, 2], [2, 3])  # 2 whole repeats, then one more of the two
    assert set(np.flatnonzero(counts > 1)) <= {3, 7}  # nothing else is repeated
    assert oversampled_indices(vectors, min_positives=5, seed=0).tolist() == indices.tolist()
    assert oversampled_indices(vectors, min_positives=2, seed=0).tolist() == list(range(10))


def test_cueless_sampling_keeps_every_cue_sentence_and_a_seeded_share_of_the_rest():
    # rows 0-1: a cue and a weak positive; 2: a cue (a veto), negative; 3: cueless but hand-labelled
    # positive; 4-13: cueless negatives, the only rows that may be dropped
    cueless = np.array([False, False, False] + [True] * 11)
    vectors = np.zeros((14, 3))
    vectors[[0, 1], 0] = 1
    vectors[3, 1] = 1
    indices = kept_cueless_indices(cueless, vectors, fraction=0.3, seed=0)
    assert {0, 1, 2, 3} <= set(indices.tolist())
    assert len(indices) == 4 + 3 and indices.tolist() == sorted(indices.tolist())
    assert kept_cueless_indices(cueless, vectors, fraction=0.3, seed=0).tolist() == indices.tolist()
    drawn = {tuple(kept_cueless_indices(cueless, vectors, 0.3, seed).tolist()) for seed in range(20)}
    assert len(drawn) > 1  # another seed draws other cueless rows
    assert kept_cueless_indices(cueless, vectors, fraction=1.0, seed=0).tolist() == list(range(14))
    assert len(kept_cueless_indices(cueless, vectors, fraction=0.01, seed=0)) == 4 + 1  # one plain negative stays


def test_cueless_rows_are_the_sentences_no_rule_votes_on():
    from training.fit.sampling import cueless_rows

    sentences = ["قتل ثلاثة جنود في هجوم على قاعدة عسكرية",        # attack and casualty cues
                 "شن الفريق هجوما كاسحا على مرمى المنافس في المباراة",  # an attack cue the sports veto answers
                 "ارتفعت أسعار الذهب في الأسواق العالمية اليوم"]      # no cue of any rule
    assert cueless_rows(sentences).tolist() == [False, False, True]


def test_training_with_cueless_sampling_trains_on_fewer_sentences(chain, tmp_path, caplog):
    import re

    from datasets import load_from_disk

    config = load_config(TINY, ["--training.max_steps=2", "--card.gold_file=", "--training.cueless_fraction=0.5"])
    with caplog.at_level("INFO", logger="training.fit.sampling"):
        train(config, chain["data"], tmp_path / "m")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("cueless negatives"))
    kept, cueless, remain, total = map(int, re.search(r"kept (\d+) of (\d+) .*; (\d+) of (\d+) training", line).groups())
    assert total == len(load_from_disk(str(chain["data"] / "dataset"))["train"])
    assert 0 < kept < cueless and remain == total - (cueless - kept)
    assert "cueless_fraction: 0.5" in (tmp_path / "m" / "training_config.yaml").read_text()


def test_cueless_fraction_outside_0_1_is_a_config_error():
    for value in ("0", "1.5"):
        with pytest.raises(ConfigError, match="cueless_fraction"):
            load_config(TINY, [f"--training.cueless_fraction={value}"])


def test_training_with_oversampling_sees_more_rare_positives(chain, tmp_path, caplog):
    config = load_config(TINY, ["--training.max_steps=2", "--card.gold_file=", "--training.oversample_min_positives=500"])
    with caplog.at_level("INFO", logger="training.fit.sampling"):
        train(config, chain["data"], tmp_path / "m")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("oversampling"))
    assert all(int(pair.split(" -> ")[1]) >= 500 for pair in line.split(": ", 1)[1].split(", "))


def test_thresholds_tuned_on_a_hand_labelled_file_are_its_best(chain, tmp_path):
    gold_file = SEEDS / "gold.jsonl"
    config = load_config(TINY, ["--training.max_steps=2", "--card.gold_file=", f"--training.threshold_file={gold_file}"])
    train(config, chain["data"], tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text("utf-8"))
    assert metrics["thresholds_tuned_on"] == str(gold_file)
    rows = load_gold(gold_file)
    scores, _ = EventClassifier.from_pretrained(str(tmp_path / "m"), compile=False).predict_scores([r["text"] for r in rows])
    gold = label_matrix(rows)
    for k, label in enumerate(LABELS):
        f1 = {t: multilabel_scores(gold[:, [k]], scores[:, [k]] >= t, [label])["per_label"][label]["f1"]
              for t in np.round(np.arange(0.05, 0.96, 0.05), 2)}
        assert f1[metrics["thresholds"][label]] == pytest.approx(max(f1.values())), label


@pytest.mark.slow
def test_threshold_file_labels_take_the_file_for_those_labels_and_validation_for_the_rest(chain, tmp_path):
    gold_file = SEEDS / "gold.jsonl"
    base = ["--training.max_steps=2", "--card.gold_file="]
    train(load_config(TINY, base), chain["data"], tmp_path / "validation")
    train(load_config(TINY, [*base, f"--training.threshold_file={gold_file}"]), chain["data"], tmp_path / "file")
    train(load_config(TINY, [*base, f"--training.threshold_file={gold_file}",
                             "--training.threshold_file_labels=[withdrawal_talks]"]), chain["data"], tmp_path / "mixed")
    on = {name: json.loads((tmp_path / name / "metrics.json").read_text("utf-8")) for name in ("validation", "file", "mixed")}
    assert on["mixed"]["thresholds_tuned_on"] == {"attack": "validation", "casualty": "validation",
                                                  "withdrawal_talks": str(gold_file)}
    expected = {**on["validation"]["thresholds"], "withdrawal_talks": on["file"]["thresholds"]["withdrawal_talks"]}
    assert on["mixed"]["thresholds"] == expected       # same seed, same weights: only the sources differ


def test_choose_thresholds_takes_each_label_from_its_source():
    rng = np.random.default_rng(0)
    gold = rng.random((400, len(LABELS))) < 0.3
    noise = rng.random(gold.shape)
    validation = (gold.astype(float), np.where(gold, 0.2 + 0.1 * noise, 0.1 * noise))   # positives above 0.2
    in_file = (gold.astype(float), np.where(gold, 0.8 + 0.1 * noise, 0.74 * noise))     # positives above 0.8
    training = TrainingConfig(threshold_file=str(SEEDS / "gold.jsonl"), threshold_file_labels=["withdrawal_talks"])
    thresholds, tuned_on = choose_thresholds(training, "", validation, in_file)
    assert thresholds["attack"] == thresholds["casualty"] == 0.2 and thresholds["withdrawal_talks"] == 0.75
    assert tuned_on["withdrawal_talks"] == training.threshold_file and tuned_on["attack"] == "validation"
    every = choose_thresholds(TrainingConfig(threshold_file=training.threshold_file), "", validation, in_file)
    assert every == ({label: 0.75 for label in LABELS}, training.threshold_file)
    assert choose_thresholds(TrainingConfig(), "", validation, None) == ({label: 0.2 for label in LABELS}, "validation")


def test_threshold_file_labels_must_be_labels_and_need_the_file():
    with pytest.raises(ConfigError, match="unknown labels \\['withdrawal'\\]"):
        load_config(TINY, [f"--training.threshold_file={SEEDS / 'gold.jsonl'}", "--training.threshold_file_labels=[withdrawal]"])
    with pytest.raises(ConfigError, match="set that file too"):
        load_config(TINY, ["--training.threshold_file_labels=[withdrawal_talks]"])


@pytest.mark.parametrize("key", ["training.threshold_file", "card.gold_file"])
def test_a_bad_hand_labelled_file_fails_before_any_training(chain, tmp_path, key):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": []}\nnot json\n', encoding="utf-8")
    others = ["--card.gold_file="] if key != "card.gold_file" else []
    result = run_script("train.py", "--config", TINY, "--data", chain["data"], "--output", tmp_path / "m",
                        f"--{key}={bad}", *others)
    assert_one_line_error(result, "bad.jsonl: line 2 is not valid JSON")
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.run").exists()


def test_confidence_weighting_ignores_undecided_targets_and_keeps_sure_ones():
    import torch

    pos_weight = np.array([2.0, 1.0, 3.0])
    logits = torch.tensor([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]], requires_grad=True)
    targets = torch.tensor([[1.0, 0.5, 0.0], [0.5, 0.75, 1.0]])
    plain = multilabel_loss(logits, targets, pos_weight)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor(pos_weight))
    assert torch.isclose(plain, expected.float())
    multilabel_loss(logits, targets, pos_weight, confidence_weighting=True).backward()
    grad = logits.grad.numpy()
    assert grad[0, 1] == 0 and grad[1, 0] == 0  # p = 0.5: no pull either way
    assert (grad[targets.numpy() != 0.5] != 0).all()
    sure = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # all weights 1: the plain loss
    assert torch.isclose(multilabel_loss(logits, sure, pos_weight, True), multilabel_loss(logits, sure, pos_weight))


def test_confidence_weighting_needs_soft_targets_and_trains(chain, tmp_path):
    with pytest.raises(ConfigError, match="confidence_weighting"):
        load_config(TINY, ["--training.soft_targets=false", "--training.confidence_weighting=true"])
    config = load_config(TINY, ["--training.max_steps=2", "--card.gold_file=", "--training.confidence_weighting=true"])
    train(config, chain["data"], tmp_path / "m")
    saved = (tmp_path / "m" / "training_config.yaml").read_text("utf-8")
    assert "confidence_weighting: true" in saved


def test_a_missing_threshold_file_is_a_config_error():
    with pytest.raises(ConfigError, match="training.threshold_file: no such file"):
        load_config(TINY, ["--training.threshold_file=nowhere.jsonl"])


@pytest.mark.slow
def test_ctrl_c_leaves_a_resumable_checkpoint_and_resume_finishes(chain, tmp_path):
    out = tmp_path / "model"
    run_dir = tmp_path / "model.run"
    args = [sys.executable, str(ROOT / "scripts" / "train.py"), "--config", str(TINY), "--data", str(chain["data"]),
            "--output", str(out), "--training.num_train_epochs=30", "--training.early_stopping_patience=0",
            "--card.gold_file="]
    returncode, output = interrupt_at_first_checkpoint(args, run_dir)
    assert returncode == 130, output[-2000:]
    assert not out.exists(), "an interrupted run must not write the model folder"
    steps = sorted(int(p.name.split("-")[1]) for p in run_dir.glob("checkpoint-*"))
    assert steps and steps[-1] < 120  # 30 epochs x 4 steps: it stopped early
    resumed = subprocess.run(args + ["--resume"], cwd=ROOT, env=script_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 120
    assert not run_dir.exists()


def test_data_errors_come_before_any_model_is_loaded(tmp_path, chain):
    config = load_config(TINY)
    (tmp_path / "not_data").mkdir()
    with pytest.raises(UserError, match="not a built dataset"):
        train(config, tmp_path / "not_data", tmp_path / "m")
    one_class = tmp_path / "one_class"
    one_class.mkdir()
    shutil.copy(chain["data"] / "sentences.jsonl", one_class)
    from datasets import load_from_disk

    data = load_from_disk(str(chain["data"] / "dataset"))
    data.map(lambda r: {"label_vector": [0.0] * len(LABELS)}).save_to_disk(str(one_class / "dataset"))
    with pytest.raises(UserError, match="one-class"):
        train(config, one_class, tmp_path / "m")


def test_unreachable_hub_fails_fast_with_one_line(tmp_path, chain, monkeypatch):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "model_info", no_network)  # the network boundary
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.time()
    with pytest.raises(UserError, match="Hub is unreachable.*configs/tiny.yaml.*--model.name_or_path=LOCAL_DIR"):
        train(load_config(ROOT / "configs" / "arabert.yaml"), chain["data"], tmp_path / "m")
    assert time.time() - start < 20


def test_unreachable_hub_from_the_command_line(tmp_path, chain):
    result = run_script("train.py", "--config", ROOT / "configs" / "arabert.yaml", "--data", chain["data"],
                        "--output", tmp_path / "m")  # HF_HUB_OFFLINE=1 in the test environment
    assert_one_line_error(result, "unreachable", "configs/tiny.yaml")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_a_local_folder_of_arabert_base_shape_trains(tmp_path, chain):
    from training.model.local_bert import build_local_bert

    local = build_local_bert(tmp_path / "arabert_shape", texts=[r for r in _seed_texts()], shape="arabert-base")
    config = load_config(ROOT / "configs" / "arabert.yaml", [
        f"--model.name_or_path={local}", "--training.max_steps=1", "--model.max_length=32",
        "--training.per_device_train_batch_size=4", "--training.per_device_eval_batch_size=32", "--card.gold_file="])
    result = train(config, chain["data"], tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["hidden_size"] == 768 and saved["num_hidden_layers"] == 12 and result.metrics["global_step"] == 1


def _seed_texts():
    return [json.loads(line)["text"] for line in (ROOT / "seeds" / "sentences_gold.jsonl").read_text().splitlines()]

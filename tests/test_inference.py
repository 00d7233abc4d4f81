"""EventClassifier: thresholds, preprocessing from the folder, plain folders, articles, int8."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import SEEDS
from training.model.inference import EventClassifier
from training.errors import UserError
from training.labels import LABELS

SENTENCES = ["قتل ثلاثة جنود في هجوم على قاعدة عسكرية", "وتطالب الفصائل بانسحاب القوات الأمريكية",
             "فاز الفريق بالمباراة", "ويوجد 2500 جندي أمريكي في العراق ونحو 900 جندي في سوريا"]


@pytest.fixture(scope="module")
def classifier(chain):
    return EventClassifier.from_pretrained(str(chain["model"]), device="cpu")


def test_predictions_follow_the_saved_thresholds(classifier):
    preds = classifier.predict(SENTENCES)
    assert [p.text for p in preds] == SENTENCES
    for p in preds:
        assert set(p.scores) == set(LABELS)
        assert p.labels == [label for label, t in zip(LABELS, classifier.thresholds) if p.scores[label] >= t - 5e-5]
    saved = classifier.thresholds.copy()
    try:  # the classifier is shared by this module's tests: its thresholds are put back
        classifier.thresholds = np.zeros(len(LABELS))
        assert all(p.labels == list(LABELS) for p in classifier.predict(SENTENCES))
        classifier.thresholds = np.full(len(LABELS), 1.01)
        assert all(p.labels == [] for p in classifier.predict(SENTENCES))
    finally:
        classifier.thresholds = saved


def test_saved_preprocessing_is_applied(classifier):
    pred = classifier.predict(["قالت القيادة، الجمعة، إن \"الغارة\" نجحت."])[0]
    assert pred.model_input == "قالت القيادة ، الجمعة ، إن \" الغارة \" نجحت ."


def test_length_sorted_batches_keep_input_order(classifier):
    batched, _ = classifier.predict_scores(SENTENCES * 3, batch_size=2)
    single = np.vstack([classifier.predict_scores([s], batch_size=1)[0] for s in SENTENCES * 3])
    assert np.allclose(batched, single, atol=1e-5)


def test_a_plain_folder_needs_no_thresholds_or_preprocessing(chain, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(chain["model"], plain)
    config = json.loads((plain / "config.json").read_text())
    config.pop("thresholds"), config.pop("preprocessing")
    (plain / "config.json").write_text(json.dumps(config))
    clf = EventClassifier.from_pretrained(str(plain), device="cpu")
    assert clf.thresholds.tolist() == [0.5] * len(LABELS)
    text = "قالت القيادة، الجمعة، إن \"الغارة\" نجحت."
    assert clf.predict([text])[0].model_input == text


def test_predict_articles_splits_like_build_dataset_and_summarizes(classifier):
    article = (SEEDS / "002_a54217c168f06ee1.txt").read_text("utf-8")
    result = classifier.predict_articles([("a", article), "قتل جنديان في هجوم. وأصيب ثلاثة آخرون بجروح."])
    assert [r.doc_id for r in result] == ["a", "1"]
    assert len(result[0].sentences) == 16 and len(result[1].sentences) == 2
    for r in result:  # the summary lists exactly the sentences that carry each label
        assert r.summary == {label: [i for i, s in enumerate(r.sentences) if label in s.labels]
                             for label in LABELS if any(label in s.labels for s in r.sentences)}
    assert "attack" in result[1].summary  # the thresholds are the model's own (no test leaves them changed)


def test_int8_runs_on_cpu_and_mostly_agrees(chain, classifier):
    classifier.thresholds = np.array([json.loads((chain["model"] / "config.json").read_text())["thresholds"][l]
                                      for l in LABELS])
    texts = [json.loads(line)["text"] for line in (SEEDS / "sentences_gold.jsonl").read_text().splitlines()]
    int8 = EventClassifier.from_pretrained(str(chain["model"]), device="cpu", int8=True)
    fp32_scores, _ = classifier.predict_scores(texts)
    int8_scores, _ = int8.predict_scores(texts)
    assert np.abs(fp32_scores - int8_scores).max() < 0.1
    with pytest.raises(UserError, match="CPU only"):
        EventClassifier.from_pretrained(str(chain["model"]), device="cuda", int8=True)


@pytest.mark.parametrize("path,message", [("/nonexistent/model", "no such model folder"), (".", "not a model folder")])
def test_bad_model_paths_are_one_clear_error(path, message):
    with pytest.raises(UserError, match=message):
        EventClassifier.from_pretrained(path)


@pytest.mark.slow
def test_compile_auto_switches_to_the_compiled_model_with_the_same_scores(chain, classifier, monkeypatch):
    import training.model.inference as inference

    texts = [json.loads(line)["text"] for line in (SEEDS / "sentences_gold.jsonl").read_text().splitlines()]
    monkeypatch.setattr(inference, "COMPILE_AFTER_SENTENCES", len(texts))
    auto = EventClassifier.from_pretrained(str(chain["model"]), device="cpu", compile="auto")
    first, _ = auto.predict_scores(texts)
    assert auto._compiled is None  # not yet: the threshold is reached, not passed
    second, _ = auto.predict_scores(texts)
    assert callable(auto._compiled)  # compiled, and it did not fail back to eager
    eager, _ = classifier.predict_scores(texts)
    assert np.allclose(first, eager, atol=1e-6) and np.allclose(second, eager, atol=1e-4)
    one, _ = auto.predict_scores(texts[:1])  # a batch of one runs eagerly, without a second compile
    assert np.allclose(one, eager[:1], atol=1e-5)


def test_compile_is_off_for_int8_and_checked(chain):
    int8 = EventClassifier.from_pretrained(str(chain["model"]), device="cpu", int8=True, compile="auto")
    assert int8.compile_after is None
    with pytest.raises(UserError, match="compile must be"):
        EventClassifier.from_pretrained(str(chain["model"]), device="cpu", compile="yes")

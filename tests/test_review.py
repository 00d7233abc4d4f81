"""review.py: tasks out, verdicts back as gold, and gold into the dataset."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, read_jsonl, run_script
from training.inputs.gold import CORPUS_ENV
from training.labels import LABELS
from training.review.review import CHOICES, gold_from_export, labeling_config

TINY = ROOT / "configs" / "tiny.yaml"


def answer(*labels: str, cancelled: bool = False, who: int = 1) -> dict:
    return {"completed_by": who, "was_cancelled": cancelled,
            "result": [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": list(labels)}}]}


def exported(text: str, *annotations: dict, task_id: int = 1) -> dict:
    return {"id": task_id, "data": {"text": text, "doc_id": "d", "sent_id": task_id}, "annotations": list(annotations)}


def test_labeling_config_is_valid_xml_with_the_three_labels_and_none():
    root = ET.fromstring(labeling_config())
    choices = root.find(".//Choices")
    assert choices.get("name") == "labels" and choices.get("choice") == "multiple" and choices.get("toName") == "text"
    assert [c.get("value") for c in choices.findall("Choice")] == CHOICES == [*LABELS, "none"]
    assert "rtl" in root.find("./View").get("style")


def test_a_hand_written_export_resolves_cancelled_missing_and_conflicting_annotations():
    tasks = [
        exported("جملة أولى", answer("attack", "casualty", who=1), answer("attack", who=2), answer("attack", who=3),
                 task_id=1),
        exported("جملة ثانية", answer("casualty", cancelled=True), answer("none", who=2), task_id=2),
        exported("جملة ثالثة", answer("attack", cancelled=True), task_id=3),
        exported("جملة رابعة", task_id=4),
        exported("جملة خامسة", answer("withdrawal_talks", who=1), answer("none", who=2), task_id=5),
    ]
    rows, missing = gold_from_export(tasks, "export.json")
    assert missing == [3, 4]
    by_id = {r["sent_id"]: r for r in rows}
    assert by_id[1]["labels"] == ["attack"] and by_id[1]["annotators"] == [1, 2, 3]
    assert by_id[1]["note"] == ""  # casualty: 1 of 3, a clear minority, not a tie
    assert by_id[2]["labels"] == [] and by_id[2]["annotators"] == [2]  # the cancelled answer does not count
    assert by_id[5]["labels"] == [] and "withdrawal_talks (1 of 2)" in by_id[5]["note"]
    assert by_id[1]["text"] == "جملة أولى"


@pytest.mark.parametrize("task, fragment", [
    (exported("نص", {"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                  "value": {"choices": ["positive"]}}]}), "another labeling config"),
    (exported("نص", answer("attack", "explosion")), "unknown label(s) ['explosion']"),
    ({"id": 9, "data": {"body": "نص"}, "annotations": [answer("attack")]}, "task 9: the task has no text"),
])
def test_bad_exports_get_one_line_and_write_nothing(tmp_path, task, fragment):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task], ensure_ascii=False), "utf-8")
    result = run_script("review.py", "import", "--input", export, "--output", tmp_path / "gold.jsonl")
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "gold.jsonl").exists()


@pytest.mark.slow
def test_export_selects_and_writes_tasks_with_pre_annotations(chain, tmp_path):
    preds = tmp_path / "preds.jsonl"
    assert run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", preds,
                      "--no-disagreements").returncode == 0
    rows = read_jsonl(preds)
    tasks_file = tmp_path / "tasks.json"
    result = run_script("review.py", "export", "--input", preds, "--output", tasks_file, "--select", "uncertain",
                        "--n", "10", "--model", chain["model"])
    assert result.returncode == 0, result.stderr[-2000:]
    tasks = json.loads(tasks_file.read_text("utf-8"))
    thresholds = json.loads((chain["model"] / "config.json").read_text())["thresholds"]
    distance = [min(abs(r["scores"][k] - thresholds[k]) for k in LABELS) for r in rows]
    nearest = sorted(range(len(rows)), key=lambda i: distance[i])[:10]
    assert [t["data"]["text"] for t in tasks] == [rows[i]["text"] for i in nearest]
    first = rows[nearest[0]]
    choices = tasks[0]["predictions"][0]["result"][0]["value"]["choices"]
    assert choices == (first["labels"] or ["none"]) and tasks[0]["data"]["doc_id"] == first["doc_id"]
    assert ET.fromstring((tmp_path / "tasks.label_config.xml").read_text("utf-8")).tag == "View"
    sample = tmp_path / "random.json"
    assert run_script("review.py", "export", "--input", preds, "--output", sample, "--select", "random", "--n", "7",
                      "--seed", "3").returncode == 0
    again = tmp_path / "random2.json"
    run_script("review.py", "export", "--input", preds, "--output", again, "--select", "random", "--n", "7", "--seed", "3")
    assert len(json.loads(sample.read_text())) == 7 and sample.read_text() == again.read_text()


def test_export_refuses_disagreements_without_a_model_and_input_without_text(chain, tmp_path):
    result = run_script("review.py", "export", "--input", chain["data"] / "sentences.jsonl", "--output",
                        tmp_path / "t.json", "--select", "disagreement")
    assert_one_line_error(result, "needs the model's predictions")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"doc_id": "d", "text": " ", "labels": [], "scores": {}}) + "\n", "utf-8")
    assert_one_line_error(run_script("review.py", "export", "--input", bad, "--output", tmp_path / "t.json"),
                          "row 1 has no text")
    assert not (tmp_path / "t.json").exists()


def test_export_with_an_unreachable_label_studio_writes_nothing(chain, tmp_path):
    result = run_script("review.py", "export", "--input", chain["data"] / "sentences.jsonl", "--output",
                        tmp_path / "t.json", "--url", "http://127.0.0.1:9", "--api-key", "k", "--project", "p")
    assert_one_line_error(result, "http://127.0.0.1:9", "cannot be reached")
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "t.label_config.xml").exists()


def test_a_gold_file_that_cannot_be_read_stops_the_build_before_any_labeling(tmp_path, monkeypatch):
    """A corpus-reference gold file whose corpus is not set used to fail after the whole corpus
    was labelled (80 s on ANT). Its error must come first: before the input's bad second line."""
    monkeypatch.delenv(CORPUS_ENV, raising=False)
    refs = tmp_path / "refs.jsonl"
    refs.write_text((SEEDS / "gold_news.jsonl").read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a", "text": "وقال المسؤول إن حالة الجرحى السبعة مستقرة تماما"}\n{not json\n', "utf-8")
    result = run_script("build_dataset.py", "--input", articles, "--output", tmp_path / "data", "--config", TINY,
                        f"--data.test_gold_files=[{refs}]", "--workers", "1")
    assert_one_line_error(result, str(refs), CORPUS_ENV)
    assert not (tmp_path / "data").exists()


@pytest.mark.slow
def test_gold_files_replace_weak_labels_and_test_gold_is_left_out_of_the_dataset(tmp_path):
    rows = read_jsonl(SEEDS / "gold.jsonl")
    relabelled = {**rows[0], "labels": ["casualty"], "annotators": [1]}  # the rules say otherwise
    gold, test = tmp_path / "gold.jsonl", tmp_path / "test.jsonl"
    gold.write_text(json.dumps(relabelled, ensure_ascii=False) + "\n", "utf-8")
    test.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[1:4]), "utf-8")
    out = tmp_path / "data"
    result = run_script("build_dataset.py", "--input", SEEDS, "--output", out, "--config", TINY,
                        f"--data.gold_files=[{gold}]", f"--data.test_gold_files=[{test}]")
    assert result.returncode == 0, result.stderr[-2000:]
    built = {r["text"]: r for r in read_jsonl(out / "sentences.jsonl")}
    assert built[rows[0]["text"]]["labels"] == ["casualty"]
    assert built[rows[0]["text"]]["probs"] == {"attack": 0.0, "casualty": 1.0, "withdrawal_talks": 0.0}
    assert not {r["text"] for r in rows[1:4]} & set(built)
    report = json.loads((out / "lf_report.json").read_text())
    assert report["hand_labels"] == {"hand_labelled": 1, "held_out_for_test": 3}
    assert report["gold"]["sentences"] == 4  # each rule's accuracy is measured on the hand labels


@pytest.mark.slow
def test_imported_gold_is_read_by_evaluate(chain, tmp_path):
    export = tmp_path / "export.json"
    rows = read_jsonl(SEEDS / "gold.jsonl")[:6]
    export.write_text(json.dumps([exported(r["text"], answer(*(r["labels"] or ["none"])), task_id=i)
                                  for i, r in enumerate(rows)], ensure_ascii=False), "utf-8")
    gold = tmp_path / "gold.jsonl"
    assert run_script("review.py", "import", "--input", export, "--output", gold).returncode == 0
    assert [r["labels"] for r in read_jsonl(gold)] == [r["labels"] for r in rows]
    result = run_script("evaluate_model.py", "--model", chain["model"], "--data", gold, "--output", tmp_path / "eval")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["model"]["sentences"] == 6

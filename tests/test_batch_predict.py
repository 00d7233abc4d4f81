"""predict.py: one row per sentence, formats, no silent appends, resume after a kill, 2 processes."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, read_jsonl, run_script, script_env


def test_one_row_per_sentence_that_build_dataset_found(chain, tmp_path):
    out = tmp_path / "p.jsonl"
    result = run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", out)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = read_jsonl(out)
    built = read_jsonl(chain["data"] / "sentences.jsonl")
    assert [(r["doc_id"], r["sent_id"], r["text"]) for r in rows] == [(b["doc_id"], b["sent_id"], b["text"]) for b in built]
    assert all(set(r["scores"]) == {"attack", "casualty", "withdrawal_talks"} for r in rows)
    assert any("model_input" in r for r in rows)  # AraBERT preprocessing changed some sentences
    assert "done: 79 sentences" in result.stderr


def test_csv_output_and_stdin_sentences(chain, tmp_path):
    out = tmp_path / "p.csv"
    result = run_script("predict.py", "--model", chain["model"], "--input", "-", "--output", out, "--sentences",
                        input="قتل ثلاثة جنود في هجوم\nوتطالب الفصائل بانسحاب القوات\n")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["text"] for r in rows] == ["قتل ثلاثة جنود في هجوم", "وتطالب الفصائل بانسحاب القوات"]
    assert set(json.loads(rows[0]["scores"])) == {"attack", "casualty", "withdrawal_talks"}
    assert isinstance(json.loads(rows[0]["labels"]), list)


def test_existing_output_is_never_appended_to(chain, tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text("old\n")
    result = run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", out)
    assert_one_line_error(result, "already exists")
    assert out.read_text() == "old\n"


@pytest.mark.parametrize("case", ["missing_folder", "bad_model", "no_text"])
def test_bad_input_is_one_line_and_nothing_written(chain, tmp_path, case):
    out = tmp_path / "p.jsonl"
    model, source = chain["model"], SEEDS
    if case == "missing_folder":
        out = tmp_path / "nope" / "p.jsonl"
    elif case == "bad_model":
        model = tmp_path
    else:
        source = tmp_path / "empty"
        source.mkdir()
        (source / "a.txt").write_text("")
    result = run_script("predict.py", "--model", model, "--input", source, "--output", out)
    assert_one_line_error(result)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.fixture(scope="module")
def many_articles(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "articles.jsonl"
    texts = [p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(60):
            fh.write(json.dumps({"id": f"doc{i}", "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
    return path


@pytest.mark.slow
def test_resume_after_a_kill_loses_and_duplicates_nothing(chain, tmp_path, many_articles):
    reference = tmp_path / "reference.jsonl"
    assert run_script("predict.py", "--model", chain["model"], "--input", many_articles, "--output", reference).returncode == 0
    out = tmp_path / "p.jsonl"
    partial = tmp_path / "p.jsonl.partial"
    args = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(chain["model"]), "--input",
            str(many_articles), "--output", str(out), "--chunk-size", "16", "--batch-size", "4"]
    proc = subprocess.Popen(args, cwd=ROOT, env=script_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and partial.stat().st_size > 0 and partial.read_bytes().count(b"\n") >= 64:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()
    done = partial.read_bytes().count(b"\n")
    assert 0 < done < 948
    resumed = subprocess.run(args + ["--resume"], cwd=ROOT, env=script_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"done: 948 sentences ({done} of them from the interrupted run)" in resumed.stderr
    assert out.read_text("utf-8") == reference.read_text("utf-8")
    assert not partial.exists()


@pytest.mark.slow
def test_two_processes_with_accelerate_give_the_single_process_output(chain, tmp_path, many_articles):
    reference = tmp_path / "reference.jsonl"
    assert run_script("predict.py", "--model", chain["model"], "--input", many_articles, "--output", reference).returncode == 0
    out = tmp_path / "sharded.jsonl"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", str(ROOT / "scripts" / "predict.py"), "--model", str(chain["model"]),
           "--input", str(many_articles), "--output", str(out)]
    result = subprocess.run(cmd, cwd=ROOT, env=script_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_text("utf-8") == reference.read_text("utf-8")
    assert not list(tmp_path.glob("sharded.jsonl.shard*"))

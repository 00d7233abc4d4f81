"""Never lose a user's data (issue 18): one test per defect found, in the order of its list.

Each case ends with the correct result, or one `error:` line and exit 2, with the inputs
unchanged (hashed before and after). Commands run through their real `main()` and error
boundary (`run_cli`) in this process where that is enough, and as new processes where the
case is about processes (locks, umask, file-size limits).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, read_jsonl, run_script, script_env
from training.serving.batch_predict import run_fingerprint
from training.errors import InputError
from training.inputs.corpus import decode_bytes, iter_sentences
from training.model.inference import EventClassifier
from training.errors import UserError
from training.io_utils import hub_id_problem, run_cli
from training.outputs import MARKER

SEED_ARTICLE = SEEDS / "000_5f81d87e84ef0dd4.txt"


def cli(capsys, script: str, *args) -> tuple[int, str]:
    """Run scripts/<script>.py as a user would, in the current folder (conftest.run_script); (exit code, stderr)."""
    result = run_script(f"{script}.py", *args, cwd=Path.cwd())
    return result.returncode, result.stderr


@pytest.fixture(autouse=True)
def _log_handlers_outlive_captured_streams():
    """Libraries first imported during a test (torch, transformers) bind their log handlers to that
    test's captured stderr, which closes with it; point them back at the real stderr."""
    yield
    loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for handler in (h for lg in loggers for h in lg.handlers):
        stream = vars(handler).get("stream")  # (a _StderrHandler follows sys.stderr by itself)
        if stream is not None and getattr(stream, "closed", False):
            handler.stream = sys.__stderr__


def one_error_line(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(*paths: Path) -> dict[str, str]:
    """sha256 of every file under the given files and folders."""
    digests = {}
    for root in map(Path, paths):
        for f in sorted([root] if root.is_file() else root.rglob("*")):
            if f.is_file():
                digests[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return digests


@pytest.fixture
def articles(tmp_path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder, ignore=shutil.ignore_patterns("*.jsonl"))
    return folder


@pytest.fixture
def model(chain, tmp_path) -> Path:
    """A private copy of the chain's model that a test may damage."""
    return Path(shutil.copytree(chain["model"], tmp_path / "model"))


# 1. Output folders are replaced wholesale, even when they are the input ------------------

def test_1_build_dataset_output_equal_to_or_inside_its_input_is_refused(capsys, articles):
    before = snapshot(articles)
    for output in (articles, articles / "data"):
        one_error_line(*cli(capsys, "build_dataset", "--input", articles, "--output", output),
                       "the output", "the input")
    assert snapshot(articles) == before and not (articles / "data").exists()


def test_1_train_output_equal_to_its_data_is_refused(capsys, chain, tmp_path):
    data = Path(shutil.copytree(chain["data"], tmp_path / "data"))
    before = snapshot(data)
    one_error_line(*cli(capsys, "train", "--config", ROOT / "configs/tiny.yaml", "--data", data, "--output", data,
                        "--overwrite"), "the output is the input")
    assert snapshot(data) == before


def test_1_evaluate_output_equal_to_its_model_is_refused(capsys, model):
    before = snapshot(model)
    one_error_line(*cli(capsys, "evaluate_model", "--model", model, "--data", SEEDS / "gold.jsonl", "--output", model,
                        "--overwrite"), "the output is the input")
    assert snapshot(model) == before


def test_1_publish_dry_run_into_its_model_is_refused(capsys, model):
    before = snapshot(model)
    one_error_line(*cli(capsys, "publish", "--model", model, "--repo-id", "me/x", "--dry-run", model, "--overwrite"),
                   "the output is the input")
    assert snapshot(model) == before


def test_1_a_regular_file_at_an_output_folder_path_is_left_alone(capsys, tmp_path):
    out = tmp_path / "out"
    out.write_text("my notes")
    one_error_line(*cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", out, "--overwrite"),
                   "a file is there")
    assert out.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_1_existing_outputs_need_overwrite_and_must_be_our_own(capsys, tmp_path):
    out = tmp_path / "out"
    assert cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", out)[0] == 0
    assert json.loads((out / MARKER).read_text())["command"] == "build_dataset"
    one_error_line(*cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", out), "--overwrite")
    (out / "stale.txt").write_text("from the first build")
    assert cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", out, "--overwrite")[0] == 0
    assert not (out / "stale.txt").exists() and (out / "sentences.jsonl").is_file()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    one_error_line(*cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", foreign, "--overwrite"),
                   "not an earlier output of build_dataset")
    assert (foreign / "thesis.tex").read_text() == "years of work"


# 2. One bad UTF-8 byte turned the whole article into Windows-1256 gibberish --------------

@pytest.mark.parametrize("damage", ["stray byte", "cut mid-character"])
def test_2_damaged_utf8_is_an_error_with_its_offset_not_mojibake(capsys, tmp_path, damage):
    data = SEED_ARTICLE.read_bytes()
    if damage == "stray byte":
        offset = data.index(b"\n", 400) + 1
        bad = data[:offset] + b"\xff" + data[offset:]
    else:  # keep only the first byte of the last two-byte Arabic letter
        offset = max(i for i, byte in enumerate(data) if byte >= 0xC0)
        bad = data[:offset + 1]
    path = tmp_path / "a.txt"
    path.write_bytes(bad)
    one_error_line(*cli(capsys, "build_dataset", "--input", path, "--output", tmp_path / "out"),
                   str(path), f"invalid UTF-8 at byte {offset} ", "--encoding")
    assert not (tmp_path / "out").exists()
    sentences = list(iter_sentences(path, encoding="utf-8"))  # asked for: decoded, the bad byte replaced
    assert len(sentences) == len(list(iter_sentences(SEED_ARTICLE)))
    assert "ط¨ط" not in " ".join(s.text for s in sentences) and "العراق" in " ".join(s.text for s in sentences)


def test_2_windows_1256_arabic_still_decodes_and_binary_does_not():
    text = SEED_ARTICLE.read_text("utf-8")
    assert decode_bytes(text.encode("cp1256", errors="ignore"), "x") == text.encode("cp1256", errors="ignore").decode("cp1256")
    with pytest.raises(InputError, match="cannot decode"):
        decode_bytes("Déjà vu au café, crème brûlée".encode("latin-1"), "french.txt")


# 3. A model folder without its tokenizer files loaded silently ---------------------------

def test_3_a_model_folder_without_tokenizer_files_is_refused(capsys, model, tmp_path):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model / name).unlink()
    before = snapshot(model)
    one_error_line(*cli(capsys, "predict", "--model", model, "--input", SEED_ARTICLE, "--output", tmp_path / "p.jsonl"),
                   str(model), "no tokenizer files")
    one_error_line(*cli(capsys, "publish", "--model", model, "--repo-id", "me/x", "--dry-run", tmp_path / "up"),
                   "no tokenizer files")
    assert snapshot(model) == before and not (tmp_path / "p.jsonl").exists() and not (tmp_path / "up").exists()


def test_3_a_tokenizer_of_another_size_is_refused(model):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model / name).unlink()
    (model / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")  # transformers' 5-token stand-in
    with pytest.raises(UserError, match="the tokenizer has .* tokens but the model's embeddings have"):
        EventClassifier.from_pretrained(str(model), device="cpu")


# 4 and 5. Resume accepted another input's partial file; two predicts shared one output -------

def predict_args(model: Path, source: Path, out: Path, *extra) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(model), "--input", str(source),
            "--output", str(out), "--compile", "off", *map(str, extra)]


def test_4_resume_refuses_a_partial_file_from_another_input(capsys, chain, tmp_path, articles):
    out = tmp_path / "p.jsonl"
    assert cli(capsys, "predict", "--model", chain["model"], "--input", articles, "--output", out)[0] == 0
    rows = out.read_text("utf-8").splitlines(keepends=True)
    classifier = EventClassifier.from_pretrained(str(chain["model"]), device="cpu")
    options = {"presplit": False, "min_words": 3, "encoding": "auto", "csv": False}
    partial = tmp_path / "q.jsonl.partial"  # an interrupted run over the seeds, 32 rows in
    partial.write_text("".join(rows[:32]), encoding="utf-8")
    Path(f"{partial}.json").write_text(json.dumps(run_fingerprint(classifier, str(articles), options, resume=True)))
    other = tmp_path / "other.txt"
    other.write_text("قتل ثلاثة جنود في هجوم على قاعدة عسكرية.\n", encoding="utf-8")
    before = snapshot(partial)
    code, err = cli(capsys, "predict", "--model", chain["model"], "--input", other, "--output", tmp_path / "q.jsonl",
                    "--resume")
    one_error_line(code, err, "was written by another run", "input")
    assert snapshot(partial) == before
    # The same input resumes, and the summary counts every row, the 32 earlier ones included.
    code, err = cli(capsys, "predict", "--model", chain["model"], "--input", articles, "--output",
                    tmp_path / "q.jsonl", "--resume")
    assert code == 0, err
    assert (tmp_path / "q.jsonl").read_text("utf-8") == out.read_text("utf-8")
    assert not partial.exists() and not Path(f"{partial}.json").exists()


@pytest.mark.slow
def test_5_a_second_predict_on_a_live_output_fails_at_once(chain, tmp_path):
    many = tmp_path / "many.jsonl"
    text = SEED_ARTICLE.read_text("utf-8")
    many.write_text("".join(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n" for i in range(400)))
    out, partial = tmp_path / "p.jsonl", tmp_path / "p.jsonl.partial"
    first = subprocess.Popen(predict_args(chain["model"], many, out, "--chunk-size", "4", "--batch-size", "1"),
                             cwd=ROOT, env=script_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and first.poll() is None and not (partial.exists() and partial.stat().st_size):
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second could start"
    for extra in ((), ("--resume",)):
        second = subprocess.run(predict_args(chain["model"], many, out, *extra), cwd=ROOT, env=script_env(),
                                capture_output=True, text=True)
        assert_one_line_error(second, "another predict run is writing this output now")
        assert "--resume" not in [l for l in second.stderr.splitlines() if l.startswith("error:")][0]
    assert first.poll() is None, "the first run must still be writing for this test to mean anything"
    first.send_signal(signal.SIGKILL)
    first.wait()
    rows = [(r["doc_id"], r["sent_id"]) for r in read_jsonl(partial)]  # only the first run's rows, in input order
    assert rows == [s for s in ((s.doc_id, s.sent_id) for s in iter_sentences(many))][: len(rows)] and rows


# 6. Tracebacks instead of one error line ------------------------------------------------

@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps", "banana"])
def test_6_an_unavailable_device_is_one_line(capsys, chain, tmp_path, device):
    import torch

    if device.startswith("cuda") and torch.cuda.device_count() > int(device.partition(":")[2] or 0):
        pytest.skip(f"{device} exists on this machine")
    code, err = cli(capsys, "predict", "--model", chain["model"], "--input", SEED_ARTICLE,
                    "--output", tmp_path / "p.jsonl", "--device", device)
    one_error_line(code, err, f"--device {device}" if device != "banana" else "'banana'")
    assert not list(tmp_path.iterdir())


def _limited_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))


def test_6_a_full_disk_is_one_line_and_no_half_written_output(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_dataset.py"), "--input", str(SEEDS),
                             "--output", str(out)], cwd=ROOT, env=script_env(), capture_output=True, text=True,
                            preexec_fn=_limited_file_size)
    assert_one_line_error(result, "too large")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_6_a_read_only_output_folder_is_one_line(capsys, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    one_error_line(*cli(capsys, "build_dataset", "--input", SEED_ARTICLE, "--output", tmp_path / "ro" / "out"),
                   "permission denied")


def test_6_an_unreadable_file_in_an_input_folder_is_one_line(capsys, articles, tmp_path):
    (articles / "zz_unreadable.txt").symlink_to("/proc/self/mem")  # reading it fails, even for root
    one_error_line(*cli(capsys, "build_dataset", "--input", articles, "--output", tmp_path / "out"),
                   "zz_unreadable.txt", "cannot read")
    assert not (tmp_path / "out").exists()


def test_6_truncated_weights_are_one_line(capsys, model, tmp_path):
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    one_error_line(*cli(capsys, "evaluate_model", "--model", model, "--data", SEEDS / "gold.jsonl", "--output",
                        tmp_path / "eval"), "model.safetensors", "weights")


def test_6_a_non_numeric_threshold_is_one_line(capsys, model, tmp_path):
    config = json.loads((model / "config.json").read_text())
    config["thresholds"]["attack"] = "high"
    (model / "config.json").write_text(json.dumps(config))
    one_error_line(*cli(capsys, "predict", "--model", model, "--input", SEED_ARTICLE, "--output", tmp_path / "p.jsonl"),
                   "config.json", "threshold of 'attack' is 'high'")


def test_6_a_corrupted_dataset_is_one_line(capsys, chain, tmp_path):
    data = Path(shutil.copytree(chain["data"], tmp_path / "data"))
    (data / "dataset" / "dataset_dict.json").write_text("{ not json")
    one_error_line(*cli(capsys, "train", "--config", ROOT / "configs/tiny.yaml", "--data", data, "--output",
                        tmp_path / "m"), "dataset", "rebuild it")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("override,message", [("--model.tiny_heads=0", "model.tiny_heads must be >= 1"),
                                              ("--training.seed=-1", "training.seed must be in"),
                                              ("--training.logging_steps=0", "training.logging_steps must be >= 1"),
                                              ("--training.learning_rate=.inf", "must be a finite number")])
def test_6_out_of_range_config_values_are_one_line(capsys, chain, tmp_path, override, message):
    one_error_line(*cli(capsys, "train", "--config", ROOT / "configs/tiny.yaml", "--data", chain["data"],
                        "--output", tmp_path / "m", override), message)


def test_6_evaluate_into_the_current_folder_is_one_line(capsys, chain, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    one_error_line(*cli(capsys, "evaluate_model", "--model", chain["model"], "--data", SEEDS / "gold.jsonl", "--output", "."),
                   "already exists")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# 7. Silently skipped or misleading -------------------------------------------------------

def test_7_symlinked_subfolders_are_read(tmp_path, articles):
    root = tmp_path / "root"
    (root / "own").mkdir(parents=True)
    shutil.copy(SEED_ARTICLE, root / "own" / "a.txt")
    (root / "linked").symlink_to(articles, target_is_directory=True)
    (root / "own" / "loop").symlink_to(root, target_is_directory=True)  # a cycle must not loop
    docs = {s.doc_id for s in iter_sentences(root)}
    assert docs == {"own/a.txt"} | {f"linked/{p.name}" for p in articles.glob("*.txt")}


def test_7_an_unpunctuated_5mb_article_is_cut_into_pieces_with_a_warning(tmp_path, caplog):
    path = tmp_path / "wall.txt"
    path.write_text(" ".join(["كلمة"] * 1_000_000), encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    sentences = list(iter_sentences(path))
    assert len(sentences) == 10_000 and max(len(s.text.split()) for s in sentences) == 100
    assert "without sentence punctuation" in caplog.text and "wall.txt" in caplog.text


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_7_utf16_without_bom_is_decoded(tmp_path, codec):
    text = SEED_ARTICLE.read_text("utf-8")
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode(codec))
    assert [s.text for s in iter_sentences(path)] == [s.text for s in iter_sentences(SEED_ARTICLE)]


def test_7_hub_ids_the_hub_rejects_fail_the_dry_run(capsys, chain, tmp_path):
    for bad in ("a--b/c", "a/b.git", "a/b..c", "-a/b", "a/b/c"):
        assert hub_id_problem(bad), bad
        one_error_line(*cli(capsys, "publish", "--model", chain["model"], f"--repo-id={bad}", "--dry-run",
                            tmp_path / "up"), bad)
    assert hub_id_problem("aubmindlab/bert-base-arabertv02") is None and not (tmp_path / "up").exists()


def test_7_publish_errors_name_the_model_folder_not_a_vanished_temp_folder(model, tmp_path):
    config = json.loads((model / "config.json").read_text())
    config["intermediate_size"] += 8  # the weights no longer fit the architecture
    (model / "config.json").write_text(json.dumps(config))
    result = run_script("publish.py", "--model", model, "--repo-id", "me/x", "--dry-run", tmp_path / "up")
    assert_one_line_error(result, str(model), "does not load")
    assert ".tmp" not in result.stderr.splitlines()[-1] and not (tmp_path / "up").exists()


def test_7_a_label_without_gold_positives_is_left_out_of_macro_f1(chain, tmp_path):
    from training.analysis.evaluation import evaluate_model

    gold = [r for r in read_jsonl(SEEDS / "gold.jsonl") if "withdrawal_talks" not in r["labels"]]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in gold), encoding="utf-8")
    results = evaluate_model(str(chain["model"]), str(path), str(tmp_path / "eval"))
    for system in ("model", "rules"):
        r = results[system]
        assert r["labels_without_gold"] == ["withdrawal_talks"]
        assert r["macro_f1"] == pytest.approx((r["per_label"]["attack"]["f1"] + r["per_label"]["casualty"]["f1"]) / 2)
    assert "left out of macro F1" in (tmp_path / "eval" / "report.md").read_text()


def test_7_a_diverging_run_stops_and_keeps_no_model(capsys, chain, tmp_path):
    code, err = cli(capsys, "train", "--config", ROOT / "configs/tiny.yaml", "--data", chain["data"], "--output",
                    tmp_path / "m", "--training.learning_rate=1e30", "--training.max_steps=4",
                    "--training.logging_steps=1")
    one_error_line(code, err, "became nan", "learning_rate")
    assert not (tmp_path / "m").exists()


def test_7_articles_sharing_an_id_are_warned_about_and_numbered_on(tmp_path, caplog):
    path = tmp_path / "a.jsonl"
    text = SEED_ARTICLE.read_text("utf-8")
    path.write_text("".join(json.dumps({"id": "same", "text": text}, ensure_ascii=False) + "\n" for _ in range(5)))
    sentences = list(iter_sentences(path))
    assert len({(s.doc_id, s.sent_id) for s in sentences}) == len(sentences) == 5 * len(list(iter_sentences(SEED_ARTICLE)))
    assert "4 articles reuse the id of an earlier article" in caplog.text


def test_7_outputs_follow_the_umask(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_dataset.py"), "--input", str(SEED_ARTICLE),
                             "--output", str(out)], cwd=ROOT, env=script_env(), capture_output=True, text=True,
                            preexec_fn=lambda: os.umask(0o027))
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.stat().st_mode & 0o777 == 0o750
    assert {f.stat().st_mode & 0o777 for f in out.rglob("*") if f.is_file()} == {0o640}


# Every failure: one line. A bug is one line too, with its traceback kept in a log -----------

def test_an_internal_error_is_one_line_with_the_path_of_its_traceback(capsys):
    def main(argv):
        raise KeyError("a bug")

    with pytest.raises(SystemExit) as exited:
        run_cli(main, [])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert exited.value.code == 1 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: internal error (KeyError: 'a bug')")
    log = Path(lines[0].split("the traceback is in ")[1].split(";")[0])
    assert "Traceback" in log.read_text() and "raise KeyError" in log.read_text()
    log.unlink()

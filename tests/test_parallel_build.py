"""build_dataset on several cores, shards and processes: the same bytes as a one-process build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, run_script, script_env
from training.data.build_workers import CHUNK_ARTICLES
from training.config import load_config
from training.errors import UserError
from training.data.dataset import build_dataset, build_shard, merge_dataset


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a build output (the marker aside), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """300 articles (three chunks of 128 and a partial one): the seeds under many ids, some reused."""
    texts = [p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    path = tmp_path_factory.mktemp("corpus") / "articles.jsonl"
    rows = [{"id": f"doc{i % 290}", "text": texts[i % len(texts)]} for i in range(3 * CHUNK_ARTICLES + 16)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    build_dataset(str(corpus), str(out), load_config(), workers=1)
    return out


def test_two_workers_write_the_same_bytes_as_one(corpus, reference, tmp_path):
    build_dataset(str(corpus), str(tmp_path / "out"), load_config(), workers=2)
    assert tree(tmp_path / "out") == tree(reference)


def test_shards_merged_in_order_give_the_same_dataset(corpus, reference, tmp_path):
    config = load_config()
    shards = [tmp_path / "shard0", tmp_path / "shard1", tmp_path / "shard2"]
    for k, folder in enumerate(shards):
        build_shard(str(corpus), str(folder), config, (k, len(shards)))
    merge_dataset([str(f) for f in shards], str(tmp_path / "out"), config)
    assert tree(tmp_path / "out") == tree(reference)
    assert all(f.is_dir() for f in shards)  # a merge never deletes its inputs
    # Hand labels kept inside that output are an input of the next merge: --overwrite may not replace it.
    labels = tmp_path / "out" / "my_labels.jsonl"
    labels.write_text(json.dumps({"text": "قتل ثلاثة جنود في هجوم.", "labels": ["casualty"]}, ensure_ascii=False) + "\n",
                      "utf-8")
    with_labels = load_config(None, [f"--data.gold_files=[{labels}]"])
    with pytest.raises(UserError, match="contains the input"):
        merge_dataset([str(f) for f in shards], str(tmp_path / "out"), with_labels, overwrite=True)
    assert labels.is_file()


def test_merge_refuses_shards_out_of_order_or_missing(corpus, tmp_path):
    config = load_config()
    for k in range(2):
        build_shard(str(corpus), str(tmp_path / f"s{k}"), config, (k, 2))
    result = run_script("build_dataset.py", "--merge", tmp_path / "s1", tmp_path / "s0", "--output", tmp_path / "out")
    assert_one_line_error(result, "not shard 0/2")
    result = run_script("build_dataset.py", "--merge", tmp_path / "s0", "--output", tmp_path / "out")
    assert_one_line_error(result, "not shard 0/1")
    assert not (tmp_path / "out").exists()


def test_shard_and_workers_arguments_are_checked(tmp_path):
    for args, message in ((["--shard", "2/2"], "--shard '2/2'"), (["--workers", "0"], "--workers must be >= 1"),
                          (["--merge", tmp_path], "not both")):
        result = run_script("build_dataset.py", "--input", SEEDS, "--output", tmp_path / "out", *args)
        assert_one_line_error(result, message)


@pytest.mark.slow
def test_two_processes_under_accelerate_give_the_one_process_dataset(corpus, reference, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "scripts" / "build_dataset.py"),
           "--input", str(corpus), "--output", str(out), "--workers", "1"]
    result = subprocess.run(cmd, cwd=ROOT, env=script_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(reference)
    assert not (tmp_path / "out.shards").exists()


def test_a_shard_left_by_an_earlier_failed_run_is_never_merged(corpus, tmp_path):
    from training.data.dataset import build_across_processes
    from training.errors import UserError

    out, config = tmp_path / "out", load_config()
    stale = tmp_path / "out.shards" / "1"
    stale.parent.mkdir()
    build_shard(str(corpus), str(stale), config, (1, 2))  # complete, from "an earlier run"
    with pytest.raises(UserError, match="left by an earlier build"):
        build_across_processes(str(corpus), str(out), config, rank=1, world_size=2)
    with pytest.raises(UserError, match="shard 1 failed .*left by an earlier build"):
        build_across_processes(str(corpus), str(out), config, rank=0, world_size=2, poll_seconds=0.05)
    assert not out.exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_build_imports_neither_torch_nor_transformers(tmp_path, workers):
    # Start-up: labeling needs neither, and importing them costs seconds. In a new process, since
    # this one has them loaded already.
    code = ("import sys, runpy; sys.argv = ['build_dataset.py'] + sys.argv[1:]\n"
            "try:\n    runpy.run_path('scripts/build_dataset.py', run_name='__main__')\n"
            "except SystemExit as end:\n    assert not end.code, end.code\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, "--input", str(SEEDS), "--output", str(tmp_path / "out"),
                             "--workers", str(workers)], cwd=ROOT, env=script_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "dataset").is_dir()


@pytest.mark.slow
def test_the_text_benchmark_prints_its_table(corpus):
    result = subprocess.run([sys.executable, "scripts/benchmark_text.py", "--corpus", str(corpus), "--limit", "200",
                             "--repeats", "1"], cwd=ROOT, env=script_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("200 articles,")
    for stage in ("cut JSON lines into chunks", "whole build_dataset command, --workers 1", "floor: bare regex split"):
        assert any(line.startswith(stage) for line in lines), stage
    assert any(line.startswith("--workers ") and "x (best against best" in line for line in lines)

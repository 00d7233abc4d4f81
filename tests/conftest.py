"""Shared fixtures: one offline chain (build dataset + train the tiny model) reused by many tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.inputs.gold import CORPUS_ENV

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
# The ANT corpus beside the checkout (../shared/data), unless EVENTS_NEWS_CORPUS names it; set for
# the library too, which needs it to rebuild seeds/gold_news.jsonl. Tests that need it skip without it.
NEWS_CORPUS = Path(os.environ.setdefault(CORPUS_ENV, str(ROOT.parent / "shared" / "data" / "ant_news_politics.jsonl.gz")))
requires_corpus = pytest.mark.skipif(not NEWS_CORPUS.is_file(), reason=f"ANT corpus not found at {NEWS_CORPUS}")


def script_env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env.pop("HF_TOKEN", None)
    return env


def run_script(name: str, *args: str, input: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run one of the five commands as a user would (a new Python process, offline)."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *map(str, args)], cwd=ROOT, env=script_env(),
                          capture_output=True, text=True, input=input, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A user error: non-zero exit, no traceback, one 'error:' line naming the problem."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def chain(tmp_path_factory) -> dict[str, Path]:
    """build_dataset on the seeds, then train the tiny model: the scripts, run for real."""
    out = tmp_path_factory.mktemp("chain")
    data, model = out / "data", out / "model"
    built = run_script("build_dataset.py", "--input", SEEDS, "--output", data, "--gold", SEEDS / "gold.jsonl")
    assert built.returncode == 0, built.stderr[-3000:]
    trained = run_script("train.py", "--config", ROOT / "configs" / "tiny.yaml", "--data", data, "--output", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    return {"root": out, "data": data, "model": model}


def interrupt_at_first_checkpoint(args: list[str], run_dir: Path) -> tuple[int, str]:
    """Start a training command, press Ctrl-C once its first checkpoint is in `run_dir`, and
    return (exit code, output)."""
    proc = subprocess.Popen(args, cwd=ROOT, env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not list(run_dir.glob("checkpoint-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    return proc.returncode, output

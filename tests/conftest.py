"""Shared fixtures and helpers: the commands run as a user runs them, and one offline chain
(build the dataset, train the tiny model) that many tests reuse."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# What every test runs under, as CI does: offline, no Hub token, no tokenizer thread pools. Set
# before anything imports huggingface_hub, which reads them once.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
os.environ.update(OFFLINE_ENV)
os.environ.pop("HF_TOKEN", None)

from training.inputs.gold import CORPUS_ENV

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
# The ANT corpus beside the checkout (../shared/data), unless EVENTS_NEWS_CORPUS names it; set for
# the library too, which needs it to rebuild seeds/gold_news.jsonl. Tests that need it skip without it.
NEWS_CORPUS = Path(os.environ.setdefault(CORPUS_ENV, str(ROOT.parent / "shared" / "data" / "ant_news_politics.jsonl.gz")))
requires_corpus = pytest.mark.skipif(not NEWS_CORPUS.is_file(), reason=f"ANT corpus not found at {NEWS_CORPUS}")


def script_env() -> dict:
    env = dict(os.environ, **OFFLINE_ENV)
    env.pop("HF_TOKEN", None)
    return env


def run_script(name: str, *args: str, input: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run one of the commands as a user would and return its exit code, stdout and stderr.

    Its `main()` runs in this process, through the same CLI boundary (`run_cli`) and with scripts/
    first on the path, as `python scripts/NAME` has it: a new process per call would import torch
    and transformers again, for seconds. Tests of what only a process shows (signals, several
    processes) start one themselves, with `script_env()`."""
    return _run_in_process(name, [str(a) for a in args], input, cwd)


def _run_in_process(name: str, argv: list[str], input: str | None, cwd: Path) -> subprocess.CompletedProcess:
    from training.io_utils import run_cli

    spec = importlib.util.spec_from_file_location(f"script_{name[:-3]}", ROOT / "scripts" / name)
    module = importlib.util.module_from_spec(spec)
    out, err, saved_stdin, previous_cwd = io.StringIO(), io.StringIO(), sys.stdin, os.getcwd()
    handlers, level = list(logging.root.handlers), logging.root.level
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        os.chdir(cwd)
        logging.root.handlers[:] = []  # as in a new process: the script's setup_logging installs its own
        sys.stdin = io.StringIO(input or "")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            spec.loader.exec_module(module)
            try:
                run_cli(module.main, argv)
                code = 0
            except SystemExit as exited:
                code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
        sys.stdin = saved_stdin
        os.chdir(previous_cwd)
        logging.root.handlers[:] = handlers  # setup_logging's handler writes to the closed capture
        logging.root.setLevel(level)
    return subprocess.CompletedProcess([name, *argv], code, out.getvalue(), err.getvalue())


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
    # The demo's config, 2 epochs instead of 40: tests need a trained model folder, not a good one.
    trained = run_script("train.py", "--config", ROOT / "configs" / "tiny.yaml", "--data", data, "--output", model,
                         "--training.num_train_epochs=2")
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

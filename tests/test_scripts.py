"""The five commands (and the helpers) as a user meets them: --help, and the demo's chain."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl, run_script

# every script, the ones added later included (a leading "_" marks a helper module, not a command)
SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_has_help(name):
    result = run_script(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and len(result.stdout.splitlines()) > 3


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_script_shadows_a_module_or_edits_the_path(name):
    # Python puts scripts/ first on the path: a script named like a library (evaluate.py did)
    # would be imported in its place, and the cure of editing sys.path is worse.
    stem = name.removesuffix(".py")
    shadowed = importlib.util.find_spec(stem)
    assert shadowed is None or Path(shadowed.origin).parent == ROOT / "scripts", f"{name} shadows {shadowed.origin}"
    assert "sys.path" not in (ROOT / "scripts" / name).read_text("utf-8")


def test_unknown_config_key_is_one_line(chain, tmp_path):
    result = run_script("train.py", "--config", ROOT / "configs" / "tiny.yaml", "--data", chain["data"],
                        "--output", tmp_path / "m", "--training.learning_rat=0.1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown key(s) training.learning_rat" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_whole_chain_rows_match(chain, tmp_path):
    """build -> train -> evaluate -> predict -> publish (dry run) on the seeds with the tiny config."""
    assert run_script("evaluate_model.py", "--model", chain["model"], "--data", ROOT / "seeds" / "gold.jsonl",
                      "--output", tmp_path / "eval").returncode == 0
    assert run_script("predict.py", "--model", chain["model"], "--input", ROOT / "seeds",
                      "--output", tmp_path / "p.jsonl").returncode == 0
    assert run_script("publish.py", "--model", chain["model"], "--repo-id", "me/m", "--dry-run",
                      tmp_path / "up").returncode == 0
    assert len(read_jsonl(tmp_path / "p.jsonl")) == len(read_jsonl(chain["data"] / "sentences.jsonl"))

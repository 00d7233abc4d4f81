"""publish.py: a real dry run, and the Hub calls checked with HfApi mocked (the network boundary)."""

from __future__ import annotations

import shutil
from pathlib import Path
from unittest import mock

import pytest

from conftest import assert_one_line_error, run_script
from training.errors import UserError
from training.hub.model_card import validate_card
from training.hub.publish import dry_run, publish

EXPECTED = {"README.md", "config.json", "gold_eval.json", "lf_report.json", "lf_report.md", "metrics.json",
            "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training_config.yaml"}


@pytest.fixture()
def messy_model(chain, tmp_path):
    """The trained folder plus what a training run can leave behind, which must never be uploaded."""
    folder = tmp_path / "model"
    shutil.copytree(chain["model"], folder)
    (folder / "checkpoint-4").mkdir()
    (folder / "checkpoint-4" / "optimizer.pt").write_bytes(b"x")
    for junk in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", "training_args.bin"):
        (folder / junk).write_bytes(b"x")
    return folder


def test_dry_run_writes_exactly_the_upload_set_and_it_loads(messy_model, tmp_path):
    out = tmp_path / "upload"
    result = run_script("publish.py", "--model", messy_model, "--repo-id", "someone/arabic-events", "--dry-run", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == EXPECTED
    card = (out / "README.md").read_text("utf-8")
    assert 'model="someone/arabic-events"' in card and "# arabic-events" in card
    validate_card(out / "README.md")


def test_upload_is_one_commit_of_the_upload_set(messy_model):
    api = mock.Mock()
    uploaded = {}

    def upload_folder(**kwargs):
        uploaded["files"] = {p.name for p in Path(kwargs["folder_path"]).iterdir()}
        return mock.Mock(commit_url="https://hub/commit/1")

    api.upload_folder.side_effect = upload_folder
    url = publish(str(messy_model), "someone/arabic-events", private=True, revision="v1", commit_message="first",
                  api=api)
    assert url == "https://hub/commit/1"
    api.create_repo.assert_called_once_with(repo_id="someone/arabic-events", repo_type="model", private=True, exist_ok=True)
    api.create_branch.assert_called_once_with(repo_id="someone/arabic-events", branch="v1", exist_ok=True)
    assert api.upload_folder.call_count == 1
    kwargs = api.upload_folder.call_args.kwargs
    assert kwargs["revision"] == "v1" and kwargs["commit_message"] == "first" and kwargs["create_pr"] is False
    assert uploaded["files"] == EXPECTED


def test_pull_request_mode_creates_no_branch(messy_model):
    api = mock.Mock()
    publish(str(messy_model), "someone/arabic-events", create_pr=True, api=api)
    api.create_branch.assert_not_called()
    assert api.upload_folder.call_args.kwargs["create_pr"] is True


def test_hub_errors_become_one_line(messy_model):
    api = mock.Mock()
    denied = Exception("403 Forbidden")
    denied.response = mock.Mock(status_code=403)
    api.upload_folder.side_effect = denied
    with pytest.raises(UserError, match="no write access to someone/x"):
        publish(str(messy_model), "someone/x", api=api)
    api.create_repo.side_effect = ConnectionError("Name or service not known")
    with pytest.raises(UserError, match="cannot reach the Hugging Face Hub.*nothing was uploaded"):
        publish(str(messy_model), "someone/x", api=api)


def test_wrong_repo_id_and_missing_token(chain, tmp_path):
    assert_one_line_error(run_script("publish.py", "--model", chain["model"], "--repo-id", "no-owner",
                                     "--dry-run", tmp_path / "u"), "OWNER/NAME")
    assert not (tmp_path / "u").exists()
    assert_one_line_error(run_script("publish.py", "--model", chain["model"], "--repo-id", "someone/x"), "no Hugging Face token")


def test_not_a_model_folder(tmp_path):
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(UserError, match="not a model folder"):
        dry_run(str(tmp_path / "not_a_model"), str(tmp_path / "out"), "someone/x")

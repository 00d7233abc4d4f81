"""The review loop against a real Label Studio server (SQLite in a temp folder, a user and token
made here): export into a project, annotate through the API, import the verdicts as gold.

Label Studio runs from its own environment (it pins numpy and pyarrow versions that the
training environment need not share): $LABEL_STUDIO_BIN, else .venv-labelstudio/ (what .ci/run
makes), else `label-studio` on the PATH. Without one the test skips and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT, SEEDS, assert_one_line_error, read_jsonl, run_script

TOKEN = "review-loop-test-token-0123456789"


def label_studio_bin() -> str | None:
    for candidate in (os.environ.get("LABEL_STUDIO_BIN"), ROOT / ".venv-labelstudio" / "bin" / "label-studio",
                      shutil.which("label-studio")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    binary = label_studio_bin()
    if binary is None:
        pytest.skip("Label Studio is not installed: python -m venv .venv-labelstudio && "
                    ".venv-labelstudio/bin/pip install label-studio (or set LABEL_STUDIO_BIN)")
    home = tmp_path_factory.mktemp("label_studio")
    port = free_port()
    env = dict(os.environ, HOME=str(home), LABEL_STUDIO_BASE_DATA_DIR=str(home / "data"), DJANGO_DB="sqlite",
               LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
               LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="false", COLLECT_ANALYTICS="false")
    log = (home / "server.log").open("w")
    proc = subprocess.Popen([binary, "start", "--no-browser", "--host", "localhost", "--internal-host", "127.0.0.1", "--port", str(port),
                             "--data-dir", str(home / "data"), "-db", str(home / "ls.sqlite3"),
                             "--username", "analyst@example.com", "--password", "review-loop-pw",
                             "--user-token", TOKEN, "--enable-legacy-api-token"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/api/projects", headers={"Authorization": f"Token {TOKEN}"}, timeout=5).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(1)
    else:
        proc.kill()
        pytest.skip(f"Label Studio did not start: {(home / 'server.log').read_text()[-800:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def annotate(url: str, project: int, choices_by_text: dict[str, list[str]]) -> None:
    headers = {"Authorization": f"Token {TOKEN}"}
    tasks = requests.get(f"{url}/api/tasks", params={"project": project, "page_size": 1000}, headers=headers,
                         timeout=30).json()
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    for task in tasks:
        choices = choices_by_text.get(task["data"]["text"])
        if choices is None:
            continue
        result = [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": choices}}]
        answer = requests.post(f"{url}/api/tasks/{task['id']}/annotations", json={"result": result},
                               headers=headers, timeout=30)
        assert answer.ok, answer.text


@pytest.mark.slow
def test_review_loop_through_a_running_label_studio(server, chain, tmp_path):
    preds = tmp_path / "preds.jsonl"
    assert run_script("predict.py", "--model", chain["model"], "--input", SEEDS, "--output", preds,
                      "--no-disagreements").returncode == 0
    project = "events review (test)"
    result = run_script("review.py", "export", "--input", preds, "--output", tmp_path / "tasks.json", "--select",
                        "random", "--n", "12", "--url", server, "--api-key", TOKEN, "--project", project)
    assert result.returncode == 0, result.stderr[-3000:]
    headers = {"Authorization": f"Token {TOKEN}"}
    found = requests.get(f"{server}/api/projects", params={"title": project}, headers=headers, timeout=30).json()
    project_id = next(p["id"] for p in found["results"] if p["title"] == project)
    config = requests.get(f"{server}/api/projects/{project_id}", headers=headers, timeout=30).json()
    assert 'name="labels"' in config["label_config"] and "هجوم" in config["expert_instruction"]

    tasks = json.loads((tmp_path / "tasks.json").read_text("utf-8"))
    verdicts = {t["data"]["text"]: labels for t, labels in zip(
        tasks[:5], [["attack", "casualty"], ["none"], ["withdrawal_talks"], ["attack"], ["casualty"]])}
    annotate(server, project_id, verdicts)
    gold = tmp_path / "gold.jsonl"
    pulled = run_script("review.py", "import", "--url", server, "--api-key", TOKEN, "--project", project,
                        "--output", gold)
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    assert "7 of 12 tasks have no annotation" in pulled.stderr
    rows = {r["text"]: r for r in read_jsonl(gold)}
    assert {text: rows[text]["labels"] for text in verdicts} == {
        text: [] if labels == ["none"] else labels for text, labels in verdicts.items()}
    assert all(any("\u0600" <= c <= "\u06ff" for c in text) for text in rows)  # Arabic survived the round trip
    assert {r["doc_id"] for r in rows.values()} <= {p["doc_id"] for p in read_jsonl(preds)}

    export = requests.get(f"{server}/api/projects/{project_id}/export", params={"exportType": "JSON"},
                          headers=headers, timeout=60)
    (tmp_path / "export.json").write_bytes(export.content)
    from_file = tmp_path / "gold_from_file.jsonl"
    assert run_script("review.py", "import", "--input", tmp_path / "export.json", "--output", from_file).returncode == 0
    assert read_jsonl(from_file) == read_jsonl(gold)


@pytest.mark.slow
def test_a_wrong_token_or_project_gets_one_line(server, chain, tmp_path):
    result = run_script("review.py", "import", "--url", server, "--api-key", "not-the-token", "--project", "x",
                        "--output", tmp_path / "gold.jsonl")
    assert_one_line_error(result, "refused the API key")
    result = run_script("review.py", "import", "--url", server, "--api-key", TOKEN, "--project", "no such project",
                        "--output", tmp_path / "gold.jsonl")
    assert_one_line_error(result, "no Label Studio project named 'no such project'")
    assert not (tmp_path / "gold.jsonl").exists()

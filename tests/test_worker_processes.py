"""Worker processes: answers in order, errors and deaths reported, never a hang."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

import pytest

import training.data.build_workers as build_workers
from training.config import load_config
from training.data.dataset import build_dataset
from training.data.worker_processes import RemoteTraceback, WorkerDied, WorkerProcess

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def echo_size(payload: bytes) -> tuple[int, bytes]:
    return len(payload), payload


def fail(message: str) -> None:
    raise ValueError(message)


def kill_myself(*_) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def label_or_die(index, articles, settings):
    """label_chunk, except that the second chunk's worker is killed (as the OOM killer would)."""
    if index == 1:
        kill_myself()
    return build_workers.label_chunk_unpatched(index, articles, settings)


@pytest.fixture
def worker():
    process = WorkerProcess(multiprocessing.get_context("fork"), "test worker")
    yield process
    process.stop()


def within(seconds: float, fn):
    """fn()'s result (or its exception), or a test failure if it does not return in time (a hang)."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as err:  # noqa: BLE001 - raised again in the test's thread
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer within {seconds} s: a hang"
    if "error" in box:
        raise box["error"]
    return box["result"]


def test_answers_come_in_order_and_large_messages_both_ways_do_not_deadlock(worker):
    # Four 8 MiB tasks sent before any result is read: without the worker's reading thread, the
    # worker blocks sending the first answer while this process blocks sending the second task.
    payloads = [bytes([k]) * (8 << 20) for k in range(4)]

    def exchange():
        numbers = [worker.send(echo_size, p) for p in payloads]
        return numbers, [worker.receive() for _ in payloads]

    numbers, answers = within(30, exchange)
    assert numbers == [0, 1, 2, 3]
    assert answers == [(len(p), p) for p in payloads]
    assert worker.unanswered == 0


def test_an_exception_in_the_worker_is_raised_here_with_its_traceback(worker):
    worker.send(fail, "bad chunk")
    with pytest.raises(ValueError, match="bad chunk") as info:
        worker.receive()
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "in fail" in str(info.value.__cause__)
    worker.send(echo_size, b"abc")  # the worker lives on
    assert worker.receive() == (3, b"abc")


def test_a_killed_worker_is_an_error_naming_the_signal_not_a_hang(worker):
    worker.send(kill_myself)
    with pytest.raises(WorkerDied, match="test worker was killed by signal 9 \\(out of memory\\?\\)"):
        within(30, worker.receive)


def test_a_build_whose_worker_is_killed_stops_with_an_error_and_writes_nothing(tmp_path, monkeypatch):
    corpus = tmp_path / "articles.jsonl"
    corpus.write_text("".join(f'{{"id": "d{i}", "text": "هاجم مسلحون قاعدة عسكرية في المدينة اليوم."}}\n'
                              for i in range(3 * build_workers.CHUNK_ARTICLES)), encoding="utf-8")
    # Forked workers inherit the patched module; the function travels by name, so it must be one
    # the workers can import (this module's).
    monkeypatch.setattr(build_workers, "label_chunk_unpatched", build_workers.label_chunk, raising=False)
    monkeypatch.setattr(build_workers, "label_chunk", label_or_die)
    with pytest.raises(WorkerDied, match="labeling worker 2 of 2 was killed by signal 9"):
        within(120, lambda: build_dataset(str(corpus), str(tmp_path / "out"), load_config(), workers=2))
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles.jsonl"]  # no temp folder left either


def test_workers_stop_cleanly_even_when_a_later_worker_holds_a_copy_of_their_pipe():
    context = multiprocessing.get_context("fork")
    first, second = WorkerProcess(context, "first"), WorkerProcess(context, "second")  # second inherits first's end
    first.send(echo_size, b"x")
    assert first.receive() == (1, b"x")
    first.stop()
    second.stop()
    assert (first._process.exitcode, second._process.exitcode) == (0, 0)  # exited, not terminated (-15)

"""Worker processes that run the functions sent to them, in order, and die loudly.

Why not `multiprocessing.Pool`: when one of its workers is killed (the kernel's out-of-memory
killer, a user's `kill`), the task it held is lost and the build waits for it forever. Here each
worker has its own pipe, so its death is an end-of-file on that pipe and an error naming the exit
signal. It is also lighter: the parent runs no threads (Pool runs three, one of which spins
while results wait to be read; 0.3-0.5 s of a 2-core build's CPU).

Each worker answers in the order it was asked, so a caller that deals tasks round-robin reads
the results back in input order without any bookkeeping.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import traceback
from dataclasses import dataclass, field
from typing import Callable

from training.errors import UserError


class WorkerDied(UserError):
    """A worker process ended without answering (killed, or out of memory)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (shown as the cause of the re-raised one)."""

    def __str__(self) -> str:
        return self.args[0]


def _serve(conn, initializer: Callable[[], None] | None) -> None:
    """A worker's main loop: run each (fn, args) received and send back (ok, result or exception)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends the workers
    if initializer is not None:
        initializer()
    tasks: queue.SimpleQueue = queue.SimpleQueue()

    # Tasks are read on a thread of their own so that the pipe always drains: the parent may be
    # sending the next task while this process waits to send a result, and with both pipes full
    # each would wait on the other for ever.
    def read_tasks() -> None:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):  # the parent closed the pipe or died
                task = None
            tasks.put(task)
            if task is None:
                return

    threading.Thread(target=read_tasks, daemon=True).start()
    while (task := tasks.get()) is not None:
        fn, args = task
        try:
            answer = (True, fn(*args))
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the parent
            answer = (False, _portable(err))
        try:
            conn.send(answer)
        except OSError:  # the parent has gone or stopped listening: nothing is waiting for the answer
            return


def _portable(err: BaseException) -> tuple[BaseException, str]:
    """The exception to send back (a RuntimeError if it cannot be pickled) and its traceback's
    text (pickling drops tracebacks and causes)."""
    import pickle

    text = "".join(traceback.format_exception(err))
    try:
        pickle.dumps(err)
    except Exception:  # noqa: BLE001 - any pickling failure
        err = RuntimeError(f"{type(err).__name__}: {err}")
    return err, text


@dataclass
class WorkerProcess:
    """One worker process: `send(fn, *args)` queues a call, `receive()` returns the oldest
    unanswered call's result (or raises its exception, or `WorkerDied`)."""

    context: object                                   # a multiprocessing context (fork or spawn)
    name: str                                         # for errors: "labeling worker 1"
    initializer: Callable[[], None] | None = None     # run once in the worker before any task
    advice: str = ""                                  # appended to the error if the worker dies
    _sent: int = field(default=0, init=False)
    _received: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._conn, child_conn = self.context.Pipe(duplex=True)
        self._process = self.context.Process(target=_serve, args=(child_conn, self.initializer), daemon=True,
                                             name=self.name)
        self._process.start()
        child_conn.close()  # the worker holds the only other end: its death reads as end-of-file here

    @property
    def answered(self) -> int:
        return self._received

    @property
    def unanswered(self) -> int:
        return self._sent - self._received

    def send(self, fn: Callable, *args) -> int:
        """Queue `fn(*args)` on the worker; returns the call's number (0, 1, ...)."""
        try:
            self._conn.send((fn, args))
        except OSError:  # a broken pipe: the worker is gone
            raise self._died() from None
        self._sent += 1
        return self._sent - 1

    def receive(self):
        """The result of the oldest unanswered call, in the order the calls were sent."""
        try:
            ok, value = self._conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        self._received += 1
        if not ok:
            err, remote_traceback = value
            raise err from RemoteTraceback(remote_traceback)
        return value

    def _died(self) -> WorkerDied:
        self._process.join(timeout=5)
        code = self._process.exitcode
        how = (f"was killed by signal {-code}" + (" (out of memory?)" if code == -signal.SIGKILL else "")
               if code is not None and code < 0 else f"exited with code {code}")
        return WorkerDied(f"{self.name} {how}" + (f"; {self.advice}" if self.advice else ""))

    def stop(self, grace_seconds: float = 2.0) -> None:
        """End the worker: a stop message ends its loop once its current call returns (and lets it
        exit cleanly); one still running after `grace_seconds` (0: at once) is terminated. (Not
        just closing the pipe: a worker forked later holds a copy of this end of it.)"""
        if grace_seconds:
            with contextlib.suppress(OSError):  # a worker that is gone
                self._conn.send(None)
            self._process.join(grace_seconds)
        self._conn.close()
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

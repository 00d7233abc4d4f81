"""Atomic outputs, logging setup and the command-line error boundary shared by all scripts."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from itertools import islice
from typing import Callable, Iterable, Iterator

from training.errors import InputError, UserError

logger = logging.getLogger(__name__)


# The Hub's rules for a repo id: OWNER/NAME, each of letters, digits, "-", "_" and ".", at most 96
# characters, not starting or ending with "-" or ".", no "--" or "..", and NAME not ending in ".git".
_HUB_PART = re.compile(r"^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9_.-]{1,96}(?<![-.])$")


def first_line(err: BaseException, limit: int | None = 200) -> str:
    """An exception's first message line ("" for none), cut to `limit` characters (library errors
    run long; None keeps it whole)."""
    return (str(err).strip().splitlines() or [""])[0][:limit]


def hub_id_problem(repo_id: str) -> str | None:
    """Why `repo_id` is not a valid Hub model id (OWNER/NAME), or None when it is one."""
    owner, sep, name = repo_id.partition("/")
    if not sep or "/" in name:
        return "expected the form OWNER/NAME"
    if not _HUB_PART.match(owner) or not _HUB_PART.match(name):
        return ("OWNER and NAME may hold letters, digits, '-', '_' and '.', up to 96 characters, "
                "not start or end with '-' or '.', and not contain '--' or '..'")
    if name.lower().endswith(".git"):
        return "NAME may not end in '.git'"
    return None


def _umask() -> int:
    """The process umask (read by setting and restoring it; done once, before any threads)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def follow_umask(path: str | Path, directory: bool = False) -> None:
    """Give a temp file (0600) or folder (0700) the mode a plain open()/mkdir() would have given it,
    so that a team sharing a folder can read each other's outputs."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextmanager
def atomic_file(path: str | Path, mode: str = "w") -> Iterator:
    """An open temp file in the same folder, renamed to `path` when the block ends without error
    (and removed when it fails), so `path` is never half-written."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
        follow_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file through a temp file in the same folder and rename it into place."""
    with atomic_file(path) as fh:
        fh.write(text)


def atomic_write_json(path: str | Path, data) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temp name and move it to `path` only when the block succeeds.

    An existing folder at `path` is replaced only after the new one is complete; on failure or
    Ctrl-C nothing at `path` changes. Whether `path` may be replaced at all is the caller's
    decision (`training.outputs.output_folder` is the policy the commands use).
    """
    path = Path(path).resolve()
    if not path.parent.is_dir():
        raise UserError(f"{path}: the parent folder {path.parent} does not exist")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        follow_umask(tmp, directory=True)
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            path.rename(old / path.name)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Our own logs say what happens; datasets' bars flood CI logs. The variable, read when datasets
    # is first imported, spares a build of one article the 0.8 s of importing it here.
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's main(): every failure is one `error:` line on stderr, never a traceback.

    User errors (bad input, config, paths) and operating-system errors (permissions, a full
    disk) exit 2. Anything else is a bug: one line, exit 1, and the traceback in a log file
    whose path the line gives. Ctrl-C exits 130.
    """
    try:
        code = main(argv)
    except UserError as err:
        _report(f"error: {err}")
        sys.exit(2)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        _report(f"error: {where}{err.strerror or err}")
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the boundary: a bug becomes one line and a log
        _report(f"error: internal error ({type(err).__name__}: {first_line(err)}); "
                f"the traceback is in {_write_traceback()}; please report it")
        sys.exit(1)
    sys.exit(code or 0)


def _report(line: str) -> None:
    """Print the error on a line of its own: progress bars left open by the failure are closed first."""
    try:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", [])):
            bar.close()
    except ImportError:
        pass
    print(line, file=sys.stderr)


def _write_traceback() -> str:
    import traceback

    fd, path = tempfile.mkstemp(prefix="event-classifier-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(" ".join(sys.argv) + "\n\n" + traceback.format_exc())
    return path


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Lists of up to `size` consecutive items."""
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def cpu_name() -> str:
    """The CPU's model name (benchmark tables name it), or "unknown"."""
    info = Path("/proc/cpuinfo")
    for line in info.read_text().splitlines() if info.is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def iter_jsonl(lines: Iterable[str], source: str | Path) -> Iterator[dict]:
    """Parse JSON lines, skipping blank ones; a bad line is one InputError naming `source` and the line."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield parse_json_line(line, number, source)


def parse_json_line(line: str, number: int, source: str | Path):
    """One JSON line's value; a bad line is one InputError naming `source` and line `number`."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        # err.msg alone can read "Invalid control character at": the column completes it.
        raise InputError(f"{source}: line {number} is not valid JSON ({err.msg} column {err.colno})") from None


def stream_jsonl(path: str | Path) -> Iterator[dict]:
    """The rows of a JSONL file of any size, one at a time (a UTF-8 BOM is allowed); an InputError
    for a missing file or a bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig") as fh:
        yield from iter_jsonl(fh, path)


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a small JSONL file whole (see `stream_jsonl`)."""
    return list(stream_jsonl(path))

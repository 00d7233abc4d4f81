"""Atomic outputs, logging setup and the command-line error boundary shared by all scripts."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

logger = logging.getLogger(__name__)


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2, no traceback."""


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file through a temp file in the same folder and rename it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temp name and move it to `path` only when the block succeeds.

    An existing folder at `path` is replaced; on failure or Ctrl-C nothing at `path` changes.
    """
    path = Path(path)
    if not path.parent.exists():
        raise UserError(f"{path}: the parent folder {path.parent} does not exist")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
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
    try:
        import datasets

        datasets.disable_progress_bars()  # our own logs say what happens; its bars flood CI logs
    except ImportError:
        pass
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's main(): user errors become one line on stderr and exit 2, Ctrl-C exits 130."""
    from training.config import ConfigError
    from training.corpus import InputError

    try:
        code = main(argv)
    except (UserError, InputError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)

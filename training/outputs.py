"""The one output policy of every command: outputs never destroy inputs or someone else's files.

- An output may not be, contain or lie inside one of the command's inputs (the articles, the
  dataset, the model): writing it would replace or pollute what the command reads.
- An existing output is refused unless the user passes `--overwrite`; even then it is replaced
  only if it is this command's own earlier output (a folder holding our marker file, or a file
  of the format the command writes), and only after the new output is complete.
- Outputs get the modes the umask gives (see `io_utils.follow_umask`).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from training.errors import UserError
from training.io_utils import atomic_dir

MARKER = ".event_classifier_output.json"  # written into every output folder; names the command


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def check_not_an_input(output: str | Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse an output that is, contains or lies inside an input (stdin `-` and Hub ids are skipped)."""
    out = _resolved(output)
    for item in inputs:
        if item is None or str(item) in ("", "-") or not Path(item).expanduser().exists():
            continue
        src = _resolved(item)
        if out == src:
            relation = "is"
        elif src.is_relative_to(out):
            relation = "contains"
        elif out.is_relative_to(src):
            relation = "lies inside"
        else:
            continue
        raise UserError(f"{output}: the output {relation} the input {item}; writing it would destroy or change "
                        f"that input: choose an output path outside it")


def _owner(folder: Path) -> str | None:
    try:
        return json.loads((folder / MARKER).read_text("utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return None


def check_output(output: str | Path, command: str, inputs: Iterable, overwrite: bool, folder: bool = True,
                 is_own: Callable[[Path], bool] | None = None) -> None:
    """All checks of the policy, done before any work starts (see module docstring).

    `is_own` tells whether an existing output is this command's own; by default a folder is when
    it holds our marker naming `command`, and a file never is.
    """
    path = Path(output).expanduser()
    check_not_an_input(path, inputs)
    parent = _resolved(path).parent
    if not parent.is_dir():
        raise UserError(f"{output}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{output}: cannot write in {parent} (permission denied)")
    if not path.exists() and not path.is_symlink():
        return
    kind = "folder" if folder else "file"
    if folder != path.is_dir():
        raise UserError(f"{output}: a {'file' if path.is_file() else 'folder'} is there, and {command} writes a "
                        f"{kind}; it is left untouched: choose another output path")
    if not overwrite:
        raise UserError(f"{output}: already exists; pass --overwrite to replace it, or choose another output path")
    own = is_own(path) if is_own else folder and _owner(path) == command
    if not own:
        raise UserError(f"{output}: exists and is not an earlier output of {command}, so --overwrite leaves it "
                        f"untouched: remove it yourself or choose another output path")


@contextmanager
def output_folder(output: str | Path, command: str, inputs: Iterable, overwrite: bool = False,
                  is_own: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Check the policy, then build the folder under a temp name, marked as `command`'s output
    (unless `is_own` recognizes the command's folders by their content).

    The finished folder replaces `output` only when the block succeeds.
    """
    inputs = list(inputs)
    check_output(output, command, inputs, overwrite, is_own=is_own)
    with atomic_dir(Path(output).expanduser()) as tmp:
        yield tmp
        if is_own is None:
            (tmp / MARKER).write_text(json.dumps({"command": command}) + "\n", encoding="utf-8")

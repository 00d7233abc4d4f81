"""An input's articles in blocks, for a build that labels blocks on several cores.

A JSONL file (gzip-compressed or not) travels as blocks of raw lines: the reading process only
decompresses and cuts lines, and each block is decoded and parsed where it is labelled
(`JsonlBlock.articles`), on a worker. Decoding and parsing were half of the reader's time, and
a reader that does everything alone caps a build on many cores: it read about 36k articles/s
(ANT), which 16 labeling cores consume; cutting lines reads about 71k.

Every other input (folders, CSV, stdin, JSONL in an encoding named by --encoding or with a UTF-16
BOM) comes as lists of parsed articles. Either way a block holds the same articles, ids and
errors as `corpus.iter_articles` gives, in the same order.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from training.errors import InputError
from training.inputs.corpus import Article, iter_articles, open_input, row_articles
from training.io_utils import chunked, parse_json_line


@dataclass(frozen=True)
class JsonlBlock:
    """Consecutive lines of a JSONL file, unparsed, holding `size` rows (and any blank lines)."""

    source: str          # the file, for errors
    first_line: int      # the number of the first line in the file (1-based)
    first_row: int       # the number of the first row (0-based; blank lines are not rows): default ids
    lines: list[bytes]   # each with its line ending, as read

    def articles(self) -> list[Article]:
        """The block's articles, exactly as `iter_articles` reads them (same ids, same errors)."""
        rows = []
        for number, raw in enumerate(self.lines, self.first_line):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(f"{self.source}: line {number} is not valid UTF-8 ({err.reason} at byte {err.start} "
                                 f"of the line); repair it, or pass --encoding with its real encoding") from None
            if line.strip():
                rows.append(parse_json_line(line, number, self.source))
        return list(row_articles(rows, self.source, self.first_row))


def article_blocks(path: str | Path, encoding: str, size: int) -> Iterator[list[Article] | JsonlBlock]:
    """The input's articles, `size` at a time: a `JsonlBlock` for a UTF-8 JSONL file, else lists."""
    if _is_jsonl_file(path, encoding):
        try:
            with open_input(Path(path)) as fh:
                if fh.peek(2)[:2] not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # UTF-16: read as text below
                    yield from _jsonl_blocks(fh, str(path), size)
                    return
        except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
            raise InputError(f"{path}: cannot read ({err})") from None
    yield from chunked(iter_articles(path, encoding), size)


def _is_jsonl_file(path: str | Path, encoding: str) -> bool:
    """A JSONL(.gz) file whose encoding is left to detection (the only inputs sent as raw lines)."""
    return (encoding == "auto" and str(path) != "-" and Path(path).is_file()
            and Path(path).name.lower().removesuffix(".gz").endswith(".jsonl"))


def _jsonl_blocks(fh: BinaryIO, source: str, size: int) -> Iterator[JsonlBlock]:
    lines: list[bytes] = []
    first_line, first_row, rows = 1, 0, 0
    for number, line in enumerate(_text_lines(fh), 1):
        lines.append(line)
        rows += not _blank(line)
        if rows == size:
            yield JsonlBlock(source, first_line, first_row, lines)
            lines, first_line, first_row, rows = [], number + 1, first_row + size, 0
    if rows:  # trailing blank lines alone are no block: they hold no article
        yield JsonlBlock(source, first_line, first_row, lines)


def _text_lines(fh: BinaryIO) -> Iterator[bytes]:
    """The file's lines as a text file opened with newline="" cuts them (at \\n, \\r\\n and a lone
    \\r), the UTF-8 BOM dropped from the first, as the "utf-8-sig" codec does."""
    first = True
    for line in fh:
        if first:
            line, first = line.removeprefix(codecs.BOM_UTF8), False
        # A \r other than in a final \r\n ends a line of its own (rare: split only then).
        if b"\r" in line and line.find(b"\r") != len(line) - 2:
            yield from line.splitlines(keepends=True)
        else:
            yield line


def _blank(line: bytes) -> bool:
    """Whether `line` is blank as text: str.strip() also strips what bytes.strip() leaves, such as
    U+00A0 and the separators \x1c-\x1f, so a line that does not start a row is decoded to check."""
    stripped = line.strip()
    if not stripped:
        return True
    if stripped.startswith(b"{"):  # nearly every line: a row
        return False
    try:
        return not stripped.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False  # a row: parsing reports it

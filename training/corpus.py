"""Reading articles from the inputs users bring, and turning them into sentence records.

Inputs: a folder of `.txt`/`.html` articles (recursive; doc_id = path relative to the folder),
a `.jsonl` or `.csv` file with a `text` column and an optional `id` column, or `-` for stdin
(JSONL when it starts with `{`, else one article per line). Everything streams: one article
is in memory at a time.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

from training.text import CleaningStats, fix_characters, split_article

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = {".txt", ".html", ".htm"}


class InputError(ValueError):
    """Bad user input; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Article:
    doc_id: str
    text: str


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    sent_id: int
    text: str


# --- decoding -----------------------------------------------------------------------------

def _arabic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters)


def decode_bytes(data: bytes, source: str) -> str:
    """Decode an article: BOMs first (UTF-8, UTF-16), then strict UTF-8, then Windows-1256.

    Windows-1256 decodes almost any byte string, so it is accepted only when the result is
    mostly Arabic letters; anything else (binary files, other code pages) is an InputError.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[len(codecs.BOM_UTF8):], "utf-8", source)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", source)
    if b"\x00" in data:
        raise InputError(f"{source}: looks like a binary file (NUL bytes), not a text article")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        text = ""
    if text and _arabic_share(text) >= 0.5:
        return text
    raise InputError(f"{source}: cannot decode: not UTF-8, UTF-16 with BOM or Windows-1256 Arabic text")


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise InputError(f"{source}: invalid {encoding} at byte {err.start}") from None


class _ArticleHTML(HTMLParser):
    """Keeps the text of <title>, headings, <p> and <li>, one block per line; skips scripts,
    navigation, headers, footers, forms and asides. Prefers <article> when there is one."""

    SKIP = {"script", "style", "nav", "header", "footer", "form", "aside", "noscript", "iframe", "svg"}
    BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "title", "br", "div", "blockquote", "td"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.in_article = 0
        self.all_parts: list[str] = []
        self.article_parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag == "article":
            self.in_article += 1
        if tag in self.BLOCKS:
            self._emit("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip_depth:
            self.skip_depth -= 1
        elif tag == "article" and self.in_article:
            self.in_article -= 1
        if tag in self.BLOCKS:
            self._emit("\n")

    def handle_data(self, data):
        if not self.skip_depth:
            self._emit(data)

    def _emit(self, text: str) -> None:
        self.all_parts.append(text)
        if self.in_article:
            self.article_parts.append(text)


def html_to_text(html: str) -> str:
    """Reduce an HTML page to its article text, one block per line."""
    parser = _ArticleHTML()
    parser.feed(html)
    parser.close()
    parts = parser.article_parts if "".join(parser.article_parts).strip() else parser.all_parts
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


# --- articles -----------------------------------------------------------------------------

def _folder_articles(root: Path) -> Iterator[Article]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)
    if not files:
        raise InputError(f"{root}: no .txt or .html articles found in this folder")
    for path in files:
        text = decode_bytes(path.read_bytes(), str(path))
        if path.suffix.lower() in {".html", ".htm"}:
            text = html_to_text(text)
        yield Article(path.relative_to(root).as_posix(), text)


def _row_articles(rows: Iterable[dict], source: str) -> Iterator[Article]:
    for number, row in enumerate(rows):
        if not isinstance(row, dict) or "text" not in row:
            raise InputError(f"{source}: row {number + 1} has no 'text' field")
        text = row["text"] if row["text"] is not None else ""
        if not isinstance(text, str):
            raise InputError(f"{source}: row {number + 1}: 'text' must be a string")
        doc_id = row.get("id")
        yield Article(str(doc_id) if doc_id not in (None, "") else str(number), text)


def _jsonl_rows(lines: Iterable[str], source: str) -> Iterator[dict]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{source}: line {number} is not valid JSON ({err.msg})") from None


def _open_text(path: Path):
    """Open a JSONL/CSV file (gzip-compressed when it ends in .gz) as text, honouring a BOM."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        head = fh.read(4)
    encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    return opener(path, "rt", encoding=encoding, newline="")


def iter_articles(path: str | Path) -> Iterator[Article]:
    """Yield the articles of a folder, a .jsonl/.csv file or stdin (`-`), streaming."""
    if str(path) == "-":
        yield from _stdin_articles()
        return
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        yield from _folder_articles(path)
        return
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    try:
        if suffix == ".jsonl":
            with _open_text(path) as fh:
                yield from _row_articles(_jsonl_rows(fh, str(path)), str(path))
        elif suffix == ".csv":
            with _open_text(path) as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or "text" not in reader.fieldnames:
                    raise InputError(f"{path}: CSV has no 'text' column (columns: {reader.fieldnames})")
                yield from _row_articles(reader, str(path))
        elif suffix in ARTICLE_SUFFIXES:
            text = decode_bytes(path.read_bytes(), str(path))
            yield Article(path.name, html_to_text(text) if suffix in {".html", ".htm"} else text)
        else:
            raise InputError(f"{path}: unsupported input; expected a folder, .jsonl, .csv, .txt or .html")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 text ({err.reason} at byte {err.start})") from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(f"{path}: cannot read ({err})") from None


def _stdin_articles() -> Iterator[Article]:
    lines = iter(sys.stdin)
    first = next(lines, None)
    if first is None:
        return
    all_lines = chain([first], lines)
    if first.lstrip().startswith("{"):
        yield from _row_articles(_jsonl_rows(all_lines, "<stdin>"), "<stdin>")
    else:
        yield from (Article(str(i), line) for i, line in enumerate(all_lines) if line.strip())


def iter_sentences(
    path: str | Path, presplit: bool = False, min_words: int = 3, stats: CleaningStats | None = None
) -> Iterator[Sentence]:
    """Yield sentence records from an input; with `presplit`, each row/line is one sentence.

    Empty articles are skipped with a warning; an input with no text at all is an InputError.
    """
    stats = stats if stats is not None else CleaningStats()
    found = False
    next_presplit_id: dict[str, int] = {}  # rows of one document may be spread over lines
    for article in iter_articles(path):
        if presplit:
            text = " ".join(fix_characters(article.text).split())
            sentences = [text] if text else []
        else:
            sentences = split_article(article.text, min_words, stats)
        if not sentences:
            logger.warning("%s: article %s has no text; skipped", path, article.doc_id)
            continue
        found = True
        first = next_presplit_id.get(article.doc_id, 0) if presplit else 0
        for offset, text in enumerate(sentences):
            yield Sentence(article.doc_id, first + offset, text)
        if presplit:
            next_presplit_id[article.doc_id] = first + len(sentences)
    if not found:
        raise InputError(f"{path}: no text found in the input")

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
import logging
import os
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

from training.errors import InputError
from training.io_utils import iter_jsonl
from training.inputs.text import MAX_SENTENCE_WORDS, UNPUNCTUATED_WORDS, CleaningStats, fix_characters, split_article

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = {".txt", ".html", ".htm"}


@dataclass(frozen=True)
class Article:
    doc_id: str
    text: str
    lines_are_sentences: bool = False  # a .txt/.html file: with presplit, each of its lines is a sentence


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


def decode_bytes(data: bytes, source: str, encoding: str = "auto") -> str:
    """Decode an article's bytes.

    "auto": a BOM (UTF-8, UTF-16) decides; then UTF-16 without BOM, recognized by its pattern of
    high bytes; then strict UTF-8. Bytes that are mostly UTF-8 but hold invalid sequences (a cut
    or damaged file) are an InputError naming the byte offset, never silently re-read in another
    code page. Windows-1256 is accepted only for bytes that are not UTF-8 and read as mostly Arabic
    letters in it. Any other `encoding` is a codec name: decoded as asked, bad bytes replaced by
    U+FFFD with a warning.
    """
    if encoding != "auto":
        text = data.decode(encoding, errors="replace").removeprefix("\ufeff")
        if "\ufffd" in text:
            logger.warning("%s: %d undecodable bytes replaced (decoded as %s as asked)", source, text.count("\ufffd"),
                           encoding)
        return text
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[len(codecs.BOM_UTF8):], "utf-8", source)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", source)
    utf16 = _bomless_utf16(data)
    if utf16:
        return _strict(data, utf16, source)
    if b"\x00" in data:
        raise InputError(f"{source}: looks like a binary file (NUL bytes), not a text article")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if _mostly_utf8(data):
            raise InputError(f"{source}: invalid UTF-8 at byte {err.start} in otherwise UTF-8 text (a cut or damaged "
                             f"file); repair it, or pass --encoding utf-8 to replace the bad bytes") from None
    text = data.decode("cp1256", errors="replace")
    if "\ufffd" not in text and _arabic_share(text) >= 0.5:
        return text
    raise InputError(f"{source}: cannot decode: not UTF-8, UTF-16 or Windows-1256 Arabic text; "
                     f"name its encoding with --encoding")


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise InputError(f"{source}: invalid {encoding} at byte {err.start}") from None


def _mostly_utf8(data: bytes) -> bool:
    """More valid multi-byte UTF-8 characters than invalid bytes: UTF-8 text with damage in it."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return sum(1 for c in text if c > "\x7f") - bad > bad


def _bomless_utf16(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when one byte of each pair is nearly always 0x00 or 0x06.

    Those are the high bytes of ASCII (spaces, digits, punctuation) and of the Arabic block.
    """
    if len(data) < 4:
        return None
    for codec, high in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if high.count(0) + high.count(6) >= 0.9 * len(high):  # len(high) >= 2, so at least 2 such bytes
            return codec
    return None


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

def article_files(root: Path) -> list[Path]:
    """Article files under `root`, symlinked folders followed (each real folder once), sorted."""
    files, seen = [], set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink back to a folder already read: do not loop
            subfolders[:] = []
            continue
        seen.add(real)
        files += [Path(folder) / n for n in names if Path(n).suffix.lower() in ARTICLE_SUFFIXES]
    return sorted(p for p in files if p.is_file())


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror or err})") from None


def _folder_articles(root: Path, encoding: str) -> Iterator[Article]:
    files = article_files(root)
    if not files:
        raise InputError(f"{root}: no .txt or .html articles found in this folder")
    for path in files:
        text = decode_bytes(_read_bytes(path), str(path), encoding)
        if path.suffix.lower() in {".html", ".htm"}:
            text = html_to_text(text)
        yield Article(path.relative_to(root).as_posix(), text, lines_are_sentences=True)


def row_articles(rows: Iterable[dict], source: str, first_row: int = 0) -> Iterator[Article]:
    """The articles of parsed JSONL/CSV rows; `first_row` is the number of the first (0-based):
    a row without an id takes its number as id, and errors name it (1-based)."""
    for number, row in enumerate(rows, first_row):
        if not isinstance(row, dict) or "text" not in row:
            raise InputError(f"{source}: row {number + 1} has no 'text' field")
        text = row["text"] if row["text"] is not None else ""
        if not isinstance(text, str):
            raise InputError(f"{source}: row {number + 1}: 'text' must be a string")
        doc_id = row.get("id")
        yield Article(str(doc_id) if doc_id not in (None, "") else str(number), text)


def open_input(path: Path, mode: str = "rb", **kwargs):
    """Open an input file, gzip-compressed when its name ends in .gz."""
    return (gzip.open if path.suffix.lower() == ".gz" else open)(path, mode, **kwargs)


def _open_text(path: Path, encoding: str = "auto"):
    """Open a JSONL/CSV file (gzip-compressed when it ends in .gz) as text: strict UTF-8 or UTF-16 by
    its BOM, or the named `encoding` with bad bytes replaced."""
    if encoding != "auto":
        return open_input(path, "rt", encoding=encoding, errors="replace", newline="")
    with open_input(path) as fh:
        head = fh.read(4)
    encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    return open_input(path, "rt", encoding=encoding, newline="")


def iter_articles(path: str | Path, encoding: str = "auto") -> Iterator[Article]:
    """Yield the articles of a folder, a .jsonl/.csv file or stdin (`-`), streaming (see `decode_bytes`)."""
    _check_encoding(encoding)
    if str(path) == "-":
        yield from _stdin_articles()
        return
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        yield from _folder_articles(path, encoding)
        return
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    try:
        if suffix == ".jsonl":
            with _open_text(path, encoding) as fh:
                yield from row_articles(iter_jsonl(fh, str(path)), str(path))
        elif suffix == ".csv":
            with _open_text(path, encoding) as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or "text" not in reader.fieldnames:
                    raise InputError(f"{path}: CSV has no 'text' column (columns: {reader.fieldnames})")
                yield from row_articles(reader, str(path))
        elif suffix in ARTICLE_SUFFIXES:
            text = decode_bytes(_read_bytes(path), str(path), encoding)
            yield Article(path.name, html_to_text(text) if suffix in {".html", ".htm"} else text, lines_are_sentences=True)
        else:
            raise InputError(f"{path}: unsupported input; expected a folder, .jsonl, .csv, .txt or .html")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 text ({err.reason} at byte {err.start} of its lines); "
                         f"repair it, or pass --encoding with its real encoding") from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(f"{path}: cannot read ({err})") from None


def _check_encoding(encoding: str) -> None:
    if encoding == "auto":
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"--encoding {encoding!r}: unknown encoding; use auto or a codec name such as utf-8, "
                         f"utf-16 or cp1256") from None


def _stdin_articles() -> Iterator[Article]:
    lines = iter(sys.stdin)
    first = next(lines, None)
    if first is None:
        return
    all_lines = chain([first], lines)
    if first.lstrip().startswith("{"):
        yield from row_articles(iter_jsonl(all_lines, "<stdin>"), "<stdin>")
    else:
        yield from (Article(str(i), line) for i, line in enumerate(all_lines) if line.strip())


def article_sentences(article: Article, presplit: bool, min_words: int, stats: CleaningStats,
                      source: str | Path = "") -> list[str]:
    """One article's sentences: cleaned and split, or (`presplit`) as given: a row's text is one
    sentence, and so is each non-empty line of a .txt or .html file."""
    if presplit:
        pieces = article.text.split("\n") if article.lines_are_sentences else [article.text]
        return [text for text in (" ".join(fix_characters(piece).split()) for piece in pieces) if text]
    before = stats.removed["unpunctuated_passage_cut"]
    sentences = split_article(article.text, min_words, stats)
    if stats.removed["unpunctuated_passage_cut"] > before:
        logger.warning("%s: article %s has passages of over %d words without sentence punctuation; cut into "
                       "pieces of at most %d words", source, article.doc_id, UNPUNCTUATED_WORDS, MAX_SENTENCE_WORDS)
    return sentences


class SentenceNumbering:
    """Gives sentence ids in input order: they run on within a document id, so rows of one
    document spread over lines (and articles that reuse an id, which are warned about) never
    repeat a (doc_id, sent_id) pair. Empty articles are skipped with a warning."""

    def __init__(self, source: str | Path, presplit: bool):
        self.source, self.presplit = source, presplit
        self.next_id: dict[str, int] = {}
        self.reused: list[str] = []

    def first_id(self, doc_id: str, count: int) -> int | None:
        """The id of the first of an article's `count` sentences (the others follow on), or None for
        an empty article."""
        if not count:
            logger.warning("%s: article %s has no text; skipped", self.source, doc_id)
            return None
        if doc_id in self.next_id and not self.presplit:
            self.reused.append(doc_id)
        first = self.next_id.get(doc_id, 0)
        self.next_id[doc_id] = first + count
        return first

    def number(self, doc_id: str, sentences: list[str]) -> Iterator[Sentence]:
        first = self.first_id(doc_id, len(sentences))
        if first is not None:
            yield from (Sentence(doc_id, first + offset, text) for offset, text in enumerate(sentences))

    def finish(self) -> None:
        """Refuse an input with no text; warn about reused ids."""
        if not self.next_id:
            raise InputError(f"{self.source}: no text found in the input")
        if self.reused:
            logger.warning("%s: %d articles reuse the id of an earlier article (first: %r); articles with one id are "
                           "one document (numbered on, and kept in one split)", self.source, len(self.reused),
                           self.reused[0])


def iter_sentences(path: str | Path, presplit: bool = False, min_words: int = 3, stats: CleaningStats | None = None,
                   encoding: str = "auto") -> Iterator[Sentence]:
    """Yield sentence records from an input; with `presplit`, each row/line is one sentence (see
    `SentenceNumbering` for ids, empty articles and reused ids)."""
    stats = stats if stats is not None else CleaningStats()
    numbering = SentenceNumbering(path, presplit)
    for article in iter_articles(path, encoding):
        yield from numbering.number(article.doc_id, article_sentences(article, presplit, min_words, stats, path))
    numbering.finish()

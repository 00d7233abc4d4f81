"""A JSONL file in raw blocks gives exactly the articles, ids and errors of `iter_articles`."""

from __future__ import annotations

import codecs
import gzip
import json

import pytest

from training.errors import InputError
from training.inputs.blocks import JsonlBlock, article_blocks
from training.inputs.corpus import iter_articles


def row(text: str, **extra) -> bytes:
    return json.dumps({"text": text, **extra}, ensure_ascii=False).encode("utf-8")


def block_articles(path, size: int) -> list:
    """Every article of the blocks, each block parsed as a worker would parse it."""
    return [a for block in article_blocks(path, "auto", size)
            for a in (block.articles() if isinstance(block, JsonlBlock) else block)]


# Lines that a text file opened with newline="" cuts or strips differently from bytes: a BOM, CRLF
# endings, a lone CR between JSON tokens (two lines as text), blank lines of ASCII spaces, of
# U+00A0 and of \x1c (blank to str.strip(), not to bytes.strip()), rows without ids.
TRICKY = (codecs.BOM_UTF8 + row("هاجم مسلحون قاعدة", id="a") + b"\r\n"
          + b"   \n" + "\u00a0\u3000\n".encode("utf-8") + b"\x1c\n"
          + row("قتل ثلاثة جنود") + b"\n"
          + b'{"id": "c",\r"text": "x"}\n'
          + row("انسحاب القوات", id="a") + b"\n" + b"\n"
          + row("خبر بلا رقم") + b"\r\n" + row("آخر سطر"))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("size", [1, 2, 3, 128])
def test_blocks_hold_the_articles_of_iter_articles(tmp_path, compress, size):
    lines = TRICKY.replace(b'{"id": "c",\r"text": "x"}\n', b"")  # (that one is an error: below)
    path = tmp_path / ("in.jsonl.gz" if compress else "in.jsonl")
    path.write_bytes(gzip.compress(lines) if compress else lines)
    blocks = list(article_blocks(path, "auto", size))
    assert all(isinstance(b, JsonlBlock) for b in blocks)  # the raw path, not the fallback
    assert block_articles(path, size) == list(iter_articles(path))
    assert [a.doc_id for a in block_articles(path, size)] == ["a", "1", "a", "3", "4"]


@pytest.mark.parametrize("size", [1, 2, 128])
def test_a_bad_line_is_the_same_error_naming_the_same_line(tmp_path, size):
    path = tmp_path / "in.jsonl"
    path.write_bytes(TRICKY)  # the lone CR cuts line 6 in two: line 6 '{"id": "c",' is bad JSON
    with pytest.raises(InputError) as expected:
        list(iter_articles(path))
    with pytest.raises(InputError) as got:
        block_articles(path, size)
    assert str(got.value) == str(expected.value)
    assert "line 6 is not valid JSON" in str(got.value)


def test_a_row_without_text_is_named_by_its_row_number(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(row("أ") + b"\n\n" + row("ب") + b"\n" + b'{"id": 3}\n')
    with pytest.raises(InputError) as expected:
        list(iter_articles(path))
    with pytest.raises(InputError, match="row 3 has no 'text' field") as got:
        block_articles(path, 2)
    assert str(got.value) == str(expected.value)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(row("أ") + b"\n" + row("ب").replace("ب".encode(), b"\xd8") + b"\n")
    with pytest.raises(InputError, match=r"in.jsonl: line 2 is not valid UTF-8"):
        block_articles(path, 128)


def test_inputs_that_are_not_utf8_jsonl_come_parsed(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps({"id": "u", "text": "نص"}, ensure_ascii=False).encode("utf-16") + b"")
    blocks = list(article_blocks(path, "auto", 128))
    assert [type(b) for b in blocks] == [list]
    assert block_articles(path, 128) == list(iter_articles(path))


@pytest.mark.parametrize("size", [1, 128])
def test_gzip_files_joined_by_cat_read_as_one_corpus(tmp_path, size):
    # The README joins corpora with `cat a.jsonl.gz b.jsonl.gz > both.jsonl.gz`: a gzip of several
    # members, which must read as the two files' lines in order, on the blocks path and the other.
    first = b"\n".join([row("هاجم مسلحون قاعدة", id="p1"), row("قتل ثلاثة جنود", id="p2")]) + b"\n"
    second = b"\n".join([row("سجل اللاعب هدفا", id="s1"), row("فاز الفريق", id="s2")]) + b"\n"
    path = tmp_path / "both.jsonl.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    assert [a.doc_id for a in iter_articles(path)] == ["p1", "p2", "s1", "s2"]
    assert block_articles(path, size) == list(iter_articles(path))

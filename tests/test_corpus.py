"""Reading inputs: encodings, HTML, folders, JSONL/CSV, pre-split sentences, clear errors."""

from __future__ import annotations

import codecs
import json
import logging

import pytest

from training.errors import InputError
from training.inputs.corpus import decode_bytes, html_to_text, iter_articles, iter_sentences

ARTICLE = "قال المتحدث العسكري إن الهجوم استهدف قاعدة عسكرية.\nوأضاف أن التحقيق مستمر في الحادث."


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),  # with BOM
    lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    lambda t: t.encode("cp1256"),
], ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "windows-1256"])
def test_encodings_are_detected(tmp_path, encode):
    (tmp_path / "a.txt").write_bytes(encode(ARTICLE))
    assert [a.text for a in iter_articles(tmp_path)] == [ARTICLE]


def test_binary_file_is_one_clear_error_naming_it(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError, match="bad.txt.*binary"):
        list(iter_articles(tmp_path))


def test_undecodable_non_arabic_bytes_are_an_error():
    with pytest.raises(InputError, match="x.txt: cannot decode"):
        decode_bytes("Ceci n'est pas de l'arabe: é à ç".encode("latin-1"), "x.txt")


def test_html_is_reduced_to_article_text(tmp_path):
    html = ("<html><head><title>عنوان</title><script>var x = 'هجوم';</script></head><body>"
            "<nav>الرئيسية | أخبار</nav><article><h1>غارة على قاعدة عسكرية</h1><p>قال المتحدث إن الغارة "
            "استهدفت القاعدة.</p><p>وأضاف أن التحقيق مستمر.</p></article><footer>حقوق النشر</footer></body></html>")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    text = next(iter_articles(tmp_path)).text
    assert text.splitlines() == ["غارة على قاعدة عسكرية", "قال المتحدث إن الغارة استهدفت القاعدة.", "وأضاف أن التحقيق مستمر."]
    assert "var x" not in html_to_text("<body><script>var x=1</script><p>نص</p></body>")


def test_folder_is_searched_recursively_with_relative_doc_ids(tmp_path):
    (tmp_path / "2024" / "08").mkdir(parents=True)
    (tmp_path / "2024" / "08" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    assert [a.doc_id for a in iter_articles(tmp_path)] == ["2024/08/a.txt", "b.txt"]


def test_empty_articles_are_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        sentences = list(iter_sentences(tmp_path))
    assert {s.doc_id for s in sentences} == {"a.txt"}
    assert "empty.txt" in caplog.text


def test_input_with_no_text_at_all_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no text"):
        list(iter_sentences(tmp_path))


def test_jsonl_ids_and_row_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "x1", "text": ARTICLE}, {"text": ARTICLE}, {"id": 7, "text": ARTICLE}]), encoding="utf-8")
    assert [a.doc_id for a in iter_articles(path)] == ["x1", "1", "7"]


def test_csv_with_text_column_and_bom(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(codecs.BOM_UTF8 + f'id,text\na1,"{ARTICLE}"\n'.encode("utf-8"))
    articles = list(iter_articles(path))
    assert [(a.doc_id, a.text) for a in articles] == [("a1", ARTICLE)]


@pytest.mark.parametrize("content,message", [
    ('{"id": 1}\n', "no 'text' field"),
    ('{"text": "نص"}\n{broken\n', r"line 2 is not valid JSON \(Expecting .* column 2\)"),
])
def test_bad_jsonl_rows_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "in.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        list(iter_articles(path))


def test_csv_without_text_column_is_an_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'text' column"):
        list(iter_articles(path))


def test_missing_and_unsupported_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_articles(tmp_path / "nope"))
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="unsupported input"):
        list(iter_articles(tmp_path / "x.pdf"))


def test_presplit_rows_are_not_split_again_and_numbered_per_document(tmp_path):
    path = tmp_path / "s.jsonl"
    rows = [{"id": "d1", "text": "جملة أولى. وجملة ثانية في السطر نفسه."}, {"id": "d1", "text": "جملة ثالثة هنا"},
            {"id": "d2", "text": "جملة أخرى"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    got = [(s.doc_id, s.sent_id, s.text) for s in iter_sentences(path, presplit=True)]
    assert got == [("d1", 0, rows[0]["text"]), ("d1", 1, rows[1]["text"]), ("d2", 0, rows[2]["text"])]


def test_presplit_text_files_give_one_sentence_per_line(tmp_path):
    (tmp_path / "docs").mkdir()
    lines = ["شن الفريق هجوما كاسحا على مرمى المنافس", "", "أطلقت الشركة هاتفا جديدا اليوم.  وبيعت النسخ كلها"]
    for path in (tmp_path / "s.txt", tmp_path / "docs" / "a.txt"):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for source, doc_id in ((tmp_path / "s.txt", "s.txt"), (tmp_path / "docs", "a.txt")):
        got = [(s.doc_id, s.sent_id, s.text) for s in iter_sentences(source, presplit=True)]
        assert got == [(doc_id, 0, lines[0]), (doc_id, 1, "أطلقت الشركة هاتفا جديدا اليوم. وبيعت النسخ كلها")]
    assert len(list(iter_sentences(tmp_path / "s.txt"))) == 3  # without presplit the text is split as an article


def test_jsonl_is_streamed_not_loaded_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"text": ARTICLE}, ensure_ascii=False) + "\n{this line is broken\n", encoding="utf-8")
    articles = iter_articles(path)
    assert next(articles).text == ARTICLE  # the first article arrives before the bad line is read
    with pytest.raises(InputError):
        next(articles)


def test_gzipped_jsonl(tmp_path):
    import gzip

    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g", "text": ARTICLE}, ensure_ascii=False) + "\n")
    assert [a.doc_id for a in iter_articles(path)] == ["g"]

"""build_dataset: outputs, document-grouped splits, pre-split input, atomic replacement."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import SEEDS, assert_one_line_error, read_jsonl, run_script
from training.config import load_config
from training.errors import InputError
from training.data.dataset import build_dataset
from training.labels import LABELS


def test_sentences_jsonl_rows(chain):
    rows = read_jsonl(chain["data"] / "sentences.jsonl")
    gold = read_jsonl(SEEDS / "sentences_gold.jsonl")
    assert [(r["doc_id"], r["sent_id"], r["text"]) for r in rows] == [(g["doc_id"], g["sent_id"], g["text"]) for g in gold]
    for row in rows:
        assert set(row["probs"]) == set(LABELS)
        assert row["labels"] == [label for label in LABELS if row["probs"][label] >= 0.5]


def test_each_line_is_the_json_dumps_of_its_row(tmp_path):
    """Lines are joined from pieces for speed; they must be the bytes json.dumps gives, for text
    with quotes, backslashes, tabs, controls and non-BMP characters, and for ids that need escaping."""
    texts = ['قال "المتحدث" إن القصف \\ استهدف القاعدة', "هجوم\tعلى قاعدة عسكرية \u0001 قرب الحدود 😀",
             "قتل ثلاثة جنود في هجوم صاروخي على قاعدة التحالف"]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f'doc "{k}" \\', "text": t}, ensure_ascii=False) + "\n"
                              for k, t in enumerate(texts)), encoding="utf-8")
    build_dataset(str(source), str(tmp_path / "out"), load_config(), presplit=True)
    lines = (tmp_path / "out" / "sentences.jsonl").read_text("utf-8").splitlines(keepends=True)
    assert len(lines) == 3 and any(json.loads(line)["labels"] for line in lines)
    assert [json.dumps(json.loads(line), ensure_ascii=False) + "\n" for line in lines] == lines


def test_split_fingerprint_follows_the_content(tmp_path):
    """datasets reuses cached map results by fingerprint: equal data must give an equal one (not
    the temp folder's random name), and a changed sentence a new one."""
    from datasets import load_from_disk

    texts = ["قتل ثلاثة جنود في هجوم صاروخي على قاعدة التحالف", "بحث الجانبان انسحاب القوات الأجنبية من البلاد"]
    fingerprints = []
    for k, changed in enumerate(["", "", " قرب الحدود"]):
        source = tmp_path / f"in{k}.jsonl"
        source.write_text("".join(json.dumps({"id": str(i), "text": t + changed}, ensure_ascii=False) + "\n"
                                  for i, t in enumerate(texts * 10)), encoding="utf-8")
        build_dataset(str(source), str(tmp_path / f"out{k}"), load_config(), presplit=True)
        fingerprints.append(load_from_disk(str(tmp_path / f"out{k}" / "dataset"))["train"]._fingerprint)
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]


def test_text_file_lines_become_arrow_strings(tmp_path, monkeypatch):
    """The Arrow text column is cut from the file's bytes: every line, multi-byte characters
    whole, across blocks, with a line longer than a block and an empty one."""
    from training.data import dataset_files

    monkeypatch.setattr(dataset_files, "TEXT_BLOCK_BYTES", 64)
    lines = ["قتل ثلاثة جنود في هجوم", "", "a" * 200, "انسحاب القوات 😀 \t tab", *[f"سطر {i}" for i in range(40)]]
    path = tmp_path / "lines.txt"
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    arrays = list(dataset_files._text_arrays(path))
    assert len(arrays) > 3 and [s for a in arrays for s in a.to_pylist()] == lines
    offset = len("".join(line + "\n" for line in lines[:3]).encode("utf-8"))  # a part's stream starts mid-file
    assert [s for a in dataset_files._text_arrays(path, offset) for s in a.to_pylist()] == lines[3:]
    path.write_bytes(b"no newline at the end")
    with pytest.raises(RuntimeError, match="no newline"):
        list(dataset_files._text_arrays(path))


def test_sentences_jsonl_written_in_parts_is_the_whole_file(tmp_path):
    """With workers, sentences.jsonl is written in parts cut at chunk starts and joined: the same
    bytes as one pass, held-out sentences left out of either."""
    import numpy as np

    from training.data.dataset_files import SentenceStream, join_files, write_sentences_jsonl

    texts = [f"جملة رقم {i} عن \"هجوم\" على القاعدة" for i in range(250)]
    stream = SentenceStream(tmp_path / "text.txt")
    with stream.path.open("wb") as fh:
        for i, text in enumerate(texts):
            if i % 40 == 0:  # a chunk starts every 40 sentences
                stream.chunk_starts.append((i, fh.tell()))
            fh.write((text + "\n").encode("utf-8"))
    stream.doc_names = [f"doc{d}" for d in range(25)]
    stream.doc_codes.extend(i // 10 for i in range(250))
    stream.sent_ids.extend(i % 10 for i in range(250))
    probs = np.random.default_rng(0).random((250, 3)).round(2)
    keep = np.arange(250) % 7 != 3
    write_sentences_jsonl(stream, probs, keep, tmp_path / "whole.jsonl")
    for n in (1, 2, 3, 10):
        parts = stream.parts(n)
        assert parts[0][0].start == 0 and parts[-1][0].stop == 250 and len(parts) == min(n, 7)
        assert all(rows.stop == nxt.start in {r for r, _ in stream.chunk_starts}
                   for (rows, _), (nxt, _) in zip(parts, parts[1:]))
        paths = [tmp_path / f"part{k}" for k in range(len(parts))]
        for path, (rows, part) in zip(paths, parts):
            assert len(part.sent_ids) == rows.stop - rows.start  # a part carries its own rows only
            write_sentences_jsonl(part, probs[rows], keep[rows], path)
        join_files(paths, tmp_path / f"joined{n}.jsonl")
        assert (tmp_path / f"joined{n}.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
        assert not any(path.exists() for path in paths[1:])


def test_dataset_splits_never_share_a_document(chain):
    from datasets import load_from_disk

    data = load_from_disk(str(chain["data"] / "dataset"))
    assert set(data) == {"train", "validation"}
    docs = {split: set(ds["doc_id"]) for split, ds in data.items()}
    assert docs["train"] and docs["validation"] and not docs["train"] & docs["validation"]
    assert sum(len(ds) for ds in data.values()) == 79
    row = data["train"][0]
    assert len(row["targets"]) == len(row["label_vector"]) == len(LABELS)


def test_arrow_rows_are_the_sentences_jsonl_rows(chain):
    """The Arrow columns are built from arrays, the lines from pieces: they must tell the same rows."""
    from datasets import load_from_disk

    lines = {(r["doc_id"], r["sent_id"]): r for r in read_jsonl(chain["data"] / "sentences.jsonl")}
    rows = [row for split in load_from_disk(str(chain["data"] / "dataset")).values() for row in split]
    assert len(rows) == len(lines) and any(row["labels"] for row in rows)
    for row in rows:
        line = lines[(row["doc_id"], row["sent_id"])]
        assert row["text"] == line["text"] and row["labels"] == line["labels"]
        assert row["label_vector"] == [float(label in line["labels"]) for label in LABELS]
        assert row["targets"] == pytest.approx([line["probs"][label] for label in LABELS], abs=1e-6)


def test_report_and_resolved_config_are_written(chain):
    report = json.loads((chain["data"] / "lf_report.json").read_text())
    assert report["sentences"] == 79 and report["gold"]["models"]["majority"]["macro_f1"] >= 0.98
    assert "## Splits (by document;" in (chain["data"] / "lf_report.md").read_text()
    positives = report["splits"]["positives"]
    assert all(n > 0 for n in positives["validation"]), positives  # the held-out seed article has every label
    assert [a + b for a, b in zip(positives["train"], positives["validation"])] == \
        [report["distribution"][label] for label in LABELS]
    assert (chain["data"] / "build_config.yaml").is_file()


def test_presplit_jsonl_is_labelled_as_it_is(tmp_path):
    path = tmp_path / "s.jsonl"
    sentences = ["قتل ثلاثة جنود في هجوم على قاعدة عسكرية. وأصيب آخرون.", "وتطالب الفصائل بانسحاب القوات الأمريكية",
                 "ويوجد 2500 جندي أمريكي في العراق"]
    path.write_text("\n".join(json.dumps({"id": f"d{i}", "text": s}, ensure_ascii=False) for i, s in enumerate(sentences)))
    build_dataset(str(path), str(tmp_path / "out"), load_config(), presplit=True)
    rows = read_jsonl(tmp_path / "out" / "sentences.jsonl")
    assert [r["text"] for r in rows] == sentences
    assert [r["labels"] for r in rows] == [["attack", "casualty"], ["withdrawal_talks"], []]


def test_failed_build_leaves_an_existing_output_untouched(tmp_path, chain):
    out = tmp_path / "out"
    shutil.copytree(chain["data"], out)  # an earlier build: --overwrite may replace it, once a new one is complete
    before = sorted(p.name for p in out.iterdir())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        build_dataset(str(tmp_path / "empty"), str(out), load_config(), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_bad_input_is_one_line_and_no_output(tmp_path):
    result = run_script("build_dataset.py", "--input", tmp_path / "missing", "--output", tmp_path / "out")
    assert_one_line_error(result, "missing", "no such file")
    assert not (tmp_path / "out").exists()

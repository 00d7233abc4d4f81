"""The files of a dataset folder: `sentences.jsonl` and the Arrow file of each split.

Both are written after the label model (and, for the Arrow files, the document split) are known,
by two independent passes over the streamed sentences, so that a build with workers writes them
at the same time (one in a worker, one in the parent). The passes are written for speed: the
label columns of each distinct label row are made once per block; each sentences.jsonl line is
joined from pieces (the same bytes `json.dumps` of the row gives); the Arrow columns are built
from numpy arrays and the text file's bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import shutil
from array import array
from itertools import islice
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from pathlib import Path
from typing import Iterator

import numpy as np

from training.data.splits import SPLITS
from training.labels import LABELS

HELD_OUT = -1  # split code of a sentence of a test-only gold file: written nowhere
JSONL_BLOCK_ROWS = 10_000  # sentences.jsonl lines formatted and written at a time
TEXT_BLOCK_BYTES = 1 << 22  # bytes of sentence text per Arrow table (4 MiB): bounded memory, few tables


def import_dataset_writer() -> None:
    """Import what writing the Arrow files needs (`datasets`: ~0.7 s), ahead of the write. A
    failure is left for the write to report: as a process pool's initializer, raising would make
    the pool start the process again and again."""
    with contextlib.suppress(Exception):
        importlib.import_module("datasets")


def label_columns(probs) -> tuple[list[str], list[float], list[float]]:
    """A sentence's label columns from its label-model probabilities, as every dataset holds them:
    `labels` (probability >= 0.5), `targets` (the probabilities to 4 places), `label_vector` (0/1)."""
    labels = [label for label, v in zip(LABELS, probs) if v >= 0.5]
    return labels, [round(float(v), 4) for v in probs], [float(label in labels) for label in LABELS]


class SentenceStream:
    """The build's sentences in input order: their text on disk, one per line (a sentence never
    holds a newline: it comes from splitting lines), and per sentence only an int32 document code
    and an int32 sentence id in memory (with the int8 votes: ~36 bytes a sentence)."""

    def __init__(self, path: Path, offset: int = 0):
        self.path, self.offset = path, offset  # offset: the byte where this stream's first line starts
        self.doc_names: list[str] = []
        self.doc_codes, self.sent_ids = array("i"), array("i")
        self.chunk_starts: list[tuple[int, int]] = []  # (first row, byte offset in the file) of each chunk's text

    def rows(self) -> Iterator[tuple[str, int, str]]:
        """(doc_id, sent_id, text) of every sentence, in order."""
        with self.path.open("rb") as raw:
            raw.seek(self.offset)
            lines = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
            for code, sent_id, line in zip(self.doc_codes, self.sent_ids, lines):
                yield self.doc_names[code], sent_id, line[:-1]

    def parts(self, n: int) -> list[tuple[slice, "SentenceStream"]]:
        """At most `n` parts of about equal size that cover every row, cut where a chunk starts:
        (their rows, a stream of those rows only, cheap to send to another process)."""
        total, cuts = len(self.sent_ids), [(0, 0)]
        for k in range(1, n):
            nearest = min(self.chunk_starts, key=lambda start: abs(start[0] - total * k // n), default=(0, 0))
            if cuts[-1][0] < nearest[0] < total:
                cuts.append(nearest)
        if len(cuts) == 1:
            return [(slice(0, total), self)]
        ends = [row for row, _ in cuts[1:]] + [total]
        return [(slice(first, end), self._part(first, end, offset)) for (first, offset), end in zip(cuts, ends)]

    def _part(self, first: int, end: int, offset: int) -> "SentenceStream":
        part = SentenceStream(self.path, offset)
        part.doc_names, part.doc_codes, part.sent_ids = self.doc_names, self.doc_codes[first:end], self.sent_ids[first:end]
        return part

    def codes(self) -> np.ndarray:
        return np.frombuffer(self.doc_codes, dtype=np.int32)


class _SplitWriter:
    """One split's rows, written to an Arrow file a table at a time; fingerprinted by the file's
    bytes so that equal data gives byte-equal folders (by default `datasets` derives it from the
    random temp folder's name)."""

    def __init__(self, path: Path, features):
        from datasets.arrow_writer import ArrowWriter

        self.path, self.features, self.rows = path, features, 0
        self.writer = ArrowWriter(features=features, path=str(path))

    def write(self, table) -> None:
        self.writer.write_table(table)
        self.rows += len(table)

    def close(self):
        """Finish the file; returns an empty `datasets.Dataset` with this split's features and
        fingerprint, whose `save_to_disk` writes the split's metadata (see `_save_splits`)."""
        from datasets import Dataset, DatasetInfo
        from datasets.table import InMemoryTable

        self.writer.finalize()
        self.writer.close()
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
        return Dataset(InMemoryTable(self.features.arrow_schema.empty_table()), info=DatasetInfo(features=self.features),
                       fingerprint=digest.hexdigest()[:16])


def _save_splits(writers: dict[str, _SplitWriter], folder: Path) -> None:
    """`DatasetDict.save_to_disk`'s folder without its copy of every row (0.2 s and the Arrow
    files' size written twice): `datasets` saves empty splits with our features and fingerprints,
    which writes the metadata, then each split's own Arrow file replaces its empty one."""
    from datasets import DatasetDict

    empty = DatasetDict({name: writer.close() for name, writer in writers.items()})
    empty.save_to_disk(str(folder), num_shards={name: 1 for name in writers})
    for name, writer in writers.items():
        state = json.loads((folder / name / "state.json").read_text("utf-8"))
        [data_file] = state["_data_files"]
        os.replace(writer.path, folder / name / data_file["filename"])


def _features():
    from datasets import Features, Sequence, Value

    # Explicit types: a split whose sentences all have no label would otherwise get list<null>.
    return Features({"doc_id": Value("string"), "sent_id": Value("int64"), "text": Value("string"),
                     "labels": Sequence(Value("string")), "targets": Sequence(Value("float32")),
                     "label_vector": Sequence(Value("float32"))})


def _distinct_label_rows(block: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """The distinct rows of a block of probabilities, each as (labels, targets, vector, the
    sentences.jsonl line's JSON from "labels" on), and the index of each row's one: a label model
    gives few distinct rows, so each is formatted once."""
    block = np.ascontiguousarray(block)
    # Each row as one opaque value: np.unique over them is 6x faster than np.unique(axis=0).
    keys = block.view(np.dtype((np.void, block.dtype.itemsize * block.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    pieces = []
    for row in block[first]:
        labels, targets, vector = label_columns(row)
        tail = (f'"labels": {json.dumps(labels, ensure_ascii=False)}, '
                f'"probs": {json.dumps(dict(zip(LABELS, targets)))}}}\n')
        pieces.append((labels, targets, vector, tail))
    return pieces, inverse.reshape(-1)


def write_sentences_jsonl(stream: SentenceStream, probs: np.ndarray, keep: np.ndarray, path: Path) -> None:
    """`sentences.jsonl` (or one of `stream.parts()`): every sentence where `keep` (the others belong
    to test-only gold files), in input order."""
    rows = stream.rows()
    with path.open("w", encoding="utf-8") as dst:
        for start in range(0, len(probs), JSONL_BLOCK_ROWS):
            block = slice(start, start + JSONL_BLOCK_ROWS)
            distinct, inverse = _distinct_label_rows(probs[block])
            # The bytes of json.dumps(row, ensure_ascii=False), without building the row.
            lines = [f'{{"doc_id": {encode_basestring(doc_id)}, "sent_id": {sent_id}, '
                     f'"text": {encode_basestring(text)}, {distinct[k][3]}'
                     for (doc_id, sent_id, text), k in zip(islice(rows, JSONL_BLOCK_ROWS), inverse)]
            kept = keep[block]
            dst.write("".join(lines) if kept.all() else "".join(line for line, k in zip(lines, kept) if k))


def join_files(parts: list[Path], path: Path) -> None:
    """Concatenate `parts` into `path` (the first part becomes it; the others are removed)."""
    with parts[0].open("ab") as dst:
        for other in parts[1:]:
            with other.open("rb") as src:
                shutil.copyfileobj(src, dst, 1 << 22)
            other.unlink()
    parts[0].rename(path)


def _text_arrays(path: Path, offset: int = 0) -> Iterator:
    """The lines of a UTF-8 file of newline-ended lines, from byte `offset` on, as Arrow string
    arrays (without the newlines), a block of whole lines at a time, built by numpy rather than
    line by line."""
    import pyarrow as pa

    rest = b""
    with path.open("rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(TEXT_BLOCK_BYTES):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut:]
            if not cut:
                continue  # one line longer than a block: read on
            data = np.frombuffer(chunk, dtype=np.uint8, count=cut)
            newline = data == 10
            ends = np.flatnonzero(newline)
            # With the newlines dropped, line i spans [ends[i-1] + 1 - i, ends[i] - i).
            offsets = np.concatenate([[0], ends - np.arange(len(ends))]).astype(np.int32)
            yield pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data[~newline]))
    if rest:
        raise RuntimeError(f"{path}: the last line has no newline")


def write_dataset(stream: SentenceStream, probs: np.ndarray, split_of_sentence: np.ndarray,
                  out: Path) -> dict[str, int]:
    """The DatasetDict of the splits in `out/dataset`; `split_of_sentence` holds indices into
    SPLITS (int8: one byte a sentence, not a string), or HELD_OUT. Returns the rows of each split.

    The columns are Arrow arrays made from numpy arrays and the text file's bytes (no Python
    object per sentence), a block of TEXT_BLOCK_BYTES at a time."""
    import pyarrow as pa

    features = _features()
    schema = features.arrow_schema
    (out / ".splits").mkdir()
    writers = {k: _SplitWriter(out / ".splits" / f"{s}.arrow", features) for k, s in enumerate(SPLITS)
               if (split_of_sentence == k).any()}
    doc_names, codes = pa.array(stream.doc_names, pa.string()), stream.codes()
    sent_ids = np.frombuffer(stream.sent_ids, dtype=np.int32).astype(np.int64)
    start = 0
    for text in _text_arrays(stream.path, stream.offset):  # the same lines as stream.rows()
        rows = slice(start, start + len(text))
        start += len(text)
        distinct, inverse = _distinct_label_rows(probs[rows])
        label_values = [pa.array([piece[j] for piece in distinct], schema.field(name).type)
                        for j, name in enumerate(("labels", "targets", "label_vector"))]
        for k, writer in writers.items():
            picked = np.flatnonzero(split_of_sentence[rows] == k)  # this split's rows of the block
            columns = [doc_names.take(pa.array(codes[rows][picked])), pa.array(sent_ids[rows][picked]),
                       text.take(pa.array(picked)), *(values.take(pa.array(inverse[picked])) for values in label_values)]
            writer.write(pa.Table.from_arrays(columns, schema=schema))
    if start != len(probs):
        raise RuntimeError(f"{stream.path}: {start} lines for {len(probs)} sentences")
    _save_splits({SPLITS[k]: w for k, w in writers.items()}, out / "dataset")
    shutil.rmtree(out / ".splits")
    return {SPLITS[k]: w.rows for k, w in writers.items()}

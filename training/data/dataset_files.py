"""The files of a dataset folder: `sentences.jsonl` and the Arrow file of each split.

Both are written after the label model and the document split are known, by two independent
passes over the streamed sentences, so that a build with workers writes them at the same time
(one in a worker, one in the parent). The passes are written for speed: the JSON text of each
distinct label row is made once per block, and each line is joined from pieces (the same bytes
`json.dumps` of the row gives).
"""

from __future__ import annotations

import hashlib
import json
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
ARROW_BATCH_ROWS = 10_000  # rows per Arrow record batch: bounded memory, few batches


def import_dataset_writer() -> None:
    """Import what writing the Arrow files needs (`datasets`: ~0.7 s), ahead of the write."""
    import datasets  # noqa: F401


def label_columns(probs) -> tuple[list[str], list[float], list[float]]:
    """A sentence's label columns from its label-model probabilities, as every dataset holds them:
    `labels` (probability >= 0.5), `targets` (the probabilities to 4 places), `label_vector` (0/1)."""
    labels = [label for label, v in zip(LABELS, probs) if v >= 0.5]
    return labels, [round(float(v), 4) for v in probs], [float(label in labels) for label in LABELS]


class SentenceStream:
    """The build's sentences in input order: their text on disk, one per line (a sentence never
    holds a newline: it comes from splitting lines), and per sentence only an int32 document code
    and an int32 sentence id in memory (with the int8 votes: ~36 bytes a sentence)."""

    def __init__(self, path: Path):
        self.path = path
        self.doc_names: list[str] = []
        self.doc_codes, self.sent_ids = array("i"), array("i")

    def rows(self) -> Iterator[tuple[str, int, str]]:
        """(doc_id, sent_id, text) of every sentence, in order."""
        with self.path.open(encoding="utf-8", newline="\n") as fh:
            for code, sent_id, line in zip(self.doc_codes, self.sent_ids, fh):
                yield self.doc_names[code], sent_id, line[:-1]

    def codes(self) -> np.ndarray:
        return np.frombuffer(self.doc_codes, dtype=np.int32)


class _SplitWriter:
    """One split's rows, written to an Arrow file in batches; fingerprinted by the file's bytes so
    that equal data gives byte-equal folders (by default `datasets` derives it from the random
    temp folder's name)."""

    def __init__(self, path: Path):
        from datasets import Features, Sequence, Value
        from datasets.arrow_writer import ArrowWriter

        # Explicit types: a split whose sentences all have no label would otherwise get list<null>.
        self.features = Features({"doc_id": Value("string"), "sent_id": Value("int64"), "text": Value("string"),
                                  "labels": Sequence(Value("string")), "targets": Sequence(Value("float32")),
                                  "label_vector": Sequence(Value("float32"))})
        self.path, self.writer = path, ArrowWriter(features=self.features, path=str(path))
        self.columns: dict[str, list] = {name: [] for name in self.features}
        self.rows = 0

    def add(self, rows: list[tuple], pieces: list[tuple]) -> None:
        """Rows of this split: (doc_id, sent_id, text) and their label pieces."""
        columns = self.columns
        columns["doc_id"] += [row[0] for row in rows]
        columns["sent_id"] += [row[1] for row in rows]
        columns["text"] += [row[2] for row in rows]
        columns["labels"] += [piece[0] for piece in pieces]
        columns["targets"] += [piece[1] for piece in pieces]
        columns["label_vector"] += [piece[2] for piece in pieces]
        self.rows += len(rows)
        while len(self.columns["text"]) >= ARROW_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Write the first ARROW_BATCH_ROWS buffered rows (or all that are left) as one batch."""
        import pyarrow as pa

        if self.columns["text"]:
            batch = {name: values[:ARROW_BATCH_ROWS] for name, values in self.columns.items()}
            self.writer.write_table(pa.Table.from_pydict(batch, schema=self.features.arrow_schema))
            self.columns = {name: values[ARROW_BATCH_ROWS:] for name, values in self.columns.items()}

    def close(self):
        """The finished split as a `datasets.Dataset` on the memory-mapped file."""
        from datasets import Dataset, DatasetInfo
        from datasets.table import MemoryMappedTable

        self._flush()
        self.writer.finalize()
        self.writer.close()
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
        return Dataset(MemoryMappedTable.from_file(str(self.path)), info=DatasetInfo(features=self.features),
                       fingerprint=digest.hexdigest()[:16])


def _label_pieces(block: np.ndarray) -> list[tuple]:
    """Per row of a block of probabilities: (labels, targets, vector, the line's JSON from "labels"
    on), made once per distinct row (a label model gives few)."""
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
    return [pieces[k] for k in inverse.reshape(-1)]


def _blocks(stream: SentenceStream, probs: np.ndarray) -> Iterator[tuple[slice, list[tuple], list[tuple]]]:
    """(rows of the block, their (doc_id, sent_id, text), their label pieces), ARROW_BATCH_ROWS at a time."""
    rows = stream.rows()
    for start in range(0, len(probs), ARROW_BATCH_ROWS):
        block = slice(start, start + ARROW_BATCH_ROWS)
        yield block, list(islice(rows, ARROW_BATCH_ROWS)), _label_pieces(probs[block])


def write_sentences_jsonl(stream: SentenceStream, probs: np.ndarray, split_of_sentence: np.ndarray,
                          path: Path) -> None:
    """`sentences.jsonl`: every sentence of a split (not the HELD_OUT ones), in input order.

    `split_of_sentence` holds indices into SPLITS (int8: one byte a sentence, not a string), or HELD_OUT.
    """
    with path.open("w", encoding="utf-8") as dst:
        for block, batch, pieces in _blocks(stream, probs):
            # The bytes of json.dumps(row, ensure_ascii=False), without building the row.
            lines = [f'{{"doc_id": {encode_basestring(doc_id)}, "sent_id": {sent_id}, '
                     f'"text": {encode_basestring(text)}, {piece[3]}'
                     for (doc_id, sent_id, text), piece in zip(batch, pieces)]
            splits = split_of_sentence[block]
            dst.write("".join(lines) if (splits != HELD_OUT).all() else
                      "".join(line for line, split in zip(lines, splits) if split != HELD_OUT))


def write_dataset(stream: SentenceStream, probs: np.ndarray, split_of_sentence: np.ndarray,
                  out: Path) -> dict[str, int]:
    """The DatasetDict of the splits in `out/dataset` (see `write_sentences_jsonl` for the split
    codes). Returns the rows of each split."""
    from datasets import DatasetDict

    (out / ".splits").mkdir()
    writers = {k: _SplitWriter(out / ".splits" / f"{s}.arrow") for k, s in enumerate(SPLITS)
               if (split_of_sentence == k).any()}
    for block, batch, pieces in _blocks(stream, probs):
        splits = split_of_sentence[block]
        for k, writer in writers.items():
            rows_k = np.flatnonzero(splits == k).tolist()
            writer.add([batch[i] for i in rows_k], [pieces[i] for i in rows_k])
    DatasetDict({SPLITS[k]: w.close() for k, w in writers.items()}).save_to_disk(str(out / "dataset"))
    shutil.rmtree(out / ".splits")
    return {SPLITS[k]: w.rows for k, w in writers.items()}

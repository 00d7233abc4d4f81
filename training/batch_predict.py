"""Batch prediction over a corpus: streaming, resumable, and shardable across processes.

Rows go to `<output>.partial` in chunks, in input order, each chunk flushed to disk; the
file is renamed to `<output>` only when the run completes. `resume=True` counts the complete
rows already in the partial file, skips that many input sentences and appends the rest, so
no row is lost or duplicated. Under `accelerate launch`, process r predicts sentences
r, r+W, r+2W, ... into its own shard file and the main process interleaves the shards back
into input order, so the merged output equals a single-process run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterator

from tqdm.auto import tqdm

from training.corpus import Sentence, iter_sentences
from training.inference import EventClassifier
from training.io_utils import UserError

logger = logging.getLogger(__name__)
COLUMNS = ["doc_id", "sent_id", "text", "labels", "scores", "model_input"]


@dataclass
class PredictSummary:
    sentences: int = 0
    skipped: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class RowWriter:
    """Appends prediction rows as JSONL or CSV (by the final file's extension)."""

    def __init__(self, path: Path, csv_format: bool, write_header: bool):
        self.fh = path.open("a", encoding="utf-8", newline="")
        self.csv = csv.DictWriter(self.fh, fieldnames=COLUMNS) if csv_format else None
        if self.csv is not None and write_header:
            self.csv.writeheader()

    def write(self, row: dict) -> None:
        if self.csv is None:
            self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self.csv.writerow({**row, "labels": json.dumps(row["labels"], ensure_ascii=False),
                               "scores": json.dumps(row["scores"]), "model_input": row.get("model_input", "")})

    def flush(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def count_complete_rows(path: Path, csv_format: bool) -> int:
    """Rows fully written to a partial file; a torn last line is cut off first."""
    if not path.is_file():
        return 0
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut != len(data):
        with path.open("r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    if not csv_format:
        return data.count(b"\n")
    return max(sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1, 0)


def _row(sentence: Sentence, prediction) -> dict:
    row = {"doc_id": sentence.doc_id, "sent_id": sentence.sent_id, "text": sentence.text,
           "labels": prediction.labels, "scores": prediction.scores}
    if prediction.model_input != sentence.text:
        row["model_input"] = prediction.model_input
    return row


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(items, size)):
        yield chunk


def check_output_paths(output: Path, resume: bool) -> Path:
    if not output.parent.is_dir():
        raise UserError(f"{output}: the folder {output.parent} does not exist")
    partial = output.with_name(output.name + ".partial")
    if output.exists():
        raise UserError(f"{output}: already exists; choose another file or remove it (it is never appended to)")
    if partial.exists() and not resume:
        raise UserError(f"{partial}: an interrupted run left this file; continue with --resume or remove it")
    return partial


def predict_file(classifier: EventClassifier, input_path: str, output: str | Path, presplit: bool = False,
                 batch_size: int | None = None, resume: bool = False, chunk_size: int = 4096,
                 min_words: int = 3, rank: int = 0, world_size: int = 1) -> PredictSummary:
    """Predict every sentence of `input_path` into `output` (see module docstring)."""
    output = Path(output)
    csv_format = output.suffix.lower() == ".csv"
    partial = check_output_paths(output, resume) if rank == 0 else output.with_name(output.name + ".partial")
    target = partial if world_size == 1 else output.with_name(f"{output.name}.shard{rank}")
    if world_size > 1 and resume:
        raise UserError("--resume is for single-process runs; rerun the sharded job without it")
    done = count_complete_rows(target, csv_format) if resume else 0
    if world_size > 1:
        target.unlink(missing_ok=True)
    summary = PredictSummary(skipped=done)
    writer = RowWriter(target, csv_format and world_size == 1, write_header=done == 0)
    start = time.perf_counter()
    sentences = iter_sentences(input_path, presplit, min_words)
    mine = (s for i, s in enumerate(sentences) if i % world_size == rank)
    bar = tqdm(desc="predicting", unit="sent", initial=done, disable=rank != 0, mininterval=1.0)
    try:
        for chunk in _chunks(islice(mine, done, None), chunk_size):
            for sentence, prediction in zip(chunk, classifier.predict([s.text for s in chunk], batch_size)):
                writer.write(_row(sentence, prediction))
                for label in prediction.labels:
                    summary.label_counts[label] = summary.label_counts.get(label, 0) + 1
            writer.flush()
            summary.sentences += len(chunk)
            bar.update(len(chunk))
    except Exception:
        writer.close()
        if summary.sentences == 0 and done == 0:
            target.unlink(missing_ok=True)  # nothing useful was written: leave nothing behind
        raise
    finally:
        bar.close()
    writer.close()
    summary.seconds = time.perf_counter() - start
    if world_size == 1:
        os.replace(partial, output)
    return summary


def merge_shards(output: str | Path, world_size: int) -> int:
    """Interleave shard files (rank r holds sentences r, r+W, ...) into `output`, in input order."""
    output = Path(output)
    csv_format = output.suffix.lower() == ".csv"
    shards = [output.with_name(f"{output.name}.shard{r}") for r in range(world_size)]
    partial = output.with_name(output.name + ".partial")
    handles = [s.open(encoding="utf-8") for s in shards]
    writer = RowWriter(partial, csv_format, write_header=True)
    n = 0
    try:
        while True:
            wrote = False
            for fh in handles:
                line = fh.readline()
                if line:
                    writer.write(json.loads(line))
                    n += 1
                    wrote = True
            if not wrote:
                break
    finally:
        for fh in handles:
            fh.close()
        writer.close()
    os.replace(partial, output)
    for s in shards:
        s.unlink()
    return n

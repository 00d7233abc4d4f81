"""Batch prediction over a corpus: streaming, resumable, and shardable across processes.

Rows go to `<output>.partial` in chunks, in input order, each chunk flushed to disk; the
file is renamed to `<output>` only when the run completes. A run holds an exclusive lock on
the partial file, so a second run on the same output fails at once. `<output>.partial.json`
records what the run predicts (input, model, options); `resume=True` refuses a partial file of
another run, counts the complete rows already written, skips that many input sentences and
appends the rest, so no row is lost or duplicated. Under `accelerate launch`, process r predicts sentences
r, r+W, r+2W, ... into its own shard file and the main process interleaves the shards back
into input order, so the merged output equals a single-process run.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
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

from training.inputs.corpus import Sentence, article_files, iter_sentences
from training.analysis.disagreements import disagreements_path, from_predictions
from training.model.inference import EventClassifier
from training.errors import UserError
from training.io_utils import chunked, iter_jsonl
from training.outputs import check_not_an_input, check_output

logger = logging.getLogger(__name__)
COLUMNS = ["doc_id", "sent_id", "text", "labels", "scores", "model_input"]


@dataclass
class PredictSummary:
    sentences: int = 0         # rows in the output, the resumed ones included
    skipped: int = 0           # rows already written by the interrupted run that this one resumed
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


def read_prediction_rows(path: Path, csv_format: bool | None = None) -> Iterator[dict]:
    """The rows of a predictions file (JSONL, or CSV by extension or flag), labels and scores decoded."""
    csv_format = path.suffix.lower() == ".csv" if csv_format is None else csv_format
    with path.open(encoding="utf-8", newline="") as fh:
        if not csv_format:
            yield from iter_jsonl(fh, path)
            return
        for row in csv.DictReader(fh):
            yield {**row, "labels": json.loads(row["labels"]), "scores": json.loads(row["scores"])}


def _label_counts(path: Path, csv_format: bool) -> dict[str, int]:
    """Label counts of the complete rows of a partial file (for the summary of a resumed run)."""
    counts: dict[str, int] = {}
    for row in read_prediction_rows(path, csv_format):
        for label in row["labels"]:
            counts[label] = counts.get(label, 0) + 1
    return counts


def write_disagreements(output: Path, thresholds) -> Path:
    """`OUTPUT.disagreements.jsonl`: the predicted sentences where model and rules disagree,
    most confident first (see training.analysis.disagreements)."""
    path = disagreements_path(output)
    count = from_predictions(output, thresholds, path, read_prediction_rows)
    logger.info("%d sentences where the model and the rules disagree -> %s", count, path)
    return path


def _is_disagreements_file(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
        return not first or {"model_only", "rules_only"} <= set(json.loads(first))
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        return False


def _row(sentence: Sentence, prediction) -> dict:
    row = {"doc_id": sentence.doc_id, "sent_id": sentence.sent_id, "text": sentence.text,
           "labels": prediction.labels, "scores": prediction.scores}
    if prediction.model_input != sentence.text:
        row["model_input"] = prediction.model_input
    return row


def _is_predictions_file(path: Path) -> bool:
    """True for a file this command wrote: a JSONL row or CSV header with our columns."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix.lower() == ".csv":
        return first.strip() == ",".join(COLUMNS)
    try:
        row = json.loads(first)
    except ValueError:
        return False
    return isinstance(row, dict) and {"doc_id", "labels", "scores"} <= set(row)


def check_output_paths(output: Path, resume: bool, overwrite: bool = False, inputs: tuple = (),
                       disagreements: bool = True) -> Path:
    """Apply the output policy to the predictions file and its partial file; returns the partial's path."""
    partial = output.with_name(output.name + ".partial")
    check_output(output, "predict", inputs, overwrite, folder=False, is_own=_is_predictions_file)
    if disagreements:
        check_output(disagreements_path(output), "predict", inputs, overwrite, folder=False,
                     is_own=_is_disagreements_file)
    check_not_an_input(partial, inputs)
    if partial.exists() and not resume:
        with partial.open("ab") as fh:
            _lock(fh, partial)  # a live run is refused here with its own message
        raise UserError(f"{partial}: an interrupted run left this file; continue it with --resume (same input, "
                        f"model and options) or remove it to start over")
    return partial


def _lock(fh, path: Path) -> None:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UserError(f"{path}: another predict run is writing this output now; wait for it to finish, or "
                        f"choose another output") from None


def run_fingerprint(classifier: EventClassifier, input_path: str, options: dict, resume: bool) -> dict:
    """What a resumed run must share with the interrupted one: input, model and options."""
    if str(input_path) == "-" and resume:
        raise UserError("--resume needs a file or folder input: standard input cannot be checked to be the same")
    source = "<stdin>" if str(input_path) == "-" else _path_fingerprint(Path(input_path))
    return {"input": source, "model": classifier.fingerprint(), "options": options}


def _path_fingerprint(path: Path) -> str:
    files = article_files(path) if path.is_dir() else [path]  # the files the run reads
    digest = hashlib.sha256(str(path.resolve()).encode())
    for f in files:
        st = f.stat()
        digest.update(f"{f.relative_to(path) if path.is_dir() else f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _record(target: Path) -> Path:
    """Where the run's fingerprint lives: beside the partial file (`FILE.partial.json`)."""
    return target.with_name(target.name + ".json")


def _start_or_resume(target: Path, fingerprint: dict, resume: bool, csv_format: bool) -> int:
    """Record or check the run's fingerprint beside the (locked) partial file; returns rows already done."""
    record = _record(target)
    if not resume:
        record.write_text(json.dumps(fingerprint, indent=1) + "\n", encoding="utf-8")
        return 0
    try:
        previous = json.loads(record.read_text("utf-8"))
    except (OSError, ValueError):
        previous = None
    if previous != fingerprint:
        changed = [k for k in fingerprint if not previous or previous.get(k) != fingerprint[k]]
        raise UserError(f"{target}: was written by another run (its {', '.join(changed) or 'record'} differ"
                        f"{'s' if len(changed) == 1 else ''}); resume only with the same input, model and options, "
                        f"or remove it to start over")
    return count_complete_rows(target, csv_format)


def predict_file(classifier: EventClassifier, input_path: str, output: str | Path, presplit: bool = False,
                 batch_size: int | None = None, resume: bool = False, chunk_size: int = 4096,
                 min_words: int = 3, rank: int = 0, world_size: int = 1, overwrite: bool = False,
                 encoding: str = "auto", disagreements: bool = True) -> PredictSummary:
    """Predict every sentence of `input_path` into `output` (see module docstring); with
    `disagreements`, OUTPUT.disagreements.jsonl is checked here and written by the caller once the
    predictions are complete (`write_disagreements`)."""
    output = Path(output)
    csv_format = output.suffix.lower() == ".csv"
    if world_size > 1 and resume:
        raise UserError("--resume is for single-process runs; rerun the sharded job without it")
    inputs = (input_path, classifier.source)
    partial = (check_output_paths(output, resume, overwrite, inputs, disagreements) if rank == 0
               else output.with_name(output.name + ".partial"))
    target = partial if world_size == 1 else output.with_name(f"{output.name}.shard{rank}")
    if world_size > 1:
        target.unlink(missing_ok=True)
    options = {"presplit": presplit, "min_words": min_words, "encoding": encoding, "csv": csv_format}
    fingerprint = run_fingerprint(classifier, input_path, options, resume) if world_size == 1 else {}
    with target.open("ab") as lock:
        _lock(lock, target)
        done = _start_or_resume(target, fingerprint, resume, csv_format) if world_size == 1 else 0
        summary = _predict_rows(classifier, input_path, target, done, csv_format and world_size == 1,
                                presplit, batch_size, chunk_size, min_words, rank, world_size, encoding)
        if world_size == 1:
            os.replace(partial, output)
            _record(target).unlink(missing_ok=True)
    return summary


def _predict_rows(classifier, input_path, target: Path, done: int, csv_format: bool, presplit, batch_size,
                  chunk_size, min_words, rank, world_size, encoding) -> PredictSummary:
    """Append the predictions of every sentence after the first `done` to `target`."""
    summary = PredictSummary(sentences=done, skipped=done, label_counts=_label_counts(target, csv_format) if done else {})
    writer = RowWriter(target, csv_format, write_header=done == 0)
    start = time.perf_counter()
    sentences = iter_sentences(input_path, presplit, min_words, encoding=encoding)
    mine = (s for i, s in enumerate(sentences) if i % world_size == rank)
    bar = tqdm(desc="predicting", unit="sent", initial=done, disable=rank != 0, mininterval=1.0)
    try:
        for chunk in chunked(islice(mine, done, None), chunk_size):
            for sentence, prediction in zip(chunk, classifier.predict([s.text for s in chunk], batch_size)):
                writer.write(_row(sentence, prediction))
                for label in prediction.labels:
                    summary.label_counts[label] = summary.label_counts.get(label, 0) + 1
            writer.flush()
            summary.sentences += len(chunk)
            bar.update(len(chunk))
    except Exception:
        writer.close()
        if summary.sentences == 0:
            target.unlink(missing_ok=True)  # nothing useful was written: leave nothing behind
            _record(target).unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    writer.close()
    summary.seconds = time.perf_counter() - start
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
        readers = [iter_jsonl(fh, shard) for fh, shard in zip(handles, shards)]
        while readers:  # round robin: rank r wrote every world_size-th row, from row r on
            for reader in list(readers):
                row = next(reader, None)
                if row is None:
                    readers.remove(reader)
                    continue
                writer.write(row)
                n += 1
    finally:
        for fh in handles:
            fh.close()
        writer.close()
    os.replace(partial, output)
    for s in shards:
        s.unlink()
    return n

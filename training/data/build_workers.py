"""Splitting and labeling articles on every core, or across processes and machines, in input order.

Articles are read in the parent and cut into chunks of CHUNK_ARTICLES (a JSONL file's lines are
only cut there, and parsed on the worker: `inputs.blocks`); a chunk is cleaned, split and voted
on by one worker (`label_chunk`), and chunks come back in input order, so the build
that consumes them writes the same bytes whatever the number of workers. At most
IN_FLIGHT_PER_WORKER chunks per worker are in flight, so memory stays flat however large the
input. Once every chunk is labelled, the workers take part in writing the output (`BuildPool`).

Past one machine, shard K of N takes chunks K, K+N, K+2N, ... and writes them to a shard folder;
`merge_shards` deals them back round-robin, which restores input order exactly.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from training.data.dataset_files import import_dataset_writer
from training.data.worker_processes import WorkerProcess
from training.inputs.blocks import JsonlBlock, article_blocks
from training.inputs.corpus import Article, article_sentences
from training.errors import UserError
from training.weak.labeling import LFApplier
from training.weak.lexicon import Lexicon
from training.inputs.text import CleaningStats

logger = logging.getLogger(__name__)

CHUNK_ARTICLES = 128  # articles per task: large enough to hide inter-process overhead, small enough to balance
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker: bounded memory; 4, not 2, lets a worker run on while
                          # the result of a slow chunk on another holds up the in-order reading (-0.1 s on ANT)
SHARD_FILE = "chunks.pickle"
WORKER_DIED = "nothing was written; run the build again (with fewer --workers if memory was short)"


@dataclass
class LabelledChunk:
    index: int                   # position of the chunk in the input
    doc_ids: list[str]           # one per article
    sentence_counts: list[int]   # sentences of each article (0: an empty article)
    text: bytes                  # the chunk's sentences in order, UTF-8, each ending in a newline
    votes: np.ndarray            # [sentences of the chunk, labeling functions], int8
    removed: Counter             # what cleaning removed, by rule


@dataclass(frozen=True)
class ChunkSettings:
    presplit: bool
    min_words: int
    lexicon: str   # "" = the packaged lexicon
    source: str    # the input's name, for warnings


_APPLIERS: dict[str, LFApplier] = {}  # one per process and lexicon: loading it costs ~0.2 s


def applier_for(lexicon: str | None) -> LFApplier:
    """The process's applier for a lexicon file (""/None: the packaged one), loaded once."""
    lexicon = lexicon or ""
    if lexicon not in _APPLIERS:
        _APPLIERS[lexicon] = LFApplier(lexicon=Lexicon.load(lexicon or None))
    return _APPLIERS[lexicon]


def label_chunk(index: int, block: list[Article] | JsonlBlock, settings: ChunkSettings) -> LabelledChunk:
    """Parse (a JSONL block), clean, split and vote on one chunk of articles (runs in a worker
    process or in-process)."""
    articles = block.articles() if isinstance(block, JsonlBlock) else block
    applier = applier_for(settings.lexicon)
    stats = CleaningStats()
    sentences = [article_sentences(a, settings.presplit, settings.min_words, stats, settings.source) for a in articles]
    flat = [s for per_article in sentences for s in per_article]
    votes = applier.apply(flat) if flat else np.zeros((0, len(applier.lfs)), dtype=np.int8)
    # Encoded here, on the worker: the parent only copies the bytes to its file (and a str would
    # be encoded to pickle it and decoded to unpickle it).
    text = "".join(s + "\n" for s in flat)
    if text.count("\n") != len(flat):  # cannot happen: sentences come from splitting lines
        raise RuntimeError(f"a sentence of chunk {index} holds a newline")
    return LabelledChunk(index, [a.doc_id for a in articles], [len(s) for s in sentences], text.encode("utf-8"),
                         votes, stats.removed)


def usable_cores() -> int:
    """The cores this process may run on (affinity and container limits), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def input_chunks(input_path: str, encoding: str) -> Iterator[list[Article] | JsonlBlock]:
    """The input's chunks of CHUNK_ARTICLES articles (JSONL files: unparsed, see `inputs.blocks`)."""
    return article_blocks(input_path, encoding, CHUNK_ARTICLES)


def _shard_chunks(chunks: Iterable, shard: tuple[int, int]) -> Iterator[tuple[int, list[Article] | JsonlBlock]]:
    """(index, chunk) of the chunks this shard (K, N) owns: K, K+N, K+2N, ..."""
    k, n = shard
    return ((index, chunk) for index, chunk in enumerate(chunks) if index % n == k)


class BuildPool:
    """The processes of one build.

    With one worker, everything runs in this process, in turn. With more, `workers` processes
    split and label the chunks, dealt round-robin, then help write the output (`submit`); and a
    build that writes a dataset has one more process (`write`) that imports the dataset library
    (`datasets`, 0.7 s) as soon as the build starts, on the core left idle while this process loads
    the lexicon, and writes the Arrow files at the end. This process then never imports that
    library, which also spares it the library's 0.2 s of interpreter teardown at exit.
    A worker that dies (killed, out of memory) ends the build with an error, never a hang.
    """

    def __init__(self, workers: int, lexicon: str | None, writes_dataset: bool = False):
        self.workers, self.lexicon, self.writes_dataset = workers, lexicon, writes_dataset
        self._labelers: list[WorkerProcess] = []
        self._writer: WorkerProcess | None = None

    def __enter__(self) -> "BuildPool":
        if self.workers > 1:
            # fork starts workers in milliseconds and keeps the parent's logging; elsewhere, spawn.
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            try:
                if self.writes_dataset:  # forked first, before the lexicon: it never needs it
                    self._writer = WorkerProcess(context, "the dataset writer", import_dataset_writer, WORKER_DIED)
                if method == "fork":
                    applier_for(self.lexicon)  # loaded once here, the workers inherit it (and the parent needs it later)
                for k in range(self.workers):  # one by one: a failure stops those already started
                    self._labelers.append(WorkerProcess(context, f"labeling worker {k + 1} of {self.workers}",
                                                        advice=WORKER_DIED))
            except BaseException:
                self.__exit__(RuntimeError)
                raise
        return self

    def __exit__(self, exc_type=None, *exc) -> None:
        # After a success every result has been read and the workers exit at once; after a
        # failure (or Ctrl-C) they are stopped in the middle of whatever they are doing.
        for worker in [*self._labelers, self._writer]:
            if worker is not None:
                worker.stop(grace_seconds=2.0 if exc_type is None else 0)

    def labelled_chunks(self, chunks: Iterable[list[Article] | JsonlBlock], settings: ChunkSettings,
                        shard: tuple[int, int] = (0, 1)) -> Iterator[LabelledChunk]:
        """Label the chunks (`input_chunks`; this shard's only), in input order."""
        chunks = _shard_chunks(chunks, shard)
        if not self._labelers:
            yield from (label_chunk(index, chunk, settings) for index, chunk in chunks)
            return
        # Chunk j goes to worker j % N, and each worker answers in order, so reading the workers
        # in turn gives the chunks in input order.
        in_flight = self.workers * IN_FLIGHT_PER_WORKER
        sent = received = 0
        for index, chunk in chunks:
            self._labelers[sent % self.workers].send(label_chunk, index, chunk, settings)
            sent += 1
            if sent - received >= in_flight:
                yield self._labelers[received % self.workers].receive()
                received += 1
        for k in range(received, sent):
            yield self._labelers[k % self.workers].receive()

    def submit(self, fn, *args):
        """Run `fn(*args)` on the worker with the fewest calls queued (with one worker: here, now);
        `.get()` gives its result."""
        if not self._labelers:
            return _Done(fn(*args))
        worker = min(self._labelers, key=lambda w: w.unanswered)
        return _Pending(worker, worker.send(fn, *args))

    def write(self, fn, *args):
        """Run `fn(*args)` on the dataset writer (without one: here, now); `.get()` gives its result."""
        return _Done(fn(*args)) if self._writer is None else _Pending(self._writer, self._writer.send(fn, *args))


@dataclass
class _Done:
    """A result computed in this process, read like a worker's: `.get()`."""

    result: object

    def get(self):
        return self.result


@dataclass
class _Pending:
    """A call queued on a worker; `.get()` waits for its result. A worker answers in order, so
    the results of the calls sent to one worker are got in the order they were sent."""

    worker: WorkerProcess
    number: int

    def get(self):
        if self.worker.answered != self.number:
            raise RuntimeError(f"results of {self.worker.name} read out of order")
        return self.worker.receive()


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" -> (K, N) with 0 <= K < N."""
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 0 <= int(k) < int(n):
        raise UserError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/4")
    return int(k), int(n)


def write_shard(chunks: Iterable[LabelledChunk], folder: Path) -> int:
    """Store a shard's labelled chunks (a pickle stream: this project's own intermediate files)."""
    count = 0
    with (folder / SHARD_FILE).open("wb") as fh:
        for chunk in chunks:
            pickle.dump(chunk, fh, protocol=pickle.HIGHEST_PROTOCOL)
            count += 1
    return count


def _read_shard(folder: Path) -> Iterator[LabelledChunk]:
    with (folder / SHARD_FILE).open("rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


def merge_shards(folders: list[Path]) -> Iterator[LabelledChunk]:
    """Deal the chunks of N shard folders (shard K holds chunks K, K+N, ...) back into input order."""
    readers = [_read_shard(f) for f in folders]
    index = 0
    while True:
        chunk = next(readers[index % len(readers)], None)
        if chunk is None:
            if any(next(r, None) is not None for r in readers):
                raise UserError(f"shard {folders[index % len(folders)]} ends early: the shards come from different "
                                f"inputs or one of them failed; build them again")
            return
        if chunk.index != index:
            raise UserError(f"shard {folders[index % len(folders)]}: chunk {chunk.index} where {index} was expected; "
                            f"give the shard folders in order 0..N-1, all of one build")
        yield chunk
        index += 1

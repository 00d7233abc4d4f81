"""Building the weakly labelled dataset: articles -> sentences -> rule votes -> labels -> splits.

Outputs (all in one folder, which appears only when everything succeeded):
- `sentences.jsonl`: doc_id, sent_id, text, labels (names, probability >= 0.5), probs.
- `dataset/`: a `datasets.DatasetDict` (train / validation [/ test]), split by document.
- `lf_report.md` and `lf_report.json`: the labeling report; `build_config.yaml`.

Sentences stream to a temp file while only document codes, sentence ids and the int8 vote
matrix stay in memory: ~36 bytes per sentence, not the text.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from training.config import LABEL_MODELS, Config, save_config
from training.data.build_workers import (BuildPool, ChunkSettings, applier_for, input_chunks, merge_shards,
                                         write_shard)
from training.data.dataset_files import HELD_OUT, SentenceStream, join_files, write_dataset, write_sentences_jsonl
from training.data.splits import SPLITS, assign_splits, check_split_positives, split_positives
from training.errors import UserError
from training.inputs.corpus import SentenceNumbering
from training.inputs.gold import HandLabels, label_matrix, load_any_gold
from training.inputs.text import CleaningStats
from training.io_utils import atomic_write_json, atomic_write_text
from training.labels import LABELS
from training.outputs import check_output, output_folder
from training.weak.label_model import aggregate
from training.weak.lf_report import build_report, render_markdown

logger = logging.getLogger(__name__)


SHARD_INFO = "shard.json"  # in a shard folder: which shard of which input, and the data settings it used


@dataclass
class BuildResult:
    sentences: int
    documents: int
    split_documents: dict[str, int]
    report: dict


def _doc_label_counts(doc_codes: np.ndarray, doc_names: list[str], hard: np.ndarray) -> dict[str, np.ndarray]:
    """Positives per label in each document."""
    counts = np.zeros((len(doc_names), hard.shape[1]))
    np.add.at(counts, doc_codes, hard.astype(float))
    return dict(zip(doc_names, counts))


def build_dataset(input_path: str, output_dir: str, config: Config, presplit: bool = False,
                  gold_file: str | None = None, overwrite: bool = False, encoding: str = "auto",
                  workers: int = 1) -> BuildResult:
    """Run the whole build with `workers` processes and write the output folder atomically (see
    `training.outputs`). The output is the same, byte for byte, for any number of workers."""
    settings = _chunk_settings(config, presplit, input_path)
    with (output_folder(output_dir, "build_dataset", _build_inputs(input_path, gold_file, config), overwrite) as tmp,
          BuildPool(workers, settings.lexicon, writes_dataset=True) as pool):
        chunks = pool.labelled_chunks(input_chunks(input_path, encoding), settings)
        result = _build_from_chunks(chunks, input_path, presplit, config, gold_file, tmp, pool)
    logger.info("wrote %d sentences from %d documents to %s", result.sentences, result.documents, output_dir)
    return result


def build_shard(input_path: str, shard_dir: str, config: Config, shard: tuple[int, int], presplit: bool = False,
                encoding: str = "auto", workers: int = 1, overwrite: bool = False) -> None:
    """Split and label shard K of N of the input (its chunks K, K+N, ...) into `shard_dir`."""
    settings = _chunk_settings(config, presplit, input_path)
    with (output_folder(shard_dir, "build_dataset_shard", [input_path, config.data.lexicon], overwrite) as tmp,
          BuildPool(workers, settings.lexicon) as pool):
        count = write_shard(pool.labelled_chunks(input_chunks(input_path, encoding), settings, shard), tmp)
        atomic_write_json(tmp / SHARD_INFO, {"shard": list(shard), "input": str(input_path), "presplit": presplit,
                                             "min_words": config.data.min_words, "lexicon": config.data.lexicon})
    logger.info("shard %d/%d: %d chunks of %s in %s", shard[0], shard[1], count, input_path, shard_dir)


def merge_dataset(shard_dirs: list[str], output_dir: str, config: Config, gold_file: str | None = None,
                  overwrite: bool = False) -> BuildResult:
    """Merge the shard folders 0..N-1 of one input into the dataset a single build would write."""
    infos = [_shard_info(Path(d)) for d in shard_dirs]
    first = infos[0]
    expected = {"input": first["input"], "presplit": first["presplit"], "min_words": config.data.min_words,
                "lexicon": config.data.lexicon}
    for k, (d, info) in enumerate(zip(shard_dirs, infos)):
        if {key: info[key] for key in expected} != expected or info["shard"] != [k, len(shard_dirs)]:
            raise UserError(f"{d}: not shard {k}/{len(shard_dirs)} of the same input and data config "
                            f"(data.min_words, data.lexicon) as the others and this merge")
    inputs = [*shard_dirs, gold_file, *config.data.input_files()]
    with output_folder(output_dir, "build_dataset", inputs, overwrite) as tmp, BuildPool(1, config.data.lexicon) as pool:
        chunks = merge_shards([Path(d) for d in shard_dirs])
        result = _build_from_chunks(chunks, first["input"], first["presplit"], config, gold_file, tmp, pool)
    logger.info("merged %d shards: %d sentences from %d documents in %s", len(shard_dirs), result.sentences,
                result.documents, output_dir)
    return result


def build_across_processes(input_path: str, output_dir: str, config: Config, rank: int, world_size: int,
                           presplit: bool = False, gold_file: str | None = None, overwrite: bool = False,
                           encoding: str = "auto", workers: int = 1, poll_seconds: float = 1.0) -> BuildResult | None:
    """One process's part of a build under `accelerate launch` (or any launcher that sets RANK and
    WORLD_SIZE): every process writes shard RANK/WORLD_SIZE into OUTPUT.shards/, then the main
    process (rank 0) waits for all of them, merges them into OUTPUT and removes OUTPUT.shards/.
    The shard folder must be on storage all processes share (one machine, or a shared filesystem)."""
    if rank == 0:
        check_output(output_dir, "build_dataset", _build_inputs(input_path, gold_file, config), overwrite)
    root = Path(output_dir).with_name(Path(output_dir).name + ".shards")
    root.mkdir(exist_ok=True)
    folders = [root / str(k) for k in range(world_size)]
    failed = root / f"{rank}.failed"
    try:
        # A shard (or failure) left by an earlier run must never be merged or reported as this run's.
        for stale in (folders[rank], failed):
            if stale.exists():
                raise UserError(f"{stale}: left by an earlier build that did not finish; remove {root} and run again")
        build_shard(input_path, str(folders[rank]), config, (rank, world_size), presplit, encoding, workers)
    except BaseException as err:
        failed.write_text(str(err) or type(err).__name__, encoding="utf-8")  # tells rank 0 to stop waiting
        raise
    if rank != 0:
        return None
    _wait_for_shards(root, folders, poll_seconds)
    result = merge_dataset([str(f) for f in folders], output_dir, config, gold_file, overwrite)
    shutil.rmtree(root)
    return result


def _wait_for_shards(root: Path, folders: list[Path], poll_seconds: float) -> None:
    """Block until every shard folder is complete (it appears only then); stop at any failure,
    checked first: a failed rank may sit beside a complete shard that an earlier run left."""
    while True:
        failed = sorted(root.glob("*.failed"))
        if failed:
            raise UserError(f"{failed[0]}: shard {failed[0].stem} failed ({failed[0].read_text('utf-8')[:200]}); "
                            f"nothing was merged")
        if all((f / SHARD_INFO).is_file() for f in folders):
            return
        time.sleep(poll_seconds)


def _shard_info(folder: Path) -> dict:
    try:
        return json.loads((folder / SHARD_INFO).read_text("utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{folder}: not a shard folder written by build_dataset.py --shard") from None


def _build_inputs(input_path, gold_file, config: Config) -> list:
    """What a build reads, so that its output may not overwrite or sit inside any of it."""
    return [input_path, gold_file, *config.data.input_files()]


def _chunk_settings(config: Config, presplit: bool, source) -> ChunkSettings:
    return ChunkSettings(presplit, config.data.min_words, config.data.lexicon, str(source))


def _build_from_chunks(chunks, source, presplit: bool, config: Config, gold_file, tmp: Path,
                       pool: BuildPool) -> BuildResult:
    """Everything after labeling: label model, document splits, sentences.jsonl, dataset, report."""
    applier = applier_for(config.data.lexicon)
    # Every gold file is read before the first chunk is labelled: a bad one (or a corpus-reference
    # file without its corpus) stops the build at once, not after minutes of labeling.
    gold_files = [f for f in [gold_file, *config.data.gold_files, *config.data.test_gold_files] if f]
    gold_rows = {f: load_any_gold(f) for f in dict.fromkeys(gold_files)}
    hand = HandLabels([r for f in config.data.gold_files for r in gold_rows[f]],
                      [r for f in config.data.test_gold_files for r in gold_rows[f]])
    stats = CleaningStats()
    stream, votes = _stream_sentences(chunks, source, presplit, stats, tmp / ".sentences.tmp.txt")
    doc_codes, doc_names = stream.codes(), stream.doc_names
    model_probs = aggregate(votes, applier.lfs, config.data.label_model)
    probs, keep, hand_counts = _hand_labels(hand, stream, model_probs)
    # sentences.jsonl in parts, one per worker, while this process splits the documents; then the
    # Arrow files on the dataset writer while this process makes the report (one worker: all here)
    parts = stream.parts(pool.workers)
    jsonl_paths = [tmp / f".sentences.{k}.jsonl" for k in range(len(parts))]
    jsonl = [pool.submit(write_sentences_jsonl, part, probs[rows], keep[rows], path)
             for path, (rows, part) in zip(jsonl_paths, parts)]
    hard = probs >= 0.5
    doc_labels = _doc_label_counts(doc_codes, doc_names, hard)
    splits = assign_splits(doc_labels, config.data.validation_fraction, config.data.test_fraction,
                           config.training.seed)
    check_split_positives(doc_labels, splits, LABELS)
    split_of_sentence = np.array([SPLITS.index(splits[d]) for d in doc_names], dtype=np.int8)[doc_codes]
    split_of_sentence[~keep] = HELD_OUT  # sentences of test-only gold files: in no split
    dataset = pool.write(write_dataset, stream, probs, split_of_sentence, tmp)
    report = _labeling_report(votes, applier, model_probs, config, {f: gold_rows[f] for f in gold_files})
    sizes = dataset.get()
    for part in jsonl:
        part.get()
    join_files(jsonl_paths, tmp / "sentences.jsonl")
    stream.path.unlink()
    report["text_preparation"] = dict(stats.removed)
    report["hand_labels"] = hand_counts
    report["splits"] = {"sentences": sizes,
                        "documents": {s: sum(1 for v in splits.values() if v == s) for s in sizes},
                        "positives": split_positives(hard, split_of_sentence)}
    atomic_write_json(tmp / "lf_report.json", report)
    atomic_write_text(tmp / "lf_report.md", render_markdown(report) + _splits_markdown(report))
    save_config(config, tmp / "build_config.yaml")
    return BuildResult(len(doc_codes), len(doc_names), report["splits"]["documents"], report)


def _stream_sentences(chunks, source, presplit: bool, stats: CleaningStats, path: Path):
    """Number the labelled chunks' sentences in input order and stream their text to `path`."""
    numbering = SentenceNumbering(source, presplit)
    stream, codes = SentenceStream(path), {}
    votes_chunks = []
    with path.open("wb") as fh:
        for chunk in tqdm(chunks, desc="splitting and labeling", unit="chunk", mininterval=2.0):
            stats.removed.update(chunk.removed)
            votes_chunks.append(chunk.votes)
            stream.chunk_starts.append((len(stream.sent_ids), fh.tell()))
            fh.write(chunk.text)
            for doc_id, count in zip(chunk.doc_ids, chunk.sentence_counts):
                first = numbering.first_id(doc_id, count)
                if first is None:
                    continue
                stream.doc_codes.extend(repeat(codes.setdefault(doc_id, len(codes)), count))
                stream.sent_ids.extend(range(first, first + count))
    numbering.finish()
    stream.doc_names = list(codes)
    return stream, np.concatenate(votes_chunks)


def _hand_labels(hand: HandLabels, stream: SentenceStream, probs: np.ndarray):
    """Hand labels in place of weak ones, and the mask of sentences kept (see gold.HandLabels)."""
    if not hand:
        return probs, np.ones(len(probs), dtype=bool), {"hand_labelled": 0, "held_out_for_test": 0}
    probs, keep, counts = hand.apply((text for _, _, text in stream.rows()), probs)
    logger.info("hand labels: %d sentences take their gold labels, %d test-only sentences are left out",
                counts["hand_labelled"], counts["held_out_for_test"])
    return probs, keep, counts


def _labeling_report(votes, applier, model_probs: np.ndarray, config, gold_rows: dict) -> dict:
    """The labeling report: the chosen label model's labels on the corpus; with gold files (path ->
    rows, in order), the functions' accuracy and every label model's scores on them."""
    chosen = config.data.label_model
    report = build_report(votes, applier.lfs, {chosen: model_probs}, chosen)
    if gold_rows:
        rows = [row for path_rows in gold_rows.values() for row in path_rows]
        gold_file = ", ".join(map(str, gold_rows))
        gold_votes = applier.apply([r["text"] for r in rows])
        gold = label_matrix(rows)
        gold_probs = {m: aggregate(gold_votes, applier.lfs, m, fit_votes=np.vstack([votes, gold_votes]))
                      for m in LABEL_MODELS}
        with_gold = build_report(gold_votes, applier.lfs, gold_probs, chosen, gold, str(gold_file))
        report["gold"] = with_gold["gold"]
        for row, gold_row in zip(report["functions"], with_gold["functions"]):  # accuracy is measured on gold
            row.update({k: gold_row[k] for k in ("correct", "incorrect", "accuracy")})
    return report


def _splits_markdown(report: dict) -> str:
    splits = report["splits"]
    totals = np.sum(list(splits["positives"].values()), axis=0)
    n_docs = sum(splits["documents"].values())
    lines = ["\n## Splits (by document; share of the documents and of each label's positive sentences)\n",
             "| split | documents | sentences | " + " | ".join(f"{label} positives" for label in LABELS) + " |",
             "|---|---|---|" + "---|" * len(LABELS)]
    for split, n in splits["sentences"].items():
        docs = splits["documents"][split]
        cells = [f"{p} ({p / t:.0%})" if t else "0" for p, t in zip(splits["positives"][split], totals)]
        lines.append(f"| {split} | {docs} ({docs / n_docs:.0%}) | {n} | " + " | ".join(cells) + " |")
    prep = report.get("text_preparation") or {}
    if prep:
        lines += ["\n## Text preparation\n", "| rule | lines or fragments |", "|---|---|"]
        lines += [f"| {rule} | {count} |" for rule, count in sorted(prep.items())]
    return "\n".join(lines) + "\n"

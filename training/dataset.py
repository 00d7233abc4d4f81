"""Building the weakly labelled dataset: articles -> sentences -> rule votes -> labels -> splits.

Outputs (all in one folder, which appears only when everything succeeded):
- `sentences.jsonl`: doc_id, sent_id, text, labels (names, probability >= 0.5), probs.
- `dataset/`: a `datasets.DatasetDict` (train / validation [/ test]), split by document.
- `lf_report.md` and `lf_report.json`: the labeling report; `build_config.yaml`.

Sentences stream to a temp file while only document codes and the int8 vote matrix stay in
memory: ~32 bytes per sentence, not the text.
"""

from __future__ import annotations

import json
import logging
from array import array
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.config import Config, save_config
from training.corpus import iter_sentences
from training.gold import load_gold
from training.io_utils import atomic_write_json, atomic_write_text
from training.label_model import LABEL_MODELS, aggregate
from training.labeling import LABELS, LFApplier
from training.lexicon import Lexicon
from training.lf_report import build_report, render_markdown
from training.outputs import output_folder
from training.splits import SPLITS, assign_splits, check_split_positives, split_positives
from training.text import CleaningStats

logger = logging.getLogger(__name__)


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


def _write_outputs(tmp_text: Path, probs: np.ndarray, splits: dict[str, str], out: Path) -> dict[str, int]:
    """One pass over the streamed sentences: sentences.jsonl plus one JSONL per split."""
    split_dir = out / ".splits"
    split_dir.mkdir()
    split_files = {s: (split_dir / f"{s}.jsonl").open("w", encoding="utf-8") for s in set(splits.values())}
    sizes = {s: 0 for s in SPLITS if s in split_files}
    try:
        with tmp_text.open(encoding="utf-8") as src, (out / "sentences.jsonl").open("w", encoding="utf-8") as dst:
            for line, p in zip(src, probs):
                row = json.loads(line)
                hard = [label for label, v in zip(LABELS, p) if v >= 0.5]
                row["labels"] = hard
                row["probs"] = {label: round(float(v), 4) for label, v in zip(LABELS, p)}
                dst.write(json.dumps(row, ensure_ascii=False) + "\n")
                split = splits[row["doc_id"]]
                example = {"doc_id": row["doc_id"], "sent_id": row["sent_id"], "text": row["text"], "labels": hard,
                           "targets": [row["probs"][label] for label in LABELS],
                           "label_vector": [float(label in hard) for label in LABELS]}
                split_files[split].write(json.dumps(example, ensure_ascii=False) + "\n")
                sizes[split] += 1
    finally:
        for fh in split_files.values():
            fh.close()
    return sizes


def _split_rows(path: str):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _save_dataset(split_dir: Path, sizes: dict[str, int], out: Path) -> None:
    """Turn the per-split JSONL files into a saved DatasetDict, in bounded batches of rows."""
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    # Explicit types: a split whose sentences all have no label would otherwise get list<null>.
    features = Features({"doc_id": Value("string"), "sent_id": Value("int64"), "text": Value("string"),
                         "labels": Sequence(Value("string")), "targets": Sequence(Value("float32")),
                         "label_vector": Sequence(Value("float32"))})
    splits = {s: Dataset.from_generator(_split_rows, gen_kwargs={"path": str(split_dir / f"{s}.jsonl")},
                                        features=features, cache_dir=str(split_dir / ".cache"))
              for s in SPLITS if s in sizes}
    DatasetDict(splits).save_to_disk(str(out))


def build_dataset(input_path: str, output_dir: str, config: Config, presplit: bool = False,
                  gold_file: str | None = None, overwrite: bool = False, encoding: str = "auto") -> BuildResult:
    """Run the whole build and write the output folder atomically (see `training.outputs`)."""
    lexicon = Lexicon.load(config.data.lexicon or None)
    applier = LFApplier(lexicon=lexicon)
    stats = CleaningStats()
    with output_folder(output_dir, "build_dataset", [input_path, gold_file, config.data.lexicon], overwrite) as tmp:
        tmp_text = tmp / ".sentences.tmp.jsonl"
        doc_codes, doc_names, votes = _stream_and_vote(input_path, presplit, config, applier, stats, tmp_text,
                                                       encoding)
        probs_by_model = {m: aggregate(votes, applier.lfs, m) for m in LABEL_MODELS}
        probs = probs_by_model[config.data.label_model]
        hard = probs >= 0.5
        doc_labels = _doc_label_counts(doc_codes, doc_names, hard)
        splits = assign_splits(doc_labels, config.data.validation_fraction, config.data.test_fraction,
                               config.training.seed)
        check_split_positives(doc_labels, splits, LABELS)
        sizes = _write_outputs(tmp_text, probs, splits, tmp)
        tmp_text.unlink()
        _save_dataset(tmp / ".splits", sizes, tmp / "dataset")
        shutil.rmtree(tmp / ".splits")
        report = _labeling_report(votes, applier, probs_by_model, config, gold_file, lexicon)
        report["text_preparation"] = dict(stats.removed)
        split_of_sentence = np.array([splits[d] for d in doc_names])[doc_codes]
        report["splits"] = {"sentences": sizes,
                            "documents": {s: sum(1 for v in splits.values() if v == s) for s in sizes},
                            "positives": split_positives(hard, split_of_sentence)}
        atomic_write_json(tmp / "lf_report.json", report)
        atomic_write_text(tmp / "lf_report.md", render_markdown(report) + _splits_markdown(report))
        save_config(config, tmp / "build_config.yaml")
        n, n_docs = len(doc_codes), len(doc_names)
    logger.info("wrote %d sentences from %d documents to %s", n, n_docs, output_dir)
    return BuildResult(n, n_docs, report["splits"]["documents"], report)


def _stream_and_vote(input_path, presplit, config, applier, stats, tmp_text: Path, encoding: str = "auto",
                     chunk_size: int = 10_000):
    """Stream sentences to `tmp_text` and vote on them in chunks.

    Only ~32 bytes per sentence stay in memory (an int32 document code and the int8 votes);
    the text goes to disk.
    """
    codes: dict[str, int] = {}
    doc_codes = array("i")
    votes_chunks, chunk = [], []
    with tmp_text.open("w", encoding="utf-8") as fh:
        for s in iter_sentences(input_path, presplit, config.data.min_words, stats, encoding):
            fh.write(json.dumps({"doc_id": s.doc_id, "sent_id": s.sent_id, "text": s.text}, ensure_ascii=False) + "\n")
            doc_codes.append(codes.setdefault(s.doc_id, len(codes)))
            chunk.append(s.text)
            if len(chunk) == chunk_size:
                votes_chunks.append(applier.apply(chunk))
                chunk = []
                logger.info("read and labelled %d sentences", len(doc_codes))
    if chunk:
        votes_chunks.append(applier.apply(chunk))
    return np.frombuffer(doc_codes, dtype=np.int32), list(codes), np.concatenate(votes_chunks)


def _labeling_report(votes, applier, probs_by_model, config, gold_file, lexicon) -> dict:
    gold = None
    if gold_file:
        rows = load_gold(gold_file)
        gold_applier = LFApplier(applier.lfs, lexicon)
        gold_votes = gold_applier.apply([r["text"] for r in rows])
        gold = np.array([[label in r["labels"] for label in LABELS] for r in rows], dtype=int)
        gold_probs = {m: aggregate(gold_votes, applier.lfs, m, fit_votes=np.vstack([votes, gold_votes]))
                      for m in LABEL_MODELS}
        report = build_report(votes, applier.lfs, probs_by_model, config.data.label_model)
        with_gold = build_report(gold_votes, applier.lfs, gold_probs, config.data.label_model, gold, str(gold_file))
        report["gold"] = with_gold["gold"]
        for row, gold_row in zip(report["functions"], with_gold["functions"]):  # accuracy is measured on gold
            row.update({k: gold_row[k] for k in ("correct", "incorrect", "accuracy")})
        return report
    return build_report(votes, applier.lfs, probs_by_model, config.data.label_model)


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

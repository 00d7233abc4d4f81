"""Gold files: hand-labelled sentences, read and checked.

Two shapes:
- sentence gold (`seeds/gold.jsonl`, or any JSONL the user brings): rows with `text` and
  `labels` (a list of label names; empty for none).
- corpus references (`seeds/gold_news.jsonl`): rows with the corpus article `id`, the
  sentence's `position` in that article, a `sha1` of its text, and `labels`. The corpus is
  not ours to copy, so the text is rebuilt from it when it is present.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from training.errors import InputError
from training.io_utils import read_jsonl
from training.labels import LABELS
from training.inputs.text import split_article

# A corpus-reference gold file (seeds/gold_news.jsonl) names sentences by article id and hash, not
# by text (the corpus may not be redistributed); this variable names the corpus file to rebuild from.
CORPUS_ENV = "EVENTS_NEWS_CORPUS"


def reference_corpus(gold_path: str | Path, corpus: str | Path | None = None) -> Path:
    """The corpus file that `gold_path`'s references point into: `corpus`, else $EVENTS_NEWS_CORPUS."""
    corpus = corpus or os.environ.get(CORPUS_ENV)
    if not corpus:
        raise InputError(f"{gold_path}: names sentences by article id and hash; set {CORPUS_ENV} to the corpus "
                         f"file they come from (for seeds/gold_news.jsonl: ant_news_politics.jsonl.gz)")
    if not Path(corpus).is_file():
        raise InputError(f"{corpus}: corpus not found ({CORPUS_ENV}); it is needed to rebuild {gold_path}")
    return Path(corpus)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _check_labels(row: dict, where: str) -> list[str]:
    labels = row.get("labels")
    if not isinstance(labels, list):
        raise InputError(f"{where}: missing 'labels' (a list of label names, [] for none)")
    unknown = [label for label in labels if label not in LABELS]
    if unknown:
        raise InputError(f"{where}: unknown label(s) {unknown}; expected some of {list(LABELS)}")
    return labels


def load_gold(path: str | Path) -> list[dict]:
    """Rows with `text` and `labels`, validated; an empty file is an error."""
    return check_gold_rows(read_jsonl(path), path)


def check_gold_rows(rows: list[dict], path: str | Path) -> list[dict]:
    """Validate rows already read from a sentence gold file (see load_gold)."""
    if not rows:
        raise InputError(f"{path}: the gold file is empty")
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            raise InputError(f"{path}: line {number} has no 'text'")
        _check_labels(row, f"{path}: line {number}")
    return rows


def load_corpus_gold(path: str | Path, corpus: str | Path | None = None) -> list[dict]:
    """Rebuild the sentences of a corpus-reference gold file from the corpus.

    A sentence whose hash no longer matches (the splitter changed) is looked up by hash in
    the same article; one that cannot be found is an InputError, so a drift never passes
    silently.
    """
    return rebuild_corpus_gold(read_jsonl(path), path, corpus)


def rebuild_corpus_gold(refs: list[dict], path: str | Path, corpus: str | Path | None = None) -> list[dict]:
    """Rebuild rows already read from a corpus-reference gold file (see load_corpus_gold)."""
    wanted: dict[str, list[dict]] = {}
    for number, ref in enumerate(refs, 1):
        _check_labels(ref, f"{path}: line {number}")
        wanted.setdefault(ref["id"], []).append(ref)
    corpus = reference_corpus(path, corpus)
    found: dict[tuple[str, int], str] = {}
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            article = json.loads(line)
            refs_here = wanted.get(article["id"])
            if not refs_here:
                continue
            sentences = split_article(article["text"])
            by_hash = {text_hash(s): s for s in sentences}
            for ref in refs_here:
                pos = ref["position"]
                if pos < len(sentences) and text_hash(sentences[pos]) == ref["sha1"]:
                    found[(ref["id"], pos)] = sentences[pos]
                elif ref["sha1"] in by_hash:
                    found[(ref["id"], pos)] = by_hash[ref["sha1"]]
    rows = []
    for ref in refs:
        text = found.get((ref["id"], ref["position"]))
        if text is None:
            raise InputError(f"{path}: sentence {ref['id']}#{ref['position']} not found in {corpus}")
        rows.append({"doc_id": ref["id"], "sent_id": ref["position"], "text": text, "labels": ref["labels"],
                     "note": ref.get("note", ""), "sample": ref.get("sample", "")})
    return rows


def is_corpus_reference(rows: list[dict]) -> bool:
    """Whether gold rows name corpus sentences (`id`, `position`, `sha1`) instead of holding text."""
    return bool(rows) and "text" not in rows[0] and "sha1" in rows[0]


def load_any_gold(path: str | Path) -> list[dict]:
    """A gold file with text, or a corpus-reference gold file (rebuilt from the corpus)."""
    rows = read_jsonl(path)
    if is_corpus_reference(rows):
        return rebuild_corpus_gold(rows, path)
    return check_gold_rows(rows, path)


def label_matrix(rows: list[dict]) -> np.ndarray:
    """[rows, LABELS] 0/1 matrix of the rows' `labels` lists."""
    return np.array([[label in row["labels"] for label in LABELS] for row in rows], dtype=int).reshape(len(rows), len(LABELS))


def _text_key(text: str) -> str:
    return text_hash(" ".join(text.split()))


class HandLabels:
    """The hand labels a build applies (config `data.gold_files` and `data.test_gold_files`):
    a sentence of a gold file gets its hand labels instead of the weak ones; a sentence of a
    test-only file is left out of the dataset. Sentences are matched by text (spacing aside)."""

    def __init__(self, gold_rows: list[dict], test_rows: list[dict]):
        """`gold_rows`: the rows of the gold files; `test_rows`: those of the test-only files."""
        self.labels: dict[str, np.ndarray] = {}
        for row in gold_rows:
            self.labels[_text_key(row["text"])] = label_matrix([row])[0].astype(float)
        self.held_out = {_text_key(row["text"]) for row in test_rows}

    def __bool__(self) -> bool:
        return bool(self.labels or self.held_out)

    def labels_sentence(self, text: str) -> bool:
        """Whether a gold file gives `text` its labels (matched as `apply` matches)."""
        return _text_key(text) in self.labels

    def apply(self, texts, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """(probs with hand labels in place of weak ones, mask of the sentences kept, counts)."""
        probs, keep = probs.copy(), np.ones(len(probs), dtype=bool)
        replaced = 0
        for i, text in enumerate(texts):
            key = _text_key(text)
            if key in self.held_out:
                keep[i] = False
            elif key in self.labels:
                probs[i] = self.labels[key]
                replaced += 1
        return probs, keep, {"hand_labelled": replaced, "held_out_for_test": int((~keep).sum())}

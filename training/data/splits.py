"""Document-level train/validation/test splits by multi-label iterative stratification.

Sentences of one article share words, names and events, so whole documents go to one split.
Within that constraint each held-out split should get its share of every label's positive
sentences, or validation F1, early stopping and the tuned thresholds mean nothing.

The algorithm is iterative stratification (Sechidis, Tsoumakas and Vlahavas, "On the
Stratification of Multi-Label Data", ECML PKDD 2011), applied to documents weighted by how many
positive sentences of each label they hold:
1. each split wants `fraction x total` positive sentences of every label, and `fraction x N`
   documents;
2. take the label with the fewest unassigned positive documents (rare labels first, while every
   split still has room), and place its documents, largest first, each into the split that
   wants that label most (ties: the split that wants more documents, then a seeded coin);
3. every placement lowers that split's wants for all labels of the document;
4. documents with no positive go where the most documents are still wanted.
"""

from __future__ import annotations

import logging

import numpy as np

from training.errors import UserError

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
# A label with at least this many positive documents must have positives in every held-out
# split: with fewer, a document-level split cannot promise it and a warning says so instead.
MIN_POSITIVE_DOCUMENTS = 10


class SplitError(UserError):
    """A held-out split cannot measure a label that the corpus has enough of."""


def assign_splits(doc_labels: dict[str, np.ndarray], validation: float, test: float, seed: int) -> dict[str, str]:
    """Map each document id to "train", "validation" or "test".

    `doc_labels[doc]` holds the document's positive sentence count per label. Deterministic for
    a seed and independent of the dict's order. Each held-out split with a non-zero fraction gets
    at least one document when there are more documents than splits.
    """
    fractions = {"train": 1 - validation - test, "validation": validation, "test": test}
    active = [s for s in SPLITS if fractions[s] > 0]
    rng = np.random.default_rng(seed)
    names = sorted(doc_labels)
    names = [names[i] for i in rng.permutation(len(names))]
    if not names:
        return {}
    counts = np.stack([np.asarray(doc_labels[d], dtype=float) for d in names])
    share = np.array([fractions[s] for s in active])
    wanted_positives = share[:, None] * counts.sum(axis=0)[None, :]
    wanted_docs = share * len(names)
    placed = np.full(len(names), -1)

    def place(doc: int, label: int | None) -> None:
        want = wanted_positives[:, label] if label is not None else np.zeros(len(active))
        key = [(want[s], wanted_docs[s], rng.random()) for s in range(len(active))]
        split = max(range(len(active)), key=key.__getitem__)
        placed[doc] = split
        wanted_positives[split] -= counts[doc]
        wanted_docs[split] -= 1

    while True:
        open_docs = (placed < 0)[:, None] & (counts > 0)
        per_label = open_docs.sum(axis=0)
        if not per_label.any():
            break
        label = int(np.argmin(np.where(per_label > 0, per_label, np.inf)))
        docs = np.flatnonzero(open_docs[:, label])
        for doc in docs[np.argsort(-counts[docs, label], kind="stable")]:
            place(int(doc), label)
    for doc in np.flatnonzero(placed < 0):
        place(int(doc), None)
    _fill_empty_held_out(placed, counts, len(active))
    return {d: active[s] for d, s in zip(names, placed)}


def _fill_empty_held_out(placed: np.ndarray, counts: np.ndarray, n_splits: int) -> None:
    """Give an empty held-out split the train document with the fewest positives (tiny corpora)."""
    if len(placed) <= n_splits:
        return
    for split in range(1, n_splits):
        if (placed == split).any():
            continue
        train = np.flatnonzero(placed == 0)
        placed[train[np.argmin(counts[train].sum(axis=1))]] = split


def split_positives(hard: np.ndarray, split_of_sentence: np.ndarray) -> dict[str, list[int]]:
    """Positive sentences per label in each split present in `split_of_sentence` (indices into SPLITS)."""
    return {s: hard[split_of_sentence == k].sum(axis=0).astype(int).tolist()
            for k, s in enumerate(SPLITS) if (split_of_sentence == k).any()}


def check_split_positives(doc_labels: dict[str, np.ndarray], splits: dict[str, str], labels: tuple[str, ...]) -> None:
    """Refuse a held-out split with no positive of a label that >= 10 documents have; warn below that."""
    positive_docs = {label: [d for d, c in doc_labels.items() if c[k] > 0] for k, label in enumerate(labels)}
    for split in [s for s in SPLITS[1:] if s in splits.values()]:
        for label, docs in positive_docs.items():
            if any(splits[d] == split for d in docs):
                continue
            if len(docs) >= MIN_POSITIVE_DOCUMENTS:
                raise SplitError(f"the {split} split got no positive sentence of {label!r} although {len(docs)} "
                                 f"documents have one; a larger data.{split}_fraction gives it room for them")
            consequence = ("its decision threshold stays at 0.5, untuned, and its validation F1 is undefined"
                           if split == "validation" else f"its {split} F1 is undefined")
            logger.warning("the %s split has no positive sentence of %r (only %d documents in the corpus have one): "
                           "%s", split, label, len(docs), consequence)

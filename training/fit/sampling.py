"""How the training split is weighed and sampled before fine-tuning.

Three ways to change what the loss sees, each a `training` config key:
- `pos_weight` (`positive_weights`): each label's positives count neg/pos times, capped;
- `oversample_min_positives` (`oversample`): a rare label's positives are repeated;
- `cueless_fraction` (`drop_cueless`): only that share of the sentences on which no labeling
  function voted is kept. Those sentences are the easy negatives: no cue word of any rule, so
  their weak label is "none" by construction. On ANT they are 68% of the sentences. Dropping most
  of them leaves the cue sentences, where the rules' decisions (the vetoes: a football "attack",
  a storm's dead, a missile test) are made, a larger share of every batch. `pos_weight`, computed
  on the sampled split, then falls as well, so the vetoed negatives are not drowned out by
  positives counted ten times.
The validation split is never sampled: thresholds are tuned on the sentences as they come.
"""

from __future__ import annotations

import logging

import numpy as np

from training.labels import LABELS

logger = logging.getLogger(__name__)


def positive_weights(vectors: np.ndarray, cap: float) -> np.ndarray:
    """neg/pos per label, capped; 1 for labels with no positives."""
    pos = vectors.sum(axis=0)
    neg = len(vectors) - pos
    return np.where(pos > 0, np.minimum(neg / np.maximum(pos, 1), cap), 1.0)


def oversampled_indices(vectors: np.ndarray, min_positives: int, seed: int) -> np.ndarray:
    """Row indices of the training split with each rare label's positives repeated until the label
    has `min_positives` (whole repeats, then a seeded sample for the remainder). A label with no
    positives, or with enough, adds nothing. Rows stay in order; the Trainer shuffles them."""
    rng = np.random.default_rng(seed)
    extra = []
    for k in range(vectors.shape[1]):
        positives = np.flatnonzero(vectors[:, k] >= 0.5)
        missing = min_positives - len(positives)
        if len(positives) == 0 or missing <= 0:
            continue
        repeats, remainder = divmod(missing, len(positives))
        extra.append(np.tile(positives, repeats))
        extra.append(np.sort(rng.choice(positives, size=remainder, replace=False)))
    return np.sort(np.concatenate([np.arange(len(vectors)), *extra])) if extra else np.arange(len(vectors))


def oversample(train_split, min_positives: int, seed: int):
    """The training split with its rare labels' positives repeated (`oversampled_indices`)."""
    vectors = np.array(train_split["label_vector"])
    indices = oversampled_indices(vectors, min_positives, seed)
    before, after = vectors.sum(axis=0), vectors[indices].sum(axis=0)
    logger.info("oversampling to %d positives per label: %s", min_positives,
                ", ".join(f"{label} {int(b)} -> {int(a)}" for label, b, a in zip(LABELS, before, after)))
    return train_split.select(indices)


def cueless_rows(texts: list[str], lexicon: str = "") -> np.ndarray:
    """True for each sentence on which no labeling function votes (the rules of `lexicon`; "" is
    the packaged one), i.e. one holding no cue of any rule."""
    from training.weak.labeling import LFApplier
    from training.weak.lexicon import Lexicon

    votes = LFApplier(lexicon=Lexicon.load(lexicon or None)).apply(texts)
    return (votes == -1).all(axis=1)


def cueless_negatives(cueless: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The rows that sampling may drop: cueless and with no positive (a hand label may make a
    cueless sentence positive; it stays)."""
    return cueless & (vectors < 0.5).all(axis=1)


def kept_cueless_indices(cueless: np.ndarray, vectors: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Row indices to train on: every sentence with a cue or a weak positive, and a seeded
    `fraction` of the cueless negatives (at least one, so the split keeps a plain negative).
    Rows stay in order."""
    droppable = np.flatnonzero(cueless_negatives(cueless, vectors))
    if fraction >= 1 or len(droppable) == 0:
        return np.arange(len(cueless))
    keep = max(1, round(fraction * len(droppable)))
    kept = np.random.default_rng(seed).choice(droppable, size=keep, replace=False)
    mask = np.ones(len(cueless), dtype=bool)
    mask[droppable] = False
    mask[kept] = True
    return np.flatnonzero(mask)


def drop_cueless(train_split, fraction: float, seed: int, lexicon: str = ""):
    """The training split with only `fraction` of its cueless negatives (see the module docstring).
    `lexicon` is the training config's `data.lexicon`: the rules that decide what a cue is."""
    cueless = cueless_rows(train_split["text"], lexicon)
    vectors = np.array(train_split["label_vector"])
    indices = kept_cueless_indices(cueless, vectors, fraction, seed)
    droppable = int(cueless_negatives(cueless, vectors).sum())
    logger.info("cueless negatives: kept %d of %d (training.cueless_fraction=%g); %d of %d training sentences remain",
                droppable - (len(cueless) - len(indices)), droppable, fraction, len(indices), len(cueless))
    return train_split.select(indices)

"""Aggregating labeling-function votes into one probability per sentence and label.

Multi-label is handled one-vs-rest (snorkel's LabelModel is single-label): each label has its
own model over the functions that vote on it.

- `majority`: weighted vote. P(label) = positive weight / all weight that voted; a sentence
  on which every function abstains gets 0 (no evidence, no label).
- `naive_bayes`: the Dawid-Skene generative model for one binary label, fitted by EM
  (as skweak's naive Bayes aggregator). Each function's vote (abstain / yes / no) depends
  only on the true label; the class-conditional vote tables are learnt from the unlabeled
  votes, starting from the majority vote and held by a Dirichlet prior that encodes each
  function's declared polarity (a positive rule rarely says "yes" to a negative).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from training.config import LABEL_MODELS
from training.labels import LABELS

from training.weak.labeling import ABSTAIN, NEGATIVE, POSITIVE, LabelingFunction, voters

logger = logging.getLogger(__name__)

_STATES = (ABSTAIN, POSITIVE, NEGATIVE)  # columns of the vote tables
MAJORITY_BLOCK_ROWS = 65_536  # sentences per block of the majority vote: bounded temporaries


def majority_proba(votes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted vote share of POSITIVE among the functions that voted (0 when none did).

    Computed a block of rows at a time: the [rows, functions] float temporaries would otherwise
    take 16 bytes per sentence and function, more than everything else a build holds per sentence."""
    proba = np.zeros(len(votes))
    for start in range(0, len(votes), MAJORITY_BLOCK_ROWS):
        block = votes[start:start + MAJORITY_BLOCK_ROWS]
        pos = ((block == POSITIVE) * weights).sum(axis=1)
        total = pos + ((block == NEGATIVE) * weights).sum(axis=1)
        np.divide(pos, total, out=proba[start:start + len(block)], where=total > 0)
    return proba


def _unique_rows(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(votes, axis=0, return_inverse=True, return_counts=True)`, ~10x faster.

    Votes are -1/0/1, so each row packs into one int64 (2 bits per function, first function
    most significant); sorting those keys orders the rows exactly as np.unique(axis=0) does.
    """
    if votes.shape[1] > 31:
        patterns, inverse, counts = np.unique(votes, axis=0, return_inverse=True, return_counts=True)
        return patterns, inverse.ravel(), counts
    keys = np.zeros(len(votes), dtype=np.int64)
    for column in votes.T:
        keys = keys * 4 + (column.astype(np.int64) + 1)
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return votes[first], inverse.ravel(), counts


def _one_hot(votes: np.ndarray) -> np.ndarray:
    """[n, m] votes -> [n, m, 3] indicators over (abstain, yes, no)."""
    return np.stack([votes == s for s in _STATES], axis=-1).astype(float)


@dataclass
class NaiveBayesEM:
    """Binary Dawid-Skene model for one label, fitted by EM on the vote matrix."""

    polarities: np.ndarray  # [m] POSITIVE or NEGATIVE per function
    max_iter: int = 100
    tol: float = 1e-5
    prior_strength: float = 10.0  # pseudo-counts of the polarity prior per function and class
    class_prior: float = 0.5
    tables: np.ndarray = field(default=None, repr=False)  # [2, m, 3]: P(vote state | y)

    def _prior(self) -> np.ndarray:
        """Dirichlet pseudo-counts: a function rarely votes against its polarity's class."""
        m = len(self.polarities)
        prior = np.full((2, m, 3), 0.5)
        for j, polarity in enumerate(self.polarities):
            own = 1 if polarity == POSITIVE else 0  # the class the function votes for
            state = 1 if polarity == POSITIVE else 2
            prior[own, j, state] += self.prior_strength * 0.5
            prior[own, j, 0] += self.prior_strength * 0.5
            prior[1 - own, j, 0] += self.prior_strength * 0.95
            prior[1 - own, j, state] += self.prior_strength * 0.05
        return prior

    def fit(self, votes: np.ndarray, init_proba: np.ndarray) -> "NaiveBayesEM":
        # EM runs over the distinct vote patterns (a few hundred even for 10^5 sentences),
        # each weighted by how often it occurs.
        patterns, inverse, counts = _unique_rows(votes)
        onehot = _one_hot(patterns).reshape(len(patterns), -1)  # [p, m*3]
        prior = self._prior()
        init = np.bincount(inverse, weights=np.clip(init_proba, 0.01, 0.99), minlength=len(patterns)) / counts
        posterior, previous = init, None
        for _ in range(self.max_iter):
            weights = np.stack([1 - posterior, posterior]) * counts  # [2, p]
            table_counts = (weights @ onehot).reshape(prior.shape) + prior
            self.tables = table_counts / table_counts.sum(axis=-1, keepdims=True)
            self.class_prior = float(np.clip((posterior * counts).sum() / counts.sum(), 0.01, 0.99))
            posterior = self._posterior(onehot)
            if previous is not None and np.abs(posterior - previous).max() < self.tol:
                break
            previous = posterior
        return self

    def _posterior(self, onehot: np.ndarray) -> np.ndarray:
        log_tables = np.log(self.tables).reshape(2, -1)
        log_neg = np.log(1 - self.class_prior) + onehot @ log_tables[0]
        log_pos = np.log(self.class_prior) + onehot @ log_tables[1]
        return 1.0 / (1.0 + np.exp(np.clip(log_neg - log_pos, -50, 50)))

    def predict_proba(self, votes: np.ndarray) -> np.ndarray:
        patterns, inverse, _ = _unique_rows(votes)
        return self._posterior(_one_hot(patterns).reshape(len(patterns), -1))[inverse]


def aggregate(votes: np.ndarray, lfs: list[LabelingFunction], method: str = "majority",
              fit_votes: np.ndarray | None = None) -> np.ndarray:
    """[n, functions] votes -> [n, labels] probabilities, one-vs-rest, by `method`.

    The generative model is fitted on `fit_votes` (default: `votes` themselves); pass the
    corpus votes to score a small gold set with a model fitted on the whole corpus.
    """
    if method not in LABEL_MODELS:
        raise ValueError(f"unknown label model {method!r}; expected one of {LABEL_MODELS}")
    probs = np.zeros((votes.shape[0], len(LABELS)))
    for k, label in enumerate(LABELS):
        cols = voters(lfs, label)
        if not cols:
            continue
        sub = votes[:, cols]
        weights = np.array([lfs[j].weight for j in cols], dtype=float)
        majority = majority_proba(sub, weights)
        if method == "majority" or votes.shape[0] == 0:
            probs[:, k] = majority
            continue
        polarities = np.array([lfs[j].polarity for j in cols])
        if fit_votes is None:
            model = NaiveBayesEM(polarities).fit(sub, majority)
        else:
            fit_sub = fit_votes[:, cols]
            model = NaiveBayesEM(polarities).fit(fit_sub, majority_proba(fit_sub, weights))
        probs[:, k] = model.predict_proba(sub)
    return probs

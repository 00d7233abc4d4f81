"""Document-level splits: every held-out split gets its share of every label's positives."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from conftest import NEWS_CORPUS, requires_corpus
from training.config import load_config
from training.data.dataset import build_dataset
from training.labels import LABELS
from training.data.splits import MIN_POSITIVE_DOCUMENTS, SplitError, assign_splits, check_split_positives

RARE = ("attack", "casualty", "withdrawal_talks", "rare")


def synthetic_corpus(n_docs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Positive sentence counts per document for four labels, shaped like news.

    A long tail of document lengths; `attack` in a third of the documents, `casualty` mostly
    with it (co-occurring); `withdrawal_talks` in 2%, a quarter of which hold most of its
    positives (skewed); `rare` in exactly 12 documents. Most documents have no positive at all.
    """
    rng = np.random.default_rng(seed)
    rare_docs = set(rng.choice(n_docs, size=12, replace=False).tolist())
    docs = {}
    for i in range(n_docs):
        length = int(rng.geometric(0.08))
        attack = rng.binomial(length, 0.5) if rng.random() < 0.33 else 0
        casualty = rng.binomial(attack, 0.6) if attack else rng.binomial(length, 0.3) * (rng.random() < 0.03)
        withdrawal = rng.binomial(length, 0.7 if rng.random() < 0.25 else 0.1) if rng.random() < 0.02 else 0
        rare = 1 + int(rng.integers(5)) if i in rare_docs else 0
        docs[f"doc{i:05d}"] = np.array([attack, casualty, withdrawal, rare], dtype=float)
    return docs


def shares(docs: dict[str, np.ndarray], splits: dict[str, str]) -> dict[str, np.ndarray]:
    """Each split's share of every label's positive sentences, and (last) of the documents."""
    total = np.sum(list(docs.values()), axis=0)
    out = {}
    for split in set(splits.values()):
        members = [d for d in docs if splits[d] == split]
        out[split] = np.append(np.sum([docs[d] for d in members], axis=0) / total, len(members) / len(docs))
    return out


@pytest.mark.parametrize("validation,test", [(0.15, 0.0), (0.1, 0.1), (0.2, 0.05)])
def test_each_split_gets_its_share_of_every_label(validation, test):
    docs = synthetic_corpus(5000)
    assert sum(docs[d][3] > 0 for d in docs) == 12
    splits = assign_splits(docs, validation, test, seed=3)
    got = shares(docs, splits)
    for split, fraction in (("validation", validation), ("test", test)):
        if fraction == 0:
            assert split not in got
            continue
        frequent = got[split][:3]
        assert np.all(np.abs(frequent - fraction) <= 0.02 + 0.1 * fraction), (split, got[split])
        assert got[split][3] > 0, f"{split} got none of the 12 rare documents"
        assert abs(got[split][4] - fraction) <= 0.03, f"{split} document share {got[split][4]:.3f}"


def test_splits_are_deterministic_disjoint_and_order_free():
    docs = synthetic_corpus(2000, seed=1)
    first = assign_splits(docs, 0.15, 0.1, seed=7)
    reordered = dict(reversed(list(docs.items())))
    assert assign_splits(reordered, 0.15, 0.1, seed=7) == first
    assert set(first) == set(docs) and set(first.values()) == {"train", "validation", "test"}
    assert assign_splits(docs, 0.15, 0.1, seed=8) != first


def test_tiny_corpus_still_fills_every_held_out_split():
    docs = {f"d{i}": np.array([i % 2, (i + 1) % 3 == 0, 0], dtype=float) for i in range(6)}
    splits = assign_splits(docs, 0.1, 0.1, seed=0)
    assert {"validation", "test"} <= set(splits.values())
    assert sum(v == "train" for v in splits.values()) >= 3


def test_a_held_out_split_without_a_frequent_label_is_an_error():
    docs = {f"d{i}": np.array([1.0, 0, 0]) for i in range(MIN_POSITIVE_DOCUMENTS)}
    docs.update({f"e{i}": np.zeros(3) for i in range(200)})
    splits = {d: ("validation" if d.startswith("e") else "train") for d in docs}
    with pytest.raises(SplitError, match="validation split got no positive sentence of 'attack' although 10"):
        check_split_positives(docs, splits, LABELS)


def test_a_label_with_few_documents_is_a_warning_naming_the_threshold(caplog):
    docs = {f"d{i}": np.array([1.0, 0, 0]) for i in range(MIN_POSITIVE_DOCUMENTS - 1)}
    docs["e"] = np.zeros(3)
    splits = {d: ("validation" if d == "e" else "train") for d in docs}
    with caplog.at_level(logging.WARNING):
        check_split_positives(docs, splits, LABELS)
    assert "'attack' (only 9 documents" in caplog.text and "threshold stays at 0.5" in caplog.text


@pytest.mark.slow
@requires_corpus
def test_ant_corpus_validation_holds_its_share_of_positives(tmp_path):
    """The acceptance run of issue 13: the ANT corpus with the default config's fractions."""
    config = load_config("configs/arabert.yaml")
    build_dataset(str(NEWS_CORPUS), str(tmp_path / "ant"), config)
    splits = json.loads((tmp_path / "ant" / "lf_report.json").read_text())["splits"]
    total = np.sum(list(splits["positives"].values()), axis=0)
    share = dict(zip(LABELS, np.array(splits["positives"]["validation"]) / total))
    assert 0.10 <= share["attack"] <= 0.20 and 0.10 <= share["casualty"] <= 0.20, share
    assert 0.05 <= share["withdrawal_talks"] <= 0.30, share

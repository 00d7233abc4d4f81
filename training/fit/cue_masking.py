"""Masked-cue copies: training positives with one rule's cue words deleted.

A model fine-tuned on the rules' labels learns the commonest cue word first. On ANT,
`attack_event_noun` (هجوم، غارة، قصف...) fires on about three quarters of the weak `attack`
positives, and where a rarer rule fires (a claim of responsibility, a launched missile) the noun
is mostly there too: a claim fires without it on 4 of 204 training sentences. So the model
scores "the Islamic State claimed responsibility for the explosion" near 0.

`training.masked_cue_copies` adds, for each weak positive on which two or more of its label's
rules fire, one copy per such rule with that rule's cue words deleted. A copy is kept only when
the rules, applied again to it, give it the same labels and the deleted rule no longer fires:
the remaining rules still vouch for the label, so no copy is a positive without evidence. The
copy keeps its original's targets. The validation split is never changed.

It is keyword masking (the end model should not lean on the words it was labelled by), limited
to what the rules still support.
"""

from __future__ import annotations

import logging
from itertools import groupby

import numpy as np

from training.inputs.text import normalize
from training.labels import LABELS
from training.weak.label_model import aggregate
from training.weak.labeling import POSITIVE, LFApplier, LabelingFunction, voters
from training.weak.lexicon import Lexicon, tokenize

logger = logging.getLogger(__name__)


def word_tokens(text: str) -> list[list[str]] | None:
    """The lexicon tokens of each whitespace-separated word of `text`, or None when they do not
    add up to the sentence's tokens (then a token position cannot be mapped back to a word)."""
    per_word = [tokenize(normalize(word)) for word in text.split()]
    flat = [token for tokens in per_word for token in tokens]
    return per_word if flat == tokenize(normalize(text)) else None


def delete_tokens(text: str, positions: set[int]) -> str | None:
    """`text` without the words that hold a token at `positions` (lexicon token indices)."""
    per_word = word_tokens(text)
    if per_word is None:
        return None
    kept, index = [], 0
    for word, tokens in zip(text.split(), per_word):
        if not positions.intersection(range(index, index + len(tokens))):
            kept.append(word)
        index += len(tokens)
    return " ".join(kept)


def rule_labels(votes: np.ndarray, lfs: list[LabelingFunction]) -> np.ndarray:
    """[n, labels] 0/1: the rules' labels, the majority vote (the default label model) at 0.5."""
    return aggregate(votes, lfs, "majority") >= 0.5


def candidate_masks(votes: np.ndarray, vectors: np.ndarray, lfs: list[LabelingFunction]) -> list[tuple[int, int]]:
    """(row, rule) pairs to mask: a positive rule that fires on a row that is positive for its
    label, when another positive rule of that label fires there too."""
    pairs = []
    for k, label in enumerate(LABELS):
        positive_rules = [j for j in voters(lfs, label) if lfs[j].polarity == POSITIVE]
        fired = votes[:, positive_rules] == POSITIVE
        rows = np.flatnonzero((vectors[:, k] >= 0.5) & (fired.sum(axis=1) >= 2))
        pairs.extend((int(i), positive_rules[c]) for i in rows for c in np.flatnonzero(fired[i]))
    return sorted(set(pairs))


def masked_copies(texts: list[str], vectors: np.ndarray, lexicon: str = "") -> tuple[list[int], list[str], int]:
    """(source rows, copy texts, candidates tried): the masked copies the rules still vouch for."""
    applier = LFApplier(lexicon=Lexicon.load(lexicon or None))
    votes = applier.apply(texts, progress=True)
    original = rule_labels(votes, applier.lfs)
    pairs = candidate_masks(votes, vectors, applier.lfs)
    sources, copies, rules = [], [], []
    for row, row_pairs in groupby(pairs, key=lambda pair: pair[0]):  # pairs are sorted by row
        cues = applier.cues(texts[row])
        for _, rule in row_pairs:
            positions = {i for category in applier.lfs[rule].needs for i in cues.at(category)}
            masked = delete_tokens(texts[row], positions)
            if masked:
                sources.append(row)
                copies.append(masked)
                rules.append(rule)
    if not copies:
        return [], [], len(pairs)
    copy_votes = applier.apply(copies)
    keep = ((rule_labels(copy_votes, applier.lfs) == original[sources]).all(axis=1)
            & (copy_votes[np.arange(len(copies)), rules] != POSITIVE))
    kept = np.flatnonzero(keep)
    return [sources[i] for i in kept], [copies[i] for i in kept], len(pairs)


def add_masked_cue_copies(train_split, lexicon: str = ""):
    """The training split with its masked-cue copies appended (see the module docstring); they are
    deterministic, so no seed. `lexicon` is `data.lexicon`: the rules that decide the cues."""
    from datasets import concatenate_datasets

    vectors = np.array(train_split["label_vector"])
    sources, copies, tried = masked_copies(train_split["text"], vectors, lexicon)
    logger.info("masked-cue copies: %d of %d candidates kept (the rules still give them their labels); "
                "%d training sentences -> %d", len(copies), tried, len(train_split), len(train_split) + len(copies))
    if not copies:
        return train_split
    extra = train_split.select(sources).map(lambda row, i: {"text": copies[i]}, with_indices=True,
                                            desc="masked-cue copies")
    return concatenate_datasets([train_split, extra])

"""seeds/written_period_articles*.jsonl: the team's written, hand-labelled sentences in the 2023-24 period's phrasing.

They teach a model (through `data.gold_files`) the talks on ending the coalition's mission that
ANT's 2018 news never reports, and are scored against the seed articles, which they must not copy.
The second set was written later, without reading the first set's scores, so that a model trained
on the first has a written test it never saw. The third was written later still, before any model
was scored on it, to train on beside the first while the second stays the threshold's set.
"""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest

from conftest import SEEDS
from training.config import DataConfig
from training.inputs.corpus import article_sentences, iter_articles
from training.inputs.gold import load_gold
from training.inputs.text import CleaningStats

# (articles, hand labels, fewest withdrawal_talks positives)
WRITTEN_SETS = [
    (SEEDS / "written_period_articles.jsonl", SEEDS / "gold_written_period.jsonl", 40),
    (SEEDS / "written_period_articles_2.jsonl", SEEDS / "gold_written_period_2.jsonl", 30),
    (SEEDS / "written_period_articles_3.jsonl", SEEDS / "gold_written_period_3.jsonl", 30),
]
each_set = pytest.mark.parametrize("written, gold, fewest_positives", WRITTEN_SETS, ids=["set1", "set2", "set3"])
LONGEST_SHARED_RUN = 5   # words in a row a written sentence may share with a seed sentence (names, stock phrases)


def sentences_of(folder) -> dict[str, list[str]]:
    """Each article's sentences, exactly as build_dataset splits them."""
    min_words = DataConfig().min_words
    return {a.doc_id: article_sentences(a, False, min_words, CleaningStats()) for a in iter_articles(folder)}


def longest_shared_run(a: str, b: str) -> int:
    """The longest run of consecutive words that two sentences share."""
    x, y = a.split(), b.split()
    return SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y)).size


@each_set
def test_every_written_sentence_is_hand_labelled_as_the_build_splits_it(written, gold, fewest_positives):
    rows = load_gold(gold)
    by_article: dict[str, list[str]] = {}
    for row in rows:
        by_article.setdefault(row["doc_id"], []).append(row["text"])
    assert sentences_of(written) == by_article     # same articles, same sentences, same order
    assert all(by_article[row["doc_id"]][row["sent_id"]] == row["text"] for row in rows)


@each_set
def test_written_sentences_do_not_copy_the_seed_articles(written, gold, fewest_positives):
    seed_articles = sentences_of(SEEDS)
    assert len(seed_articles) == 5                  # `--input seeds/` reads the five seed articles, not these
    seed_sentences = [s for sentences in seed_articles.values() for s in sentences]
    for row in load_gold(gold):
        run = max(longest_shared_run(row["text"], s) for s in seed_sentences)
        assert run <= LONGEST_SHARED_RUN, row["text"]


@each_set
def test_withdrawal_positives_come_with_the_negatives_that_share_their_words(written, gold, fewest_positives):
    rows = load_gold(gold)
    positives = [r for r in rows if "withdrawal_talks" in r["labels"]]
    other_withdrawals = [r for r in rows if not r["labels"] and ("انسحاب" in r["text"] or "سحب" in r["text"])]
    assert len(positives) >= fewest_positives and len(other_withdrawals) >= 6
    assert sum(not r["labels"] for r in rows) >= len(rows) // 3


@pytest.mark.parametrize("earlier, later", [(0, 1), (0, 2), (1, 2)], ids=["1-2", "1-3", "2-3"])
def test_written_sets_do_not_share_articles_or_sentences(earlier, later):
    rows1, rows2 = load_gold(WRITTEN_SETS[earlier][1]), load_gold(WRITTEN_SETS[later][1])
    assert not {r["doc_id"] for r in rows1} & {r["doc_id"] for r in rows2}   # one gold file each
    texts1 = [r["text"] for r in rows1]
    for row in rows2:
        assert max(longest_shared_run(row["text"], t) for t in texts1) <= LONGEST_SHARED_RUN, row["text"]

"""seeds/written_period_articles.jsonl: the team's written, hand-labelled sentences in the 2023-24 period's phrasing.

They teach a model (through `data.gold_files`) the talks on ending the coalition's mission that
ANT's 2018 news never reports, and are scored against the seed articles, which they must not copy.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from conftest import SEEDS
from training.config import DataConfig
from training.inputs.corpus import article_sentences, iter_articles
from training.inputs.gold import load_gold
from training.inputs.text import CleaningStats

WRITTEN = SEEDS / "written_period_articles.jsonl"
GOLD = SEEDS / "gold_written_period.jsonl"
LONGEST_SHARED_RUN = 5   # words in a row a written sentence may share with a seed sentence (names, stock phrases)


def sentences_of(folder) -> dict[str, list[str]]:
    """Each article's sentences, exactly as build_dataset splits them."""
    min_words = DataConfig().min_words
    return {a.doc_id: article_sentences(a, False, min_words, CleaningStats()) for a in iter_articles(folder)}


def longest_shared_run(a: str, b: str) -> int:
    """The longest run of consecutive words that two sentences share."""
    x, y = a.split(), b.split()
    return SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y)).size


def test_every_written_sentence_is_hand_labelled_as_the_build_splits_it():
    rows = load_gold(GOLD)
    by_article: dict[str, list[str]] = {}
    for row in rows:
        by_article.setdefault(row["doc_id"], []).append(row["text"])
    assert sentences_of(WRITTEN) == by_article     # same articles, same sentences, same order
    assert all(by_article[row["doc_id"]][row["sent_id"]] == row["text"] for row in rows)


def test_written_sentences_do_not_copy_the_seed_articles():
    seed_articles = sentences_of(SEEDS)
    assert len(seed_articles) == 5                  # `--input seeds/` reads the five seed articles, not these
    seed_sentences = [s for sentences in seed_articles.values() for s in sentences]
    for row in load_gold(GOLD):
        run = max(longest_shared_run(row["text"], s) for s in seed_sentences)
        assert run <= LONGEST_SHARED_RUN, row["text"]


def test_withdrawal_positives_come_with_the_negatives_that_share_their_words():
    rows = load_gold(GOLD)
    positives = [r for r in rows if "withdrawal_talks" in r["labels"]]
    other_withdrawals = [r for r in rows if not r["labels"] and ("انسحاب" in r["text"] or "سحب" in r["text"])]
    assert len(positives) >= 40 and len(other_withdrawals) >= 6
    assert sum(not r["labels"] for r in rows) >= len(rows) // 3

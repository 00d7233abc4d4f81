"""Adapting a trained model to the user's own articles, and measuring it on articles it never saw.

The offline model learns from ANT (2018 news). A user's articles from another period speak of
the same events in words ANT never used: three of the four `withdrawal_talks` rules (the 2023-24
talks on ending the coalition's mission, the advisory-only role, the forces' future) fire on
0.0% of ANT's sentences, so a model trained on ANT alone cannot learn them (`withdrawal_talks`
F1 0.10 on the seeds). Adaptation continues fine-tuning the trained model on the weak labels of
the user's articles, mixed with a seeded sample of the corpus it was trained on ("replay"): the
replay keeps what the base corpus taught (football "attacks" are no attacks), and gives the
validation split enough positives to tune thresholds on.

`adapt` writes one run folder: `corpus.jsonl` (the user's articles, then the replay sample,
whose ids start with `replay/`), `data/` (build_dataset's folder) and `model/` (a standard
model folder), with `adaptation.json` saying what went in. `training.fit.crossval` measures it:
one article left out at a time, every figure from a model that never saw the sentence.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from pathlib import Path

from training.config import Config, save_config
from training.errors import UserError
from training.inputs.corpus import Article, iter_articles
from training.io_utils import atomic_file, atomic_write_json
from training.outputs import check_output, output_folder

logger = logging.getLogger(__name__)

REPLAY_PREFIX = "replay/"   # doc ids of replayed articles: never mistaken for the user's own


def replay_sample(path: str | Path, documents: int, seed: int) -> list[Article]:
    """A seeded uniform sample of `documents` articles of a corpus, read once, streaming
    (reservoir sampling: memory holds the sample, not the corpus). Fewer if it has fewer."""
    rng = random.Random(seed)
    sample: list[Article] = []
    for n, article in enumerate(iter_articles(path)):
        if n < documents:
            sample.append(article)
        elif (k := rng.randrange(n + 1)) < documents:
            sample[k] = article
    return sample


def write_corpus(own: list[Article], replay: list[Article], path: Path) -> None:
    """The adaptation corpus as JSONL (`id`, `text`): the user's articles, then the replay sample."""
    rows = [(a.doc_id, a.text) for a in own] + [(REPLAY_PREFIX + a.doc_id, a.text) for a in replay]
    with atomic_file(path) as fh:
        fh.writelines(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n" for doc_id, text in rows)


def without_card_gold(config: Config) -> Config:
    """`config` with no card gold evaluation: for a fold model, which has trained on some of the
    card's gold sentences (the seeds) and is never published."""
    return dataclasses.replace(config, card=dataclasses.replace(config.card, gold_file=""))


def adapt_into(folder: Path, config: Config, own: list[Article], replay: list[Article], workers: int) -> Path:
    """Build and train one adaptation run inside `folder` (already created); returns the model folder."""
    from training.data.dataset import build_dataset
    from training.fit.trainer import train

    write_corpus(own, replay, folder / "corpus.jsonl")
    build_dataset(str(folder / "corpus.jsonl"), str(folder / "data"), config, workers=workers)
    result = train(config, folder / "data", folder / "model")
    if result.interrupted:
        raise UserError(f"{folder}: adaptation interrupted; nothing was written (runs take minutes: start it again)")
    return folder / "model"


def adaptation_record(config: Config, own: list[Article], replay: list[Article], replay_path, left_out=()) -> dict:
    """What went into an adaptation run (adaptation.json, and crossval.json's `record`)."""
    return {"base_model": config.model.name_or_path, "articles": [a.doc_id for a in own],
            "left_out": list(left_out), "replay": str(replay_path or ""), "replay_documents": len(replay),
            "seed": config.training.seed}


def adaptation_inputs(config: Config, articles, replay, gold=None) -> list:
    """Every path an adaptation run reads: its output may be none of them, nor inside one."""
    return [articles, replay, gold, config.model.name_or_path, *config.data.input_files()]


def read_articles(articles: str | Path) -> list[Article]:
    """The user's articles, all in memory (a few hundred; the replay corpus is the large input)."""
    own = list(iter_articles(articles))
    if not own:
        raise UserError(f"{articles}: no articles to adapt to")
    return own


def adapt(config: Config, articles: str | Path, output: str | Path, replay: str | Path | None = None,
          replay_documents: int = 2000, overwrite: bool = False, workers: int = 1) -> Path:
    """Fine-tune `config.model.name_or_path` (a trained model folder) further on the weak labels of
    `articles` plus `replay_documents` articles sampled from `replay`; returns the model folder."""
    inputs = adaptation_inputs(config, articles, replay)
    check_output(output, "adapt", inputs, overwrite)
    own = read_articles(articles)
    sample = replay_sample(replay, replay_documents, config.training.seed) if replay else []
    with output_folder(output, "adapt", inputs, overwrite) as tmp:
        save_config(config, tmp / "adapt_config.yaml")
        atomic_write_json(tmp / "adaptation.json", adaptation_record(config, own, sample, replay))
        adapt_into(tmp, config, own, sample, workers)
    logger.info("adapted %s to %d articles (+%d replayed): model in %s", config.model.name_or_path, len(own),
                len(sample), Path(output) / "model")
    return Path(output) / "model"

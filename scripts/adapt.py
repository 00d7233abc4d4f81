#!/usr/bin/env python
"""Adapt a trained model to your own articles: fine-tune it further on their weak labels.

The model (--model.name_or_path, a folder train.py wrote) keeps training on the weak labels of
INPUT's articles, mixed with a seeded sample of the corpus it was trained on (--replay), so it
learns the phrasing of your period without forgetting what the base corpus taught it:
  python scripts/adapt.py --config configs/adapt.yaml --input my_articles/ --replay ant_train.jsonl.gz \\
      --output runs/adapted --model.name_or_path=runs/ant_small
writes runs/adapted/model (a standard model folder), data/ and corpus.jsonl.
With --leave-one-out GOLD it measures instead of writing one model: each article with gold
sentences is left out in turn, the model is adapted to the others and scored on it:
  python scripts/adapt.py --config configs/adapt.yaml --input seeds/ --replay ant_train.jsonl.gz \\
      --leave-one-out seeds/gold.jsonl --output runs/adapt_cv --model.name_or_path=runs/ant_small
"""

from __future__ import annotations

import argparse

from training.config import load_config
from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML run config, e.g. configs/adapt.yaml")
    parser.add_argument("--input", required=True, help="your articles: a folder, .jsonl or .csv, as build_dataset reads")
    parser.add_argument("--output", required=True, help="run folder to write (atomically)")
    parser.add_argument("--replay", default=None, help="the corpus the model was trained on, to sample articles from (default: none)")
    parser.add_argument("--replay-documents", type=int, default=2000, help="articles to sample from --replay (default 2000)")
    parser.add_argument("--leave-one-out", metavar="GOLD", default=None, help="gold JSONL with doc_id: cross-validate by article instead of writing one model")
    parser.add_argument("--workers", type=int, default=1, help="processes that split and label (default 1)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    if args.replay_documents < 0:
        parser.error("--replay-documents must be >= 0")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    config = load_config(args.config, overrides)
    common = dict(replay=args.replay, replay_documents=args.replay_documents, overwrite=args.overwrite,
                  workers=args.workers)
    if args.leave_one_out:
        from training.fit.crossval import cross_validate

        cross_validate(config, args.input, args.leave_one_out, args.output, **common)
    else:
        from training.fit.adaptation import adapt

        adapt(config, args.input, args.output, **common)
    return 0


if __name__ == "__main__":
    run_cli(main)

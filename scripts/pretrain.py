#!/usr/bin/env python
"""Pretrain a BERT encoder on unlabelled articles (masked language modelling), for train.py.

From scratch (a WordPiece vocabulary trained on the corpus and a small BERT):
  python scripts/pretrain.py --config configs/pretrain_small.yaml --input POLITICS.jsonl.gz --input ECONOMY.jsonl.gz --output runs/pre
Continued pretraining of a checkpoint on your domain (DAPT), the same code path:
  python scripts/pretrain.py --config configs/pretrain_small.yaml --input news/ --output runs/dapt \\
      --model.name_or_path=aubmindlab/bert-base-arabertv02 --model.preprocessing=arabert --training.learning_rate=5e-5
Then: python scripts/train.py --config configs/small.yaml --data DATA --output MODEL --model.name_or_path=runs/pre
Ctrl-C saves a checkpoint in OUTPUT.run/; the same command with --resume continues from it.
"""

from __future__ import annotations

import argparse

from training.config import load_config
from training.io_utils import run_cli, setup_logging
from training.pretrain_config import PretrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML pretraining config, e.g. configs/pretrain_small.yaml")
    parser.add_argument("--input", required=True, action="append", help="articles, as build_dataset.py reads them (a folder, .jsonl/.csv/.gz); repeat for several")
    parser.add_argument("--output", required=True, help="encoder folder to write (written atomically at the end)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    config = load_config(args.config, overrides, schema=PretrainConfig)
    from training.fit.pretraining import pretrain

    metrics = pretrain(config, args.input, args.output, resume=args.resume, overwrite=args.overwrite)
    return 0 if metrics else 130


if __name__ == "__main__":
    run_cli(main)

#!/usr/bin/env python
"""One self-training round: the fine-tuned model relabels the training split where it is sure.

Where the model scores a label >= CONFIDENCE and no rule voted on that label, the target becomes
1; where it scores <= 1 - CONFIDENCE and a cue of that label fired, the target becomes 0.
Validation keeps its weak labels. The revised dataset goes to a new folder; train on it again:
  python scripts/self_train.py --model runs/model --data runs/data --output runs/data_round1
  python scripts/train.py --config configs/small.yaml --data runs/data_round1 --output runs/model_round1 \\
      --model.name_or_path=runs/model
"""

from __future__ import annotations

import argparse

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder written by train.py")
    parser.add_argument("--data", required=True, help="dataset folder written by build_dataset.py (the model's own)")
    parser.add_argument("--output", required=True, help="revised dataset folder to write")
    parser.add_argument("--confidence", type=float, default=0.9, help="model score needed to overrule the rules (default 0.9)")
    parser.add_argument("--batch-size", type=int, default=None, help="sentences per inference batch")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    from training.fit.self_training import self_training_round

    self_training_round(args.model, args.data, args.output, args.confidence, args.batch_size, args.overwrite)
    return 0


if __name__ == "__main__":
    run_cli(main)

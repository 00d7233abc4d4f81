#!/usr/bin/env python
"""Distillation: the mean score of several fine-tuned models becomes the training split's targets.

Train one student on the result, and it learns what an average of several seeds' runs knows, in
one model folder. Hand-labelled sentences of the build keep their labels; validation keeps its
weak labels. Run it from the folder the dataset was built in (the build's gold file paths are
relative to it):
  python scripts/distill.py --teacher runs/m_s42 --teacher runs/m_s7 --teacher runs/m_s3 \\
      --data runs/data --output runs/data_distilled
  python scripts/train.py --config configs/small.yaml --data runs/data_distilled --output runs/student
"""

from __future__ import annotations

import argparse

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", action="append", required=True, metavar="MODEL_DIR",
                        help="a model folder written by train.py; once per teacher")
    parser.add_argument("--data", required=True, help="dataset folder written by build_dataset.py (the teachers')")
    parser.add_argument("--output", required=True, help="distilled dataset folder to write")
    parser.add_argument("--weak-weight", type=float, default=0.0,
                        help="share of the weak target kept in each new target, in [0, 1) (default 0: the teachers' mean)")
    parser.add_argument("--batch-size", type=int, default=None, help="sentences per inference batch")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    from training.fit.distillation import distillation_round

    distillation_round(args.teacher, args.data, args.output, args.weak_weight, args.batch_size, args.overwrite)
    return 0


if __name__ == "__main__":
    run_cli(main)

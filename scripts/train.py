#!/usr/bin/env python
"""Fine-tune the event classifier on a dataset built by build_dataset.py.

Any config value can be overridden as --section.key=value, e.g.
  python scripts/train.py --config configs/tiny.yaml --data runs/data --output runs/model --training.max_steps=20
Several GPUs: accelerate launch scripts/train.py --config configs/arabert.yaml --data ... --output ...
"""

from __future__ import annotations

import argparse

from training.config import load_config
from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML run config, e.g. configs/tiny.yaml")
    parser.add_argument("--data", required=True, help="folder written by build_dataset.py")
    parser.add_argument("--output", required=True, help="model folder to write (replaced atomically at the end)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    config = load_config(args.config, overrides)  # config errors surface before anything heavy is imported
    from training.fit.trainer import train

    result = train(config, args.data, args.output, resume=args.resume, overwrite=args.overwrite)
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    run_cli(main)

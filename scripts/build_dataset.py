#!/usr/bin/env python
"""Build the weakly labelled dataset: clean and split articles, label sentences by rules.

Examples:
  python scripts/build_dataset.py --input seeds/ --output runs/data --gold seeds/gold.jsonl
  python scripts/build_dataset.py --input big.jsonl --output runs/data --workers 8
Past one machine (OUT.shards/ must be on storage every process shares):
  accelerate launch --num_processes 4 scripts/build_dataset.py --input big.jsonl --output runs/data
or by hand: one --shard K/N per machine, then --merge of the N shard folders, in order:
  python scripts/build_dataset.py --input big.jsonl --shard 0/2 --output shards/0   (and 1/2 -> shards/1)
  python scripts/build_dataset.py --merge shards/0 shards/1 --output runs/data
"""

from __future__ import annotations

import argparse
import logging
import os

from training.config import load_config
from training.data.build_workers import parse_shard, usable_cores
from training.data.dataset import build_across_processes, build_dataset, build_shard, merge_dataset
from training.errors import UserError
from training.io_utils import run_cli, setup_logging

logger = logging.getLogger("build_dataset")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", help="folder of .txt/.html articles, a .jsonl/.csv file with a 'text' column, or - for stdin")
    parser.add_argument("--output", required=True, help="output folder (written atomically; never one of the inputs)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--encoding", default="auto", help="text encoding of the articles: auto (UTF-8, UTF-16, or Windows-1256 Arabic; invalid bytes are an error) or a codec such as utf-8 or cp1256, decoded as asked with bad bytes replaced")
    parser.add_argument("--sentences", action="store_true", help="each row/line is already one sentence; do not split")
    parser.add_argument("--config", default=None, help="YAML run config (data.* and training.seed are used)")
    parser.add_argument("--gold", default=None, help="gold JSONL (text, labels) for rule accuracy in the report")
    parser.add_argument("--workers", type=int, default=None, help="processes that split and label (default: the usable cores; 1 = in this process); the output is the same for any number")
    parser.add_argument("--shard", metavar="K/N", default=None, help="build only shard K of N (chunks K, K+N, ...) into OUTPUT, for --merge")
    parser.add_argument("--merge", nargs="+", metavar="SHARD_DIR", default=None, help="merge the shard folders 0..N-1 of one input into the dataset OUTPUT")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    config = load_config(args.config, overrides)
    result = _run(args, config)
    if result is None:  # a shard, or a non-main process of a distributed build
        return 0
    dist = result.report["distribution"]
    logger.info("done: %d sentences, %d documents, splits %s, labels %s", result.sentences, result.documents,
                result.split_documents, dist)
    return 0


def _run(args, config):
    """The build this command line asks for: merge, one shard, a distributed build, or a whole one."""
    if (args.input is None) == (args.merge is None):
        raise UserError("give --input (to build) or --merge SHARD_DIR ... (to merge shards), not both")
    if args.merge:
        return merge_dataset(args.merge, args.output, config, args.gold, args.overwrite)
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be >= 1")
    workers = args.workers or usable_cores()
    world = int(os.environ.get("WORLD_SIZE", "1"))  # set by accelerate launch / torchrun
    if (args.shard or world > 1) and args.input == "-":
        raise UserError("standard input cannot be sharded: every process would read it; give a file or folder")
    common = dict(presplit=args.sentences, encoding=args.encoding, workers=workers)
    if args.shard:
        return build_shard(args.input, args.output, config, parse_shard(args.shard), overwrite=args.overwrite, **common)
    if world > 1:
        return build_across_processes(args.input, args.output, config, int(os.environ.get("RANK", "0")), world,
                                      gold_file=args.gold, overwrite=args.overwrite, **common)
    return build_dataset(args.input, args.output, config, gold_file=args.gold, overwrite=args.overwrite, **common)


if __name__ == "__main__":
    run_cli(main)

#!/usr/bin/env python
"""Build the weakly labelled dataset: clean and split articles, label sentences by rules.

Example:
  python scripts/build_dataset.py --input seeds/ --output runs/data --gold seeds/gold.jsonl
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# The repo root replaces this folder on the path: scripts/evaluate.py must not shadow `evaluate`.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from training.config import load_config  # noqa: E402
from training.dataset import build_dataset  # noqa: E402
from training.io_utils import run_cli, setup_logging  # noqa: E402

logger = logging.getLogger("build_dataset")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="folder of .txt/.html articles, a .jsonl/.csv file with a 'text' column, or - for stdin")
    parser.add_argument("--output", required=True, help="output folder (written atomically; never one of the inputs)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--encoding", default="auto", help="text encoding of the articles: auto (UTF-8, UTF-16, or Windows-1256 Arabic; invalid bytes are an error) or a codec such as utf-8 or cp1256, decoded as asked with bad bytes replaced")
    parser.add_argument("--sentences", action="store_true", help="each row/line is already one sentence; do not split")
    parser.add_argument("--config", default=None, help="YAML run config (data.* and training.seed are used)")
    parser.add_argument("--gold", default=None, help="gold JSONL (text, labels) for rule accuracy in the report")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    config = load_config(args.config, overrides)
    result = build_dataset(args.input, args.output, config, presplit=args.sentences, gold_file=args.gold,
                           overwrite=args.overwrite, encoding=args.encoding)
    dist = result.report["distribution"]
    logger.info("done: %d sentences, %d documents, splits %s, labels %s", result.sentences, result.documents,
                result.split_documents, dist)
    return 0


if __name__ == "__main__":
    run_cli(main)

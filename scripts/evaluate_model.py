#!/usr/bin/env python
"""Score a model, the weak-label rules and a majority baseline on a gold JSONL, side by side.

Example:
  python scripts/evaluate_model.py --model runs/model --data seeds/gold.jsonl --output runs/eval
Writes REPORT_DIR/metrics.json, report.md, f1.png, pr_curves.png and errors.jsonl.
"""

from __future__ import annotations

import argparse

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder (or Hub id)")
    parser.add_argument("--data", required=True, help="JSONL of sentences with gold 'labels' (or a corpus-reference gold file)")
    parser.add_argument("--output", required=True, help="report folder to write")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--threshold", type=float, default=None, help="one threshold for all labels, overriding the model's")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.threshold is not None and not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    from training.analysis.evaluation import evaluate_model

    evaluate_model(args.model, args.data, args.output, threshold=args.threshold, overwrite=args.overwrite)
    return 0


if __name__ == "__main__":
    run_cli(main)

#!/usr/bin/env python
"""Estimate the model's and the rules' false alarms and misses over a whole predicted corpus, from
a hand-labelled sample of it drawn by stratum (see training/analysis/alarm_rates.py).

Example (seeds/gold_economy.jsonl was sampled from this run on the ANT economy file):
  python scripts/predict.py --model MODEL --input ../shared/data/ant_news_economy.jsonl.gz --output econ.jsonl
  python scripts/estimate_alarms.py --gold seeds/gold_economy.jsonl --predictions econ.jsonl
Prints a markdown table; writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", required=True, help="gold JSONL of sampled sentences: id/doc_id, position/sent_id, "
                                                      "labels, and sample (the stratum it was drawn from)")
    parser.add_argument("--predictions", required=True, help="the .jsonl written by predict.py")
    parser.add_argument("--disagreements", help="its disagreements file (default: beside it, as predict.py writes it)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    from training.analysis.alarm_rates import estimate_alarms, render_estimate
    from training.analysis.disagreements import disagreements_path

    predictions = Path(args.predictions)
    disagreements = Path(args.disagreements) if args.disagreements else disagreements_path(predictions)
    print(render_estimate(estimate_alarms(Path(args.gold), predictions, disagreements)))
    return 0


if __name__ == "__main__":
    run_cli(main)

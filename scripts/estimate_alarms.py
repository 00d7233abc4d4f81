#!/usr/bin/env python
"""Estimate the model's and the rules' false alarms, misses and per-label F1 over a whole predicted
corpus, from a hand-labelled sample of it drawn by stratum (see training/analysis/alarm_rates.py).

Example (seeds/gold_economy.jsonl was sampled from this run on the ANT economy file):
  python scripts/predict.py --model MODEL --input ../shared/data/ant_news_economy.jsonl.gz --output econ.jsonl
  python scripts/estimate_alarms.py --gold seeds/gold_economy.jsonl --predictions econ.jsonl
Prints markdown tables; writes nothing. With --gold given twice or more (independent samples of
the same corpus, e.g. drawn from two runs' strata), each is estimated and the model-minus-rules F1
of each label is then pooled over them.

First, the sample to label (a seeded draw from each stratum; `labels` left empty; the rows keep
the run's strata sizes, so the labelled sample also scores later runs over the same corpus):
  python scripts/estimate_alarms.py --predictions econ.jsonl --draw model_only=45,rules_only=45,both=15,neither=15 \\
      --output to_label.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", action="append", help="gold JSONL of sampled sentences: id/doc_id, position/sent_id, "
                        "labels, and sample (the stratum it was drawn from); with stratum_sizes (as --draw writes "
                        "them) it also scores other runs over the same corpus. Repeat it for several independent "
                        "samples: each is estimated, then their F1 differences are pooled")
    parser.add_argument("--predictions", required=True, help="the .jsonl written by predict.py")
    parser.add_argument("--disagreements", help="its disagreements file (default: beside it, as predict.py writes it)")
    parser.add_argument("--draw", metavar="STRATUM=N,...", help="instead of estimating, draw N sentences of each "
                        "stratum (model_only, rules_only, both, neither) to label, into --output")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --draw (default 0)")
    parser.add_argument("--output", help="the JSONL --draw writes (must not exist yet)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if bool(args.gold) == bool(args.draw):
        parser.error("give either --gold (estimate) or --draw with --output (the sample to label)")
    if args.draw and not args.output:
        parser.error("--draw needs --output")
    setup_logging(args.verbose)
    from training.analysis.disagreements import disagreements_path

    predictions = Path(args.predictions)
    disagreements = Path(args.disagreements) if args.disagreements else disagreements_path(predictions)
    if args.draw:
        return _draw(predictions, disagreements, args)
    from training.analysis.alarm_rates import estimate_alarms, render_estimate, render_pooled
    estimates = [estimate_alarms(Path(gold), predictions, disagreements) for gold in args.gold]
    for gold, estimate in zip(args.gold, estimates):
        print(f"## {gold}\n\n{render_estimate(estimate)}\n" if len(estimates) > 1 else render_estimate(estimate))
    if len(estimates) > 1:
        print(render_pooled(estimates, args.gold))
    return 0


def _draw(predictions: Path, disagreements: Path, args: argparse.Namespace) -> int:
    from training.analysis.strata_sample import draw_sample, parse_counts
    from training.errors import UserError
    from training.io_utils import atomic_file

    counts = parse_counts(args.draw)
    output = Path(args.output)
    if output.exists():
        raise UserError(f"{output}: already exists; choose another output path")
    rows = draw_sample(predictions, disagreements, counts, seed=args.seed)
    with atomic_file(output) as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"{len(rows)} sentences to label -> {output}")
    return 0


if __name__ == "__main__":
    run_cli(main)

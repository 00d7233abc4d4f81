#!/usr/bin/env python
"""Human review in Label Studio: send the sentences worth checking, bring the verdicts back as gold.

  # the 200 predictions nearest their thresholds, as Label Studio tasks (+ the labeling config beside them)
  python scripts/review.py export --input runs/preds.jsonl --output review/tasks.json --select uncertain --n 200 --model runs/model
  # ... or straight into a running Label Studio project (created, or updated, with that config)
  python scripts/review.py export --input runs/preds.jsonl --output review/tasks.json --select disagreement \\
      --url http://localhost:8080 --api-key KEY --project "events review"
  # annotate in Label Studio, export JSON (or pull it), and write a gold file evaluate_model.py reads
  python scripts/review.py import --input review/export.json --output review/gold.jsonl
  python scripts/review.py import --url http://localhost:8080 --api-key KEY --project "events review" --output review/gold.jsonl
"""

from __future__ import annotations

import argparse
import os

from training.errors import UserError
from training.io_utils import run_cli, setup_logging

SELECTIONS = ("uncertain", "disagreement", "random", "all")


def _server_arguments(parser) -> None:
    parser.add_argument("--url", help="a running Label Studio, e.g. http://localhost:8080")
    parser.add_argument("--api-key", default=os.environ.get("LABEL_STUDIO_API_KEY"), help="its API key (Account & Settings; default: $LABEL_STUDIO_API_KEY)")
    parser.add_argument("--project", help="the project's title (created on export when missing)")


def _server(args, parser):
    given = [args.url, args.project]
    if not any(given):
        return None
    if not all(given) or not args.api_key:
        parser.error("--url, --project and --api-key (or $LABEL_STUDIO_API_KEY) go together")
    return args.url, args.api_key, args.project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write Label Studio tasks (and its labeling config) for review")
    export.add_argument("--input", required=True, help="predict.py output (.jsonl/.csv) or build_dataset's sentences.jsonl")
    export.add_argument("--output", required=True, help="tasks file (.json) to write; TASKS.label_config.xml goes beside it")
    export.add_argument("--select", choices=SELECTIONS, default="uncertain", help="uncertain: scores nearest their threshold; disagreement: model and rules differ, most confident first; random: a seeded sample (unbiased estimates); all")
    export.add_argument("--n", type=int, default=None, help="at most this many tasks (default: all that the selection gives)")
    export.add_argument("--seed", type=int, default=42, help="seed of --select random")
    export.add_argument("--model", default=None, help="model folder whose thresholds --select uncertain/disagreement use (default 0.5)")
    _server_arguments(export)
    export.add_argument("--overwrite", action="store_true", help="replace an earlier tasks file and config of this command")
    imp = sub.add_parser("import", help="turn a Label Studio JSON export into a gold file")
    imp.add_argument("--input", help="Label Studio JSON export (or give --url/--project to pull it)")
    imp.add_argument("--output", required=True, help="gold JSONL to write (doc_id, sent_id, text, labels, note, annotators)")
    _server_arguments(imp)
    imp.add_argument("--overwrite", action="store_true", help="replace an earlier gold file of this command")
    for p in (export, imp):
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    server = _server(args, parser)
    from training.review.review import export_tasks, import_gold

    if args.command == "export":
        if args.n is not None and args.n < 1:
            raise UserError("--n must be >= 1")
        export_tasks(args.input, args.output, args.select, args.n, args.seed, args.model, server, args.overwrite)
    else:
        if (args.input is None) == (server is None):
            parser.error("give --input EXPORT.json, or --url/--project/--api-key to pull the export")
        import_gold(args.input, args.output, server, args.overwrite)
    return 0


if __name__ == "__main__":
    run_cli(main)

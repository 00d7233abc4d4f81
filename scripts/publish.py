#!/usr/bin/env python
"""Publish a model folder to the Hugging Face Hub (one commit), or stage it locally with --dry-run.

Examples:
  python scripts/publish.py --model runs/model --repo-id me/arabic-events --dry-run runs/upload
  HF_TOKEN=hf_... python scripts/publish.py --model runs/model --repo-id me/arabic-events --private
"""

from __future__ import annotations

import argparse

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder written by train.py")
    parser.add_argument("--repo-id", required=True, help="Hub repository, OWNER/NAME")
    parser.add_argument("--dry-run", metavar="DIR", default=None, help="write exactly what would be uploaded to DIR; no network")
    parser.add_argument("--overwrite", action="store_true", help="replace the --dry-run folder if it is an earlier output of this command (only once the new one is complete)")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", default=None, help="branch to push to (created if missing)")
    parser.add_argument("--commit-message", default="Upload Arabic event classifier", help="commit message")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of pushing")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    from training.hub.publish import dry_run, publish

    if args.dry_run:
        dry_run(args.model, args.dry_run, args.repo_id, overwrite=args.overwrite)
    else:
        publish(args.model, args.repo_id, args.private, args.revision, args.commit_message, args.create_pr)
    return 0


if __name__ == "__main__":
    run_cli(main)

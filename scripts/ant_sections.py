#!/usr/bin/env python
"""Convert sections of the ANT corpus v2.1 (a clone of github.com/antcorpus/antcorpus.multisource.data)
into the JSONL layout of ../shared/data (id, source, category, title, date, url, text), which
build_dataset.py, pretrain.py and predict.py read.

The politics file in ../shared/data is this conversion of the middleEast and internationalNews
sections; the corpus's sport, technology and culture sections are the real off-topic news that
teaches a model a team's "attack" (README, "A real model offline"). With --heldout, about 1 in 5
of the articles (chosen by a hash of the article id, so the same for every run) goes to a second
file, for measuring false alarms on articles no model was trained on:
  python scripts/ant_sections.py --repo antcorpus.multisource.data --sections sport \\
      --output runs/ant_news_sport.jsonl.gz --heldout runs/ant_news_sport.heldout.jsonl.gz
The corpus's rights statement is unclear: use it for measurement and development, and do not
commit it or copies of its sentences.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
from contextlib import ExitStack
from pathlib import Path

from training.errors import InputError
from training.io_utils import atomic_file, run_cli, setup_logging
from training.outputs import check_not_an_input

SECTIONS = ("culture", "economy", "internationalNews", "middleEast", "sport", "technology")
FIELDS = {"id": "DOCNO", "source": "SRC", "category": "CAT", "title": "TITLE", "date": "TIME", "url": "URL", "text": "TEXT"}


def parse_article(markup: str) -> dict:
    """One ANT file (TREC-style tags) as a row; a missing tag is an empty string."""
    def tag(name: str) -> str:
        found = re.search(rf"<{name}>(.*?)</{name}>", markup, re.S)
        return found.group(1).strip() if found else ""
    return {field: tag(name) for field, name in FIELDS.items()}


def is_heldout(article_id: str, every: int) -> bool:
    """About 1 in `every` ids, chosen by their SHA-1: the same articles on every machine and run."""
    return int(hashlib.sha1(article_id.encode("utf-8")).hexdigest(), 16) % every == 0


def gzip_writer(stack: ExitStack, path: Path) -> io.TextIOWrapper:
    """A text stream into `path`, gzipped with no timestamp (the same bytes every run), renamed into
    place only when the whole conversion succeeds."""
    raw = stack.enter_context(atomic_file(path, "wb"))
    return stack.enter_context(io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="wb", mtime=0), encoding="utf-8"))


def convert(repo: Path, sections: list[str], output: Path, heldout: Path | None, every: int) -> tuple[int, int]:
    """Write the sections' articles, in path order, to `output` (and the held-out ones to `heldout`)."""
    files = sorted(p for p in repo.glob("*/*/*.txt") if p.parent.name in sections)
    if not files:
        raise InputError(f"{repo}: no ANT article files (SOURCE/SECTION/*.txt) for sections {sections}")
    counts = [0, 0]
    with ExitStack() as stack:
        writers = [gzip_writer(stack, output)] + ([gzip_writer(stack, heldout)] if heldout else [])
        for path in files:
            row = parse_article(path.read_text(encoding="utf-8"))
            if row["text"]:
                to_heldout = heldout is not None and is_heldout(row["id"], every)
                writers[to_heldout].write(json.dumps(row, ensure_ascii=False) + "\n")
                counts[to_heldout] += 1
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True, type=Path, help="a clone of antcorpus/antcorpus.multisource.data")
    parser.add_argument("--sections", required=True, help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--output", required=True, type=Path, help="the .jsonl.gz to write (the articles not held out)")
    parser.add_argument("--heldout", type=Path, help="a second .jsonl.gz for the held-out articles")
    parser.add_argument("--heldout-every", type=int, default=5, help="hold out about 1 article in N (default 5)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        raise InputError(f"--sections: unknown {unknown or 'none given'}; expected some of {list(SECTIONS)}")
    if args.heldout_every < 2:
        raise InputError("--heldout-every must be >= 2")
    for path in (args.output, args.heldout):
        if path is not None:
            check_not_an_input(path, [args.repo])  # the project's policy: never write into the clone
            if path.exists():
                raise InputError(f"{path}: exists; choose another path (nothing was written)")
    kept, held = convert(args.repo, sections, args.output, args.heldout, args.heldout_every)
    print(f"{kept} articles -> {args.output}" + (f"; {held} held out -> {args.heldout}" if args.heldout else ""))
    return 0


if __name__ == "__main__":
    run_cli(main)

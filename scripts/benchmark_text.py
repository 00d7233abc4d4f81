#!/usr/bin/env python
"""Benchmark text preparation and labeling on the ANT news corpus: articles/s and sentences/s per stage.

Stages: read (decode JSON), clean+split, normalize+match (cue lexicon), label (all labeling
functions and the label model), and the whole build_dataset. One process, one core.
Example: python scripts/benchmark_text.py --corpus ../shared/data/ant_news_politics.jsonl.gz
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# The repo root replaces this folder on the path: scripts/evaluate.py must not shadow `evaluate`.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from training.gold import DEFAULT_NEWS_CORPUS  # noqa: E402
from training.io_utils import UserError, run_cli, setup_logging  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(DEFAULT_NEWS_CORPUS), help="JSONL(.gz) with a 'text' column")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N articles (0 = all)")
    args = parser.parse_args(argv)
    setup_logging()
    if not Path(args.corpus).is_file():
        raise UserError(f"{args.corpus}: corpus not found")
    from itertools import islice

    from training.config import load_config
    from training.corpus import iter_articles
    from training.dataset import build_dataset
    from training.label_model import aggregate
    from training.labeling import LFApplier
    from training.lexicon import tokenize
    from training.text import normalize, split_article

    articles, t_read = timed(lambda: [a.text for a in islice(iter_articles(args.corpus), args.limit or None)])
    sentences, t_split = timed(lambda: [s for a in articles for s in split_article(a)])
    applier = LFApplier()
    _, t_match = timed(lambda: [applier.lexicon.match(tokenize(normalize(s))) for s in sentences])
    applier = LFApplier()  # a cold token cache again, as in a real run
    votes, t_vote = timed(lambda: applier.apply(sentences))
    _, t_agg = timed(lambda: aggregate(votes, applier.lfs))
    with tempfile.TemporaryDirectory() as tmp:
        source = args.corpus
        if args.limit:
            import json

            source = str(Path(tmp) / "subset.jsonl")
            with open(source, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in articles)
        _, t_build = timed(lambda: build_dataset(source, str(Path(tmp) / "out"), load_config()))
    n_a, n_s = len(articles), len(sentences)
    print(f"{n_a} articles, {n_s} sentences ({args.corpus})")
    print(f"{'stage':<34}{'seconds':>9}{'articles/s':>12}{'sentences/s':>13}")
    for name, t in [("read (decode JSON lines)", t_read), ("clean + split", t_split),
                    ("normalize + match lexicon", t_match), ("label (all functions)", t_vote),
                    ("label model (majority)", t_agg), ("whole build_dataset", t_build)]:
        print(f"{name:<34}{t:>9.2f}{n_a / t:>12,.0f}{n_s / t:>13,.0f}")
    return 0


if __name__ == "__main__":
    run_cli(main)

#!/usr/bin/env python
"""Benchmark text preparation and labeling on the ANT news corpus: articles/s and sentences/s per stage.

Stages: read (decode JSON), clean+split, normalize+match (cue lexicon), label (all labeling
functions and the label model), one process; then the whole build_dataset command (a new process,
start-up included) with 1 worker and with every usable core, against a floor: a bare regex split
and one keyword-set pass over the same JSON lines.
Example: python scripts/benchmark_text.py --corpus ../shared/data/ant_news_politics.jsonl.gz
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import ANT_POLITICS
from training.errors import UserError
from training.io_utils import cpu_name, run_cli, setup_logging


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ANT_POLITICS), help="JSONL(.gz) with a 'text' column")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N articles (0 = all)")
    parser.add_argument("--repeats", type=int, default=3, help="time each whole command this many times, interleaved; the best counts")
    args = parser.parse_args(argv)
    setup_logging()
    if not Path(args.corpus).is_file():
        raise UserError(f"{args.corpus}: corpus not found")
    from itertools import islice

    from training.inputs.corpus import iter_articles
    from training.data.build_workers import CHUNK_ARTICLES, input_chunks, usable_cores
    from training.weak.label_model import aggregate
    from training.weak.labeling import LFApplier
    from training.weak.lexicon import tokenize
    from training.inputs.text import normalize, split_article

    articles, t_read = timed(lambda: [a.text for a in islice(iter_articles(args.corpus), args.limit or None)])
    chunks = -(-args.limit // CHUNK_ARTICLES) if args.limit else None  # those holding the first LIMIT articles
    _, t_cut = timed(lambda: list(islice(input_chunks(args.corpus, "auto"), chunks)))
    sentences, t_split = timed(lambda: [s for a in articles for s in split_article(a)])
    applier = LFApplier()
    _, t_match = timed(lambda: [applier.lexicon.match(tokenize(normalize(s))) for s in sentences])
    applier = LFApplier()  # a cold token cache again, as in a real run
    votes, t_vote = timed(lambda: applier.apply(sentences))
    _, t_agg = timed(lambda: aggregate(votes, applier.lfs))
    with tempfile.TemporaryDirectory() as tmp:
        source = args.corpus
        if args.limit:
            source = str(Path(tmp) / "subset.jsonl")
            with open(source, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in articles)
        _, t_bare = timed(lambda: bare_pass(source))
        cores = usable_cores()
        runs = {w: [] for w in sorted({1, cores})}
        for r in range(args.repeats):  # interleaved, so that a slow spell of the machine hits both counts
            for w, seconds in runs.items():
                seconds.append(whole_command(source, Path(tmp) / f"out{w}_{r}", w))
        builds = {w: min(seconds) for w, seconds in runs.items()}
        single_start = time_to_first_sentence(Path(tmp))
    n_a, n_s = len(articles), len(sentences)
    print(f"{n_a} articles, {n_s} sentences ({args.corpus}); CPU: {cpu_name()}, {cores} usable cores")
    print(f"{'stage':<52}{'seconds':>9}{'articles/s':>12}{'sentences/s':>13}")
    rows = [("read (decode JSON lines)", t_read), ("cut JSON lines into chunks (a build's reader)", t_cut),
            ("clean + split", t_split),
            ("normalize + match lexicon", t_match), ("label (all functions)", t_vote),
            ("label model (majority)", t_agg), ("floor: bare regex split + one keyword set", t_bare)]
    rows += [(f"whole build_dataset command, --workers {w} (best of {args.repeats})", t) for w, t in builds.items()]
    for name, t in rows:
        print(f"{name:<52}{t:>9.2f}{n_a / t:>12,.0f}{n_s / t:>13,.0f}")
    fastest = min(builds.values())
    pairs = sorted(one / many for one, many in zip(runs[1], runs[cores]))
    print(f"--workers {cores} vs --workers 1: {builds[1] / builds[cores]:.2f}x (best against best; run by run "
          f"{pairs[0]:.2f}-{pairs[-1]:.2f}x, median {statistics.median(pairs):.2f}x); fastest whole command vs the floor: "
          f"{fastest / t_bare:.1f}x the time")
    print(f"a whole build of one short article (start-up included): {single_start:.2f} s")
    return 0


# The floor's one list of words: the commonest cue stems of the three labels.
BARE_WORDS = {"هجوم", "هجمات", "غارة", "غارات", "قصف", "انفجار", "تفجير", "اشتباكات", "مقتل", "قتل", "قتلى",
              "جرحى", "مصرع", "إصابة", "انسحاب", "سحب", "القوات", "صاروخ", "مسلحين", "اغتيال"}
_BARE_SPLIT = re.compile(r"[.!?؟\n]+")


def bare_pass(source: str) -> int:
    """Read the JSON lines, split on sentence punctuation, look each sentence's words up in one set."""
    import gzip

    hits = 0
    with (gzip.open if source.endswith(".gz") else open)(source, "rt", encoding="utf-8") as fh:
        for line in fh:
            for sentence in _BARE_SPLIT.split(json.loads(line)["text"]):
                hits += not BARE_WORDS.isdisjoint(sentence.split())
    return hits


def whole_command(source: str, out: Path, workers: int) -> float:
    """Seconds for `build_dataset.py` as a user runs it: a new process, start-up included."""
    command = [sys.executable, str(Path(__file__).with_name("build_dataset.py")), "--input", source,
               "--output", str(out), "--workers", str(workers)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"build_dataset failed: {result.stderr.strip().splitlines()[-1]}")
    return time.perf_counter() - start


def time_to_first_sentence(tmp: Path) -> float:
    """Start-up cost: seconds for a whole build of one short article (imports included)."""
    article = tmp / "one.txt"
    article.write_text("قتل ثلاثة جنود في هجوم على قاعدة عسكرية. وأصيب خمسة آخرون بجروح.", encoding="utf-8")
    return whole_command(str(article), tmp / "one_out", 1)


if __name__ == "__main__":
    run_cli(main)

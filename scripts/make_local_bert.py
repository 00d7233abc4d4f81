#!/usr/bin/env python
"""Build a local BERT folder of AraBERT's shape with random weights (for offline tests and benchmarks).

Example:
  python scripts/make_local_bert.py --output runs/arabert-shape --shape arabert-base --texts seeds/
Then: python scripts/train.py --config configs/arabert.yaml --model.name_or_path=runs/arabert-shape ...
"""

from __future__ import annotations

import argparse

from training.io_utils import run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    from training.model.local_bert import SHAPES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="folder to write")
    parser.add_argument("--shape", default="arabert-base", choices=sorted(SHAPES), help="model size")
    parser.add_argument("--texts", default="seeds/", help="articles whose words make the tokenizer vocabulary")
    args = parser.parse_args(argv)
    setup_logging()
    from training.inputs.corpus import iter_sentences
    from training.model.local_bert import build_local_bert

    texts = [s.text for s in iter_sentences(args.texts)]
    build_local_bert(args.output, texts, args.shape)
    return 0


if __name__ == "__main__":
    run_cli(main)

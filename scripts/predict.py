#!/usr/bin/env python
"""Predict event labels for every sentence of a corpus, in batches, on CPU or GPU.

Examples:
  python scripts/predict.py --model runs/model --input articles/ --output predictions.jsonl
  echo "قتل ثلاثة جنود في هجوم" | python scripts/predict.py --model runs/model --input - --output out.csv --sentences
  accelerate launch --num_processes 2 scripts/predict.py --model M --input big.jsonl --output out.jsonl
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from training.errors import UserError
from training.io_utils import run_cli, setup_logging

logger = logging.getLogger("predict")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder or Hub id (owner/name)")
    parser.add_argument("--input", required=True, help="folder of .txt/.html, .jsonl/.csv with 'text', or - for stdin")
    parser.add_argument("--output", required=True, help="output file: .jsonl, or .csv")
    parser.add_argument("--sentences", action="store_true", help="each row/line is one sentence; do not split")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument("--batch-size", type=int, default=None, help="sentences per batch (default: by device)")
    parser.add_argument("--int8", action="store_true", help="dynamic int8 quantization of linear layers (CPU)")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto",
                        help="torch.compile the model: auto = on the CPU after 10,000 sentences (5-10%% faster, ~30 s once)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run of the same input, model and options")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it is an earlier predictions file (only once the new one is complete)")
    parser.add_argument("--encoding", default="auto", help="text encoding of the articles: auto (UTF-8, UTF-16, or Windows-1256 Arabic; invalid bytes are an error) or a codec such as utf-8 or cp1256, decoded as asked with bad bytes replaced")
    parser.add_argument("--no-disagreements", action="store_true", help="do not write OUTPUT_STEM.disagreements.jsonl (the sentences where the model and the rules disagree, most confident first)")
    parser.add_argument("--chunk-size", type=int, default=4096, help="sentences read, predicted and written per step")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError("--batch-size must be >= 1")
    if args.chunk_size < 1:
        raise UserError("--chunk-size must be >= 1")
    from accelerate import PartialState

    from training.serving.batch_predict import check_output_paths, merge_shards, predict_file, write_disagreements
    from training.model.inference import EventClassifier

    state = PartialState()
    if state.num_processes > 1 and state.is_main_process:
        check_output_paths(Path(args.output), resume=False, overwrite=args.overwrite,
                           inputs=(args.input, args.model), disagreements=not args.no_disagreements)  # fail before any process loads the model
    device = str(state.device) if state.num_processes > 1 else args.device
    classifier = EventClassifier.from_pretrained(args.model, device=device, int8=args.int8,
                                                 compile={"on": True, "off": False}.get(args.compile, "auto"))
    summary = predict_file(classifier, args.input, args.output, args.sentences, args.batch_size, args.resume,
                           chunk_size=args.chunk_size, rank=state.process_index, world_size=state.num_processes,
                           overwrite=args.overwrite, encoding=args.encoding,
                           disagreements=not args.no_disagreements)
    if state.num_processes > 1:
        state.wait_for_everyone()
        if state.is_main_process:
            merge_shards(args.output, state.num_processes)
    if state.is_main_process and not args.no_disagreements:
        write_disagreements(Path(args.output), classifier.thresholds)
    if state.is_main_process:
        rate = (summary.sentences - summary.skipped) / summary.seconds if summary.seconds else 0.0
        logger.info("done: %d sentences (%d of them from the interrupted run), labels %s, %.1f s (%.0f sentences/s)"
                    " -> %s", summary.sentences, summary.skipped, summary.label_counts, summary.seconds, rate,
                    args.output)
    return 0


if __name__ == "__main__":
    run_cli(main)

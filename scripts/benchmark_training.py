#!/usr/bin/env python
"""Benchmark fine-tuning at AraBERT base's shape, or the small encoder's, on this machine.

Random weights, built locally. Prints training samples/s and peak memory (RSS) at max length
128, with and without length grouping, side by side, and the scoring (evaluation) rate on the
same batches; with the CPU's name and its fp32 GEMM peak, since the machines differ. Each
setting runs in a fresh process so peak memory is its own.
Example: python scripts/benchmark_training.py --steps 8 --batch-size 16
         python scripts/benchmark_training.py --shape small --steps 20 --batch-size 32
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import ANT_POLITICS
from benchmark_inference import matmul_peak_gflops
from training.io_utils import cpu_name, run_cli, setup_logging

ROOT = Path(__file__).resolve().parents[1]


def one_run(model_dir: str, sentences: list[str], steps: int, batch: int, group: bool) -> dict:
    """Train `steps` steps in this process; return samples/s and peak RSS."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=3,
                                                               problem_type="multi_label_classification")
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    rng = np.random.default_rng(0)
    pool = [sentences[i] for i in rng.permutation(len(sentences))[: steps * batch * 4]]
    if group:  # what length grouping does: batches of neighbours in length, in random order
        pool.sort(key=lambda s: len(tokenizer(s)["input_ids"]))
    batches = [pool[i:i + batch] for i in range(0, steps * batch * 4, batch)]
    order = rng.permutation(len(batches))[:steps]
    tokens = 0
    start = None
    for k, b in enumerate(order):
        enc = tokenizer(batches[b], truncation=True, max_length=128, padding=True, return_tensors="pt")
        if k == 1:
            start = time.perf_counter()  # the first step warms up allocators and kernels
        if k >= 1:
            tokens += int(enc["input_ids"].numel())
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(**enc).logits, torch.zeros(len(batches[b]), 3))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    seconds = time.perf_counter() - start
    return {"samples_per_s": (steps - 1) * batch / seconds, "padded_tokens_per_step": tokens / (steps - 1),
            "scoring_samples_per_s": scoring_rate(model, tokenizer, [batches[b] for b in order[1:]]),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def scoring_rate(model, tokenizer, batches: list[list[str]]) -> float:
    """Samples/s of a forward pass alone (what each evaluation of the validation split costs)."""
    import torch

    model.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            model(**tokenizer(b, truncation=True, max_length=128, padding=True, return_tensors="pt"))
    return sum(map(len, batches)) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per setting (the first is warm-up)")
    parser.add_argument("--batch-size", type=int, default=16, help="sentences per step")
    parser.add_argument("--corpus", default=str(ANT_POLITICS), help="sentences come from here (else the seeds)")
    parser.add_argument("--shape", default="arabert-base", choices=["arabert-base", "small"],
                        help="model shape: AraBERT base, or configs/pretrain_small.yaml's encoder")
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "SENTENCES", "GROUP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    setup_logging()
    if args.worker:
        sentences = json.loads(Path(args.worker[1]).read_text("utf-8"))
        print(json.dumps(one_run(args.worker[0], sentences, args.steps, args.batch_size, args.worker[2] == "1")))
        return 0
    from itertools import islice

    from training.inputs.corpus import iter_sentences
    from training.model.local_bert import build_local_bert

    source = args.corpus if Path(args.corpus).is_file() else str(ROOT / "seeds")
    sentences = [s.text for s in islice(iter_sentences(source), 20000)]
    with tempfile.TemporaryDirectory() as tmp:
        model = build_local_bert(Path(tmp) / "model", sentences[:5000], args.shape)
        sent_file = Path(tmp) / "sentences.json"
        sent_file.write_text(json.dumps(sentences, ensure_ascii=False), "utf-8")
        results = {}
        for group in (False, True):
            out = subprocess.run([sys.executable, __file__, "--worker", str(model), str(sent_file), str(int(group)),
                                  "--steps", str(args.steps), "--batch-size", str(args.batch_size)],
                                 capture_output=True, text=True, check=True)
            results[group] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"CPU: {cpu_name()}; fp32 GEMM peak {matmul_peak_gflops():.1f} GFLOP/s (best 2048x2048 matmul)")
    print(f"{args.shape} shape, random weights, max length 128, batch {args.batch_size}, {args.steps - 1} timed steps")
    print(f"{'':<28}{'no grouping':>14}{'length grouping':>18}")
    for key, label, fmt in [("samples_per_s", "samples/s", "{:.2f}"), ("padded_tokens_per_step", "padded tokens/step", "{:.0f}"),
                            ("scoring_samples_per_s", "scoring samples/s", "{:.1f}"),
                            ("peak_rss_gb", "peak memory (GB, RSS)", "{:.2f}")]:
        print(f"{label:<28}{fmt.format(results[False][key]):>14}{fmt.format(results[True][key]):>18}")
    print(f"speed-up from length grouping: {results[True]['samples_per_s'] / results[False]['samples_per_s']:.2f}x")
    return 0


if __name__ == "__main__":
    run_cli(main)

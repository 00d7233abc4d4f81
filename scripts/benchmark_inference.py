#!/usr/bin/env python
"""Benchmark batch inference at AraBERT base's shape (random weights, built locally) on real news.

In one run, on the same sentences: transformers pipeline(batch_size=1), pipeline(batch_size=32),
EventClassifier fp32 (eager, and torch.compile'd as predict.py does on long CPU jobs) and int8.
Each is timed --repeats times and the best run is kept, as the peak is the best of 10 GEMMs.
Prints sentences/s and achieved GFLOP/s (useful FLOPs of the unpadded tokens) against this
machine's measured fp32 matrix-multiply peak, and the one-off compile time, then the share of
sentences whose labels agree between fp32 and int8 on a trained model (the tiny model trained on
the seeds, or --agreement-model).
Example: python scripts/benchmark_inference.py --sentences 512
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import ANT_POLITICS
from training.io_utils import run_cli, setup_logging

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Best observed fp32 GEMM throughput of this machine (torch, all threads)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * size ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def bert_flops(lengths: list[int], hidden: int, layers: int, intermediate: int) -> float:
    """Forward FLOPs of the encoder for sentences of these token lengths (no padding)."""
    per_token = 2 * layers * (4 * hidden * hidden + 2 * hidden * intermediate)
    attention = sum(2 * layers * 2 * n * n * hidden for n in lengths)
    return per_token * sum(lengths) + attention


def classification_folder(tmp: Path, sentences: list[str]) -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.model.local_bert import build_local_bert
    from training.model.modeling import ID2LABEL, LABEL2ID

    base = build_local_bert(tmp / "base", sentences, "arabert-base")
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID,
                                                               problem_type="multi_label_classification")
    out = tmp / "classifier"
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def timed(fn, repeats: int = 1) -> float:
    """Best wall time of `repeats` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def trained_tiny_model(tmp: Path) -> Path:
    """Build the dataset from the seeds and train the tiny model, as the demo does."""
    data, model = tmp / "data", tmp / "tiny"
    for args in (["build_dataset.py", "--input", str(ROOT / "seeds"), "--output", str(data)],
                 ["train.py", "--config", str(ROOT / "configs" / "tiny.yaml"), "--data", str(data), "--output", str(model)]):
        subprocess.run([sys.executable, str(ROOT / "scripts" / args[0]), *args[1:]], check=True, capture_output=True)
    return model


def time_systems(folder: Path, sentences: list[str], batch1_sentences: int, repeats: int):
    """Encoder FLOPs of `sentences`, the best seconds per system to classify them all, and compile time."""
    from transformers import pipeline

    from training.model.inference import EventClassifier

    ours = EventClassifier.from_pretrained(str(folder), device="cpu", compile=False)
    compiled = EventClassifier.from_pretrained(str(folder), device="cpu", compile=True)
    ours8 = EventClassifier.from_pretrained(str(folder), device="cpu", int8=True)
    lengths = [len(ids) for ids in ours.tokenizer(sentences, truncation=True, max_length=128)["input_ids"]]
    clf = pipeline("text-classification", model=str(folder), top_k=None, device="cpu")
    tok = {"truncation": True, "max_length": 128}
    few = sentences[:batch1_sentences]
    ours.predict_scores(sentences[:32])  # warm-up
    compile_seconds = timed(lambda: compiled.predict_scores(sentences[:32]))
    results = {
        "pipeline(batch_size=1)": timed(lambda: clf(few, batch_size=1, **tok)) * len(sentences) / len(few),
        "pipeline(batch_size=32)": timed(lambda: clf(sentences, batch_size=32, **tok), repeats),
        "ours fp32": timed(lambda: ours.predict_scores(sentences), repeats),
        "ours fp32 compiled": timed(lambda: compiled.predict_scores(sentences), repeats),
        "ours int8": timed(lambda: ours8.predict_scores(sentences), repeats),
    }
    return bert_flops(lengths, 768, 12, 3072), results, compile_seconds


def int8_agreement(model: Path, sentences: list[str]) -> float:
    """Share of sentences given the same labels by the fp32 and the int8 model."""
    import numpy as np

    from training.model.inference import EventClassifier

    fp32 = EventClassifier.from_pretrained(str(model), device="cpu")
    int8 = EventClassifier.from_pretrained(str(model), device="cpu", int8=True)
    return float(np.mean([a.labels == b.labels for a, b in zip(fp32.predict(sentences), int8.predict(sentences))]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=512, help="news sentences to classify")
    parser.add_argument("--batch1-sentences", type=int, default=64, help="sentences for the slow batch_size=1 run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per system (the best is kept)")
    parser.add_argument("--corpus", default=str(ANT_POLITICS), help="sentences come from here (else the seeds)")
    parser.add_argument("--agreement-model", default=None, help="trained model folder for the int8 agreement check")
    args = parser.parse_args(argv)
    setup_logging()
    from itertools import islice

    import numpy as np
    import torch

    from training.inputs.corpus import iter_sentences

    source = args.corpus if Path(args.corpus).is_file() else str(ROOT / "seeds")
    pool = [s.text for s in islice(iter_sentences(source), 50000)]
    rng = np.random.default_rng(0)
    sentences = [pool[i] for i in rng.permutation(len(pool))[: args.sentences]]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(sentences)} sentences from {source}")
    peak = matmul_peak_gflops()
    with tempfile.TemporaryDirectory() as tmp:
        folder = classification_folder(Path(tmp), pool[:5000])
        flops, results, compile_seconds = time_systems(folder, sentences, args.batch1_sentences, args.repeats)
        peak = max(peak, matmul_peak_gflops())  # measured before and after the runs; the higher counts
        agreement_model = Path(args.agreement_model) if args.agreement_model else trained_tiny_model(Path(tmp))
        agreement_sentences = pool[:2000]
        same = int8_agreement(agreement_model, agreement_sentences)
    base = results["pipeline(batch_size=32)"]
    print(f"fp32 matmul peak (best 2048x2048 GEMM, before and after the runs): {peak:.1f} GFLOP/s")
    print(f"{'system':<26}{'sentences/s':>12}{'GFLOP/s':>10}{'% of peak':>11}{'vs pipeline(32)':>17}")
    for name, seconds in results.items():
        gflops = flops / seconds / 1e9
        print(f"{name:<26}{len(sentences) / seconds:>12.1f}{gflops:>10.1f}{100 * gflops / peak:>10.0f}%{base / seconds:>16.2f}x")
    print(f"compiling (once per process, with the first batches): {compile_seconds:.0f} s")
    fastest_fp32 = min(results["ours fp32"], results["ours fp32 compiled"])
    print(f"int8 vs fastest fp32: {fastest_fp32 / results['ours int8']:.2f}x faster; "
          f"same labels on {100 * same:.1f}% of {len(agreement_sentences)} sentences ({agreement_model.name} model)")
    return 0


if __name__ == "__main__":
    run_cli(main)

#!/usr/bin/env python
"""Benchmark masked-language-model pretraining: this project's path against the plain one.

On the same sentences, the same vocabulary and the same BERT shape (configs/pretrain_small.yaml),
one run on this machine prints real (non-padding) tokens per second of training for:
- baseline: BertForMaskedLM + DataCollatorForLanguageModeling + Trainer, one sentence per
  example, batches of 64 padded to their longest sentence, at most 64 tokens;
- packed: sentences packed into full 64-token blocks, whole-word masking, the vocabulary head
  at every position (plain BertForMaskedLM);
- ours: packed, with the head only at masked positions (what scripts/pretrain.py runs), at 64
  tokens and at the config's block length.
The first steps of each run warm up and are not timed. Example:
  python scripts/benchmark_pretraining.py --articles 2000 --steps 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from training.config import load_config
from _corpus import ANT_POLITICS
from training.io_utils import cpu_name, run_cli, setup_logging
from training.pretrain_config import PretrainConfig

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 3


def sentences_of(path: str, articles: int, min_words: int) -> list[str]:
    from itertools import islice

    from training.inputs.corpus import iter_articles
    from training.inputs.text import CleaningStats
    from training.inputs.corpus import article_sentences

    stats = CleaningStats()
    out = []
    for article in islice(iter_articles(path), articles):
        out.extend(article_sentences(article, False, min_words, stats, path))
    return out


def timed_run(model, tokenizer, dataset, collate, steps: int, batch: int, seed: int) -> float:
    """Train `steps` steps with transformers' Trainer; real tokens/s over the steps after warm-up."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    tokens, times = [], []

    def counting(examples):
        out = collate(examples)
        tokens.append(int(out["attention_mask"].sum()))
        return out

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter())

    args = TrainingArguments(output_dir=str(ROOT / ".bench_pretraining"), max_steps=steps, seed=seed,
                             per_device_train_batch_size=batch, learning_rate=5e-4, report_to="none",
                             save_strategy="no", logging_strategy="no", disable_tqdm=True,
                             remove_unused_columns=False, dataloader_pin_memory=False)
    torch.manual_seed(seed)
    Trainer(model=model, args=args, train_dataset=dataset, data_collator=counting, callbacks=[Clock()]).train()
    return sum(tokens[WARMUP_STEPS:steps]) / (times[-1] - times[WARMUP_STEPS - 1])


def baseline_dataset(sentences, tokenizer, max_length: int) -> list[dict]:
    encoded = tokenizer(sentences, truncation=True, max_length=max_length, return_special_tokens_mask=True)
    return [{"input_ids": ids, "special_tokens_mask": mask}
            for ids, mask in zip(encoded["input_ids"], encoded["special_tokens_mask"])]


def run(config: PretrainConfig, sentences: list[str], steps: int, batch: int) -> list[tuple[str, float]]:
    from transformers import BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling

    from training.fit.pretraining import masked_positions_class, pack_blocks, packed_collator
    from training.model.vocabulary import bert_tokenizer, train_wordpiece

    m, t = config.model, config.training
    tokenizer = bert_tokenizer(train_wordpiece(sentences, m.vocab_size, m.min_frequency), 512)
    shape = BertConfig(vocab_size=len(tokenizer), hidden_size=m.hidden_size, num_hidden_layers=m.layers,
                       num_attention_heads=m.heads, intermediate_size=m.intermediate_size, max_position_embeddings=512)
    plain = DataCollatorForLanguageModeling(tokenizer, mlm_probability=t.mlm_probability)
    ours = packed_collator(tokenizer, t.mlm_probability, t.whole_word_mask)
    results = [("baseline: BertForMaskedLM + DataCollatorForLanguageModeling, 64 x <=64 tokens",
                timed_run(BertForMaskedLM(shape), tokenizer, baseline_dataset(sentences, tokenizer, 64), plain,
                          steps, batch, t.seed))]
    blocks64 = pack_blocks(sentences, tokenizer, 64)
    results.append(("packed 64-token blocks, whole-word masking, head at every position",
                    timed_run(BertForMaskedLM(shape), tokenizer, blocks64, ours, steps, batch, t.seed)))
    results.append(("ours: packed 64-token blocks, head at masked positions only",
                    timed_run(masked_positions_class()(shape), tokenizer, blocks64, ours, steps, batch, t.seed)))
    if m.max_length != 64:
        blocks = pack_blocks(sentences, tokenizer, m.max_length)
        results.append((f"ours at the config's {m.max_length}-token blocks",
                        timed_run(masked_positions_class()(shape), tokenizer, blocks, ours, steps, batch, t.seed)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs/pretrain_small.yaml"), help="pretraining config (shape, vocabulary, masking)")
    parser.add_argument("--corpus", default=str(ANT_POLITICS), help="articles to read (default: the ANT politics file; the seeds when it is absent)")
    parser.add_argument("--articles", type=int, default=2000, help="articles read from the corpus")
    parser.add_argument("--steps", type=int, default=20, help="training steps per run (the first 3 are not timed)")
    parser.add_argument("--batch-size", type=int, default=64, help="examples (sentences or blocks) per step")
    args, overrides = parser.parse_known_args(argv)
    setup_logging(False)
    if args.steps <= WARMUP_STEPS:
        parser.error(f"--steps must be > {WARMUP_STEPS}")
    config = load_config(args.config, overrides, schema=PretrainConfig)
    corpus = args.corpus if Path(args.corpus).exists() else str(ROOT / "seeds")
    sentences = sentences_of(corpus, args.articles, config.data.min_words)
    results = run(config, sentences, args.steps, args.batch_size)
    print(f"\n{len(sentences)} sentences from {corpus}; {args.steps} steps of {args.batch_size}; CPU: {cpu_name()}")
    print("| setting | tokens/s | vs baseline |\n|---|---:|---:|")
    for name, speed in results:
        print(f"| {name} | {speed:,.0f} | {speed / results[0][1]:.2f}x |")
    return 0


if __name__ == "__main__":
    run_cli(main)

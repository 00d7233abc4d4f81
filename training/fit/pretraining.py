"""Masked-language-model pretraining on unlabelled articles: from scratch, or continued (DAPT).

`pretrain(config, inputs, output_dir)` reads every input build_dataset reads, cleans and splits
it the same way, holds out a share of documents, and packs consecutive sentences into blocks of
`model.max_length` tokens (`[CLS] s1 [SEP] s2 [SEP] ...`), so a batch holds almost no padding.
It trains with transformers' Trainer: whole-word masking (transformers' own masking code), the
vocabulary head computed only at masked positions (the loss needs nothing else, and the head
is most of a small model's cost), held-out loss and perplexity every `eval_steps` on masks
drawn once, checkpoints in `<output>.run/` (Ctrl-C saves one; `resume=True` continues).

The output is a standard `BertForMaskedLM` folder: `train.py --model.name_or_path=DIR`
fine-tunes it, and `pipeline("fill-mask", model=DIR)` loads it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from training.fit.callbacks import (check_finite, finite_loss_callback, interrupt_callback, last_checkpoint,
                                training_arguments)
from training.config import save_config
from training.inputs.corpus import iter_sentences
from training.errors import UserError
from training.io_utils import atomic_write_json
from training.model.modeling import Preprocessor
from training.outputs import check_not_an_input, check_output, output_folder
from training.pretrain_config import SCRATCH, PretrainConfig

logger = logging.getLogger(__name__)
TOKENIZE_BATCH = 2000  # sentences per tokenizer call


def read_documents(inputs: list[str], config: PretrainConfig) -> dict[str, list[str]]:
    """{document key: its sentences}, in input order, cleaned and split as build_dataset does."""
    documents: dict[str, list[str]] = {}
    for k, path in enumerate(inputs):
        sentences = iter_sentences(path, min_words=config.data.min_words, encoding=config.data.encoding)
        for sentence in tqdm(sentences, desc=f"reading {Path(path).name}", unit=" sentences", mininterval=2):
            documents.setdefault(f"{k}:{sentence.doc_id}", []).append(sentence.text)
    return documents


def heldout_keys(keys: list[str], fraction: float, seed: int) -> set[str]:
    """A seeded, order-independent share of the documents (at least one, never all)."""
    if len(keys) < 2:
        raise UserError(f"pretraining needs at least 2 documents (one is held out); the input has {len(keys)}")
    ranked = sorted(keys, key=lambda key: hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest())
    return set(ranked[:min(len(keys) - 1, max(1, round(fraction * len(keys))))])


def pack_blocks(sentences: list[str], tokenizer, max_length: int) -> list[dict]:
    """Greedy packing of consecutive sentences into `[CLS] s1 [SEP] s2 [SEP] ...` blocks of at most
    `max_length` tokens. Each block carries `word_start` (1 where a token begins a word), which
    whole-word masking needs; a sentence longer than a block is truncated."""
    blocks, ids, starts = [], [tokenizer.cls_token_id], [0]

    def flush():
        if len(ids) > 1:
            blocks.append({"input_ids": np.array(ids, dtype=np.int32), "word_start": np.array(starts, dtype=np.int8)})
        ids[1:], starts[1:] = [], []

    for first in range(0, len(sentences), TOKENIZE_BATCH):
        encoded = tokenizer(sentences[first:first + TOKENIZE_BATCH], add_special_tokens=False, truncation=True,
                            max_length=max_length - 2)
        for k, pieces in enumerate(encoded["input_ids"]):
            if not pieces:
                continue
            if len(ids) + len(pieces) + 1 > max_length:
                flush()
            words = encoded.word_ids(k)
            ids.extend(pieces + [tokenizer.sep_token_id])
            starts.extend([int(j == 0 or words[j] != words[j - 1]) for j in range(len(words))] + [0])
    flush()
    return blocks


@lru_cache(maxsize=1)
def masked_positions_class():
    """BertForMaskedLM whose training forward runs the vocabulary head only at masked positions."""
    import torch
    from transformers import BertForMaskedLM
    from transformers.modeling_outputs import MaskedLMOutput

    class BertForMaskedPositionsLM(BertForMaskedLM):
        accepts_loss_kwargs = False  # returns a mean loss; the Trainer scales it for accumulation

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None):
            if labels is None:
                return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                       token_type_ids=token_type_ids)
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            where = labels != -100
            logits = self.cls(hidden[where])
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[where])
            return MaskedLMOutput(loss=loss, logits=logits)

    return BertForMaskedPositionsLM


def packed_collator(tokenizer, mlm_probability: float, whole_word_mask: bool):
    """Pads blocks and masks them with transformers' DataCollatorForLanguageModeling. Blocks that
    already carry `labels` (the held-out set, masked once) are only padded."""
    import torch
    from transformers import DataCollatorForLanguageModeling

    # transformers' whole-word masking replaces every chosen word by [MASK] (it has no 10% random /
    # 10% kept); single-piece masking keeps BERT's 80/10/10.
    masker = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, whole_word_mask=whole_word_mask,
                                             mask_replace_prob=1.0 if whole_word_mask else 0.8,
                                             random_replace_prob=0.0 if whole_word_mask else 0.1)
    pad = tokenizer.pad_token_id

    def padded(examples, key, value):
        width = max(len(e["input_ids"]) for e in examples)
        out = torch.full((len(examples), width), value, dtype=torch.long)
        for row, e in enumerate(examples):
            out[row, :len(e[key])] = torch.as_tensor(e[key], dtype=torch.long)
        return out

    def collate(examples):
        input_ids = padded(examples, "input_ids", pad)
        attention_mask = (padded(examples, "input_ids", -1) != -1).long()
        if "labels" in examples[0]:
            return {"input_ids": input_ids, "attention_mask": attention_mask,
                    "labels": padded(examples, "labels", -100)}
        special = (attention_mask == 0) | (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
        masked, labels = masker.torch_mask_tokens(input_ids, special_tokens_mask=special.long(),
                                                  offset_mapping=_word_offsets(padded(examples, "word_start", 1)))
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}

    return collate


def _word_offsets(word_start):
    """Character offsets that tell transformers' whole-word masking where words begin: a piece
    that continues a word starts where the previous one ended, a new word one character later."""
    import torch

    start = torch.arange(word_start.shape[1]) + torch.cumsum(word_start, dim=1)
    return torch.stack([start, start + 1], dim=-1).numpy()


def mask_once(blocks: list[dict], collate, seed: int) -> list[dict]:
    """The held-out blocks with masks drawn once from `seed`: every evaluation scores the same
    masked tokens, so the held-out loss of two checkpoints (or two runs) compares."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    out = []
    for block in blocks:
        batch = collate([block])
        out.append({"input_ids": batch["input_ids"][0].numpy(), "labels": batch["labels"][0].numpy()})
    torch.random.set_rng_state(state)
    return out


def start_model(config: PretrainConfig, train_sentences: list[str], resume_from: str | None):
    """(model, tokenizer): a new BERT with a corpus vocabulary, a checkpoint to continue, or, when
    resuming, the run's own tokenizer (the model's weights come from the checkpoint)."""
    from transformers import AutoConfig, AutoTokenizer, BertConfig

    from training.model.vocabulary import bert_tokenizer, train_wordpiece

    from transformers import BertForMaskedLM

    m = config.model
    cls = masked_positions_class() if config.training.masked_positions_only else BertForMaskedLM
    if m.name_or_path != SCRATCH:
        from training.model.modeling import load_pretrained_parts

        return load_pretrained_parts(m.name_or_path, cls, resume_from)
    if resume_from:
        tokenizer = AutoTokenizer.from_pretrained(resume_from)
        return cls(AutoConfig.from_pretrained(resume_from)), tokenizer
    tokenizer = bert_tokenizer(train_wordpiece(train_sentences, m.vocab_size, m.min_frequency), 512)
    bert_config = BertConfig(vocab_size=len(tokenizer), hidden_size=m.hidden_size, num_hidden_layers=m.layers,
                             num_attention_heads=m.heads, intermediate_size=m.intermediate_size,
                             max_position_embeddings=512, hidden_dropout_prob=m.dropout,
                             attention_probs_dropout_prob=m.dropout)
    return cls(bert_config), tokenizer


def _training_arguments(config: PretrainConfig, run_dir: Path):
    t = config.training
    return training_arguments(
        t, run_dir, lr_scheduler_type="linear", eval_strategy="steps", eval_steps=t.eval_steps,
        save_strategy="steps", save_steps=t.save_steps, prediction_loss_only=True,
        remove_unused_columns=False)  # the collator needs `word_start`, which the model does not take


def _perplexity_callback():
    """Adds perplexity (exp of the held-out loss) to every evaluation's log line."""
    from transformers import TrainerCallback

    class Perplexity(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics and "eval_loss" in metrics:
                metrics["eval_perplexity"] = math.exp(min(metrics["eval_loss"], 50))
                logger.info("step %d: held-out MLM loss %.4f, perplexity %.1f", state.global_step,
                            metrics["eval_loss"], metrics["eval_perplexity"])

    return Perplexity()


def _prepare(config: PretrainConfig, inputs: list[str], resume_from: str | None):
    """Model, tokenizer, training blocks and held-out (masked) blocks."""
    documents = read_documents(inputs, config)
    held = heldout_keys(list(documents), config.data.heldout_fraction, config.training.seed)
    preprocess = Preprocessor.from_config(config.model)
    train_sentences = preprocess([s for key, doc in documents.items() if key not in held for s in doc])
    heldout_sentences = preprocess([s for key in documents if key in held for s in documents[key]])
    model, tokenizer = start_model(config, train_sentences, resume_from)
    train_blocks = pack_blocks(train_sentences, tokenizer, config.model.max_length)
    collate = packed_collator(tokenizer, config.training.mlm_probability, config.training.whole_word_mask)
    heldout = mask_once(pack_blocks(heldout_sentences, tokenizer, config.model.max_length), collate,
                        config.training.seed)
    logger.info("%d documents (%d held out): %d training blocks of up to %d tokens (%.0f tokens on average), "
                "%d held-out blocks", len(documents), len(held), len(train_blocks), config.model.max_length,
                _mean_tokens(train_blocks), len(heldout))
    model.config.preprocessing = preprocess.to_dict()
    return model, tokenizer, train_blocks, heldout, collate


def _mean_tokens(blocks: list[dict]) -> float:
    return float(np.mean([len(b["input_ids"]) for b in blocks])) if blocks else 0.0


def pretrain(config: PretrainConfig, inputs: list[str], output_dir: str | Path, resume: bool = False,
             overwrite: bool = False) -> dict:
    """Pretrain (see module docstring) and write the model folder; returns the metrics, or {}
    when interrupted (a checkpoint is left for `resume=True`)."""
    from transformers import Trainer, set_seed

    output_dir = Path(output_dir)
    sources = list(inputs) + [config.model.name_or_path]
    check_output(output_dir, "pretrain", sources, overwrite)
    run_dir = output_dir.with_name(output_dir.name + ".run")
    check_not_an_input(run_dir, sources)
    resume_from = last_checkpoint(run_dir) if resume else None
    if resume and not resume_from:
        raise UserError(f"{run_dir}: no checkpoint to resume from; start without --resume")
    set_seed(config.training.seed)
    model, tokenizer, train_blocks, heldout, collate = _prepare(config, inputs, resume_from)
    interrupt = interrupt_callback()
    trainer = Trainer(model=model, args=_training_arguments(config, run_dir), train_dataset=train_blocks,
                      eval_dataset=heldout, data_collator=collate, processing_class=tokenizer,
                      callbacks=[interrupt, finite_loss_callback(), _perplexity_callback()])
    try:
        output = trainer.train(resume_from_checkpoint=resume_from)
    finally:
        interrupt.restore()
    if interrupt.interrupted:
        logger.warning("pretraining interrupted at step %d; checkpoint in %s; continue with --resume",
                       trainer.state.global_step, run_dir)
        return {}
    check_finite(output.training_loss, trainer.state.global_step)
    metrics = _metrics(trainer, output, train_blocks, config)
    if trainer.is_world_process_zero():
        _write_folder(trainer, config, metrics, output_dir, sources, overwrite)
        shutil.rmtree(run_dir, ignore_errors=True)
    return metrics


def _metrics(trainer, output, train_blocks: list[dict], config: PretrainConfig) -> dict:
    heldout = trainer.evaluate()
    t = config.training
    tokens = trainer.state.global_step * t.per_device_train_batch_size * t.gradient_accumulation_steps \
        * trainer.args.world_size * _mean_tokens(train_blocks)
    return {"heldout_loss": heldout["eval_loss"], "heldout_perplexity": math.exp(min(heldout["eval_loss"], 50)),
            "train_loss": output.training_loss, "global_step": trainer.state.global_step,
            "train_blocks": len(train_blocks), "train_seconds": output.metrics.get("train_runtime"),
            "train_tokens_per_second": tokens / max(output.metrics.get("train_runtime", 0.0), 1e-9),
            "parameters": sum(p.numel() for p in trainer.model.parameters())}


def _write_folder(trainer, config: PretrainConfig, metrics: dict, output_dir: Path, sources, overwrite: bool):
    """A plain BertForMaskedLM folder (same weights), the tokenizer, the config and the metrics."""
    from transformers import BertForMaskedLM

    model = trainer.accelerator.unwrap_model(trainer.model)
    plain = BertForMaskedLM(model.config)
    plain.load_state_dict(model.state_dict())
    with output_folder(output_dir, "pretrain", sources, overwrite) as tmp:
        plain.save_pretrained(tmp, safe_serialization=True)
        trainer.processing_class.save_pretrained(tmp)
        save_config(config, tmp / "pretrain_config.yaml")
        atomic_write_json(tmp / "pretrain_metrics.json", metrics)
    logger.info("held-out MLM loss %.4f (perplexity %.1f); encoder in %s", metrics["heldout_loss"],
                metrics["heldout_perplexity"], output_dir)

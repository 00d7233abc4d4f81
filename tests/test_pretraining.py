"""Pretraining: the corpus vocabulary, packing, masking, the masked-positions head, and the command."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, SEEDS, assert_one_line_error, interrupt_at_first_checkpoint, run_script, script_env
from training.inputs.corpus import iter_sentences
from training.fit.pretraining import heldout_keys, mask_once, masked_positions_class, pack_blocks, packed_collator
from training.model.vocabulary import bert_tokenizer, train_wordpiece

PRETRAIN = ROOT / "configs" / "pretrain_small.yaml"
SMALL_RUN = ["--model.vocab_size=600", "--model.hidden_size=32", "--model.heads=2", "--model.layers=1",
             "--model.intermediate_size=64", "--training.per_device_train_batch_size=4", "--training.logging_steps=1"]


@pytest.fixture(scope="module")
def seed_sentences() -> list[str]:
    return [s.text for s in iter_sentences(SEEDS)]


@pytest.fixture(scope="module")
def tokenizer(seed_sentences):
    return bert_tokenizer(train_wordpiece(seed_sentences, 800), 512)


def test_wordpiece_vocabulary_is_the_same_for_any_run_and_input_order(seed_sentences):
    shuffled = list(seed_sentences)
    random.Random(1).shuffle(shuffled)
    vocab = train_wordpiece(seed_sentences, 800)
    assert vocab == train_wordpiece(shuffled, 800)
    assert len(vocab) == 800
    merged = [t for t in vocab if len(t.removeprefix("##")) > 1]
    assert merged, "the merges must add pieces longer than one character"
    # the corpus's most frequent words become single tokens, and pieces re-join to the word
    tok = bert_tokenizer(vocab, 128)
    assert tok.tokenize("القوات") == ["القوات"]
    assert tok.decode(tok("انسحاب القوات الأمريكية", add_special_tokens=False)["input_ids"]) == "انسحاب القوات الأمريكية"


def test_packing_keeps_every_token_in_order_within_the_block_length(seed_sentences, tokenizer):
    blocks = pack_blocks(seed_sentences, tokenizer, 64)
    assert all(len(b["input_ids"]) <= 64 and b["input_ids"][0] == tokenizer.cls_token_id for b in blocks)
    expected = [t for s in seed_sentences for t in tokenizer(s, add_special_tokens=False, truncation=True,
                                                              max_length=62)["input_ids"]]
    specials = {tokenizer.cls_token_id, tokenizer.sep_token_id}
    assert [int(t) for b in blocks for t in b["input_ids"] if t not in specials] == expected
    assert np.mean([len(b["input_ids"]) for b in blocks]) > 50, "blocks must be nearly full"
    first = tokenizer(seed_sentences[0], add_special_tokens=False, truncation=True, max_length=62)
    words = first.word_ids()
    assert blocks[0]["word_start"][1:1 + len(words)].tolist() == [int(j == 0 or words[j] != words[j - 1])
                                                                   for j in range(len(words))]


def test_whole_word_masking_masks_every_piece_of_a_chosen_word(seed_sentences, tokenizer):
    blocks = pack_blocks(seed_sentences, tokenizer, 128)
    collate = packed_collator(tokenizer, 0.3, whole_word_mask=True)
    torch.manual_seed(0)
    batch = collate(blocks[:8])
    labelled = (batch["labels"] != -100).numpy()
    assert 0.15 < labelled[batch["attention_mask"].numpy() == 1].mean() < 0.5
    for row, block in enumerate(blocks[:8]):
        special = np.isin(block["input_ids"], [tokenizer.cls_token_id, tokenizer.sep_token_id])
        word = np.where(special, -1, np.cumsum(block["word_start"]))
        mine = labelled[row, :len(word)]
        assert not mine[special].any()
        for w in set(word[mine]):
            assert mine[word == w].all(), "a word is masked whole or not at all"


def test_heldout_masks_are_drawn_once_and_do_not_touch_the_training_randomness(seed_sentences, tokenizer):
    blocks = pack_blocks(seed_sentences, tokenizer, 64)[:5]
    collate = packed_collator(tokenizer, 0.15, True)
    torch.manual_seed(3)
    expected_next = torch.rand(1)
    torch.manual_seed(3)
    first, second = mask_once(blocks, collate, 7), mask_once(blocks, collate, 7)
    assert torch.rand(1) == expected_next
    assert all((a["labels"] == b["labels"]).all() for a, b in zip(first, second))
    assert any((a["labels"] != -100).any() for a in first)


def test_the_masked_positions_head_gives_the_loss_and_gradients_of_the_full_head(seed_sentences, tokenizer):
    from transformers import BertConfig, BertForMaskedLM

    shape = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    full = BertForMaskedLM(shape)
    ours = masked_positions_class()(shape)
    ours.load_state_dict(full.state_dict())
    torch.manual_seed(1)
    batch = packed_collator(tokenizer, 0.15, True)(pack_blocks(seed_sentences, tokenizer, 64)[:4])
    loss_full, loss_ours = full(**batch).loss, ours(**batch).loss
    assert torch.allclose(loss_full, loss_ours, atol=1e-5)
    loss_full.backward()
    loss_ours.backward()
    for (name, a), (_, b) in zip(full.named_parameters(), ours.named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name


def test_heldout_documents_are_seeded_order_independent_and_never_all():
    keys = [f"0:doc{i}" for i in range(200)]
    held = heldout_keys(keys, 0.1, seed=42)
    assert len(held) == 20 and held == heldout_keys(list(reversed(keys)), 0.1, seed=42)
    assert held != heldout_keys(keys, 0.1, seed=43)
    assert len(heldout_keys(keys[:2], 0.02, seed=1)) == 1


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain") / "encoder"
    result = run_script("pretrain.py", "--config", PRETRAIN, "--input", SEEDS, "--output", out,
                        "--training.max_steps=6", "--training.eval_steps=3", *SMALL_RUN)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_pretrain_writes_a_standard_masked_lm_folder_with_heldout_perplexity(encoder):
    from transformers import pipeline

    metrics = json.loads((encoder / "pretrain_metrics.json").read_text())
    assert metrics["global_step"] == 6 and metrics["heldout_perplexity"] == pytest.approx(
        np.exp(metrics["heldout_loss"]), rel=1e-6)
    config = json.loads((encoder / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"] and config["preprocessing"] == {"type": "none"}
    fill = pipeline("fill-mask", model=str(encoder))
    assert len(fill("انسحاب [MASK] الأمريكية")) == 5


@pytest.mark.slow
def test_train_fine_tunes_the_pretrained_encoder(encoder, chain, tmp_path):
    model = tmp_path / "model"
    result = run_script("train.py", "--config", ROOT / "configs" / "tiny.yaml", "--data", chain["data"],
                        "--output", model, f"--model.name_or_path={encoder}", "--model.preprocessing=none",
                        "--training.num_train_epochs=1", "--card.gold_file=")
    assert result.returncode == 0, result.stderr[-3000:]
    from transformers import pipeline

    assert pipeline("text-classification", model=str(model))("قصف صاروخي على قاعدة عين الأسد")
    assert json.loads((model / "pretraining.json").read_text())["metrics"]["global_step"] == 6
    card = (model / "README.md").read_text("utf-8")
    metadata = card.split("---")[1]
    assert "base_model" not in metadata, "a local encoder folder is not a Hub id"
    assert "pretrained by masked language modelling" in card and "AraBERT, the base model" not in card


@pytest.mark.slow
def test_fine_tuning_with_other_preprocessing_is_refused(encoder, chain, tmp_path):
    result = run_script("train.py", "--config", ROOT / "configs" / "tiny.yaml", "--data", chain["data"],
                        "--output", tmp_path / "m", f"--model.name_or_path={encoder}", "--model.preprocessing=arabert")
    assert_one_line_error(result, "pretrained with preprocessing 'none'", "--model.preprocessing=none")


def test_pretrain_rejects_a_one_document_input_and_unknown_keys(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("قصفت القوات مواقع المسلحين في شمال البلاد. " * 5, "utf-8")
    assert_one_line_error(run_script("pretrain.py", "--config", PRETRAIN, "--input", one, "--output", tmp_path / "o"),
                          "at least 2 documents")
    assert_one_line_error(run_script("pretrain.py", "--config", PRETRAIN, "--input", SEEDS, "--output",
                                     tmp_path / "o", "--model.hiden_size=3"), "model.hiden_size")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ctrl_c_leaves_a_checkpoint_and_resume_finishes_the_run(tmp_path):
    out, run_dir = tmp_path / "encoder", tmp_path / "encoder.run"
    args = [sys.executable, str(ROOT / "scripts" / "pretrain.py"), "--config", str(PRETRAIN), "--input", str(SEEDS),
            "--output", str(out), "--training.max_steps=400", "--training.save_steps=5", "--training.eval_steps=200",
            *SMALL_RUN]
    returncode, output = interrupt_at_first_checkpoint(args, run_dir)
    assert returncode == 130, output[-2000:]
    assert not out.exists()
    assert max(int(p.name.split("-")[1]) for p in run_dir.glob("checkpoint-*")) < 400
    resumed = subprocess.run(args + ["--resume"], cwd=ROOT, env=script_env(), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "pretrain_metrics.json").read_text())["global_step"] == 400
    assert not run_dir.exists()

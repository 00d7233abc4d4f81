"""Masked-cue copies (training.masked_cue_copies): which sentences are copied, what a copy loses,
and what it keeps."""

from __future__ import annotations

import re

import numpy as np
from datasets import Dataset

from conftest import ROOT
from training.config import load_config
from training.fit.cue_masking import add_masked_cue_copies, delete_tokens, masked_copies, rule_labels
from training.fit.trainer import train
from training.labels import LABELS
from training.weak.labeling import LFApplier

CLAIM = "أعلن تنظيم داعش مسؤوليته عن الهجوم الذي استهدف قاعدة عسكرية أمريكية"  # noun, target, claim
LAUNCH = "أطلقت طائرات مسيرة صواريخ على قاعدة عين الأسد في غارة ليلية"          # noun, launch
NOUN_ONLY = "وقع هجوم على قاعدة عسكرية"                                         # one attack rule
FOOTBALL = "شن الفريق هجوما كاسحا على مرمى المنافس في المباراة"                 # vetoed: no label
GOLD_PRICE = "ارتفعت أسعار الذهب في الأسواق العالمية اليوم"                      # no cue


def weak_vectors(sentences: list[str]) -> np.ndarray:
    applier = LFApplier()
    return rule_labels(applier.apply(sentences), applier.lfs).astype(float)


def test_delete_tokens_drops_whole_words_clitics_and_punctuation_included():
    # lexicon tokens of "وقال، إن الهجوم وقع": وقال 0, إن 1, الهجوم 2, وقع 3
    assert delete_tokens("وقال، إن الهجوم وقع", {2}) == "وقال، إن وقع"
    assert delete_tokens("وقال، إن الهجوم وقع", {0}) == "إن الهجوم وقع"
    assert delete_tokens("وقال، إن الهجوم وقع", set()) == "وقال، إن الهجوم وقع"


def test_only_positives_with_two_rules_of_a_label_are_copied_and_each_copy_lost_one_rule():
    sentences = [CLAIM, LAUNCH, NOUN_ONLY, FOOTBALL, GOLD_PRICE]
    vectors = weak_vectors(sentences)
    assert vectors[:, LABELS.index("attack")].tolist() == [1, 1, 1, 0, 0]
    sources, copies, tried = masked_copies(sentences, vectors)
    assert set(sources) == {0, 1}  # one rule alone, a veto, no cue: nothing to copy
    assert tried == 3 + 2          # every (sentence, firing rule) pair of the two multi-rule positives
    applier = LFApplier()
    for source, copy in zip(sources, copies):
        before = {lf.name for lf, v in zip(applier.lfs, applier.apply([sentences[source]])[0]) if v == 1}
        after = {lf.name for lf, v in zip(applier.lfs, applier.apply([copy])[0]) if v == 1}
        assert len(copy.split()) < len(sentences[source].split())
        assert after < before and after  # a rule is gone, the others still vouch for the label
    assert weak_vectors(copies).tolist() == vectors[sources].tolist()
    # the launch copy without the launch verb keeps the noun; the one without the noun keeps the launch
    assert "طائرات مسيرة صواريخ على قاعدة عين الأسد في غارة ليلية" in copies
    assert "أطلقت طائرات مسيرة صواريخ على قاعدة عين الأسد في ليلية" in copies


def test_a_copy_whose_labels_the_rules_would_change_is_not_kept():
    # casualty_count needs the kill word: deleting "قتل" leaves no casualty rule, so that copy goes
    sentence = "قتل ثلاثة جنود في هجوم على قاعدة عسكرية"
    sources, copies, tried = masked_copies([sentence], weak_vectors([sentence]))
    assert tried == 2 and copies == []


def test_copies_are_appended_with_their_sources_targets_and_the_originals_untouched():
    sentences = [GOLD_PRICE, CLAIM, LAUNCH]
    vectors = weak_vectors(sentences)
    split = Dataset.from_dict({"doc_id": ["a", "b", "c"], "sent_id": [0, 0, 0], "text": sentences,
                               "targets": [[0.0, 0.0, 0.0], [0.9, 0.0, 0.0], [0.8, 0.1, 0.0]],
                               "label_vector": vectors.tolist()})
    out = add_masked_cue_copies(split)
    assert out[:3] == split[:3]
    assert len(out) == 3 + 5
    for row in out.select(range(3, len(out))):
        source = split[1] if row["doc_id"] == "b" else split[2]
        assert row["targets"] == source["targets"] and row["label_vector"] == source["label_vector"]
        assert row["text"] != source["text"]


def test_training_with_masked_cue_copies_trains_on_more_sentences(chain, tmp_path, caplog):
    from datasets import load_from_disk

    config = load_config(ROOT / "configs" / "tiny.yaml",
                         ["--training.max_steps=2", "--card.gold_file=", "--training.masked_cue_copies=true"])
    with caplog.at_level("INFO", logger="training.fit.cue_masking"):
        train(config, chain["data"], tmp_path / "m")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("masked-cue copies"))
    kept, tried, before, after = map(int, re.search(r"(\d+) of (\d+) candidates.*; (\d+) training sentences -> (\d+)",
                                                    line).groups())
    assert before == len(load_from_disk(str(chain["data"] / "dataset"))["train"])
    assert 0 < kept <= tried and after == before + kept
    assert "masked_cue_copies: true" in (tmp_path / "m" / "training_config.yaml").read_text()

"""Stratified estimate of false alarms and misses over a predicted corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, run_script
from training.analysis.alarm_rates import (STRATA, AlarmEstimate, estimate_alarms, f1_difference_intervals,
                                          pooled_f1_differences, stratum)
from training.analysis.strata_sample import draw_sample, parse_counts
from training.errors import InputError
from training.inputs.gold import load_corpus_gold, text_hash
from training.io_utils import read_jsonl
from training.labels import LABELS


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path):
    """A predict run of 10 sentences: 2 only the model flags, 1 only the rules, 2 both, 5 neither."""
    model = [["attack"], ["attack"], [], ["attack"], ["attack"], [], [], [], [], []]
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"doc_id": "d", "sent_id": i, "text": f"s{i}", "labels": m}
                                                         for i, m in enumerate(model)])
    write_jsonl(tmp_path / "pred.disagreements.jsonl", [
        {"doc_id": "d", "sent_id": 0, "model": ["attack"], "rules": []},
        {"doc_id": "d", "sent_id": 1, "model": ["attack"], "rules": []},
        {"doc_id": "d", "sent_id": 2, "model": [], "rules": ["casualty"]}])
    return predictions


def gold_row(position, labels, sample):
    return {"id": "d", "position": position, "sha1": "x", "sample": sample, "labels": labels}


def test_strata_from_the_two_answers():
    assert stratum({"attack"}, set()) == "model_only"
    assert stratum({"attack"}, {"attack", "casualty"}) == "rules_only"
    assert stratum({"attack", "casualty"}, {"casualty"}) == "model_only"  # any label only the model flags
    assert (stratum({"attack"}, {"attack"}), stratum(set(), set())) == ("both", "neither")


def test_each_stratum_counts_by_its_share_of_the_corpus(run, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        gold_row(0, ["attack"], "model_only"),  # the model was right, the rules missed it
        gold_row(1, [], "model_only"),          # a model false alarm
        gold_row(2, [], "rules_only"),          # a rules false alarm
        gold_row(3, [], "both"),                # both wrong
        gold_row(5, [], "neither")])
    estimate = estimate_alarms(gold, run, tmp_path / "pred.disagreements.jsonl")
    assert estimate.sizes == {"model_only": 2, "rules_only": 1, "both": 2, "neither": 5}
    # model: 2 * 1/2 (model_only) + 2 * 1/1 (both) = 3 of 10; rules: 1 * 1/1 + 2 * 1/1 = 3 of 10
    assert estimate.rate("model", "false_alarm") == pytest.approx(0.3)
    assert estimate.rate("rules", "false_alarm") == pytest.approx(0.3)
    assert estimate.rate("rules", "miss") == pytest.approx(0.1)  # 2 * 1/2
    assert estimate.rate("model", "miss") == 0


def test_per_label_scores_weight_each_stratum_by_its_size(run, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        gold_row(0, ["attack"], "model_only"),  # model: a true attack; rules: a missed one
        gold_row(1, [], "model_only"),          # model: an attack false alarm
        gold_row(2, [], "rules_only"),          # rules: a casualty false alarm
        gold_row(3, [], "both")])               # both: an attack false alarm
    estimate = estimate_alarms(gold, run, tmp_path / "pred.disagreements.jsonl")
    # model attack: tp 2 * 1/2 = 1; false alarms 2 * 1/2 + 2 * 1/1 = 3; no miss
    assert [estimate.label_count("model", "attack", k) for k in ("tp", "fp", "fn")] == pytest.approx([1, 3, 0])
    assert estimate.label_scores("model", "attack") == pytest.approx({"precision": 0.25, "recall": 1.0, "f1": 0.4})
    assert [estimate.label_count("rules", "attack", k) for k in ("tp", "fp", "fn")] == pytest.approx([0, 2, 1])
    assert estimate.label_scores("rules", "attack") == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert estimate.label_count("rules", "casualty", "fp") == pytest.approx(1)
    assert estimate.label_count("model", "casualty", "fp") == 0


def test_the_f1_difference_carries_the_noise_of_the_sample(run, tmp_path):
    sure = write_jsonl(tmp_path / "sure.jsonl", [gold_row(0, ["attack"], "model_only"), gold_row(2, [], "rules_only")])
    intervals = f1_difference_intervals(estimate_alarms(sure, run, tmp_path / "pred.disagreements.jsonl"))
    assert intervals["attack"] == {"difference": 1.0, "low": 1.0, "high": 1.0}  # one sentence per stratum: no spread
    assert intervals["casualty"]["difference"] == 0  # the rules' one casualty is a false alarm: F1 0 for both
    # Two model_only sentences that disagree on who is right: redraws holding only the false alarm
    # make the model worse, those holding only the true attack make it better.
    torn = write_jsonl(tmp_path / "torn.jsonl", [gold_row(0, ["attack"], "model_only"), gold_row(1, [], "model_only")])
    attack = f1_difference_intervals(estimate_alarms(torn, run, tmp_path / "pred.disagreements.jsonl"))["attack"]
    assert attack["low"] < attack["difference"] < attack["high"]


def test_pooled_samples_weigh_by_the_spread_of_their_own_difference(run, tmp_path):
    disagreements = tmp_path / "pred.disagreements.jsonl"
    sure = estimate_alarms(write_jsonl(tmp_path / "sure.jsonl", [
        gold_row(0, ["attack"], "model_only"), gold_row(2, [], "rules_only")]), run, disagreements)
    torn = estimate_alarms(write_jsonl(tmp_path / "torn.jsonl", [
        gold_row(0, ["attack"], "model_only"), gold_row(1, [], "model_only")]), run, disagreements)
    noisier = estimate_alarms(write_jsonl(tmp_path / "noisier.jsonl", [
        gold_row(0, ["attack"], "model_only"), gold_row(1, [], "model_only"), gold_row(3, ["attack"], "both"),
        gold_row(4, [], "both")]), run, disagreements)
    # a sample with no spread saw too little to weigh more: equal weights, and the counts pooled, then scored
    # (model attack: 2 true positives in `sure`, 1 and a false alarm in `torn` -> 1.5 and 0.5, F1 6/7; rules 0)
    with_sure = pooled_f1_differences([sure, torn])["attack"]
    assert with_sure["weights"] == [0.5, 0.5] and with_sure["difference"] == pytest.approx(6 / 7)
    # the same sample twice (redrawn independently, so their spreads differ a little): its own point estimate
    twice = pooled_f1_differences([torn, torn])["attack"]
    assert twice["weights"] == pytest.approx([0.5, 0.5], abs=0.05)
    assert twice["difference"] == pytest.approx(f1_difference_intervals(torn)["attack"]["difference"])
    # two noisy samples: both weigh, and the pooled point lies between theirs
    alone = [f1_difference_intervals(e)["attack"] for e in (torn, noisier)]
    assert alone[0]["difference"] != alone[1]["difference"]
    pooled = pooled_f1_differences([torn, noisier])["attack"]
    assert min(a["difference"] for a in alone) < pooled["difference"] < max(a["difference"] for a in alone)
    assert 0 < min(pooled["weights"]) and sum(pooled["weights"]) == pytest.approx(1)
    assert pooled["low"] <= pooled["difference"] <= pooled["high"]
    other_corpus = AlarmEstimate({**torn.sizes, "neither": 6}, torn.outcomes)
    with pytest.raises(InputError, match="same predict run"):
        pooled_f1_differences([torn, other_corpus])


def test_the_draw_is_seeded_per_stratum_and_estimates_once_labelled(run, tmp_path):
    disagreements = tmp_path / "pred.disagreements.jsonl"
    counts = parse_counts("model_only=1,rules_only=5,neither=2")
    rows = draw_sample(run, disagreements, counts, seed=3)
    assert [r["sample"] for r in rows] == ["model_only", "rules_only", "neither", "neither"]  # all 1 of rules_only
    assert rows[0]["stratum_sizes"] == {"model_only": 2, "rules_only": 1, "both": 2, "neither": 5}
    assert rows == draw_sample(run, disagreements, counts, seed=3)
    assert {r["position"] for r in rows[2:]} <= {5, 6, 7, 8, 9} and rows[1]["rules"] == ["casualty"]
    assert len({tuple(r["position"] for r in draw_sample(run, disagreements, counts, seed=s)) for s in range(8)}) > 1
    labelled = write_jsonl(tmp_path / "labelled.jsonl", [{**r, "labels": []} for r in rows])
    assert estimate_alarms(labelled, run, disagreements).sampled == {"model_only": 1, "rules_only": 1, "both": 0,
                                                                     "neither": 2}
    with pytest.raises(InputError, match="'both=x' is not STRATUM=N"):
        parse_counts("model_only=1,both=x")


def test_the_script_draws_once_and_never_over_a_file(run, tmp_path):
    out = tmp_path / "to_label.jsonl"
    result = run_script("estimate_alarms.py", "--predictions", run, "--draw", "neither=3", "--output", out)
    assert result.returncode == 0, result.stderr
    assert [r["sample"] for r in read_jsonl(out)] == ["neither"] * 3 and read_jsonl(out)[0]["labels"] == []
    result = run_script("estimate_alarms.py", "--predictions", run, "--draw", "neither=1", "--output", out)
    assert_one_line_error(result, "already exists")
    assert len(read_jsonl(out)) == 3


def test_a_sample_with_its_strata_sizes_scores_another_run_of_the_corpus(run, tmp_path):
    design = {"model_only": 2, "rules_only": 1, "both": 2, "neither": 5}  # the run the sample was drawn from
    gold = write_jsonl(tmp_path / "gold.jsonl", [{**gold_row(p, labels, sample), "stratum_sizes": design}
                                                 for p, labels, sample in [(0, ["attack"], "model_only"),
                                                                           (2, [], "rules_only"),
                                                                           (3, ["attack"], "both"), (5, [], "neither")]])
    # A retrained model over the same 10 sentences: it drops sentences 0-1's attack, adds one on 5.
    retrained = write_jsonl(tmp_path / "new.jsonl", [{"doc_id": "d", "sent_id": i, "text": f"s{i}",
                                                      "labels": ["attack"] if i in (3, 4, 5) else []}
                                                     for i in range(10)])
    write_jsonl(tmp_path / "new.disagreements.jsonl", [{"doc_id": "d", "sent_id": 2, "model": [], "rules": ["casualty"]},
                                                       {"doc_id": "d", "sent_id": 5, "model": ["attack"], "rules": []}])
    estimate = estimate_alarms(gold, retrained, tmp_path / "new.disagreements.jsonl")
    assert estimate.reweighted and estimate.sizes == design
    # row 0 (weight 2) is now a miss, row 3 (weight 2) a hit, row 5 (weight 5) a false alarm
    assert [estimate.label_count("model", "attack", k) for k in ("tp", "fp", "fn")] == pytest.approx([2, 5, 2])
    assert [estimate.label_count("rules", "attack", k) for k in ("tp", "fp", "fn")] == pytest.approx([2, 0, 2])
    bare = write_jsonl(tmp_path / "bare.jsonl", [{k: v for k, v in r.items() if k != "stratum_sizes"}
                                                 for r in read_jsonl(gold)])
    with pytest.raises(InputError, match="line 1 was sampled from 'model_only' but is 'neither' in this run"):
        estimate_alarms(bare, retrained, tmp_path / "new.disagreements.jsonl")  # without the sizes: refused
    other = write_jsonl(tmp_path / "other.jsonl", [{**r, "stratum_sizes": {**design, "neither": 50}}
                                                   for r in read_jsonl(gold)])
    with pytest.raises(InputError, match="drawn from a run of 55 sentences, but .*new.jsonl has 10"):
        estimate_alarms(other, retrained, tmp_path / "new.disagreements.jsonl")
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [*read_jsonl(gold)[:3], read_jsonl(bare)[3]])
    with pytest.raises(InputError, match="line 4 needs 'sample' .* and the same 'stratum_sizes'"):
        estimate_alarms(mixed, retrained, tmp_path / "new.disagreements.jsonl")


def test_a_gold_row_from_another_run_or_stratum_is_an_error(run, tmp_path):
    disagreements = tmp_path / "pred.disagreements.jsonl"
    with pytest.raises(InputError, match="line 1 .d#42. is not among the predicted sentences"):
        estimate_alarms(write_jsonl(tmp_path / "g1.jsonl", [gold_row(42, [], "neither")]), run, disagreements)
    with pytest.raises(InputError, match="line 1 names no sentence of the predict run"):
        estimate_alarms(write_jsonl(tmp_path / "g0.jsonl", [{"text": "s1", "labels": []}]), run, disagreements)
    other_run = write_jsonl(tmp_path / "other.disagreements.jsonl", [{"doc_id": "e", "sent_id": 0, "model": [],
                                                                       "rules": ["attack"]}])
    with pytest.raises(InputError, match="e#0 is not in .*pred.jsonl: not the same predict run"):
        estimate_alarms(write_jsonl(tmp_path / "g3.jsonl", [gold_row(5, [], "neither")]), run, other_run)
    with pytest.raises(InputError, match="sampled from 'both' but is 'model_only' in this run"):
        estimate_alarms(write_jsonl(tmp_path / "g2.jsonl", [gold_row(0, [], "both")]), run, disagreements)


def test_the_script_prints_the_table(run, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [gold_row(1, [], "model_only"), gold_row(6, [], "neither")])
    result = run_script("estimate_alarms.py", "--gold", gold, "--predictions", run)
    assert result.returncode == 0, result.stderr
    assert "| model_only | 2 | 1 | 1 | 0 | 0 | 0 |" in result.stdout
    assert "model: false alarms on 20.00% of the corpus's 10 sentences" in result.stdout
    assert "| attack | model | 0 | 2 | 0 | 0.000 | 0.000 | 0.000 |" in result.stdout  # 2 * 1/2 false alarms
    assert "attack: model minus rules +0 true positives, +2 false alarms; F1 +0.000 (95% stratified" in result.stdout
    result = run_script("estimate_alarms.py", "--gold", gold, "--predictions", tmp_path / "missing.jsonl")
    assert_one_line_error(result, "missing.jsonl")
    second = write_jsonl(tmp_path / "second.jsonl", [gold_row(0, ["attack"], "model_only"), gold_row(5, [], "neither")])
    result = run_script("estimate_alarms.py", "--gold", gold, "--gold", second, "--predictions", run)
    assert result.returncode == 0, result.stderr
    assert f"## {second}" in result.stdout and "Pooled over 2 samples" in result.stdout
    # neither sample has spread, so they weigh alike: the counts are pooled, then scored. The model's
    # attack: 2 false alarms in the first, 2 true positives in the second -> 1 and 1, F1 2/3; the rules' 0.
    assert "attack: model minus rules F1 +0.667 (95% interval +0.667 to +0.667); weights 0.50 / 0.50" in result.stdout


ECONOMY = ROOT.parent / "shared" / "data" / "ant_news_economy.jsonl.gz"


ECONOMY_GOLD = {"gold_economy.jsonl": 100, "gold_economy_2.jsonl": 60}  # the second: the small recipe, sets 1 + 3


@pytest.mark.skipif(not ECONOMY.is_file(), reason=f"ANT economy file not found at {ECONOMY}")
@pytest.mark.parametrize("gold", sorted(ECONOMY_GOLD))
def test_the_economy_gold_files_resolve_in_the_economy_corpus(gold):
    refs = read_jsonl(SEEDS / gold)
    rows = load_corpus_gold(SEEDS / gold, corpus=ECONOMY)
    assert len(rows) == len(refs) == ECONOMY_GOLD[gold]
    assert all(text_hash(row["text"]) == ref["sha1"] for row, ref in zip(rows, refs))  # the very sentences labelled
    if gold == "gold_economy.jsonl":
        assert {r["sample"] for r in refs} == set(STRATA)
    else:  # drawn with the run's strata sizes, so later runs can be scored on it
        assert all(sum(r["stratum_sizes"].values()) == 30_734 for r in refs)  # the whole economy file


def test_the_two_economy_samples_agree_where_they_meet():
    first, second = ({(r["id"], r["position"]): r["labels"] for r in read_jsonl(SEEDS / name)}
                     for name in ("gold_economy.jsonl", "gold_economy_2.jsonl"))
    shared = first.keys() & second.keys()
    assert shared and all(first[key] == second[key] for key in shared)  # one reading of a sentence


POLITICS = ROOT.parent / "shared" / "data" / "ant_news_politics.jsonl.gz"


POLITICS_GOLD = ("gold_politics.jsonl", "gold_politics_cueless.jsonl")  # drawn for two models' predict runs


@pytest.mark.skipif(not POLITICS.is_file(), reason=f"ANT politics file not found at {POLITICS}")
@pytest.mark.parametrize("gold", POLITICS_GOLD)
def test_the_politics_gold_files_resolve_in_the_politics_corpus(gold):
    refs = read_jsonl(SEEDS / gold)
    rows = load_corpus_gold(SEEDS / gold, corpus=POLITICS)
    assert len(rows) == len(refs) == 120 and {r["sample"] for r in refs} == set(STRATA)
    assert all(text_hash(row["text"]) == ref["sha1"] for row, ref in zip(rows, refs))
    assert sum(refs[0]["stratum_sizes"].values()) == 28_732  # the validation documents' sentences


def test_the_politics_gold_files_agree_where_they_meet_and_stay_out_of_gold_news():
    files = [{(r["id"], r["position"]): r["labels"] for r in read_jsonl(SEEDS / gold)} for gold in POLITICS_GOLD]
    shared = files[0].keys() & files[1].keys()
    assert shared and all(files[0][key] == files[1][key] for key in shared)  # one reading of a sentence
    news = {(r["id"], r["position"]) for r in read_jsonl(SEEDS / "gold_news.jsonl")}
    assert not news & (files[0].keys() | files[1].keys())  # two gold sets, no sentence in both


# The held-out sport, technology and culture sentences (README, "False alarms on real sport,
# technology and culture news"): references into files that scripts/ant_sections.py writes from
# a clone of the ANT repository, which CI does not have; EVENTS_ANT_HELDOUT names their folder.
HELDOUT = Path(os.environ.get("EVENTS_ANT_HELDOUT", ROOT.parent / "shared" / "data"))
OFFTOPIC_GOLD = {"gold_sport.jsonl": "ant_news_sport.heldout.jsonl.gz",
                 "gold_tech_culture.jsonl": "ant_news_tech_culture.heldout.jsonl.gz"}


@pytest.mark.parametrize("gold", sorted(OFFTOPIC_GOLD))
def test_the_offtopic_gold_files_census_the_flagged_strata(gold):
    refs = read_jsonl(SEEDS / gold)
    by_stratum = {s: [r for r in refs if r["sample"] == s] for s in STRATA}
    assert len(by_stratum["neither"]) == 40 and all(r["labels"] == [] for r in by_stratum["neither"])
    assert all(by_stratum[s] for s in ("model_only", "rules_only", "both"))
    assert len({(r["id"], r["position"]) for r in refs}) == len(refs)
    assert all(len(r["sha1"]) == 16 and set(r["labels"]) <= set(LABELS) for r in refs)


@pytest.mark.parametrize("gold,corpus", sorted(OFFTOPIC_GOLD.items()))
def test_the_offtopic_gold_files_resolve_in_their_heldout_corpus(gold, corpus):
    if not (HELDOUT / corpus).is_file():
        pytest.skip(f"{HELDOUT / corpus} not found (scripts/ant_sections.py writes it)")
    refs = read_jsonl(SEEDS / gold)
    rows = load_corpus_gold(SEEDS / gold, corpus=HELDOUT / corpus)
    assert all(text_hash(row["text"]) == ref["sha1"] for row, ref in zip(rows, refs))

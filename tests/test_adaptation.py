"""Adaptation to the user's own articles, and its leave-one-article-out measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS, assert_one_line_error, read_jsonl, run_script
from training.fit.crossval import gold_by_article
from training.errors import UserError
from training.fit.adaptation import REPLAY_PREFIX, replay_sample

TINY = ROOT / "configs" / "tiny.yaml"


def write_replay(path: Path, n: int) -> Path:
    """A small corpus of `n` off-topic 'articles' (three sentences of tests/data each)."""
    lines = [line for line in (ROOT / "tests" / "data" / "offtopic_sentences.txt").read_text("utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(lines[(3 * i + j) % len(lines)] for j in range(3))
            fh.write(json.dumps({"id": f"off-{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def test_replay_sample_is_seeded_uniform_and_streams(tmp_path):
    corpus = write_replay(tmp_path / "replay.jsonl", 60)
    first, again, other = (replay_sample(corpus, 10, seed) for seed in (1, 1, 2))
    ids = [a.doc_id for a in first]
    assert ids == [a.doc_id for a in again]                       # the seed fixes the sample
    assert ids != [a.doc_id for a in other]
    assert len(set(ids)) == 10 and set(ids) <= {f"off-{i}" for i in range(60)}
    assert any(int(i.split("-")[1]) >= 10 for i in ids)           # not just the first ten read
    assert len(replay_sample(corpus, 100, 1)) == 60               # a smaller corpus gives all it has
    # Each article is as likely to be drawn: over many seeds the draws spread evenly.
    counts = [0] * 60
    for seed in range(300):
        for article in replay_sample(corpus, 10, seed):
            counts[int(article.doc_id.split("-")[1])] += 1
    assert min(counts) > 20 and max(counts) < 80                  # expected 50 each


def test_gold_by_article_needs_articles_it_can_leave_out(tmp_path):
    rows = [{"doc_id": "a.txt", "text": "x", "labels": []}, {"doc_id": "b.txt", "text": "y", "labels": []},
            {"doc_id": "a.txt", "text": "z", "labels": []}]
    assert gold_by_article(rows, "g", {"a.txt", "b.txt", "c.txt"}) == {"a.txt": [0, 2], "b.txt": [1]}
    with pytest.raises(UserError, match="names article 'b.txt'"):
        gold_by_article(rows, "g", {"a.txt"})
    with pytest.raises(UserError, match="line 2 has no doc_id"):
        gold_by_article([rows[0], {"text": "y", "labels": []}], "g", {"a.txt"})
    with pytest.raises(UserError, match="at least 2"):
        gold_by_article([rows[0]], "g", {"a.txt"})


def test_adapt_writes_a_loadable_model_trained_on_both_corpora(chain, tmp_path):
    replay = write_replay(tmp_path / "replay.jsonl", 12)
    out = tmp_path / "adapted"
    result = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--replay", replay, "--replay-documents", "5",
                        "--output", out, f"--model.name_or_path={chain['model']}", "--training.max_steps=2",
                        "--card.gold_file=")
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "adaptation.json").read_text("utf-8"))
    assert record["replay_documents"] == 5 and len(record["articles"]) == 5
    docs = {r["doc_id"] for r in read_jsonl(out / "data" / "sentences.jsonl")}
    assert {d for d in docs if not d.startswith(REPLAY_PREFIX)} == {p.name for p in SEEDS.glob("*.txt")}
    assert len(docs) == 10
    from transformers import pipeline

    answer = pipeline("text-classification", model=str(out / "model"), top_k=None)("قتل ثلاثة جنود في هجوم.")
    assert len(answer[0]) == 3
    again = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--output", out,
                       f"--model.name_or_path={chain['model']}")
    assert_one_line_error(again, "already exists")
    # Hand labels kept inside an earlier run folder are an input: --overwrite may not replace that folder.
    labels = out / "my_labels.jsonl"
    labels.write_text(json.dumps({"text": "قتل ثلاثة جنود في هجوم.", "labels": ["attack", "casualty"]},
                                 ensure_ascii=False) + "\n", "utf-8")
    replaced = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--output", out, "--overwrite",
                          f"--model.name_or_path={chain['model']}", f"--data.gold_files=[{labels}]")
    assert_one_line_error(replaced, "contains the input")
    assert labels.is_file() and (out / "model").is_dir()


def test_leave_one_article_out_never_scores_a_sentence_its_model_saw(chain, tmp_path):
    out = tmp_path / "cv"
    gold = SEEDS / "gold.jsonl"
    result = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--leave-one-out", gold, "--output", out,
                        f"--model.name_or_path={chain['model']}", "--training.max_steps=1")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "crossval.json").read_text("utf-8"))
    predictions = read_jsonl(out / "predictions.jsonl")
    assert len(predictions) == len(read_jsonl(gold)) == results["sentences"]
    assert len(results["folds"]) == 5
    for fold in results["folds"]:
        trained_on = read_jsonl(out / "folds" / str(fold["fold"]) / "data" / "sentences.jsonl")
        scored = {p["text"] for p in predictions if p["fold"] == fold["fold"]}
        assert all(p["doc_id"] == fold["left_out"] for p in predictions if p["fold"] == fold["fold"])
        assert fold["left_out"] not in {r["doc_id"] for r in trained_on}
        assert not scored & {r["text"] for r in trained_on}
    # The rules' pooled figures are the rules' figures on the whole file, as evaluate reports them.
    from training.analysis.evaluation import evaluate_model

    whole = evaluate_model(str(chain["model"]), str(gold))
    assert results["rules"]["macro_f1"] == pytest.approx(whole["rules"]["macro_f1"])
    assert results["base"]["macro_f1"] == pytest.approx(whole["model"]["macro_f1"])
    assert "| adapted |" in (out / "report.md").read_text("utf-8")


def test_leave_one_out_gold_without_articles_is_one_error(chain, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"text": "قتل جندي.", "labels": ["casualty"]}, ensure_ascii=False) + "\n", "utf-8")
    result = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--leave-one-out", gold,
                        "--output", tmp_path / "cv", f"--model.name_or_path={chain['model']}")
    assert_one_line_error(result, "gold.jsonl", "no doc_id")
    assert not (tmp_path / "cv").exists()


def test_leave_one_out_with_corpus_reference_gold_says_what_it_needs(chain, tmp_path):
    reference = {"id": "AL-internationalNews-1-20180219", "position": 0, "sha1": "0123456789abcdef", "labels": []}
    gold = tmp_path / "news.jsonl"
    gold.write_text(json.dumps(reference) + "\n", "utf-8")
    result = run_script("adapt.py", "--config", TINY, "--input", SEEDS, "--leave-one-out", gold,
                        "--output", tmp_path / "cv", f"--model.name_or_path={chain['model']}")
    assert_one_line_error(result, "news.jsonl", "text and doc_id")
    assert not (tmp_path / "cv").exists()


def test_keep_base_thresholds_carries_the_base_models_thresholds(chain, tmp_path):
    base = json.loads((chain["model"] / "config.json").read_text("utf-8"))["thresholds"]
    out = tmp_path / "kept"
    result = run_script("train.py", "--config", TINY, "--data", chain["data"], "--output", out,
                        f"--model.name_or_path={chain['model']}", "--training.keep_base_thresholds=true",
                        "--training.max_steps=2", "--card.gold_file=")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "config.json").read_text("utf-8"))["thresholds"] == base
    assert json.loads((out / "metrics.json").read_text("utf-8"))["thresholds_tuned_on"] == "base model"
    # A base with no thresholds (an encoder, or the tiny config's fresh model) fails before training.
    fresh = run_script("train.py", "--config", TINY, "--data", chain["data"], "--output", tmp_path / "fresh",
                       "--training.keep_base_thresholds=true")
    assert_one_line_error(fresh, "tiny", "no tuned thresholds")
    assert not (tmp_path / "fresh").exists()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text("{", "utf-8")
    broken = run_script("train.py", "--config", TINY, "--data", chain["data"], "--output", tmp_path / "broken",
                        f"--model.name_or_path={damaged}", "--training.keep_base_thresholds=true")
    assert_one_line_error(broken, "config.json", "not readable JSON")

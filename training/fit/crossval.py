"""What adaptation gives on articles it never saw: leave-one-article-out cross-validation.

For each article that has gold sentences, `cross_validate` adapts the base model to all the other
articles (plus the same replay sample; see training.fit.adaptation), scores the left-out
article's gold sentences with that fold's model, and pools the folds. The left-out gold
sentences also go to the fold's `data.test_gold_files`, so a sentence that another article
repeats word for word (news agencies share copy) is not trained on either. The base model and
the rules are scored on the same sentences, and the paired bootstrap gives the noise of each
difference.

Writes OUTPUT/crossval.json, report.md, predictions.jsonl (one line per gold sentence: its fold,
gold, adapted, base and rules labels, and the adapted model's scores) and folds/K/ (each an
adaptation run: corpus.jsonl, data/, model/).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from training.analysis.bootstrap import difference_text, paired_bootstrap
from training.analysis.disagreements import rules_answers
from training.config import Config, save_config
from training.errors import UserError
from training.fit.adaptation import (adapt_into, adaptation_inputs, adaptation_record, read_articles, replay_sample,
                                     without_card_gold)
from training.inputs.gold import check_gold_rows, is_corpus_reference, label_matrix
from training.io_utils import atomic_file, atomic_write_json, atomic_write_text, read_jsonl
from training.labels import LABELS
from training.metrics import markdown_table, multilabel_scores
from training.outputs import check_output, output_folder

logger = logging.getLogger(__name__)

SYSTEMS = ("adapted", "base", "rules")   # the adapted fold models, the model before adaptation, the rules


def sentence_gold(gold_file) -> list[dict]:
    """The rows of a sentence gold file; a corpus-reference file (seeds/gold_news.jsonl) is refused
    with what is needed instead: its sentences are not from the input articles."""
    rows = read_jsonl(gold_file)
    if is_corpus_reference(rows):
        raise UserError(f"{gold_file}: names corpus sentences by article id and hash; leave-one-article-out needs "
                        f"sentence gold of the input articles, with text and doc_id (as seeds/gold.jsonl)")
    return check_gold_rows(rows, gold_file)


def gold_by_article(rows: list[dict], gold_file, article_ids: set[str]) -> dict[str, list[int]]:
    """{doc_id: row indices} of the gold rows, in first-seen order; every row must name an article
    that is among the inputs (otherwise no fold could leave it out)."""
    folds: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        doc = row.get("doc_id")
        if doc in (None, ""):
            raise UserError(f"{gold_file}: line {i + 1} has no doc_id; leave-one-article-out needs the article of "
                            f"every gold sentence")
        if doc not in article_ids:
            raise UserError(f"{gold_file}: line {i + 1} names article {doc!r}, which is not among the input articles")
        folds.setdefault(doc, []).append(i)
    if len(folds) < 2:
        raise UserError(f"{gold_file}: gold sentences of {len(folds)} article(s); leave-one-article-out needs at least 2")
    return folds


def _fold_scores(folder: Path, config: Config, own, replay, doc: str, rows: list[dict], workers: int):
    """Adapt without `doc` (and without its gold sentences), then score its gold sentences."""
    folder.mkdir(parents=True)
    held_out = folder / "left_out_gold.jsonl"
    with atomic_file(held_out) as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    data = dataclasses.replace(config.data, test_gold_files=[*config.data.test_gold_files, str(held_out)])
    fold_config = without_card_gold(dataclasses.replace(config, data=data))
    model_dir = adapt_into(folder, fold_config, [a for a in own if a.doc_id != doc], replay, workers)
    return model_answers(str(model_dir), [r["text"] for r in rows])


def model_answers(model: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """A model's scores on `texts`, its labels at its own thresholds, and those thresholds."""
    from training.model.inference import EventClassifier

    clf = EventClassifier.from_pretrained(model)
    scores, _ = clf.predict_scores(texts)
    return scores, scores >= clf.thresholds, dict(zip(LABELS, map(float, clf.thresholds)))


def cross_validate(config: Config, articles: str | Path, gold_file: str | Path, output: str | Path,
                   replay: str | Path | None = None, replay_documents: int = 2000, overwrite: bool = False,
                   workers: int = 1) -> dict:
    """Leave-one-article-out adaptation of `config.model.name_or_path`, scored on `gold_file`
    (see module docstring); returns the pooled results."""
    inputs = adaptation_inputs(config, articles, replay, gold_file)
    check_output(output, "adapt_crossval", inputs, overwrite)
    rows = sentence_gold(gold_file)
    own = read_articles(articles)
    folds = gold_by_article(rows, gold_file, {a.doc_id for a in own})
    sample = replay_sample(replay, replay_documents, config.training.seed) if replay else []
    gold = label_matrix(rows).astype(bool)
    scores, pred = np.zeros(gold.shape), np.zeros(gold.shape, dtype=bool)
    fold_records = []
    with output_folder(output, "adapt_crossval", inputs, overwrite) as tmp:
        save_config(config, tmp / "adapt_config.yaml")
        for k, (doc, index) in enumerate(folds.items()):
            logger.info("fold %d of %d: leaving out %s (%d gold sentences)", k + 1, len(folds), doc, len(index))
            fold_rows = [rows[i] for i in index]
            scores[index], pred[index], thresholds = _fold_scores(tmp / "folds" / str(k), config, own, sample, doc,
                                                                  fold_rows, workers)
            fold_records.append({"fold": k, "left_out": doc, "sentences": len(index), "thresholds": thresholds})
        texts = [r["text"] for r in rows]
        answers = {"adapted": pred, "base": model_answers(config.model.name_or_path, texts)[1],
                   "rules": rules_answers(texts)[0] >= 0.5}
        results = _results(gold, scores, answers, fold_records)
        results["record"] = adaptation_record(config, own, sample, replay, left_out=list(folds))
        atomic_write_json(tmp / "crossval.json", results)
        atomic_write_text(tmp / "report.md", report_markdown(results, str(gold_file)))
        _write_predictions(tmp / "predictions.jsonl", rows, folds, gold, scores, answers)
    logger.info("leave-one-article-out on %s: macro F1 adapted %.3f, base %.3f, rules %.3f (adapted - rules %s) -> %s",
                gold_file, *(results[s]["macro_f1"] for s in SYSTEMS), difference_text(results["adapted_vs_rules"]), output)
    return results


def _results(gold: np.ndarray, scores: np.ndarray, answers: dict, folds: list[dict]) -> dict:
    results = {name: multilabel_scores(gold, answers[name], list(LABELS), scores if name == "adapted" else None)
               for name in SYSTEMS}
    results["adapted_vs_rules"] = paired_bootstrap(gold, answers["adapted"], answers["rules"])
    results["adapted_vs_base"] = paired_bootstrap(gold, answers["adapted"], answers["base"])
    results["folds"] = folds
    results["sentences"] = int(len(gold))
    return results


def report_markdown(results: dict, gold_file: str) -> str:
    """The pooled table: per-label P / R / F1 of each system, and the bootstrap differences."""
    header = ["system", "macro F1", *(f"{label} P / R / F1" for label in LABELS)]
    rows = []
    for name in SYSTEMS:
        r = results[name]
        cells = [f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.3f}" for v in r["per_label"].values()]
        rows.append([name, f"{r['macro_f1']:.3f}", *cells])
    return "\n".join([
        f"# Leave-one-article-out adaptation on `{gold_file}`\n",
        f"{results['sentences']} gold sentences in {len(results['folds'])} folds; each is scored by a model "
        f"adapted to the other articles.\n",
        markdown_table(header, rows), "",
        f"adapted - rules, macro F1: {difference_text(results['adapted_vs_rules'])}",
        f"adapted - base, macro F1: {difference_text(results['adapted_vs_base'])}", ""])


def _write_predictions(path: Path, rows, folds: dict, gold, scores, answers) -> None:
    names = np.array(LABELS)
    fold_of = {i: k for k, index in enumerate(folds.values()) for i in index}
    with atomic_file(path) as fh:
        for i, row in enumerate(rows):
            record = {"fold": fold_of[i], "doc_id": row["doc_id"], "sent_id": row.get("sent_id"), "text": row["text"],
                      "gold": names[gold[i]].tolist(), **{s: names[answers[s][i]].tolist() for s in SYSTEMS},
                      "adapted_scores": {k: round(float(v), 4) for k, v in zip(LABELS, scores[i])}}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

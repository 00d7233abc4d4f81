"""Fine-tuning a multi-label sentence classifier on the weak labels with transformers' Trainer.

`train(config, data_dir, model_dir)` checks the data before any model is loaded, tokenizes
with the model's preprocessing, trains with a weighted BCE loss (soft or hard targets),
evaluates every epoch, stops early on validation macro F1, restores the best checkpoint,
tunes one decision threshold per label on validation, and writes the model folder in one
atomic step. Checkpoints live beside it in `<model_dir>.run/`; Ctrl-C saves one there and
`resume=True` continues from the last one.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.fit.callbacks import check_finite, finite_loss_callback, interrupt_callback, last_checkpoint, training_arguments
from training.fit.cue_masking import add_masked_cue_copies
from training.fit.sampling import drop_cueless, oversample, positive_weights
from training.config import Config, save_config
from training.data.revision import DISTILLATION_RECORD, REVISION_RECORDS
from training.errors import UserError
from training.io_utils import atomic_write_json, first_line
from training.inputs.gold import label_matrix, load_any_gold
from training.labels import LABELS
from training.model.model_folder import check_labels_and_thresholds, read_model_config
from training.model.modeling import Preprocessor, create_model
from training.metrics import multilabel_scores
from training.outputs import check_not_an_input, check_output, output_folder

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model_dir: Path
    metrics: dict
    interrupted: bool = False


def load_training_data(data_dir: str | Path):
    """The DatasetDict built by build_dataset, checked: splits, labels, and class balance."""
    data_dir = Path(data_dir)
    if not (data_dir / "sentences.jsonl").is_file() or not (data_dir / "dataset").is_dir():
        raise UserError(f"{data_dir}: not a built dataset (no sentences.jsonl or dataset/); run scripts/build_dataset.py first")
    from datasets import load_from_disk

    try:
        data = load_from_disk(str(data_dir / "dataset"))
    except Exception as err:  # noqa: BLE001 - datasets raises many types for a damaged folder
        raise UserError(f"{data_dir / 'dataset'}: cannot be read as a dataset ({type(err).__name__}: "
                        f"{first_line(err) or 'damaged'}); rebuild it with scripts/build_dataset.py") from None
    if "train" not in data or len(data["train"]) == 0:
        raise UserError(f"{data_dir}: the training split is empty")
    if "validation" not in data or len(data["validation"]) == 0:
        raise UserError(f"{data_dir}: no validation split; rebuild with more than one document")
    seen = {label for split in data.values() for labels in split["labels"] for label in labels}
    unknown = sorted(seen - set(LABELS))
    if unknown:
        raise UserError(f"{data_dir}: labels {unknown} are unknown to this model; expected some of {list(LABELS)}")
    vectors = np.array(data["train"]["label_vector"])
    if vectors.sum() == 0 or vectors.sum() == vectors.size:
        raise UserError(f"{data_dir}: training data is one-class (every sentence has the same labels); nothing to learn")
    for k, label in enumerate(LABELS):
        if vectors[:, k].sum() == 0:
            logger.warning("no training sentence has label %r; the model cannot learn it", label)
    return data


def tune_thresholds(gold: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Per label, the threshold in 0.05..0.95 with the best validation F1 (ties: closest to 0.5).

    The project's metric scores every candidate at once: one column per threshold."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    names = [f"{t:.2f}" for t in grid]
    thresholds = {}
    for k, label in enumerate(LABELS):
        truth = gold[:, [k]] >= 0.5
        if not truth.any():
            thresholds[label] = 0.5
            continue
        per_threshold = multilabel_scores(np.repeat(truth, len(grid), axis=1), scores[:, [k]] >= grid, names)["per_label"]
        best = max(range(len(grid)), key=lambda i: (per_threshold[names[i]]["f1"], -abs(grid[i] - 0.5)))
        thresholds[label] = float(grid[best])
    return thresholds


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-logits))


def _tokenize(data, tokenizer, preprocess: Preprocessor, max_length: int, soft: bool):
    def encode(batch):
        enc = tokenizer(preprocess(batch["text"]), truncation=True, max_length=max_length)
        enc["length"] = [len(ids) for ids in enc["input_ids"]]
        return enc

    def with_labels(split_name, ds):
        column = "targets" if soft and split_name == "train" else "label_vector"
        ds = ds.map(encode, batched=True, desc=f"tokenizing {split_name}")
        ds = ds.map(lambda r: {"labels": [float(x) for x in r[column]]})
        keep = {"input_ids", "attention_mask", "token_type_ids", "labels", "length"}
        return ds.remove_columns([c for c in ds.column_names if c not in keep])

    return {name: with_labels(name, ds) for name, ds in data.items()}


def _training_arguments(config: Config, run_dir: Path):
    t = config.training
    return training_arguments(
        t, run_dir, eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
        metric_for_best_model="macro_f1", greater_is_better=True, dataloader_num_workers=t.dataloader_num_workers,
        train_sampling_strategy="group_by_length" if t.group_by_length else "random")


def multilabel_loss(logits, targets, pos_weight: np.ndarray, confidence_weighting: bool = False):
    """BCE-with-logits over every (sentence, label), with per-label positive weights.

    With `confidence_weighting`, each term counts |2p - 1| times (p: its target), and the loss is
    the weighted mean: a target the label model was sure of (0 or 1) counts fully, one it was
    torn on (0.5) not at all. On 0/1 targets (validation) every weight is 1."""
    import torch

    targets = targets.to(logits.dtype)
    weight = torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    if not confidence_weighting:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight)
    terms = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight, reduction="none")
    confidence = (2 * targets - 1).abs()
    return (terms * confidence).sum() / confidence.sum().clamp_min(1e-6)


def _make_trainer(model, tokenizer, args, splits, pos_weight: np.ndarray, patience: int, callbacks: list,
                  confidence_weighting: bool = False):
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    class MultiLabelTrainer(Trainer):
        """Trainer with BCE-with-logits and per-label positive weights (see `multilabel_loss`)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = multilabel_loss(outputs.logits, labels, pos_weight, confidence_weighting)
            return (loss, outputs) if return_outputs else loss

    def compute_metrics(eval_pred):
        scores = sigmoid(eval_pred.predictions)
        result = multilabel_scores(eval_pred.label_ids, scores >= 0.5, list(LABELS), scores)
        return {"macro_f1": result["macro_f1"], "micro_f1": result["micro_f1"]}

    if patience > 0:
        callbacks = callbacks + [EarlyStoppingCallback(early_stopping_patience=patience)]
    return MultiLabelTrainer(model=model, args=args, train_dataset=splits["train"], eval_dataset=splits["validation"],
                             data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                             compute_metrics=compute_metrics, callbacks=callbacks)


def _scores(trainer, dataset) -> tuple[np.ndarray, np.ndarray]:
    output = trainer.predict(dataset)
    return output.label_ids, sigmoid(output.predictions)


def train(config: Config, data_dir: str | Path, model_dir: str | Path, resume: bool = False,
          overwrite: bool = False) -> TrainResult:
    """Fine-tune on a built dataset and write the model folder (see module docstring)."""
    from transformers import set_seed

    model_dir = Path(model_dir)
    inputs = [data_dir, config.model.name_or_path, config.card.gold_file, config.training.threshold_file]
    check_output(model_dir, "train", inputs, overwrite)
    run_dir = model_dir.with_name(model_dir.name + ".run")
    check_not_an_input(run_dir, inputs)
    data = load_training_data(data_dir)  # all data checks happen before any model is loaded
    if config.training.threshold_file:
        data["thresholds"] = _threshold_split(config.training.threshold_file)
    if config.training.keep_base_thresholds:
        base_thresholds(config.model.name_or_path)  # a base without thresholds must fail before the run
    if config.card.gold_file and Path(config.card.gold_file).is_file():
        load_any_gold(config.card.gold_file)  # read again at the end; a bad file must fail before the run, not after
    if resume and not last_checkpoint(run_dir):
        raise UserError(f"{run_dir}: no checkpoint to resume from; start without --resume")
    set_seed(config.training.seed)
    if config.training.cueless_fraction < 1:
        data["train"] = drop_cueless(data["train"], config.training.cueless_fraction, config.training.seed,
                                     config.data.lexicon)
    if config.training.masked_cue_copies:
        data["train"] = add_masked_cue_copies(data["train"], config.data.lexicon)
    if config.training.oversample_min_positives:
        data["train"] = oversample(data["train"], config.training.oversample_min_positives, config.training.seed)
    preprocess = Preprocessor.from_config(config.model)
    model, tokenizer = create_model(config.model, preprocess(data["train"]["text"]), config.training.seed)
    _check_preprocessing(model.config, preprocess, config.model.name_or_path)
    model.config.preprocessing = preprocess.to_dict()
    splits = _tokenize(data, tokenizer, preprocess, config.model.max_length, config.training.soft_targets)
    train_vectors = np.array(data["train"]["label_vector"])
    pos_weight = np.ones(len(LABELS))
    if config.training.pos_weight == "auto":
        pos_weight = positive_weights(train_vectors, config.training.max_pos_weight)
        if (Path(data_dir) / DISTILLATION_RECORD).is_file():
            # BCE with positive weight w fits odds w times the data's, so teachers' scores already carry
            # their weighting; weighting again inflates the student's (README, "Distilling the runs' average")
            logger.warning("%s holds distilled targets: the teachers' scores already carry their positive "
                           "weights; pass --training.pos_weight=none not to count them twice", data_dir)
    interrupt = interrupt_callback()
    trainer = _make_trainer(model, tokenizer, _training_arguments(config, run_dir), splits, pos_weight,
                            config.training.early_stopping_patience, [interrupt, finite_loss_callback()],
                            config.training.confidence_weighting)
    try:
        output = trainer.train(resume_from_checkpoint=last_checkpoint(run_dir) if resume else None)
    finally:
        interrupt.restore()
    if interrupt.interrupted:
        logger.warning("training interrupted at step %d; checkpoint in %s; continue with --resume",
                       trainer.state.global_step, run_dir)
        return TrainResult(model_dir, {}, interrupted=True)
    check_finite(output.training_loss, trainer.state.global_step)
    metrics = _finish(trainer, splits, config, model_dir, data_dir, output, pos_weight, inputs, overwrite)
    if trainer.is_world_process_zero():
        shutil.rmtree(run_dir, ignore_errors=True)  # the run succeeded; checkpoints are no longer needed
    return TrainResult(model_dir, metrics)


def _check_preprocessing(model_config, preprocess: Preprocessor, name: str) -> None:
    """A checkpoint pretrained on preprocessed text must be fine-tuned on the same preprocessing."""
    saved = getattr(model_config, "preprocessing", None)
    if saved and saved != preprocess.to_dict():
        raise UserError(f"{name} was pretrained with preprocessing {saved.get('type')!r} but this config uses "
                        f"{preprocess.kind!r}: set --model.preprocessing={saved.get('type')} (and the same "
                        f"arabert_model_name) to fine-tune it on the text it learned")


def _record_pretraining(base: Path, model_dir: Path) -> None:
    """An encoder from scripts/pretrain.py: keep its pretraining config and figures with the model
    (the card describes the base from them, and the base folder may not travel with the model)."""
    if not (base / "pretrain_metrics.json").is_file():
        return
    import yaml

    record = {"config": yaml.safe_load((base / "pretrain_config.yaml").read_text("utf-8")),
              "metrics": json.loads((base / "pretrain_metrics.json").read_text("utf-8"))}
    atomic_write_json(model_dir / "pretraining.json", record)


def _evaluate_on_gold(model_dir: Path, gold_file: str) -> None:
    """Score the finished model and the rules on the card's gold set (for the card's results)."""
    if not gold_file or not Path(gold_file).is_file():
        logger.warning("card.gold_file %r not found; the card will have no gold results", gold_file)
        return
    from training.analysis.evaluation import evaluate_model

    results = evaluate_model(str(model_dir), gold_file)
    atomic_write_json(model_dir / "gold_eval.json", results)
    logger.info("gold %s: model macro F1 %.3f, rules %.3f", gold_file, results["model"]["macro_f1"],
                results["rules"]["macro_f1"])


def base_thresholds(name_or_path: str) -> dict[str, float]:
    """The tuned thresholds of a model folder train.py wrote (for `training.keep_base_thresholds`)."""
    folder = Path(name_or_path)
    config = read_model_config(folder) if (folder / "config.json").is_file() else {}
    thresholds = config.get("thresholds")
    if not isinstance(thresholds, dict) or set(thresholds) != set(LABELS):
        raise UserError(f"{name_or_path}: no tuned thresholds for {list(LABELS)} in its config.json (not a model "
                        f"train.py wrote); unset training.keep_base_thresholds to tune them on validation")
    check_labels_and_thresholds(config, folder / "config.json")
    return {label: float(thresholds[label]) for label in LABELS}


def _threshold_split(path: str):
    """The hand-labelled sentences of `training.threshold_file` as a split, tokenized with the others."""
    from datasets import Dataset

    rows = load_any_gold(path)
    logger.info("thresholds will be tuned on %d hand-labelled sentences of %s", len(rows), path)
    return Dataset.from_dict({"text": [r["text"] for r in rows], "label_vector": label_matrix(rows).astype(float).tolist()})


def choose_thresholds(training, base: str, validation: tuple, file_scores: tuple | None) -> tuple[dict[str, float], str | dict]:
    """The decision thresholds and where they came from: the base model's (`keep_base_thresholds`),
    the threshold file's (`file_scores`: gold and scores on it) for all labels or for
    `threshold_file_labels` with validation's for the rest, or validation's."""
    if training.keep_base_thresholds:
        return base_thresholds(base), "base model"
    if file_scores is None:
        return tune_thresholds(*validation), "validation"
    from_file = tune_thresholds(*file_scores)
    if not training.threshold_file_labels:
        return from_file, training.threshold_file
    thresholds = tune_thresholds(*validation)
    tuned_on = {label: "validation" for label in LABELS}
    for label in training.threshold_file_labels:
        thresholds[label], tuned_on[label] = from_file[label], training.threshold_file
    return thresholds, tuned_on


def _train_metrics_sample(train_split, size: int, seed: int):
    """A seeded sample of `size` training sentences (all of them when size is 0 or the split is smaller).

    metrics.json's training figures say how well the model fits its weak labels. 20,000 sentences
    of the ANT corpus hold about 2,000 attack and 1,000 casualty positives, enough for F1 to about
    +-0.01 (withdrawal_talks, with about 25, only roughly); scoring all 223k of a corpus run took 9
    of its 62 minutes."""
    if size == 0 or size >= len(train_split):
        return train_split
    picked = np.sort(np.random.default_rng(seed).choice(len(train_split), size=size, replace=False))
    return train_split.select(picked)


def _finish(trainer, splits, config: Config, model_dir: Path, data_dir, output, pos_weight, inputs,
            overwrite: bool) -> dict:
    """Tune thresholds, measure, and write the model folder atomically (main process only)."""
    val_gold, val_scores = _scores(trainer, splits["validation"])
    file_scores = _scores(trainer, splits["thresholds"]) if config.training.threshold_file else None
    thresholds, tuned_on = choose_thresholds(config.training, config.model.name_or_path, (val_gold, val_scores),
                                             file_scores)
    trainer.model.config.thresholds = thresholds
    metrics = {"train_loss": output.training_loss, "global_step": trainer.state.global_step,
               "best_checkpoint": Path(trainer.state.best_model_checkpoint or "").name,
               "thresholds": thresholds, "thresholds_tuned_on": tuned_on, "pos_weight": dict(zip(LABELS, map(float, pos_weight)))}
    train_sample = _train_metrics_sample(splits["train"], config.training.train_metrics_sentences, config.training.seed)
    for name in ("train", "validation"):
        gold, scores = (val_gold, val_scores) if name == "validation" else _scores(trainer, train_sample)
        pred = np.stack([scores[:, k] >= thresholds[label] for k, label in enumerate(LABELS)], axis=1)
        metrics[name] = multilabel_scores(gold >= 0.5, pred, list(LABELS), scores)
        metrics[name]["sentences"] = int(len(gold))
    metrics["train"]["sampled_from"] = len(splits["train"])
    if not trainer.is_world_process_zero():
        return metrics
    from training.hub.model_card import write_card

    with output_folder(model_dir, "train", inputs, overwrite) as tmp:
        trainer.model.save_pretrained(tmp, safe_serialization=True)
        trainer.processing_class.save_pretrained(tmp)
        save_config(config, tmp / "training_config.yaml")
        atomic_write_json(tmp / "metrics.json", metrics)
        _record_pretraining(Path(config.model.name_or_path), tmp)
        for report in ("lf_report.md", "lf_report.json", *REVISION_RECORDS):
            if (Path(data_dir) / report).is_file():
                shutil.copy(Path(data_dir) / report, tmp / report)
        _evaluate_on_gold(tmp, config.card.gold_file)
        write_card(tmp, local_path=str(model_dir))
    logger.info("validation macro F1 %.3f (thresholds %s); model in %s",
                metrics["validation"]["macro_f1"], thresholds, model_dir)
    return metrics

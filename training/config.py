"""Run configuration: one dataclass per section, loaded from YAML, overridable from the CLI.

The dataclass defaults below are the product's default run (fine-tuning AraBERT base); the
files in configs/ hold only what differs from them, plus the seed, named in every config.

`load_config("configs/tiny.yaml", ["--training.max_steps=10"])` reads the YAML file, applies
`--section.key=value` overrides (values parsed as YAML scalars), rejects unknown sections and
keys with the list of valid ones, checks types and ranges, and returns a `Config`. The
resolved config is saved next to every artifact with `save_config`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from training.errors import ConfigError
from training.io_utils import atomic_write_text, first_line
from training.labels import LABELS

# How rule votes become labels; training.weak.label_model implements each.
LABEL_MODELS = ("majority", "naive_bayes")


@dataclass
class DataConfig:
    min_words: int = 3                 # sentences shorter than this (in words) are merged or dropped
    label_model: str = "majority"      # how rule votes become labels: majority | naive_bayes
    validation_fraction: float = 0.15  # share of documents held out for validation (>= 1 document); on ANT,
                                       # 2.7k documents with 15% of every label's positives
    test_fraction: float = 0.0         # share of documents held out for test (0: no test split)
    lexicon: str = ""                  # path to a lexicon YAML replacing the packaged one ("" = packaged)
    gold_files: list[str] = field(default_factory=list)       # hand-labelled JSONL (e.g. review.py import): their
                                       # labels replace the weak labels of the same sentences (matched by text)
    test_gold_files: list[str] = field(default_factory=list)  # hand-labelled JSONL kept for evaluation only:
                                       # their sentences are left out of the dataset, so no model trains on them

    def __post_init__(self):
        require(self.min_words >= 1, "data.min_words must be >= 1")
        require(self.label_model in LABEL_MODELS, f"data.label_model must be one of {list(LABEL_MODELS)}")
        require(0 < self.validation_fraction < 1, "data.validation_fraction must be in (0, 1)")
        require(0 <= self.test_fraction < 1, "data.test_fraction must be in [0, 1)")
        require(self.validation_fraction + self.test_fraction < 1, "data: validation + test fractions must be < 1")
        require(not self.lexicon or Path(self.lexicon).is_file(), f"data.lexicon: no such file {self.lexicon!r}")
        for name in ("gold_files", "test_gold_files"):
            missing = [f for f in getattr(self, name) if not Path(f).is_file()]
            require(not missing, f"data.{name}: no such file {missing[0]!r}" if missing else "")

    def input_files(self) -> list[str]:
        """The files a build with this config reads besides its articles: the lexicon and the
        hand-label files. An output may be none of them, nor hold one (training.outputs)."""
        return [self.lexicon, *self.gold_files, *self.test_gold_files]


@dataclass
class ModelConfig:
    name_or_path: str = "aubmindlab/bert-base-arabertv02"  # Hub id or local folder of a BERT-family model
    preprocessing: str = "arabert"     # text preprocessing before tokenization: arabert | none
    arabert_model_name: str = "bert-base-arabertv02"       # which ArabertPreprocessor variant to apply
    max_length: int = 128              # tokens per sentence (longer ones are truncated)
    # Used only when name_or_path is "tiny": a BERT built from scratch, tokenizer trained on the data.
    tiny_vocab_size: int = 4000        # WordPiece vocabulary size
    tiny_hidden_size: int = 128        # hidden units
    tiny_layers: int = 2               # transformer layers
    tiny_heads: int = 2                # attention heads
    tiny_intermediate_size: int = 256  # feed-forward units

    def __post_init__(self):
        check_encoder_source(self)
        require(8 <= self.max_length <= 512, "model.max_length must be in [8, 512]")
        for name in ("tiny_vocab_size", "tiny_hidden_size", "tiny_layers", "tiny_heads", "tiny_intermediate_size"):
            require(getattr(self, name) >= 1, f"model.{name} must be >= 1")
        require(self.tiny_hidden_size % self.tiny_heads == 0, "model.tiny_hidden_size must be divisible by tiny_heads")


@dataclass
class OptimizerConfig:
    """The `training` fields fine-tuning and pretraining share (callbacks.training_arguments reads them)."""

    seed: int = 42                     # seeds Python, NumPy and torch; also the document split
    learning_rate: float = 3e-5        # peak AdamW learning rate
    num_train_epochs: float = 4.0      # passes over the training split
    max_steps: int = -1                # optimizer steps; overrides epochs when > 0
    per_device_train_batch_size: int = 32   # examples (sentences; blocks in pretraining) per step per device
    per_device_eval_batch_size: int = 128   # examples per evaluation batch per device
    gradient_accumulation_steps: int = 1    # steps whose gradients are summed before an update
    weight_decay: float = 0.01         # AdamW decoupled weight decay
    warmup_ratio: float = 0.1          # share of steps spent warming up the learning rate
    mixed_precision: str = "auto"      # auto (bf16/fp16 on a capable GPU) | no | bf16 | fp16
    logging_steps: int = 50            # optimizer steps between log lines
    save_total_limit: int = 2          # checkpoints kept in the run folder

    def __post_init__(self):
        require(0 <= self.seed < 2**32, "training.seed must be in [0, 2**32)")
        require(self.learning_rate > 0, "training.learning_rate must be > 0")
        require(self.max_steps == -1 or self.max_steps > 0, "training.max_steps must be -1 (use epochs) or > 0")
        require(self.num_train_epochs > 0 or self.max_steps > 0, "training: set num_train_epochs > 0 or max_steps > 0")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps", "save_total_limit"):
            require(getattr(self, name) >= 1, f"training.{name} must be >= 1")
        require(self.weight_decay >= 0, "training.weight_decay must be >= 0")
        require(0 <= self.warmup_ratio < 1, "training.warmup_ratio must be in [0, 1)")
        require(self.mixed_precision in ("auto", "no", "bf16", "fp16"), "training.mixed_precision must be auto|no|bf16|fp16")


@dataclass
class TrainingConfig(OptimizerConfig):
    soft_targets: bool = True          # train on label-model probabilities (True) or 0/1 labels
    confidence_weighting: bool = False # weigh each soft target by the label model's certainty |2p - 1|
    pos_weight: str = "auto"           # BCE positive weight per label: auto (neg/pos, capped) | none
    max_pos_weight: float = 10.0       # cap on the automatic positive weight
    oversample_min_positives: int = 0  # repeat a rare label's training positives until it has this many (0 = off)
    cueless_fraction: float = 1.0      # share of the training sentences no rule voted on (cueless negatives) kept,
                                       # seeded; the rest are dropped so cue sentences weigh more (1 = keep all)
    masked_cue_copies: bool = False    # add copies of the training positives on which two or more of a label's rules
                                       # fire, one per rule with its cue words deleted, kept when the rules still give
                                       # them their labels: the model learns the rarer rules' context (cue_masking.py)
    threshold_file: str = ""           # hand-labelled JSONL on which to tune the decision thresholds instead of
                                       # the weak validation labels ("" = validation); not a file you test on
    threshold_file_labels: list[str] = field(default_factory=list)  # the labels threshold_file tunes ([] = all);
                                       # the others keep validation's, e.g. [withdrawal_talks], whose weak labels
                                       # are the cue words alone, while the others' hold thousands of real cases
    keep_base_thresholds: bool = False # keep the thresholds of model.name_or_path (a model train.py wrote, as in
                                       # adaptation) instead of tuning them on a validation split of a few hundred articles
    early_stopping_patience: int = 2   # epochs without validation macro-F1 gain before stopping
    group_by_length: bool = True       # batch sentences of similar length (less padding)
    train_metrics_sentences: int = 20000  # training sentences (a seeded sample) scored at the end for metrics.json's
                                       # fit to the weak labels; 0 = all (on 223k sentences that is 15% of the run)
    dataloader_num_workers: int = 0    # background workers for batching

    def __post_init__(self):
        super().__post_init__()
        require(self.dataloader_num_workers >= 0, "training.dataloader_num_workers must be >= 0")
        require(self.pos_weight in ("auto", "none"), "training.pos_weight must be 'auto' or 'none'")
        require(self.max_pos_weight >= 1, "training.max_pos_weight must be >= 1")
        require(self.oversample_min_positives >= 0, "training.oversample_min_positives must be >= 0")
        require(0 < self.cueless_fraction <= 1, "training.cueless_fraction must be in (0, 1]")
        require(self.soft_targets or not self.confidence_weighting,
                "training.confidence_weighting weighs soft targets by their certainty; it needs training.soft_targets=true")
        require(not self.threshold_file or Path(self.threshold_file).is_file(),
                f"training.threshold_file: no such file {self.threshold_file!r}")
        require(self.early_stopping_patience >= 0, "training.early_stopping_patience must be >= 0")
        require(self.train_metrics_sentences >= 0, "training.train_metrics_sentences must be >= 0 (0 = all)")
        require(not (self.keep_base_thresholds and self.threshold_file),
                "training.keep_base_thresholds and training.threshold_file both choose the thresholds: set one")
        unknown = sorted(set(self.threshold_file_labels) - set(LABELS))
        require(not unknown, f"training.threshold_file_labels: unknown labels {unknown}; expected some of {list(LABELS)}")
        require(self.threshold_file or not self.threshold_file_labels,
                "training.threshold_file_labels names the labels training.threshold_file tunes: set that file too")


@dataclass
class CardConfig:
    license: str = "apache-2.0"        # license of the published model
    gold_file: str = "seeds/gold.jsonl"     # gold set whose results go into the card's model-index
    gold_name: str = "seed articles (hand-labelled)"  # how the card names that gold set

    def __post_init__(self):
        require(bool(self.license), "card.license must not be empty")


class Sections:
    """A config schema: one dataclass field per YAML section."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Config(Sections):
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    card: CardConfig = field(default_factory=CardConfig)


def require(ok: bool, message: str) -> None:
    """Raise a ConfigError with `message` unless `ok`."""
    if not ok:
        raise ConfigError(message)


def check_encoder_source(m) -> None:
    """The checks of a `model` section's encoder fields, shared with pretraining's."""
    require(bool(m.name_or_path), "model.name_or_path must not be empty")
    require(m.preprocessing in ("arabert", "none"), "model.preprocessing must be 'arabert' or 'none'")


def _coerce(value, annotation, where: str):
    """Check (and mildly coerce: int -> float) a value against a simple type annotation."""
    if annotation == "list[str]":
        if isinstance(value, str):  # one path given on the command line
            value = [value] if value else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return value
    target = {"int": int, "float": float, "str": str, "bool": bool}.get(annotation, annotation)
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if target is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    if target is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number, got {value!r}")
    if target is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, target) or (target is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {target.__name__}, got {value!r}")
    return value


def _build_section(cls, values: dict, section: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(f'{section}.{k}' for k in unknown)}; "
                          f"valid keys in '{section}': {', '.join(fields)}")
    kwargs = {k: _coerce(v, fields[k].type, f"{section}.{k}") for k, v in values.items()}
    return cls(**kwargs)


def _sections(schema) -> dict:
    """{section name: its dataclass} of a config schema such as `Config`."""
    return {f.name: f.default_factory for f in dataclasses.fields(schema)}


def parse_overrides(overrides: list[str]) -> dict[str, dict]:
    """`["--training.max_steps=10"]` -> `{"training": {"max_steps": 10}}`."""
    parsed: dict[str, dict] = {}
    for item in overrides:
        body = item[2:] if item.startswith("--") else item
        key, sep, raw = body.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ConfigError(f"bad override {item!r}; expected --section.key=value")
        parsed.setdefault(section, {})[name] = yaml.safe_load(raw) if raw != "" else ""
    return parsed


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, schema=Config):
    """Load a YAML config (or the defaults when `path` is None) and apply overrides.

    `schema` is the dataclass of sections: `Config` for the five commands, `PretrainConfig`
    for pretraining."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML ({first_line(err, None)})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of sections")
    for section, values in parse_overrides(overrides or []).items():
        raw.setdefault(section, {}).update(values)
    known = _sections(schema)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown section(s) {unknown}; valid sections: {', '.join(known)}")
    sections = {}
    for name, factory in known.items():
        values = raw.get(name) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"section '{name}' must be a mapping")
        sections[name] = _build_section(type(factory()), values, name)
    return schema(**sections)


def save_config(config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True))


def config_from_dict(values: dict, schema=Config):
    """Rebuild a config from a saved resolved one (e.g. a model folder's training_config.yaml)."""
    return schema(**{name: _build_section(type(f()), values.get(name) or {}, name)
                     for name, f in _sections(schema).items()})


__all__ = ["Config", "DataConfig", "ModelConfig", "TrainingConfig", "CardConfig",
           "load_config", "save_config", "parse_overrides", "config_from_dict"]

"""The pretraining run config: masked language modelling on unlabelled articles.

Loaded like the fine-tuning config (`load_config(path, overrides, schema=PretrainConfig)`):
YAML sections, `--section.key=value` overrides, unknown keys rejected, ranges checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.config import OptimizerConfig, Sections, check_encoder_source, require

SCRATCH = "scratch"


@dataclass
class PretrainDataConfig:
    min_words: int = 3                 # sentences shorter than this (in words) are merged or dropped, as in build_dataset
    encoding: str = "auto"             # text encoding of the inputs (auto: detected), as build_dataset's --encoding
    heldout_fraction: float = 0.02     # share of documents held out to measure MLM loss and perplexity

    def __post_init__(self):
        require(self.min_words >= 1, "data.min_words must be >= 1")
        require(0 < self.heldout_fraction < 0.5, "data.heldout_fraction must be in (0, 0.5)")


@dataclass
class PretrainModelConfig:
    name_or_path: str = SCRATCH        # "scratch": a new BERT and a vocabulary trained on the corpus; else a
                                       # checkpoint (Hub id or folder) whose pretraining continues (DAPT)
    preprocessing: str = "none"        # text preprocessing before tokenization: none | arabert (use the
                                       # fine-tuning config's choice: the model learns the text it will see)
    arabert_model_name: str = "bert-base-arabertv02"  # which ArabertPreprocessor variant, when arabert
    max_length: int = 128              # tokens per packed block of consecutive sentences
    # Used only from scratch:
    vocab_size: int = 16000            # WordPiece vocabulary size
    min_frequency: int = 2             # a word must occur this often to shape the vocabulary
    hidden_size: int = 256             # hidden units
    layers: int = 4                    # transformer layers
    heads: int = 4                     # attention heads
    intermediate_size: int = 1024      # feed-forward units
    dropout: float = 0.0               # hidden and attention dropout; off: a run of one or two passes over the
                                       # corpus cannot overfit it, and dropout slows the escape from the early
                                       # plateau where the model predicts only word frequencies

    def __post_init__(self):
        check_encoder_source(self)
        require(16 <= self.max_length <= 512, "model.max_length must be in [16, 512]")
        require(self.vocab_size >= 100, "model.vocab_size must be >= 100")
        for name in ("min_frequency", "hidden_size", "layers", "heads", "intermediate_size"):
            require(getattr(self, name) >= 1, f"model.{name} must be >= 1")
        require(self.hidden_size % self.heads == 0, "model.hidden_size must be divisible by model.heads")
        require(0 <= self.dropout < 1, "model.dropout must be in [0, 1)")


@dataclass
class PretrainTrainingConfig(OptimizerConfig):
    # The optimizer fields of training/config.py, with pretraining's own defaults:
    learning_rate: float = 5e-4        # from scratch; ~5e-5 to continue a checkpoint
    num_train_epochs: float = 1.0      # passes over the training blocks
    per_device_train_batch_size: int = 64
    per_device_eval_batch_size: int = 64
    warmup_ratio: float = 0.05
    logging_steps: int = 20
    # Pretraining's own:
    mlm_probability: float = 0.15      # share of words masked (all to [MASK] with whole-word masking; else 80/10/10)
    whole_word_mask: bool = True       # mask every piece of a chosen word, not single pieces
    masked_positions_only: bool = True # compute the vocabulary head only where a token is masked (the loss
                                       # needs nothing else); false: at every position, as BertForMaskedLM does
    eval_steps: int = 250              # optimizer steps between held-out evaluations
    save_steps: int = 250              # optimizer steps between checkpoints (what --resume continues from)

    def __post_init__(self):
        super().__post_init__()
        require(self.eval_steps >= 1 and self.save_steps >= 1, "training.eval_steps and save_steps must be >= 1")
        require(0 < self.mlm_probability < 1, "training.mlm_probability must be in (0, 1)")


@dataclass
class PretrainConfig(Sections):
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    model: PretrainModelConfig = field(default_factory=PretrainModelConfig)
    training: PretrainTrainingConfig = field(default_factory=PretrainTrainingConfig)

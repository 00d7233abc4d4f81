"""What every Trainer run here shares: the TrainingArguments of a config's optimizer fields, the
precision choice, Ctrl-C to a resumable checkpoint, the stop on a diverged loss, and finding the
last checkpoint (fine-tuning and pretraining use them)."""

from __future__ import annotations

import logging
import math
import signal
from pathlib import Path

from training.errors import UserError

logger = logging.getLogger(__name__)


def mixed_precision(choice: str) -> dict:
    """TrainingArguments precision flags for a config choice (auto: bf16, else fp16, on a GPU)."""
    import torch

    if choice == "auto":
        if not torch.cuda.is_available():
            return {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    return {"bf16": True} if choice == "bf16" else {"fp16": True} if choice == "fp16" else {}


def training_arguments(t, run_dir: Path, **specific):
    """TrainingArguments from a config's `training` section (the fields both configs share, see
    `training.config.OptimizerConfig`) plus the run's own `specific` arguments."""
    from transformers import TrainingArguments

    precision = mixed_precision(t.mixed_precision)
    logger.info("mixed precision: %s", next(iter(precision), "fp32"))
    return TrainingArguments(
        output_dir=str(run_dir), seed=t.seed, data_seed=t.seed, learning_rate=t.learning_rate,
        num_train_epochs=t.num_train_epochs, max_steps=t.max_steps,
        per_device_train_batch_size=t.per_device_train_batch_size,
        per_device_eval_batch_size=t.per_device_eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps, weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float below 1 is a share of the steps in transformers 5
        save_total_limit=t.save_total_limit, logging_steps=t.logging_steps, report_to="none", disable_tqdm=False,
        logging_nan_inf_filter=False,  # a diverged run must show (and stop on) its NaN loss, not hide it
        **precision, **specific)


def interrupt_callback():
    """Turns Ctrl-C into "save a checkpoint at the end of this step and stop"."""
    from transformers import TrainerCallback

    class SaveOnInterrupt(TrainerCallback):
        def __init__(self):
            self.interrupted = False
            self._previous = signal.signal(signal.SIGINT, self._handle)

        def _handle(self, signum, frame):
            if self.interrupted:  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            logger.warning("interrupt: saving a checkpoint at the end of this step (Ctrl-C again to abort)")
            self.interrupted = True

        def on_step_end(self, args, state, control, **kwargs):
            if self.interrupted:
                control.should_save = True
                control.should_training_stop = True
            return control

        def restore(self):
            signal.signal(signal.SIGINT, self._previous)

    return SaveOnInterrupt()


def last_checkpoint(run_dir: Path) -> str | None:
    """The newest checkpoint folder in a run folder, or None."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(run_dir)) if run_dir.is_dir() else None


def check_finite(value: float, step: int, what: str = "loss") -> None:
    """Raise a UserError naming the quantity when a logged value is NaN or infinite."""
    if not math.isfinite(value):
        name = {"loss": "training loss", "grad_norm": "gradient norm", "eval_loss": "validation loss"}[what]
        raise UserError(f"the {name} became {value} at step {step}; no model was written: lower "
                        f"training.learning_rate (or use mixed_precision=no) and train again")


def finite_loss_callback():
    """Stops a diverged run at its first logged non-finite loss instead of saving a NaN model."""
    from transformers import TrainerCallback

    class FiniteLoss(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            for key in ("loss", "grad_norm", "eval_loss"):
                if logs and key in logs:
                    check_finite(float(logs[key]), state.global_step, key)

    return FiniteLoss()

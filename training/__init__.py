"""Arabic news event classifier: weak labels from Arabic rules, fine-tuned AraBERT, batch inference.

The stages, one module each: `text` and `corpus` (cleaning, splitting, reading inputs),
`labeling`, `label_model` and `lf_report` (weak supervision), `dataset` (building the data),
`config`, `modeling` and `trainer` (training), `evaluation`, `inference` (prediction),
`model_card` and `publish` (the Hub).
"""

__version__ = "0.1.0"
__all__ = ["EventClassifier", "LABELS"]

from training.labeling import LABELS  # noqa: E402


def __getattr__(name):
    # Importing torch/transformers takes seconds; load the classifier only when asked for.
    if name == "EventClassifier":
        from training.inference import EventClassifier

        return EventClassifier
    raise AttributeError(name)

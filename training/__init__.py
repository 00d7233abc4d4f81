"""Arabic news event classifier: weak labels from Arabic rules, fine-tuned AraBERT, batch inference.

The package has one room per stage, in the order data flows; a room imports only the rooms
before it and the base modules (tests/test_layout.py checks this):

    base      errors (UserError, the root of every user-facing error), labels, config,
              pretrain_config, io_utils (atomic writes, JSONL, the CLI boundary), outputs
              (the output-folder policy), metrics (the local `evaluate` metric)
    inputs    articles in, cleaned and split into sentences; hand-labelled gold files
    weak      lexicon, labeling functions, label model, the rules' analysis table
    data      the document split and the dataset build (parallel and sharded)
    model     tokenizer vocabulary, the BERT classifier, the model folder, EventClassifier
    analysis  evaluation against gold and the model-vs-rules disagreements
    hub       the model card and publishing
    fit       pretraining, fine-tuning, self-training (a run evaluates itself and writes its card)
    serving   batch prediction over files, resumable and sharded
    review    human review through Label Studio

`EventClassifier` (prediction lives on the model object) and `LABELS` are exported here.
"""

__version__ = "0.1.0"
__all__ = ["EventClassifier", "LABELS"]

from training.labels import LABELS  # noqa: E402


def __getattr__(name):
    # Importing torch/transformers takes seconds; load the classifier only when asked for.
    if name == "EventClassifier":
        from training.model.inference import EventClassifier

        return EventClassifier
    raise AttributeError(name)

"""Prediction for Python users: `EventClassifier.from_pretrained(DIR_OR_HUB_ID).predict(texts)`.

Works on any transformers sequence-classification folder. From the folder's config.json it
applies the saved preprocessing (none when absent) and per-label thresholds (0.5 when
absent), exactly as in training. Batches are formed from length-sorted sentences with
dynamic padding, so a batch of short sentences does not pay for a long one. On CPU, long jobs
switch to a torch.compile'd model (see `compile`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from training.errors import UserError
from training.io_utils import first_line, hub_id_problem
from training.model.model_folder import check_model_folder, check_vocabulary
from training.model.modeling import Preprocessor, thresholds_of
from training.inputs.text import split_article

logger = logging.getLogger(__name__)
DEFAULT_BATCH = {"cuda": 512, "mps": 64, "cpu": 12}  # sentences per batch; on CPU small batches keep activations in cache
# compile="auto" compiles once this many sentences have been classified (~4.5 minutes on 2 CPU
# cores), so short runs never pay the ~30 s of compiling; long ones (the streaming corpus jobs)
# earn it back with the 5-10% speed-up after another 5-10 minutes.
COMPILE_AFTER_SENTENCES = 10_000


def _prefetch(iterator, depth: int = 2):
    """Run `iterator` in a background thread, `depth` items ahead (overlaps CPU prep with GPU work)."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def fill():
        try:
            for item in iterator:
                items.put(item)
        finally:
            items.put(done)

    threading.Thread(target=fill, daemon=True).start()
    while (item := items.get()) is not done:
        yield item


@dataclass
class SentencePrediction:
    text: str
    labels: list[str]
    scores: dict[str, float]
    model_input: str  # the exact string given to the tokenizer


@dataclass
class ArticlePrediction:
    doc_id: str
    sentences: list[SentencePrediction]
    summary: dict[str, list[int]] = field(default_factory=dict)  # label -> indices of sentences with it


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def pick_device(device: str = "auto") -> str:
    """"auto": CUDA, then Apple MPS, then CPU; a named device must exist on this machine."""
    import torch

    if not _DEVICE.match(device):
        raise UserError(f"--device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {device}: torch sees no CUDA GPU on this machine; use --device cpu or auto")
        index, count = int(device.partition(":")[2] or 0), torch.cuda.device_count()
        if index >= count:
            raise UserError(f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    if device == "mps" and not mps:
        raise UserError("--device mps: Apple's MPS backend is not available here; use --device cpu or auto")
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if mps:
        return "mps"
    return "cpu"


def _pick_dtype(device: str, dtype):
    import torch

    if dtype is not None:
        return getattr(torch, dtype) if isinstance(dtype, str) else dtype
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


class EventClassifier:
    """A multi-label sentence classifier with its preprocessing and thresholds."""

    def __init__(self, model, tokenizer, preprocessor: Preprocessor, thresholds: dict[str, float], device: str,
                 max_length: int = 128, compile: bool | str = False):
        if compile not in (True, False, "auto"):
            raise UserError(f"compile must be True, False or 'auto', not {compile!r}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor
        self.labels = [model.config.id2label[i] for i in sorted(model.config.id2label)]
        self.thresholds = np.array([thresholds.get(label, 0.5) for label in self.labels])
        self.device = device
        self.max_length = max_length
        # Sentences to classify before compiling: None never, 0 from the start. "auto" compiles on
        # the CPU only, where it was measured; dynamically quantized int8 layers do not compile.
        auto = device == "cpu" and not _is_quantized(model)
        self.compile_after = {True: 0, False: None, "auto": COMPILE_AFTER_SENTENCES if auto else None}[compile]
        self._sentences_seen = 0
        self._compiled = None
        self.source: str | None = None  # the folder or Hub id it was loaded from (set by from_pretrained)

    @classmethod
    def from_pretrained(cls, path_or_hub_id: str, device: str = "auto", dtype=None, int8: bool = False,
                        max_length: int | None = None, compile: bool | str = "auto") -> "EventClassifier":
        """Load a model folder or Hub id; `int8` quantizes the linear layers dynamically (CPU only).

        `compile`: True compiles the model with torch.compile before the first batch, False never;
        "auto" compiles on the CPU once COMPILE_AFTER_SENTENCES sentences have been classified.
        """
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path_or_hub_id)
        local_config = check_model_folder(path) if path.exists() else None
        if local_config is None and hub_id_problem(path_or_hub_id):
            raise UserError(f"{path_or_hub_id}: no such model folder (and not a Hub id of the form owner/name)")
        if int8 and device not in ("auto", "cpu"):
            raise UserError("--int8 runs on the CPU only; use --device cpu")
        device = "cpu" if int8 else pick_device(device)
        torch_dtype = _pick_dtype(device, dtype)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path_or_hub_id)
            model, loading = AutoModelForSequenceClassification.from_pretrained(
                path_or_hub_id, dtype=torch_dtype, output_loading_info=True)
        except (OSError, ValueError, RuntimeError) as err:
            raise UserError(f"cannot load model {path_or_hub_id!r}: {first_line(err, 300)}") from None
        missing = sorted(loading.get("missing_keys") or [])
        if missing:  # transformers fills them with random values and only warns
            raise UserError(f"{path_or_hub_id}: the weights lack {len(missing)} tensors the model needs (e.g. "
                            f"{missing[0]}): not a fine-tuned classifier, or an incomplete copy")
        if local_config is not None:
            check_vocabulary(path, tokenizer, local_config)
        if int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        model.to(device)
        logger.info("model %s on %s (%s%s)", path_or_hub_id, device, str(torch_dtype).replace("torch.", ""),
                    ", int8 linear layers" if int8 else "")
        limit = max_length or min(getattr(tokenizer, "model_max_length", 512) or 512, 512)
        classifier = cls(model, tokenizer, Preprocessor.from_model_config(model.config),
                         thresholds_of(model.config), device, limit, compile)
        classifier.source = path_or_hub_id
        return classifier

    def fingerprint(self) -> dict:
        """Identifies the model and its settings (for safe resumes): folder or Hub id, config and weight files."""
        found = {"source": str(Path(self.source).resolve()) if self.source and Path(self.source).exists()
                 else self.source, "int8": _is_quantized(self.model)}
        if self.source and Path(self.source).is_dir():
            for f in sorted(Path(self.source).glob("*.json")) + sorted(Path(self.source).glob("*.safetensors")):
                st = f.stat()
                found[f.name] = (hashlib.sha256(f.read_bytes()).hexdigest() if f.suffix == ".json"
                                 else f"{st.st_size}:{st.st_mtime_ns}")
        return found

    def default_batch_size(self) -> int:
        return DEFAULT_BATCH.get(self.device.split(":")[0], 32)

    def _padded_batches(self, encoded: list[list[int]], order: np.ndarray, batch_size: int):
        """Yield (indices, input_ids, attention_mask) of length-sorted, dynamically padded batches."""
        import torch

        pad_id = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
            if self.device.startswith("cuda"):
                ids_t, mask_t = ids_t.pin_memory(), mask_t.pin_memory()
            yield idx, ids_t, mask_t

    def predict_scores(self, texts: Sequence[str], batch_size: int | None = None) -> tuple[np.ndarray, list[str]]:
        """Sigmoid probabilities [n, labels] and the preprocessed model inputs, in input order.

        On a GPU, batches are padded by a background thread while the previous one runs, and
        logits stay on the device until the end (one copy back, no sync per batch).
        """
        import torch

        inputs = self.preprocessor(texts)
        if not inputs:
            return np.zeros((0, len(self.labels))), []
        batch_size = batch_size or self.default_batch_size()
        encoded = self.tokenizer(inputs, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        batches = self._padded_batches(encoded, order, batch_size)
        if self.device.startswith("cuda"):
            batches = _prefetch(batches)
        outputs, positions = [], []
        with torch.inference_mode():
            for idx, ids, mask in batches:
                ids = ids.to(self.device, non_blocking=True)
                mask = mask.to(self.device, non_blocking=True)
                outputs.append(self._logits(ids, mask).float())
                positions.append(idx)
            probs = torch.sigmoid(torch.cat(outputs)).cpu().numpy()
        scores = np.zeros((len(inputs), len(self.labels)), dtype=np.float32)
        scores[np.concatenate(positions)] = probs
        return scores, inputs

    def _logits(self, ids, mask):
        """The model's logits for one batch, from the compiled model once it is due (see `compile`)."""
        self._sentences_seen += len(ids)
        if self._compiled is None and self.compile_after is not None and self._sentences_seen > self.compile_after:
            logger.info("compiling the model with torch.compile for the rest of this run (once, ~30 s on 2 CPU cores)")
            self._compiled = _compile(self.model)
        # torch.compile specializes sizes 0 and 1, so a one-sentence batch (the last one, or a
        # one-sentence call) would cost a second compile; it runs eagerly instead.
        if self._compiled is not None and len(ids) > 1:
            try:
                return self._compiled(input_ids=ids, attention_mask=mask).logits
            except Exception as err:  # compiler failures come in many types; all mean "stay eager"
                logger.warning("torch.compile failed, going on without it: %s", first_line(err))
                self._compiled, self.compile_after = None, None  # never try again
        return self.model(input_ids=ids, attention_mask=mask).logits

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> list[SentencePrediction]:
        """One prediction per sentence: labels above the per-label thresholds, and all scores."""
        texts = list(texts)
        scores, inputs = self.predict_scores(texts, batch_size)
        return [self._prediction(t, s, m) for t, s, m in zip(texts, scores, inputs)]

    def _prediction(self, text: str, scores: np.ndarray, model_input: str) -> SentencePrediction:
        labels = [label for label, s, t in zip(self.labels, scores, self.thresholds) if s >= t]
        return SentencePrediction(text, labels, {label: round(float(s), 4) for label, s in zip(self.labels, scores)},
                                  model_input)

    def predict_articles(self, articles: Iterable[str | tuple[str, str]], batch_size: int | None = None,
                         min_words: int = 3) -> list[ArticlePrediction]:
        """Clean and split articles (as build_dataset does), classify, and summarize per article.

        `articles` are texts or (doc_id, text) pairs.
        """
        docs = [(str(i), a) if isinstance(a, str) else a for i, a in enumerate(articles)]
        split = [(doc_id, split_article(text, min_words)) for doc_id, text in docs]
        flat = [s for _, sentences in split for s in sentences]
        predictions = iter(self.predict(flat, batch_size))
        results = []
        for doc_id, sentences in split:
            preds = [next(predictions) for _ in sentences]
            summary: dict[str, list[int]] = {}
            for i, p in enumerate(preds):
                for label in p.labels:
                    summary.setdefault(label, []).append(i)
            results.append(ArticlePrediction(doc_id, preds, summary))
        return results


def _is_quantized(model) -> bool:
    import torch

    return any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.modules())


def _compile(model):
    """torch.compile for all batch shapes at once, with the weights frozen as constants.

    Freezing lets inductor pre-pack the weights for oneDNN and fuse bias, GELU and the residual
    adds into the matrix multiplies (it applies to inference-mode calls, all we make). Measured at
    AraBERT base's shape on 2 cores: 5-10% more sentences/s than eager.
    """
    import torch
    import torch._inductor.config as inductor_config

    compiled = torch.compile(model, dynamic=True)

    def forward(**inputs):
        with inductor_config.patch(freezing=True):  # compiling is lazy: it happens inside the call
            return compiled(**inputs)

    return forward

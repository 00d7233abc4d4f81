"""False alarms and missed events over a whole predicted corpus, from a hand-labelled sample.

A `predict.py` run gives every sentence the model's labels, and its disagreements file the rules'
labels where they differ. That cuts the corpus into four strata: the model flags a label the rules
do not (`model_only`), the other way round (`rules_only`), both flag the same labels (`both`),
neither flags any (`neither`). A gold file of sentences sampled from each stratum (its `sample`
field names the stratum) gives each stratum's error rates, and weighting them by the strata's
sizes gives the corpus's: the share of its sentences on which each system flags a label the
sentence does not carry (false alarms), and misses one it does. Sampling the small disagreement
strata heavily is what makes this cheap: nearly all the errors sit there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.analysis.bootstrap import CONFIDENCE, RESAMPLES
from training.errors import InputError
from training.io_utils import read_jsonl, stream_jsonl
from training.labels import LABELS

STRATA = ("model_only", "rules_only", "both", "neither")
SYSTEMS = ("model", "rules")
KINDS = ("tp", "fp", "fn")  # per label: a true positive, a false alarm, a miss
SENTENCE_ERRORS = {"false_alarm": "fp", "miss": "fn"}  # a sentence's error: that kind on any of its labels


def stratum(model: set[str], rules: set[str]) -> str:
    """The stratum of a sentence from the two systems' labels."""
    if model - rules:
        return "model_only"
    if rules - model:
        return "rules_only"
    return "both" if model else "neither"


@dataclass
class AlarmEstimate:
    sizes: dict[str, int]                 # sentences of the corpus in each stratum
    outcomes: dict[str, np.ndarray]       # stratum -> [gold sentences, systems, labels, KINDS] 0/1: what each
                                          # system's answer on each label of each labelled sentence was
    reweighted: bool = False              # strata are those of the run the sample was drawn from, not this one's

    @property
    def corpus_sentences(self) -> int:
        return sum(self.sizes.values())

    @property
    def sampled(self) -> dict[str, int]:
        """Gold sentences in each stratum."""
        return {s: len(self.outcomes[s]) for s in STRATA}

    def sentence_errors(self, stratum: str, system: str, kind: str) -> int:
        """Labelled sentences of `stratum` on which `system` has a `kind` error: "false_alarm", a label
        the sentence does not carry; "miss", one it carries and the system does not flag."""
        column = self.outcomes[stratum][:, SYSTEMS.index(system), :, KINDS.index(SENTENCE_ERRORS[kind])]
        return int(column.any(axis=1).sum())

    def rate(self, system: str, kind: str) -> float:
        """Estimated share of the corpus's sentences with a `kind` error ("false_alarm"/"miss") of `system`."""
        sampled = self.sampled
        estimated = sum(self.sizes[s] * self.sentence_errors(s, system, kind) / sampled[s]
                        for s in STRATA if sampled[s])
        return estimated / self.corpus_sentences

    def corpus_counts(self, outcomes: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Estimated [systems, labels, KINDS] counts over the corpus: each stratum's sample mean times its
        size. `outcomes` replaces the labelled sample (a bootstrap redraw of it)."""
        total = np.zeros((len(SYSTEMS), len(LABELS), len(KINDS)))
        for s, rows in (self.outcomes if outcomes is None else outcomes).items():
            if len(rows):
                total += self.sizes[s] * rows.mean(axis=0)
        return total

    def label_count(self, system: str, label: str, kind: str) -> float:
        """Estimated number of the corpus's sentences that are a `kind` ("tp"/"fp"/"fn") of `system` on `label`."""
        return float(self.corpus_counts()[SYSTEMS.index(system), LABELS.index(label), KINDS.index(kind)])

    def label_scores(self, system: str, label: str) -> dict[str, float]:
        """Estimated precision, recall and F1 of `system` on `label` over the corpus (0 where undefined)."""
        counts = self.corpus_counts()[SYSTEMS.index(system), LABELS.index(label)]
        tp, fp, fn = counts
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        return {"precision": float(precision), "recall": float(recall), "f1": float(_f1(counts))}


def _f1(counts: np.ndarray) -> np.ndarray:
    """F1 of [..., KINDS] counts (0 where there is nothing to score)."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)


def _redrawn_counts(estimate: AlarmEstimate, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[resamples, systems, labels, KINDS] corpus counts, each from a stratified bootstrap redraw of the
    labelled sample: every stratum's labelled sentences resampled with replacement, its size kept."""
    return np.stack([estimate.corpus_counts({s: rows[rng.integers(0, len(rows), len(rows))]
                                             for s, rows in estimate.outcomes.items()})
                     for _ in range(resamples)])


def _differences(counts: np.ndarray) -> np.ndarray:
    """Model F1 minus rules F1, per label, of [..., systems, labels, KINDS] counts."""
    f1 = _f1(counts)
    return f1[..., 0, :] - f1[..., 1, :]


def _interval(point: np.ndarray, redrawn: np.ndarray, confidence: float) -> dict[str, dict[str, float]]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(redrawn, [tail, 100 - tail], axis=0)
    return {label: {"difference": float(point[k]), "low": float(low[k]), "high": float(high[k])}
            for k, label in enumerate(LABELS)}


def f1_difference_intervals(estimate: AlarmEstimate, resamples: int = RESAMPLES, seed: int = 0,
                            confidence: float = CONFIDENCE) -> dict[str, dict[str, float]]:
    """Per label: the model's estimated corpus F1 minus the rules', with a stratified bootstrap interval.

    Each redraw resamples every stratum's labelled sentences with replacement (the strata sizes stay),
    so the interval carries the sampling noise of the hand-labelled sample, stratum by stratum.
    """
    redrawn = _redrawn_counts(estimate, resamples, np.random.default_rng(seed))
    return _interval(_differences(estimate.corpus_counts()), _differences(redrawn), confidence)


def pooled_f1_differences(estimates: list[AlarmEstimate], resamples: int = RESAMPLES, seed: int = 0,
                          confidence: float = CONFIDENCE) -> dict[str, dict]:
    """Per label: model minus rules corpus F1 from several independent labelled samples of one run, pooled.

    Each sample's estimated counts are unbiased for the same corpus, so any weighted mean of them is
    too. Per label, each sample weighs the inverse of the bootstrap variance of its own F1
    difference: a sample that is thin where this run disagrees with the rules (one drawn from
    another run's strata) counts less. A sample with no spread on a label saw too few distinct
    outcomes to measure it (no positive at all, say), which is no certainty, so such a label
    weighs every sample alike. The interval redraws every sample independently and pools each
    redraw with the same weights.
    """
    if len({e.corpus_sentences for e in estimates}) > 1:
        raise InputError(f"the samples estimate corpora of {sorted({e.corpus_sentences for e in estimates})} "
                         f"sentences: pooling needs samples of the same predict run")
    rng = np.random.default_rng(seed)
    redrawn = np.stack([_redrawn_counts(e, resamples, rng) for e in estimates])  # [samples, resamples, S, L, K]
    weights = _inverse_variance_weights(_differences(redrawn).var(axis=1))       # [samples, labels]
    point = _pool(weights, np.stack([e.corpus_counts() for e in estimates]))
    result = _interval(_differences(point), _differences(_pool(weights, redrawn)), confidence)
    for k, label in enumerate(LABELS):
        result[label]["weights"] = [float(w) for w in weights[:, k]]
    return result


def _pool(weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sum over samples of [samples, labels] weights times [samples, ..., systems, labels, KINDS] counts."""
    shape = (weights.shape[0],) + (1,) * (counts.ndim - 3) + (weights.shape[1], 1)
    return (weights.reshape(shape) * counts).sum(axis=0)


def _inverse_variance_weights(variances: np.ndarray) -> np.ndarray:
    """[samples, labels] weights summing to 1 per label, each sample's 1/variance; equal weights for a
    label on which some sample has no variance."""
    flat = variances <= 1e-12
    inverse = np.where(flat.any(axis=0), 1.0, 1 / np.where(flat, 1.0, variances))
    return inverse / inverse.sum(axis=0)


def _gold_key(row: dict, number: int, gold: Path) -> tuple[str, int]:
    key = (row.get("id", row.get("doc_id")), row.get("position", row.get("sent_id")))
    if None in key:
        raise InputError(f"{gold}: line {number} names no sentence of the predict run (id and position, or "
                         f"doc_id and sent_id)")
    return key


def sentence_answers(predictions: Path, disagreements: Path) -> Iterator[tuple[tuple, str, set, set]]:
    """(doc_id, sent_id), text, model labels, rules labels of each sentence of a predict run, in order.
    The predictions stream (a corpus can be large); only the disagreements, a small share of it, are held."""
    if not predictions.is_file():  # named first: its disagreements file, beside it, is then missing too
        raise InputError(f"{predictions}: no such file")
    differ = {(r["doc_id"], r["sent_id"]): (set(r["model"]), set(r["rules"])) for r in stream_jsonl(disagreements)}
    for r in stream_jsonl(predictions):
        key = (r["doc_id"], r["sent_id"])
        model = set(r["labels"])
        model, rules = differ.pop(key, (model, model))  # elsewhere the rules agree with the model
        yield key, r["text"], model, rules
    if differ:
        doc_id, sent_id = next(iter(differ))
        raise InputError(f"{disagreements}: {doc_id}#{sent_id} is not in {predictions}: not the same predict run")


def _stratum_sizes(predictions: Path, disagreements: Path, wanted: set) -> tuple[Counter, dict]:
    """The sentences of each stratum in the predict run, and (model labels, rules labels) of the `wanted` ones."""
    sizes, answers = Counter(), {}
    for key, _, model, rules in sentence_answers(predictions, disagreements):
        sizes[stratum(model, rules)] += 1
        if key in wanted:
            answers[key] = (model, rules)
    return sizes, answers


def estimate_alarms(gold: Path, predictions: Path, disagreements: Path) -> AlarmEstimate:
    """Stratified estimate of both systems' false alarms, misses and per-label counts over the predicted corpus.

    A sample drawn from this very run needs only its rows' `sample`. A sample whose rows also
    carry `stratum_sizes` (as `--draw` writes them) scores any run over the same corpus, another
    model's or a retrained one's: each row keeps the weight of the stratum it was drawn from, so
    the estimate stays unbiased, only noisier where the new run disagrees with the rules on the
    thinly sampled `both` and `neither` sentences.
    """
    rows = read_jsonl(gold)
    keys = [_gold_key(row, number, gold) for number, row in enumerate(rows, 1)]
    sizes, answers = _stratum_sizes(predictions, disagreements, set(keys))
    design = _design_sizes(rows, gold)
    if design is not None and sum(design.values()) != sum(sizes.values()):
        raise InputError(f"{gold}: drawn from a run of {sum(design.values()):,} sentences, but {predictions} has "
                         f"{sum(sizes.values()):,}: not the same corpus")
    outcomes: dict[str, list] = {s: [] for s in STRATA}
    for number, (row, key) in enumerate(zip(rows, keys), 1):
        if key not in answers:
            raise InputError(f"{gold}: line {number} ({key[0]}#{key[1]}) is not among the predicted sentences")
        model, rules = answers[key]
        where = row["sample"] if design is not None else stratum(model, rules)
        if row.get("sample") not in (None, "", where):
            raise InputError(f"{gold}: line {number} was sampled from {row['sample']!r} but is {where!r} in this run")
        truth = set(row["labels"])
        outcomes[where].append([_label_outcomes(labels, truth) for labels in (model, rules)])
    shaped = {s: np.array(rows, dtype=float).reshape(-1, len(SYSTEMS), len(LABELS), len(KINDS))
              for s, rows in outcomes.items()}
    return AlarmEstimate({s: (design or sizes)[s] for s in STRATA}, shaped, reweighted=design is not None)


def _design_sizes(rows: list[dict], gold: Path) -> dict[str, int] | None:
    """{stratum: size} of the run the sample was drawn from, from its rows' `stratum_sizes`; None if
    no row carries them. Every row must then carry the same ones, and a `sample` among them."""
    design = next((row["stratum_sizes"] for row in rows if "stratum_sizes" in row), None)
    if design is None:
        return None
    if not (isinstance(design, dict) and set(design) == set(STRATA)
            and all(isinstance(n, int) and n >= 0 for n in design.values())):
        raise InputError(f"{gold}: 'stratum_sizes' must give each of {list(STRATA)} a sentence count")
    for number, row in enumerate(rows, 1):
        if row.get("stratum_sizes") != design or row.get("sample") not in STRATA:
            raise InputError(f"{gold}: line {number} needs 'sample' (one of {list(STRATA)}) and the same "
                             f"'stratum_sizes' as the other lines")
    return {s: design[s] for s in STRATA}


def _label_outcomes(predicted: set[str], truth: set[str]) -> list[list[int]]:
    """[labels, KINDS] 0/1: per label, whether `predicted` is a true positive, a false alarm or a miss."""
    return [[int(label in predicted and label in truth), int(label in predicted and label not in truth),
             int(label in truth and label not in predicted)] for label in LABELS]


def render_estimate(estimate: AlarmEstimate) -> str:
    """The estimate as a markdown table: per stratum, then the corpus-wide rates."""
    lines = ["| stratum | sentences | labelled | model false alarms | model misses | rules false alarms | rules misses |",
             "|---|---|---|---|---|---|---|"]
    for s in STRATA:
        cells = [str(estimate.sentence_errors(s, system, kind)) for system in SYSTEMS for kind in SENTENCE_ERRORS]
        lines.append(f"| {s} | {estimate.sizes[s]:,} | {estimate.sampled[s]} | " + " | ".join(cells) + " |")
    if estimate.reweighted:
        lines.append("(strata and sizes of the run the sample was drawn from; this run's answers on its sentences)")
    lines.append("")
    for system in SYSTEMS:
        lines.append(f"{system}: false alarms on {estimate.rate(system, 'false_alarm'):.2%} of the corpus's "
                     f"{estimate.corpus_sentences:,} sentences, misses on {estimate.rate(system, 'miss'):.2%}")
    lines += ["", *_render_label_scores(estimate)]
    empty = [s for s in STRATA if estimate.sizes[s] and not estimate.sampled[s]]
    if empty:
        lines.append(f"(no labelled sentence in {', '.join(empty)}: its errors count as none)")
    return "\n".join(lines)


def _render_label_scores(estimate: AlarmEstimate) -> list[str]:
    """Per label and system: estimated corpus counts (sentences), then precision, recall and F1."""
    lines = ["| label | system | true positives | false alarms | misses | precision | recall | F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for label in LABELS:
        for system in SYSTEMS:
            counts = [estimate.label_count(system, label, kind) for kind in KINDS]
            scores = estimate.label_scores(system, label)
            lines.append(f"| {label} | {system} | " + " | ".join(f"{c:,.0f}" for c in counts) + " | "
                         + " | ".join(f"{scores[k]:.3f}" for k in ("precision", "recall", "f1")) + " |")
    # The two systems answer alike outside the disagreement strata, so these differences come from
    # them alone, the densely sampled ones; the F1 difference also carries the levels both share.
    lines.append("")
    counts = estimate.corpus_counts()
    for k, (label, d) in enumerate(f1_difference_intervals(estimate).items()):
        (tp, fp, _), (rules_tp, rules_fp, _) = counts[0, k], counts[1, k]
        lines.append(f"{label}: model minus rules {tp - rules_tp:+,.0f} true positives, {fp - rules_fp:+,.0f} false "
                     f"alarms; F1 {d['difference']:+.3f} ({CONFIDENCE:.0%} stratified bootstrap interval "
                     f"{d['low']:+.3f} to {d['high']:+.3f})")
    return lines


def render_pooled(estimates: list[AlarmEstimate], names: list[str]) -> str:
    """Per label, the pooled model-minus-rules F1 of several samples of one run (`pooled_f1_differences`)."""
    lines = [f"Pooled over {len(estimates)} samples ({', '.join(names)}), each weighted per label by the inverse "
             f"variance of its own F1 difference:"]
    for label, d in pooled_f1_differences(estimates).items():
        weights = " / ".join(f"{w:.2f}" for w in d["weights"])
        lines.append(f"{label}: model minus rules F1 {d['difference']:+.3f} ({CONFIDENCE:.0%} interval "
                     f"{d['low']:+.3f} to {d['high']:+.3f}); weights {weights}")
    return "\n".join(lines)

"""Draw the sentences to hand-label for `estimate_alarms`: a seeded random sample of each stratum.

The two systems differ only where they disagree, so the disagreement strata (`model_only`,
`rules_only`) are small and worth labelling densely; `both` and `neither` set the absolute levels
that the two systems share. The rows written are references (doc id, position, text hash) with the
stratum each was drawn from, the sizes of the run's strata, the two systems' answers and the
text, and `labels` left empty for the annotator. The strata sizes let `estimate_alarms` score
later runs over the same corpus (a retrained model) with the same labelled sample.
"""

from __future__ import annotations

import random
from pathlib import Path

from training.analysis.alarm_rates import STRATA, sentence_answers, stratum
from training.errors import InputError
from training.inputs.gold import text_hash


def parse_counts(spec: str) -> dict[str, int]:
    """"model_only=45,rules_only=45,both=15,neither=15" -> {stratum: sentences to draw}."""
    counts = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, number = part.partition("=")
        if name not in STRATA or not number.isdigit():
            raise InputError(f"--draw: {part!r} is not STRATUM=N with STRATUM one of {list(STRATA)}")
        counts[name] = int(number)
    return counts


def draw_sample(predictions: Path, disagreements: Path, counts: dict[str, int], seed: int = 0) -> list[dict]:
    """`counts[stratum]` sentences drawn at random (seeded) from each stratum of a predict run, or all
    of a stratum that has fewer; strata in STRATA order, each in the run's order of draw."""
    members: dict[str, list] = {s: [] for s in STRATA}
    for key, _, model, rules in sentence_answers(predictions, disagreements):
        members[stratum(model, rules)].append(key)
    sizes = {s: len(members[s]) for s in STRATA}
    rng = random.Random(seed)
    chosen = {}
    for s in STRATA:
        if counts.get(s):
            for key in rng.sample(members[s], min(counts[s], len(members[s]))):
                chosen[key] = s
    rows = {}
    for key, text, model, rules in sentence_answers(predictions, disagreements):  # a second pass for the texts
        if key in chosen:
            rows[key] = {"id": key[0], "position": key[1], "sha1": text_hash(text), "sample": chosen[key],
                         "stratum_sizes": sizes, "labels": [], "note": "",
                         "model": sorted(model), "rules": sorted(rules), "text": text}
    return [rows[key] for key in chosen]

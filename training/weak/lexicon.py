"""Clitic-aware cue matching on normalized Arabic text.

A cue matches a token when the token, with its clitics stripped, equals the cue's form.
Stripping is exhaustive over a small closed set (conjunction, preposition or future prefix,
article; one pronoun or plural suffix), so "وبالهجمات" matches "هجمات" while "مقتلع" never
matches "مقتل". `token_stems` defines the stripping; the lexicon inverts it once, listing every
surface its forms can take, so matching a token is one lookup.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from training.inputs.text import normalize

_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ل", "ك", "س")
_ART = ("", "ال")
PREFIXES = tuple(sorted({c + p + a for c in _CONJ for p in _PREP for a in _ART} | {c + "لل" for c in _CONJ}, key=len))
# No "ي": it would turn nisba adjectives into their nouns (هجومي "offensive" -> هجوم "attack").
SUFFIXES = ("", "ه", "ها", "هم", "هن", "هما", "كم", "نا", "ات", "ون", "ين", "ان", "ا")
_MIN_STEM = 2
_TOKEN = re.compile(r"[^\W_]+")  # "#الهجوم_الكيمياوي" is two words


def token_stems(token: str) -> frozenset[str]:
    """Every form the token can have once clitics are stripped (the token itself included)."""
    stems = set()
    for prefix in PREFIXES:
        if not token.startswith(prefix):
            continue
        rest = token[len(prefix):]
        for suffix in SUFFIXES:
            if rest.endswith(suffix) and len(rest) - len(suffix) >= _MIN_STEM:
                stems.add(rest[: len(rest) - len(suffix)] if suffix else rest)
    return frozenset(stems)


def tokenize(normalized_text: str) -> list[str]:
    """Word tokens of an already normalized sentence (punctuation dropped)."""
    return _TOKEN.findall(normalized_text)


@dataclass
class Lexicon:
    """Cue categories indexed by their first token's form.

    Matching inverts `token_stems`: every surface a lexicon form can take (prefix + form +
    suffix) is listed once when the lexicon loads (about 280k for the packaged one, 0.2 s), so
    a token is one dict lookup instead of a clitic search, and the millions of tokens that are
    no cue cost nothing more. The answer is exactly `token_stems(token) & forms`.
    """

    single: dict[str, frozenset[str]]
    multi: dict[str, list[tuple[tuple[str, ...], str]]]
    _surfaces: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)  # surface -> its lexicon forms
    _starts: dict[str, tuple] = field(default_factory=dict, repr=False)  # surface -> (categories, phrases) it starts

    def __post_init__(self):
        surfaces = self._surfaces
        for form in sorted(f for f in self.cue_forms if len(f) >= _MIN_STEM):  # a shorter form no token strips down to
            only = frozenset((form,))
            for stem in (prefix + form for prefix in PREFIXES):
                for surface in (stem + suffix for suffix in SUFFIXES):
                    known = surfaces.setdefault(surface, only)
                    if known is not only and form not in known:  # rare: "قوات" + "ه" is also "قواته"
                        surfaces[surface] = known | only
        entries: dict[frozenset, tuple] = {}  # one shared entry per set of forms, not one per surface
        for surface, found in surfaces.items():
            if found not in entries:
                single = frozenset(c for f in found for c in self.single.get(f, ()))
                multi = tuple(m for f in sorted(found) for m in self.multi.get(f, ()))
                entries[found] = (single, multi) if single or multi else None
            if entries[found] is not None:
                self._starts[surface] = entries[found]

    @classmethod
    def from_mapping(cls, mapping: dict[str, list[str]]) -> "Lexicon":
        single: dict[str, set[str]] = defaultdict(set)
        multi: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for category, cues in mapping.items():
            if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
                raise ValueError(f"lexicon category {category!r} must be a list of strings")
            for cue in cues:
                tokens = tokenize(normalize(cue))
                if len(tokens) == 1:
                    single[tokens[0]].add(category)
                elif tokens:
                    multi[tokens[0]].append((tuple(tokens[1:]), category))
        return cls({k: frozenset(v) for k, v in single.items()}, dict(multi))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Lexicon":
        """Load a lexicon YAML file; the packaged `resources/lexicon.yaml` by default."""
        if path is None:
            text = resources.files("training").joinpath("resources/lexicon.yaml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return cls.from_mapping(yaml.safe_load(text))

    @property
    def cue_forms(self) -> set[str]:
        """Every token form a cue is made of: single cues, and each token of each phrase."""
        return set(self.single) | set(self.multi) | {r for v in self.multi.values() for rest, _ in v for r in rest}

    @property
    def categories(self) -> set[str]:
        """Every cue category of the lexicon."""
        return {c for cs in self.single.values() for c in cs} | {c for v in self.multi.values() for _, c in v}

    def forms(self, token: str) -> frozenset[str]:
        """The lexicon forms a token can be once clitics are stripped."""
        return self._surfaces.get(token, frozenset())

    def match(self, tokens: list[str]) -> dict[str, list[int]]:
        """Positions (token indices, ascending) where each category's cues start."""
        starts = self._starts
        hits: dict[str, list[int]] = {}
        present = starts.keys() & tokens  # one C-level pass; a quarter of news sentences hold no cue
        if not present:
            return hits
        for i in [i for i, token in enumerate(tokens) if token in present]:
            single, multi = starts[tokens[i]]
            for category in single:
                hits.setdefault(category, []).append(i)
            for rest, category in multi:
                if self._phrase_at(tokens, i + 1, rest):
                    positions = hits.setdefault(category, [])
                    if not positions or positions[-1] != i:
                        positions.append(i)
        return hits

    def _phrase_at(self, tokens: list[str], start: int, rest: tuple[str, ...]) -> bool:
        """True when `rest` (a phrase's forms after its first) matches the tokens from `start`."""
        if start + len(rest) > len(tokens):
            return False
        return all(form in self.forms(tokens[start + k]) for k, form in enumerate(rest))

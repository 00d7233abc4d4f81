"""Clitic-aware cue matching on normalized Arabic text.

A cue matches a token when the token, with its clitics stripped, equals the cue's form.
Stripping is exhaustive over a small closed set (conjunction, preposition or future prefix,
article; one pronoun or plural suffix), so "وبالهجمات" matches "هجمات" while "مقتلع" never
matches "مقتل". Token stems are cached: news vocabulary is Zipfian, so almost every token
after the first few thousand sentences is a cache hit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
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


@lru_cache(maxsize=500_000)
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
    """Cue categories indexed by their first token's form."""

    single: dict[str, frozenset[str]]
    multi: dict[str, list[tuple[tuple[str, ...], str]]]
    _cache: dict = field(default_factory=dict, repr=False)  # token -> its cues; bounded by vocabulary

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

    def token_cues(self, token: str) -> tuple[frozenset[str], tuple[tuple[tuple[str, ...], str], ...]]:
        """Categories a token starts by itself, and the phrases it may start (cached per type)."""
        cached = self._cache.get(token)
        if cached is None:
            forms = token_stems(token)
            single = frozenset(c for f in forms for c in self.single.get(f, ()))
            multi = tuple(m for f in forms for m in self.multi.get(f, ()))
            cached = self._cache[token] = (single, multi)
        return cached

    def match(self, tokens: list[str]) -> dict[str, list[int]]:
        """Positions (token indices, ascending) where each category's cues start."""
        hits: dict[str, list[int]] = {}
        for i, token in enumerate(tokens):
            single, multi = self.token_cues(token)
            for category in single:
                hits.setdefault(category, []).append(i)
            for rest, category in multi:
                end = i + 1 + len(rest)
                if end <= len(tokens) and all(r in token_stems(tokens[i + 1 + k]) for k, r in enumerate(rest)):
                    positions = hits.setdefault(category, [])
                    if not positions or positions[-1] != i:
                        positions.append(i)
        return hits

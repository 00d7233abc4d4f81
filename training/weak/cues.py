"""The evidence a labeling function sees: a sentence's tokens and where each cue category matched.

`Cues` derives what the rules share (affirmed kills, attacks that are no ceasefire, threat or other sense,
whether a conflict is in view...), each computed once per sentence on first use. The distances
that make two cues one phrase are named here, each with the phrase it covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

_DIGITS = re.compile(r"^\d+$")
# Distances, in tokens, between two cues that make one phrase. Arabic news writes a phrase's
# parts close together: each width covers the usual forms of its phrase (the example beside it),
# and a wider one starts joining words of different clauses.
NEGATION_SPAN = 7        # "لم ترد أنباء عن سقوط ضحايا": negation ... casualty noun it negates
PROJECTILE_BEFORE = 3    # "صواريخ ... أطلقت": the projectile may come first, as the subject
PROJECTILE_AFTER = 6     # "أطلق مسلحون مجهولون ثلاثة صواريخ": the object after a named subject
TARGET_SPAN = 6          # "استهدفت ... قاعدة عين الأسد" or "القاعدة التي استهدفت": either order
CLAIM_SPAN = 4           # "تبنى تنظيم داعش الهجوم": claim, group name, then the act
CLAIM_EXPLOSION_SPAN = 3 # "تبنى التفجير": explosion words are common; keep them tight
GUNFIRE_SPAN = 4         # "قتل شاب برصاص الجيش": the victim word, then how
QUALIFIER_SPAN = 3       # "هجوم إلكتروني"، "هجوما حادا": a qualifier follows its noun closely
ELIMINATED_SPAN = 4      # "تصفية عدد من المسلحين": eliminate ... militants
ELIMINATED_NUMBER = 2    # "تصفية 3": a number right after eliminate
COUNT_SPAN = 4           # "مقتل 15 شخصا"، "ثلاثة جنود قتلوا": a number either side of the word
LOCAL_SUBJECT_SPAN = 3   # "الوحدات الكردية سحب": a local group right before the withdrawal word
LOCAL_FORCE_SPAN = 2     # "القوات الكردية": the forces' own qualifier follows them
FORCES_AFTER = 4         # "انسحاب جميع القوات الأمريكية": withdrawal, then the forces
FORCES_BEFORE = 8        # "قوات التحالف ... بدأت في الانسحاب": the forces as subject, well before
OTHER_WITHDRAWAL_SPAN = 4  # "الانسحاب من الاتفاق النووي": withdrawal from a deal, a race, a market
OTHER_SENSE_SPAN = 2      # "فجر السبت"، "تقديم طعن": the cue is the first or second word of each phrase


def within(first: Iterable[int], second: Iterable[int], low: int, high: int) -> bool:
    """True when some `second` position lies `low`..`high` tokens after some `first` position
    (negative: before it). Every distance test of the rules goes through here."""
    second = list(second)
    return any(low <= j - i <= high for i in first for j in second)


class cached_property:  # noqa: N801 (named like the functools one it replaces)
    """functools.cached_property without its per-access lock (Python 3.11 takes one on every
    first read: a third of the rules' time); a Cues object never leaves its thread."""

    def __init__(self, compute: Callable):
        self.compute, self.name, self.__doc__ = compute, compute.__name__, compute.__doc__

    def __get__(self, cues, owner=None):
        if cues is None:
            return self
        value = cues.__dict__[self.name] = self.compute(cues)
        return value


@dataclass
class Cues:
    """The evidence of one sentence: tokens and lexicon category positions."""

    tokens: list[str]
    hits: dict[str, list[int]]

    def has(self, category: str) -> bool:
        return category in self.hits

    def at(self, category: str) -> list[int]:
        return self.hits.get(category, [])

    def near(self, first: str, second: str, before: int, after: int) -> bool:
        """True when a `second` cue starts within [-before, +after] tokens of a `first` cue."""
        return within(self.at(first), self.at(second), -before, after)

    @cached_property
    def negated(self) -> set[int]:
        """Positions of casualty words that follow a negation ("دون وقوع إصابات")."""
        # Only nouns: "لا يشمل الخسائر ... الذين قتلوا" negates the noun, not the later verb.
        negations = self.at("negation")
        return {w for w in self.at("casualty_noun") if within(negations, [w], 1, NEGATION_SPAN)}

    def _covered(self, category: str, offsets: Iterable[int]) -> set[int]:
        return {start + k for start in self.at(category) for k in offsets}

    @cached_property
    def no_act(self) -> set[int]:
        """Positions where an attack cue names no act: inside "وقف إطلاق النار"; right after a
        threat or vow ("هدد باستهداف", "توعد بشن هجوم"); inside a phrase where the cue word means
        something else (the dawn "فجر الأربعاء", not "فجّر" blew up; the appeal "الطعن في الحكم")."""
        return (self._covered("ceasefire", range(4)) | self._covered("threat", (1, 2, 3))
                | self._covered("other_sense", range(OTHER_SENSE_SPAN)))

    def acts(self, category: str) -> list[int]:
        """Positions of attack cues that are not part of a ceasefire phrase, a threat or another sense."""
        return [i for i in self.at(category) if i not in self.no_act]

    def affirmed(self, category: str) -> list[int]:
        """Positions of a category's cues that are not negated."""
        return [i for i in self.at(category) if i not in self.negated]

    @cached_property
    def numbers(self) -> list[int]:
        return sorted(set(self.at("number_word")) | {i for i, t in enumerate(self.tokens) if _DIGITS.match(t)})

    # Ambiguous ("weak") cues count only with evidence of a conflict: an anchor word (forces,
    # militants, war, weapons...) or an unambiguous attack word. Attack words may also count
    # when nothing points to another domain (sport, business, technology, medicine).
    @cached_property
    def conflict(self) -> bool:
        return self.has("conflict_context") or self.has("attack_event") or self.has("attack_verb")

    @cached_property
    def weak_attack_ok(self) -> bool:
        return self.conflict or not self.has("other_domain")

    def _tiered(self, strong: list[int], weak: list[int], allowed: bool) -> list[int]:
        return strong + weak if allowed else strong

    @cached_property
    def attack_nouns(self) -> list[int]:
        return self._tiered(self.acts("attack_event"), self.acts("attack_event_weak"), self.weak_attack_ok)

    @cached_property
    def attack_verbs(self) -> list[int]:
        return self._tiered(self.acts("attack_verb"), self.acts("attack_verb_weak"), self.weak_attack_ok)

    @cached_property
    def kills(self) -> list[int]:
        return self._tiered(self.affirmed("kill"), self.affirmed("kill_weak"), self.conflict)

    @cached_property
    def wounds(self) -> list[int]:
        return self._tiered(self.affirmed("wound"), self.affirmed("wound_weak"), self.conflict)

    @cached_property
    def launched(self) -> bool:
        """A launch (or fall) near a projectile, outside "وقف إطلاق النار"."""
        return self.weak_attack_ok and within(self.acts("launch_verb"), self.at("projectile"),
                                              -PROJECTILE_BEFORE, PROJECTILE_AFTER)

    @cached_property
    def targeted(self) -> bool:
        return self.weak_attack_ok and within(self.acts("target_verb"), self.at("military_target"),
                                              -TARGET_SPAN, TARGET_SPAN)

    @cached_property
    def violent_act(self) -> bool:
        """A concrete act is described (used to keep threat/exercise vetoes off real attacks)."""
        return bool(self.strong_attack or self.kills or self.wounds)

    @cached_property
    def strong_attack(self) -> bool:
        """An attack told by a verb, a target or a launch, not by a noun that can be figurative."""
        return bool(self.attack_verbs or self.targeted or self.launched)

    @cached_property
    def disaster(self) -> bool:
        """Accidents, disasters and illness, with no attack told by a verb, target or launch."""
        return (self.has("nonviolent_death") or self.has("health")) and not self.strong_attack

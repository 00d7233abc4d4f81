"""Labeling functions: small named rules that vote for or against one label, or abstain.

Each function sees a `Cues` object (the sentence's normalized tokens and where each lexicon
category matched) and answers True when its pattern is present. Positive functions vote
POSITIVE for their label when they fire, negative ("veto") functions vote NEGATIVE. The
applier builds the [sentences x functions] vote matrix that the label models aggregate.
Definitions follow resources/LABELS.md (the annotation guidelines); the cue words live in resources/lexicon.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from training.weak.lexicon import Lexicon, tokenize
from training.inputs.text import normalize

ABSTAIN, NEGATIVE, POSITIVE = -1, 0, 1
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

    @cached_property
    def ceasefire(self) -> set[int]:
        """Positions inside "وقف إطلاق النار", which names no attack."""
        return {c + k for c in self.at("ceasefire") for k in range(4)}

    @cached_property
    def threatened(self) -> set[int]:
        """Positions right after a threat or vow ("هدد باستهداف", "توعد بشن هجوم"): no act."""
        return {t + k for t in self.at("threat") for k in (1, 2, 3)}

    def acts(self, category: str) -> list[int]:
        """Positions of attack cues that are not part of a ceasefire phrase or a threat."""
        return [i for i in self.at(category) if i not in self.ceasefire and i not in self.threatened]

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


@dataclass(frozen=True)
class LabelingFunction:
    """One named rule: `label`, `polarity` (POSITIVE or NEGATIVE) and the pattern test."""

    name: str
    label: str
    polarity: int
    test: Callable[[Cues], bool]
    weight: float = 1.0  # vote weight in the majority vote; vetoes outweigh single cues
    doc: str = ""
    # Lexicon categories of which the sentence must hold at least one for the rule to fire: the
    # applier skips the test (an abstention) without them. Empty: always tested.
    needs: frozenset[str] = frozenset()

    def __call__(self, cues: Cues) -> int:
        return self.polarity if self.test(cues) else ABSTAIN


LABELING_FUNCTIONS: list[LabelingFunction] = []


def labeling_function(label: str, polarity: int = POSITIVE, weight: float = 1.0, needs: Iterable[str] = ()):
    """Register the decorated predicate as a labeling function named after it. `needs`: the
    categories it cannot fire without (one of them suffices; tests/test_labeling.py checks it)."""

    def register(test: Callable[[Cues], bool]) -> Callable[[Cues], bool]:
        doc = (test.__doc__ or "").strip()
        LABELING_FUNCTIONS.append(LabelingFunction(test.__name__, label, polarity, test, weight, doc, frozenset(needs)))
        return test

    return register


SPORTS_VETO_WEIGHT = 10.0  # outweighs any number of cues: in sports news no label of the task applies


def _sports_news(c: Cues) -> bool:
    return c.has("sports")


def sports_veto(label: str, name: str, doc: str) -> None:
    """Register the sports veto of one label: one test, a named veto per label (a function
    votes on one label only)."""
    LABELING_FUNCTIONS.append(LabelingFunction(name, label, NEGATIVE, _sports_news, SPORTS_VETO_WEIGHT, doc,
                                               frozenset({"sports"})))


# --- attack ---------------------------------------------------------------------------------

@labeling_function("attack", needs=("attack_event", "attack_event_weak"))
def attack_event_noun(c: Cues) -> bool:
    """A noun naming a violent act: غارة، قصف، تفجير، كمين، اغتيال... (هجوم، ضربة in a conflict)."""
    return bool(c.attack_nouns)


@labeling_function("attack", needs=("attack_verb", "attack_verb_weak"))
def attack_verb(c: Cues) -> bool:
    """A verb of a violent act: قصفت، اغتال، داهمت... (هاجم، اقتحموا in a conflict)."""
    return bool(c.attack_verbs)


@labeling_function("attack", needs=("target_verb",))
def targeted_military(c: Cues) -> bool:
    """استهدف near a military or human target (a base, forces, leaders, civilians)."""
    return c.targeted


@labeling_function("attack", needs=("launch_verb",))
def launched_projectile(c: Cues) -> bool:
    """أطلق or سقوط near a projectile (rockets, drones, fire), outside "وقف إطلاق النار"."""
    return c.launched


@labeling_function("attack", needs=("claim",))
def claimed_responsibility(c: Cues) -> bool:
    """A claim of responsibility for an attack or an explosion."""
    return (c.near("claim", "explosion", 0, CLAIM_EXPLOSION_SPAN) or c.near("claim", "attack_event", 0, CLAIM_SPAN)
            or c.near("claim", "attack_event_weak", 0, CLAIM_SPAN))


@labeling_function("attack", needs=("gunfire",))
def killed_by_gunfire(c: Cues) -> bool:
    """Killed or wounded by gunfire, shelling or a knife: "قتل ... برصاص الجيش"."""
    victims = c.affirmed("kill") + c.affirmed("kill_weak") + c.affirmed("wound") + c.affirmed("wound_weak")
    return within(victims, c.at("gunfire"), 1, GUNFIRE_SPAN)


@labeling_function("attack", needs=("clash",))
def armed_clash(c: Cues) -> bool:
    """Clashes and battles: مواجهات، اشتباكات، المعارك."""
    return c.has("clash")


@labeling_function("attack", needs=("eliminate",))
def militants_eliminated_attack(c: Cues) -> bool:
    """تصفية of militants or of a number of people: a violent operation."""
    return c.near("eliminate", "militant", 0, ELIMINATED_SPAN) or within(c.at("eliminate"), c.numbers, 1, ELIMINATED_NUMBER)


@labeling_function("attack", NEGATIVE, weight=5.0, needs=("cyber",))
def cyber_attack(c: Cues) -> bool:
    """An attack qualified as cyber or hacking: no physical violence."""
    return any(c.near(cue, "cyber", 0, QUALIFIER_SPAN) for cue in ("attack_event", "attack_event_weak", "attack_verb", "attack_verb_weak"))


@labeling_function("attack", NEGATIVE, weight=5.0, needs=("rhetoric",))
def rhetorical_attack(c: Cues) -> bool:
    """A verbal, political or media attack (هجوم سياسي، هجوما حادا، حملة إعلامية)."""
    return c.near("attack_event_weak", "rhetoric", 0, QUALIFIER_SPAN) and not c.violent_act


@labeling_function("attack", NEGATIVE, weight=3.0, needs=("threat",))
def threat_without_act(c: Cues) -> bool:
    """Threats, vows, plans and self-defence statements with no act described."""
    return c.has("threat") and not c.violent_act


@labeling_function("attack", NEGATIVE, weight=3.0, needs=("exercise",))
def exercise_or_test(c: Cues) -> bool:
    """Exercises, weapon tests and demining with no attack named."""
    return c.has("exercise") and not (c.attack_nouns or c.attack_verbs)


@labeling_function("attack", NEGATIVE, weight=5.0, needs=("nonviolent_death", "health"))
def natural_disaster(c: Cues) -> bool:
    """A storm, accident or illness "strikes": no attack unless a verb, target or launch says so."""
    return c.disaster


sports_veto("attack", "sports_attack", "Sports news: a team's attack is not an attack.")


# --- casualty -------------------------------------------------------------------------------

@labeling_function("casualty", needs=("kill", "kill_weak"))
def killed(c: Cues) -> bool:
    """Someone was killed (قتل، مقتل، قتلى... ; مصرع، جثث in a conflict), not negated."""
    return bool(c.kills) and not (c.has("attempt") and c.attack_nouns)


@labeling_function("casualty", needs=("wound", "wound_weak"))
def wounded(c: Cues) -> bool:
    """Someone was wounded (جرحى، جريح... ; أصيب، إصابات in a conflict), not negated."""
    return bool(c.wounds)


@labeling_function("casualty", needs=("kill", "kill_weak", "wound", "wound_weak"))
def casualty_count(c: Cues) -> bool:
    """A number of dead or wounded: "مقتل 15"، "ثلاثة جنود قتلوا"، "ارتفعت الحصيلة إلى"."""
    return within(c.kills + c.wounds, c.numbers, -COUNT_SPAN, COUNT_SPAN)


@labeling_function("casualty", needs=("deadly",))
def deadly_act(c: Cues) -> bool:
    """A deadly or bloody act (هجوم مميت، القصف الدامي) or a death toll."""
    return c.has("deadly") and bool(c.attack_nouns or c.attack_verbs or c.kills)


@labeling_function("casualty", needs=("eliminate",))
def militants_eliminated_casualty(c: Cues) -> bool:
    """تصفية of militants: they were killed."""
    return militants_eliminated_attack(c)


@labeling_function("casualty", NEGATIVE, weight=5.0, needs=("casualty_noun",))
def no_casualties(c: Cues) -> bool:
    """Only negated casualty words: "دون وقوع إصابات"، "لم ترد أنباء عن سقوط ضحايا"."""
    return bool(c.negated) and not (c.kills or c.wounds)


@labeling_function("casualty", NEGATIVE, weight=5.0, needs=("nonviolent_death", "health"))
def nonviolent_harm(c: Cues) -> bool:
    """Accidents, disasters, illness: deaths or injuries with no violence."""
    return c.disaster and not (c.attack_nouns or c.has("clash") or c.has("gunfire"))


sports_veto("casualty", "sports_injury", "Sports news: a player's injury is not a casualty.")


# --- withdrawal_talks -------------------------------------------------------------------------

def _local_subject(c: Cues, withdraw_at: int) -> bool:
    """A local armed group right before the withdrawal word: "الوحدات الكردية سحب ..."."""
    return within(c.at("local_force"), [withdraw_at], 1, LOCAL_SUBJECT_SPAN)


def _local_object(c: Cues, withdraw_at: int, forces_at: int) -> bool:
    """A local group between the withdrawal word and the forces: "انسحاب مسلحي ... القوات"."""
    return any(withdraw_at < g < forces_at for g in c.at("local_force"))


def _forces_are_local(c: Cues, forces_at: int) -> bool:
    return within([forces_at], c.at("local_force"), 1, LOCAL_FORCE_SPAN)


_POSSESSIVE_FORCES = ("قواتها", "قواته", "قواتهما", "قواتهم")


@labeling_function("withdrawal_talks", needs=("withdraw", "withdraw_weak"))
def forces_withdrawal(c: Cues) -> bool:
    """Withdrawal of forces: "انسحاب القوات"، "خروج القوات"، "قوات التحالف ... في الانسحاب".

    Departure words (خروج، رحيل) count only with the forces right after them. "Its forces"
    belong to the subject, so a local subject ("الوحدات الكردية سحب قواتها") is no foreign
    withdrawal; a local group demanding a withdrawal ("الفصائل بانسحاب القوات") is.
    """
    for w, strong in [(w, True) for w in c.at("withdraw")] + [(w, False) for w in c.at("withdraw_weak")]:
        for f in c.at("forces"):
            if _forces_are_local(c, f):
                continue
            if within([w], [f], 1, FORCES_AFTER) and not _local_object(c, w, f):
                possessive = c.tokens[f].endswith(_POSSESSIVE_FORCES)
                if not (possessive and _local_subject(c, w)):
                    return True
            if strong and within([f], [w], 1, FORCES_BEFORE) and not _local_subject(c, w) and not _local_object(c, w, w + 3):
                return True
    return False


@labeling_function("withdrawal_talks", needs=("end_mission",))
def end_of_mission(c: Cues) -> bool:
    """The end of the coalition's mission: "إنهاء مهمة التحالف"، "انتهاء المهمة العسكرية"."""
    return c.has("end_mission") and c.has("mission_context")


@labeling_function("withdrawal_talks", needs=("advisory",))
def advisory_role(c: Cues) -> bool:
    """The move to an advisory-only role: "دور استشاري"، "بصفة استشارية"."""
    return c.has("advisory") and c.has("mission_context")


@labeling_function("withdrawal_talks", needs=("forces_future",))
def talks_on_forces_future(c: Cues) -> bool:
    """Talks about the future of the coalition or the forces."""
    return c.has("forces_future")


@labeling_function("withdrawal_talks", NEGATIVE, weight=3.0, needs=("withdraw",))
def other_withdrawal(c: Cues) -> bool:
    """Withdrawal from a deal, a race, a market or a club: not forces."""
    return (c.near("withdraw", "other_withdrawal", 0, OTHER_WITHDRAWAL_SPAN)
            and not c.near("withdraw", "forces", 0, OTHER_WITHDRAWAL_SPAN))


sports_veto("withdrawal_talks", "sports_departure", "Sports news: a player leaving a club is not a withdrawal.")


def voters(lfs: list[LabelingFunction], label: str) -> list[int]:
    """Indices (columns of the vote matrix) of the functions in `lfs` that vote on `label`."""
    return [j for j, lf in enumerate(lfs) if lf.label == label]


# --- applier --------------------------------------------------------------------------------

class LFApplier:
    """Builds the [sentences x functions] vote matrix (int8: -1 abstain, 0 no, 1 yes).

    A function runs only on sentences holding one of the categories it `needs`: most sentences
    hold none of any function's, and a quarter hold no cue at all.
    """

    def __init__(self, lfs: Iterable[LabelingFunction] | None = None, lexicon: Lexicon | None = None):
        self.lfs = list(lfs if lfs is not None else LABELING_FUNCTIONS)
        self.lexicon = lexicon or Lexicon.load()
        self._always = [j for j, lf in enumerate(self.lfs) if not lf.needs]
        self._needing: dict[str, list[int]] = {}  # category -> the functions that need it
        for j, lf in enumerate(self.lfs):
            for category in lf.needs:
                self._needing.setdefault(category, []).append(j)

    def cues(self, sentence: str) -> Cues:
        tokens = tokenize(normalize(sentence))
        return Cues(tokens, self.lexicon.match(tokens))

    def _candidates(self, hits: dict) -> Iterable[int]:
        """The functions that may fire on a sentence with these hits, each once."""
        needing = self._needing
        found = [j for category in hits if category in needing for j in needing[category]]
        return dict.fromkeys(self._always + found) if found else self._always

    def apply(self, sentences: Iterable[str], progress: bool = False) -> np.ndarray:
        sentences = list(sentences)
        votes = np.full((len(sentences), len(self.lfs)), ABSTAIN, dtype=np.int8)
        rows = tqdm(sentences, desc="labeling", unit="sent", disable=not progress, mininterval=1.0)
        for i, sentence in enumerate(rows):
            cues = self.cues(sentence)
            for j in self._candidates(cues.hits):
                vote = self.lfs[j](cues)
                if vote != ABSTAIN:
                    votes[i, j] = vote
        return votes

    def columns(self, label: str) -> list[int]:
        """Indices of the functions that vote on `label`."""
        return voters(self.lfs, label)

"""Labeling functions: small named rules that vote for or against one label, or abstain.

Each function sees a `Cues` object (`weak/cues.py`: the sentence's normalized tokens and where
each lexicon category matched) and answers True when its pattern is present. Positive functions vote
POSITIVE for their label when they fire, negative ("veto") functions vote NEGATIVE. The
applier builds the [sentences x functions] vote matrix that the label models aggregate.
Definitions follow resources/LABELS.md (the annotation guidelines); the cue words live in resources/lexicon.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from training.inputs.text import normalize
from training.weak.cues import (CLAIM_EXPLOSION_SPAN, CLAIM_SPAN, COUNT_SPAN, ELIMINATED_NUMBER, ELIMINATED_SPAN,
                                FORCES_AFTER, FORCES_BEFORE, GUNFIRE_SPAN, LOCAL_FORCE_SPAN, LOCAL_SUBJECT_SPAN,
                                OTHER_WITHDRAWAL_SPAN, QUALIFIER_SPAN, Cues, within)
from training.weak.lexicon import Lexicon, tokenize

ABSTAIN, NEGATIVE, POSITIVE = -1, 0, 1


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
    # A word with a second sense (المهاجم: a striker or an attacker) makes sports news only where
    # nothing places the sentence in a conflict: "قتلت الشرطة المهاجم" is an attack.
    return c.has("sports") or (c.has("sports_weak") and not c.conflict)


def sports_veto(label: str, name: str, doc: str) -> None:
    """Register the sports veto of one label: one test, a named veto per label (a function
    votes on one label only)."""
    LABELING_FUNCTIONS.append(LabelingFunction(name, label, NEGATIVE, _sports_news, SPORTS_VETO_WEIGHT, doc,
                                               frozenset({"sports", "sports_weak"})))


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

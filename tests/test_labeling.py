"""Labeling functions, the lexicon matcher, the label models, the report, and the rules' quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import NEWS_CORPUS, SEEDS, requires_corpus
from training.inputs.gold import load_corpus_gold, load_gold
from training.weak.label_model import NaiveBayesEM, aggregate, majority_proba
from training.labels import LABELS
from training.inputs.text import normalize
from training.weak.labeling import ABSTAIN, LABELING_FUNCTIONS, NEGATIVE, POSITIVE, Cues, LFApplier, within
from training.weak.lexicon import Lexicon, token_stems, tokenize
from training.weak.lf_report import build_report, lf_table, render_markdown
from training.metrics import multilabel_scores

APPLIER = LFApplier()
DATA = Path(__file__).parent / "data"


def labels_of(sentence: str) -> set[str]:
    probs = aggregate(APPLIER.apply([sentence]), APPLIER.lfs)[0]
    return {label for label, p in zip(LABELS, probs) if p >= 0.5}


def fired(sentence: str) -> set[str]:
    votes = APPLIER.apply([sentence])[0]
    return {lf.name for lf, v in zip(APPLIER.lfs, votes) if v != ABSTAIN}


# --- matcher --------------------------------------------------------------------------------

@pytest.mark.parametrize("token,stem", [("وبالهجمات", "هجمات"), ("للقوات", "قوات"), ("قواتها", "قوات"),
                                        ("فسيقتل", "يقتل"), ("والانسحاب", "انسحاب"), ("هجوما", "هجوم")])
def test_clitics_are_stripped(token, stem):
    assert stem in token_stems(token)


def test_cues_never_match_inside_unrelated_words():
    lexicon = Lexicon.from_mapping({"kill": ["مقتل"], "attack": ["هجوم"]})
    assert lexicon.match(["مقتلع", "هجومي", "الهجوميه"]) == {}
    assert lexicon.match(["ومقتل", "بالهجوم"]) == {"kill": [0], "attack": [1]}


def test_phrases_match_consecutive_tokens_with_clitics():
    lexicon = Lexicon.from_mapping({"car_bomb": ["سيارة مفخخة"]})
    assert lexicon.match(tokenize("انفجار بالسياره المفخخه امس")) == {"car_bomb": [1]}
    assert lexicon.match(tokenize("سياره حمراء مفخخه")) == {}


def test_the_surface_index_answers_exactly_what_clitic_stripping_defines():
    """Lexicon.forms(token) is token_stems(token) & the lexicon's forms, for every token of the
    seeds and gold files and for every prefix x form x suffix surface, cue or not."""
    lexicon = Lexicon.load()
    forms = lexicon.cue_forms
    texts = [p.read_text("utf-8") for p in sorted(SEEDS.rglob("*")) if p.suffix in {".txt", ".jsonl"}]
    vocabulary = {t for text in texts for t in tokenize(normalize(text))}
    vocabulary |= {p + f + s for f in list(forms)[:40] for p in ("", "وبال", "فس", "لل", "ك") for s in ("", "ها", "ية")}
    assert len(vocabulary) > 2000
    assert [t for t in vocabulary if lexicon.forms(t) != token_stems(t) & forms] == []
    assert lexicon.forms("قوات") == {"قوات"} and lexicon.forms("قواته") >= {"قوات"} and lexicon.forms("مقتلع") == set()


def test_each_function_abstains_without_the_categories_it_needs():
    """The applier skips a function on sentences holding none of its `needs`: that is right only
    if the function cannot fire without them, whatever else the sentence holds. Checked on the
    sentence holding every other category everywhere, and on 300 random ones."""
    rng = np.random.default_rng(0)
    categories = sorted(set(Lexicon.load().categories))
    tokens = ["قواتها", "3", "القوات", "12", "هجوم", "قتل", "في", "الامريكيه", "7", "قواتهم", "انسحاب", "ثلاثه"]
    for lf in LABELING_FUNCTIONS:
        assert lf.needs, f"{lf.name} declares no needs: every sentence would run it"
        others = [c for c in categories if c not in lf.needs]
        samples = [{c: list(range(len(tokens))) for c in others}]
        for _ in range(300):
            chosen = rng.choice(others, size=rng.integers(1, len(others)), replace=False)
            samples.append({str(c): sorted(rng.choice(len(tokens), size=rng.integers(1, 4), replace=False).tolist())
                            for c in chosen})
        fired = [h for h in samples if lf(Cues(tokens, h)) != ABSTAIN]
        assert not fired, f"{lf.name} fires without any of {sorted(lf.needs)}: {sorted(fired[0])}"


def test_skipping_functions_changes_no_vote():
    texts = [r["text"] for r in load_gold(SEEDS / "gold.jsonl")]
    texts += [line for name in ("offtopic_sentences.txt", "offtopic_heldout.txt")
              for line in (DATA / name).read_text("utf-8").splitlines()]
    if NEWS_CORPUS.is_file():  # 208 real news sentences more
        texts += [r["text"] for r in load_corpus_gold(SEEDS / "gold_news.jsonl")]
    every_function = np.array([[lf(APPLIER.cues(t)) for lf in APPLIER.lfs] for t in texts], dtype=np.int8)
    assert (APPLIER.apply(texts) == every_function).all()
    assert (every_function != ABSTAIN).sum() > 300


def test_lexicon_entries_must_be_lists_of_strings():
    with pytest.raises(ValueError, match="must be a list of strings"):
        Lexicon.from_mapping({"bad": "هجوم"})


def test_every_function_is_named_documented_and_votes_one_way():
    names = [lf.name for lf in LABELING_FUNCTIONS]
    assert len(names) == len(set(names)) >= 20
    for lf in LABELING_FUNCTIONS:
        assert lf.label in LABELS and lf.polarity in (POSITIVE, NEGATIVE) and lf.doc


# --- behaviour per LABELS.md ---------------------------------------------------------------

@pytest.mark.parametrize("sentence,expected", [
    ("وقيل إن الهجوم أسفر عن مقتل 15 من متطرفي تنظيم الدولة الإسلامية", {"attack", "casualty"}),
    ("وأضافت أنه لم ترد أي مؤشرات على سقوط ضحايا من المدنيين في الغارة", {"attack"}),
    ("وقال المسؤول إن حالة الجرحى السبعة مستقرة", {"casualty"}),
    ("وتطالب الفصائل العراقية المسلحة الموالية لإيران بانسحاب هذه القوات", {"withdrawal_talks"}),
    ("ويوجد ما يقرب من 2500 جندي أمريكي في العراق ونحو 900 جندي في سوريا", set()),
    ("وتعارض هذه الجماعات الموالية لإيران بعنف الدعم الأمريكي لإسرائيل", set()),
    ("هجوم كاسح لفريق كرة القدم في المباراة وإصابة لاعب في الركبة", set()),
])
def test_worked_examples_of_the_guidelines(sentence, expected):
    assert labels_of(sentence) == expected


@pytest.mark.parametrize("sentence", [
    "استهدف هجوم بطائرة مسيرة قاعدة عسكرية دون وقوع إصابات",
    "سقطت قذائف على مواقع الجيش دون أن يصاب أحد",
    "وقصفت الطائرات مواقع المسلحين وعدم تسجيل خسائر بشرية",
])
def test_negated_casualties_vote_against_casualty_not_against_attack(sentence):
    assert labels_of(sentence) == {"attack"}
    assert "no_casualties" in fired(sentence)


@pytest.mark.parametrize("sentence,veto", [
    ("تعرضت الشركة لهجوم إلكتروني عطل أنظمتها", "cyber_attack"),
    ("شن النائب هجوما حادا على الحكومة في البرلمان وسط انتقادات", "rhetorical_attack"),
    ("هدد المتحدث باستهداف القواعد الأمريكية إذا استمر التصعيد", "threat_without_act"),
    ("أجرى الجيش مناورات بالذخيرة الحية وأطلق صواريخ في تجربة ناجحة", "exercise_or_test"),
    ("أعلن الرئيس انسحاب بلاده من الاتفاق النووي", "other_withdrawal"),
])
def test_vetoes_win_over_single_cues(sentence, veto):
    assert veto in fired(sentence)
    assert labels_of(sentence) == set()


@pytest.mark.parametrize("sentence,expected", [
    # "المهاجم" is a striker in sport and an attacker in the news: with police, gunfire or troops
    # in the sentence it is the attacker, and the sports veto must not silence the attack.
    ("وقتلت الشرطة المهاجم بالرصاص في مكان الهجوم", {"attack", "casualty"}),
    ("وقتل المهاجم شرطيين بالرصاص قبل أن تقتله قوات الأمن", {"attack", "casualty"}),
    ("قاد المهاجم هجمة خطيرة على المرمى وأصيب في الدقيقة العاشرة", set()),  # no conflict: sport
    ("سجل المهاجم هدفين في المباراة بعد هجوم كاسح من الفريق", set()),      # "مباراة" is sport whatever else
])
def test_a_sports_word_with_a_second_sense_vetoes_only_outside_a_conflict(sentence, expected):
    assert labels_of(sentence) == expected


@pytest.mark.parametrize("sentence,expected", [
    # Match reports from real sports news, where a cue word fired before these phrases were listed
    ("وتقدمت البرتغال أولا عبر رونالدو من ضربة جزاء", set()),
    ("وفي الدقيقة 40 انفرد المهاجم بالحارس ليحولها المدافع إلى ضربة زاوية", set()),
    ("واعتمد تيتيباس على ضربات إرساله للفوز على جوكوفيتش", set()),
    # ...while the same words in a conflict, and the attacks of "مهاجمة" (attacking), still count
    ("وشنت الطائرات ضربة جوية على مواقع المسلحين في الدقيقة الأخيرة من الهدنة", {"attack"}),
    ("وكانت المجموعة قد خططت لمهاجمة مساجد", {"attack"}),
    ("قال مصدر مقرب من التحقيق إنه تم إفشال هجوم كان يستهدف ناديا ليليا", {"attack"}),
])
def test_football_set_pieces_are_sport_and_their_words_elsewhere_are_not(sentence, expected):
    assert labels_of(sentence) == expected


@pytest.mark.parametrize("sentence,expected", [
    # "فجر" is the dawn as often as "فجّر" (blew up): news text without diacritics writes both alike
    ("وشهدت عدة مدن تساقط أمطار غزيرة فجر الجمعة مع اقتراب الإعصار", set()),
    ("وانطلقت طائرة بوينغ من بيونغ يانغ فجر الأحد متوجهة إلى بكين", set()),
    ("وفجر انتحاري نفسه في سوق شعبي فجر الأربعاء", {"attack"}),
    ("فجر مسلحون عبوة ناسفة قرب دورية للجيش فجر اليوم", {"attack"}),
    ("شنت الولايات المتحدة وفرنسا وبريطانيا فجر السبت ضربات جوية على مواقع للنظام", {"attack"}),
    ("وقالت الشرطة إن انتحاريين فجرا نفسيهما قرب مسجد", {"attack"}),  # "فجرا": they both blew up
    # "الطعن" is a stabbing and a legal appeal
    ("وبمقدور المدانين الطعن على الحكم أمام محكمة النقض", set()),
    ("قال محامي القس إنه قدم طعنا لمحكمة تركية على الحكم", set()),
    ("طعن رجل شرطيا بسكين أمام مركز للشرطة", {"attack"}),
])
def test_a_cue_word_in_another_sense_is_no_attack(sentence, expected):
    assert labels_of(sentence) == expected


def test_ambiguous_cues_need_a_conflict():
    assert labels_of("خطف الفريق فوزا ثمينا في الوقت بدل الضائع") == set()
    assert labels_of("خطف مسلحون ثلاثة جنود من نقطة تفتيش") == {"attack"}
    assert labels_of("أصيب الرئيس السابق بكسر في الورك إثر سقوطه في منزله") == set()
    assert labels_of("أصيب خمسة جنود في هجوم على قاعدة عسكرية") == {"attack", "casualty"}


def test_number_words_support_casualty_counts():
    assert "casualty_count" in fired("قتل ثلاثة مدنيين في قصف على البلدة")
    assert "casualty_count" in fired("ارتفعت حصيلة القتلى إلى 40 بعد القصف")


def test_withdrawal_needs_foreign_forces_not_local_groups():
    assert labels_of("وتتطلع بغداد إلى انسحاب التحالف الدولي من العراق") == {"withdrawal_talks"}
    assert labels_of("سيطرت القوات على المدينة بعد انسحاب مسلحي تنظيم داعش") == set()
    assert labels_of("انسحب المرشح من السباق الانتخابي") == set()


# --- label models ---------------------------------------------------------------------------

def test_majority_vote_is_weighted_and_zero_without_votes():
    votes = np.array([[1, -1, -1], [1, 1, 0], [-1, -1, -1], [1, -1, 0]])
    weights = np.array([1.0, 1.0, 3.0])
    assert majority_proba(votes, weights).tolist() == [1.0, 0.4, 0.0, 0.25]


def test_naive_bayes_em_learns_which_functions_to_trust():
    rng = np.random.default_rng(0)
    y = rng.random(5000) < 0.3
    # a precise function, a noisy one that fires on 30% of negatives, and a veto
    good = np.where(y & (rng.random(5000) < 0.8), 1, -1)
    noisy = np.where((y & (rng.random(5000) < 0.9)) | (~y & (rng.random(5000) < 0.3)), 1, -1)
    veto = np.where(~y & (rng.random(5000) < 0.2), 0, -1)
    votes = np.stack([good, noisy, veto], axis=1)
    polarities = np.array([POSITIVE, POSITIVE, NEGATIVE])
    init = majority_proba(votes, np.ones(3))
    model = NaiveBayesEM(polarities).fit(votes, init)
    proba = model.predict_proba(votes)
    accuracy_em = ((proba >= 0.5) == y).mean()
    accuracy_majority = ((init >= 0.5) == y).mean()
    assert accuracy_em > accuracy_majority + 0.05
    assert abs(model.class_prior - y.mean()) < 0.08
    noisy_only = np.array([[-1, 1, -1]])
    assert model.predict_proba(noisy_only)[0] < model.predict_proba(np.array([[1, 1, -1]]))[0]


def test_unknown_label_model_is_an_error():
    with pytest.raises(ValueError, match="unknown label model"):
        aggregate(np.zeros((1, len(APPLIER.lfs)), dtype=np.int8), APPLIER.lfs, "snorkel")


# --- report ---------------------------------------------------------------------------------

def test_lf_table_counts_coverage_overlaps_conflicts_and_accuracy():
    lfs = [lf for lf in LABELING_FUNCTIONS if lf.label == "attack"][:2]
    lfs = [lfs[0], next(lf for lf in LABELING_FUNCTIONS if lf.label == "attack" and lf.polarity == NEGATIVE)]
    votes = np.array([[1, -1], [1, 0], [-1, 0], [-1, -1]])
    gold = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0]])
    rows = lf_table(votes, lfs, gold)
    assert rows[0]["coverage"] == 0.5 and rows[0]["overlaps"] == 0.25 and rows[0]["conflicts"] == 0.25
    assert (rows[0]["correct"], rows[0]["incorrect"]) == (1, 1)
    assert (rows[1]["correct"], rows[1]["incorrect"], rows[1]["accuracy"]) == (2, 0, 1.0)


def test_report_markdown_has_functions_labels_and_gold_sections():
    rows = load_gold(SEEDS / "gold.jsonl")
    votes = APPLIER.apply([r["text"] for r in rows])
    gold = np.array([[label in r["labels"] for label in LABELS] for r in rows], dtype=int)
    probs = {"majority": aggregate(votes, APPLIER.lfs)}
    report = build_report(votes, APPLIER.lfs, probs, "majority", gold, "seeds/gold.jsonl")
    md = render_markdown(report)
    for heading in ("## Labeling functions", "## Labels", "## Against gold"):
        assert heading in md
    assert all(lf.name in md for lf in APPLIER.lfs)


# --- quality: regression floors -------------------------------------------------------------

def rules_macro_f1(rows: list[dict]) -> tuple[float, dict]:
    votes = APPLIER.apply([r["text"] for r in rows])
    pred = aggregate(votes, APPLIER.lfs) >= 0.5
    gold = np.array([[label in r["labels"] for label in LABELS] for r in rows])
    scores = multilabel_scores(gold, pred, list(LABELS))
    return scores["macro_f1"], scores["per_label"]


def test_rules_on_the_seed_gold_stay_above_floor():
    macro, per_label = rules_macro_f1(load_gold(SEEDS / "gold.jsonl"))
    assert macro >= 0.98, per_label  # measured 0.988; the bar is 0.90


@requires_corpus
def test_rules_on_the_news_gold_stay_above_floor():
    rows = load_corpus_gold(SEEDS / "gold_news.jsonl")
    assert len(rows) == 208
    macro, per_label = rules_macro_f1(rows)
    assert macro >= 0.91, per_label  # measured 0.921; the bar is 0.90


def test_rules_on_the_written_period_sentences_stay_above_floor():
    # Written after the rules and never used to revise them: their held-out figure, far below
    # the seeds' in-sample 0.988 (the rules miss a third of its withdrawal sentences).
    macro, per_label = rules_macro_f1(load_gold(SEEDS / "gold_written_period.jsonl"))
    assert macro >= 0.83, per_label  # measured 0.845 (withdrawal_talks 0.778)
    # The second set, written later: the same picture (20 of its 32 withdrawal sentences).
    macro, per_label = rules_macro_f1(load_gold(SEEDS / "gold_written_period_2.jsonl"))
    assert macro >= 0.83, per_label  # measured 0.842 (withdrawal_talks 0.769)
    # The third, written to train on: wording further from the cue lists (9 of its 31 withdrawal
    # sentences, 16 of its 22 attacks).
    macro, per_label = rules_macro_f1(load_gold(SEEDS / "gold_written_period_3.jsonl"))
    assert macro >= 0.70, per_label  # measured 0.716 (withdrawal_talks 0.450)


@pytest.mark.parametrize("name", ["offtopic_sentences.txt", "offtopic_heldout.txt"])
def test_rules_rarely_fire_on_sports_health_and_technology(name):
    lines = [line.strip() for line in (DATA / name).read_text("utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(lines) >= 98
    probs = aggregate(APPLIER.apply(lines), APPLIER.lfs)
    fired_share = float((probs >= 0.5).any(axis=1).mean())
    assert fired_share < 0.01, [line for line, p in zip(lines, probs) if (p >= 0.5).any()]


def test_within_counts_distance_from_first_to_second_inclusive():
    assert within([3], [5], 1, 2) and within([3], [4], 1, 2)   # 2 and 1 tokens after
    assert not within([3], [6], 1, 2) and not within([3], [3], 1, 2)  # 3 after; the same token
    assert within([5], [3], -2, 0) and not within([5], [3], 1, 4)  # before needs a negative low
    assert within([9, 1], [2], 1, 1) and not within([], [2], -9, 9)

"""Cleaning, splitting and normalization: the seed gold, and one small example per rule."""

from __future__ import annotations

import re

import pytest

from conftest import SEEDS, read_jsonl
from training.inputs.text import CleaningStats, clean_article, fix_characters, normalize, split_article, split_line


def test_splitter_reproduces_the_hand_made_seed_sentences_exactly():
    gold = read_jsonl(SEEDS / "sentences_gold.jsonl")
    produced = []
    for path in sorted(SEEDS.glob("*.txt")):
        for i, sentence in enumerate(split_article(path.read_text("utf-8"))):
            produced.append({"doc_id": path.name, "sent_id": i, "text": sentence})
    assert produced == gold


BOILERPLATE_LINES = {"بغداد/واشنطن", "القاهرة –", "admin15 أغسطس 2024آخر تحديث :", "اترك تعليق"}


def test_no_content_word_of_the_seeds_is_lost():
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text("utf-8")
        content = text.split("اترك تعليق")[0]  # the comment form and everything after it is furniture
        content = content.replace("بوابة اوكرانيا – كييف في 12 ديسمبر 2023- ", "")
        words = {w for line in content.splitlines() if line.strip() not in BOILERPLATE_LINES
                 for w in re.findall(r"\w+", line)}
        kept = {w for s in split_article(text) for w in re.findall(r"\w+", s)}
        assert words <= kept, (path.name, sorted(words - kept)[:10])


@pytest.mark.parametrize("mark", [".", "!", "؟", "?", "؛"])
def test_each_boundary_mark_ends_a_sentence(mark):
    assert split_line(f"قال المتحدث إن الوضع هادئ{mark} وأضاف أن الطرق مفتوحة.") == [
        f"قال المتحدث إن الوضع هادئ{mark}", "وأضاف أن الطرق مفتوحة."]


def test_line_breaks_split_but_comma_and_colon_do_not():
    assert split_article("قال المتحدث، في بيان: إن الوضع هادئ\nوأضاف أن الطرق مفتوحة") == [
        "قال المتحدث، في بيان: إن الوضع هادئ", "وأضاف أن الطرق مفتوحة"]


@pytest.mark.parametrize("inside", ["2.5", "1.200", "97.5%", "10:30", "29/8/2024", "29.8.2024"])
def test_numbers_times_and_dates_are_not_split(inside):
    line = f"بلغت النسبة {inside} في التقرير الأخير. وقال الخبراء إنها مرتفعة."
    assert split_line(line) == [f"بلغت النسبة {inside} في التقرير الأخير.", "وقال الخبراء إنها مرتفعة."]


@pytest.mark.parametrize("abbrev", ["ا.ف.ب", "أ.ف.ب", "د.", "ص.ب"])
def test_abbreviations_are_not_boundaries(abbrev):
    line = f"ونقلت {abbrev} عن المصدر قوله إن الاجتماع انتهى. ثم غادر الوفد القاعة."
    assert split_line(line) == [f"ونقلت {abbrev} عن المصدر قوله إن الاجتماع انتهى.", "ثم غادر الوفد القاعة."]


@pytest.mark.parametrize("opening,closing", [("«", "»"), ('"', '"'), ("“", "”"), ("(", ")")])
def test_quotations_are_never_split_and_end_after_the_closing_mark(opening, closing):
    line = f"وقال الوزير {opening}انتهى الاجتماع. وسنعود غدا{closing}. ثم غادر الوفد القاعة."
    assert split_line(line) == [f"وقال الوزير {opening}انتهى الاجتماع. وسنعود غدا{closing}.", "ثم غادر الوفد القاعة."]


def test_an_unclosed_quotation_protects_nothing():
    line = "وقال الوزير “انتهى الاجتماع اليوم. وغادر الوفد القاعة بعدها."
    assert len(split_line(line)) == 2


@pytest.mark.parametrize("marks", ["...", "؟!", "!!", "…"])
def test_repeated_marks_are_one_boundary(marks):
    assert split_line(f"هل انتهت الحرب حقا{marks} لا أحد يعرف الجواب بعد.") == [
        f"هل انتهت الحرب حقا{marks}", "لا أحد يعرف الجواب بعد."]


def test_short_fragments_are_merged_and_counted():
    stats = CleaningStats()
    assert split_line("قال المتحدث إن الاجتماع انتهى. نعم. ثم غادر الوفد القاعة.", min_words=3, stats=stats) == [
        "قال المتحدث إن الاجتماع انتهى. نعم.", "ثم غادر الوفد القاعة."]
    assert stats.removed["short_fragment_merged"] == 1


def test_short_lines_and_punctuation_fragments_are_dropped_and_counted():
    stats = CleaningStats()
    assert split_article("كلمتان فقط\nقال المتحدث إن الاجتماع انتهى. .", min_words=3, stats=stats) == [
        "قال المتحدث إن الاجتماع انتهى."]
    assert stats.removed["short_line_dropped"] == 1
    assert stats.removed["punctuation_fragment_dropped"] == 1


def test_min_words_is_configurable():
    assert split_article("ضربات جوية وإنزال بري", min_words=5) == []
    assert split_article("ضربات جوية وإنزال بري", min_words=3) == ["ضربات جوية وإنزال بري"]


def test_comment_form_and_everything_after_it_is_removed():
    text = ("عنوان الخبر المهم جدا\nقال المتحدث إن الاجتماع انتهى.\nاترك تعليق\n"
            "لن يتم نشر عنوان بريدك الإلكتروني.\nشروط التعليق :\nعدم الإساءة للكاتب أو للأشخاص.\nالاخبار العاجلة")
    stats = CleaningStats()
    assert split_article(text, stats=stats) == ["عنوان الخبر المهم جدا", "قال المتحدث إن الاجتماع انتهى."]
    assert stats.removed["comment_form"] == 1


@pytest.mark.parametrize("line,rule", [
    ("admin15 أغسطس 2024آخر تحديث :", "update_stamp"),
    ("الاخبار العاجلة", "section_tag"),
    ("بغداد/واشنطن", "dateline_places"),
    ("القاهرة –", "dateline_dash"),
    ("لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *", "email_notice"),
])
def test_boilerplate_lines_are_dropped_by_named_rules(line, rule):
    stats = CleaningStats()
    assert clean_article(f"{line}\nقال المتحدث إن الاجتماع انتهى.", stats) == ["قال المتحدث إن الاجتماع انتهى."]
    assert stats.removed[rule] == 1


@pytest.mark.parametrize("prefix", ["بوابة اوكرانيا – كييف في 12 ديسمبر 2023- ", "بغداد - (رويترز) - ",
                                    "القاهرة (أ ف ب) – "])
def test_datelines_at_the_start_of_a_sentence_are_stripped(prefix):
    assert clean_article(prefix + "استهدفت طائرة مسيرة قاعدة عسكرية.") == ["استهدفت طائرة مسيرة قاعدة عسكرية."]


def test_dash_inside_a_sentence_is_not_a_dateline():
    line = "قال المتحدث إن الوضع – كما يبدو – هادئ تماما."
    assert clean_article(line) == [line]


def test_invisible_characters_line_ends_and_spaces_are_fixed():
    raw = "قال\u00a0المتحدث\u200f إن\u202bالوضع\u2066 هادئ\r\nوأضاف أن الطرق مفتوحة\rتماما في هذا اليوم"
    assert fix_characters(raw) == "قال المتحدث إنالوضع هادئ\nوأضاف أن الطرق مفتوحة\nتماما في هذا اليوم"
    assert split_article(raw) == ["قال المتحدث إنالوضع هادئ", "وأضاف أن الطرق مفتوحة", "تماما في هذا اليوم"]


def test_every_run_of_spaces_becomes_one_plain_space():
    assert fix_characters("ا  ب\u00a0ج \t\u2009د\u3000\u3000ه و") == "ا ب ج د ه و"
    assert fix_characters(" \u00a0") == " " and fix_characters("\u00a0 ") == " "


def test_normalize_for_matching():
    assert normalize("أُصِيبَ") == "اصيب"
    assert normalize("إِنَّ آخر ٱلقوم") == "ان اخر القوم"
    assert normalize("مستشفى المدينة") == "مستشفي المدينه"
    assert normalize("قتلـــى") == "قتلي"
    assert normalize("٢٠٢٤ و۱۵") == "2024 و15"
    assert normalize("\ufef7") == "لا"  # the ligature لأ: NFKC splits it, then alef is unified
    assert normalize("  قال   المتحدث \t ") == "قال المتحدث"

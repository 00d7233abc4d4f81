"""Arabic news text: cleaning, sentence splitting and the normalized view used for matching.

The original sentence (after cleaning) is what is stored, shown and given to the model; the
normalized view exists only for the labeling rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

# Zero-width and bidi control characters (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069),
# the BOM used mid-text, and the soft hyphen: invisible, and they break matching.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
# A run of spaces to fold into one plain space: two or more, or one exotic (a lone plain space,
# the commonest character of a text, is left alone rather than replaced by itself).
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_BOUNDARY_MARKS = re.compile(r"[.!?؟؛…]+")
_WORD = re.compile(r"[\w\u0600-\u06FF]+")
# Digit, separator, digit: 2.5, 1.200, 97.5%, 29.8.2024 never end a sentence.
_NUMBER_DOT = re.compile(r"(?<=\d)[.](?=\d)")


@dataclass(frozen=True)
class TextRules:
    """The compiled cleaning and splitting rules of `resources/text_rules.yaml`."""

    cut_from_line: dict[str, re.Pattern]
    drop_line: dict[str, re.Pattern]
    strip_prefix: dict[str, re.Pattern]
    abbreviations: re.Pattern | None

    def first(self, section: str, line: str) -> str | None:
        """The name of the first rule of `section` that matches somewhere in `line`."""
        for name, pattern in getattr(self, section).items():
            if pattern.search(line):
                return name
        return None


@lru_cache(maxsize=1)
def load_rules() -> TextRules:
    """Load and compile the packaged text rules (cached: they never change at run time)."""
    raw = yaml.safe_load(resources.files("training").joinpath("resources/text_rules.yaml").read_text("utf-8"))
    compile_all = lambda section: {name: re.compile(p) for name, p in (raw.get(section) or {}).items()}  # noqa: E731
    abbrevs = sorted(raw.get("abbreviations") or [], key=len, reverse=True)
    abbrev_re = None
    if abbrevs:
        alternation = "|".join(re.escape(a) for a in abbrevs)
        abbrev_re = re.compile(rf"(?<![\w\u0600-\u06FF])(?:{alternation})")
    return TextRules(compile_all("cut_from_line"), compile_all("drop_line"), compile_all("strip_prefix"), abbrev_re)


@dataclass
class CleaningStats:
    """What cleaning and splitting removed, by rule name (for the dataset report)."""

    removed: Counter = field(default_factory=Counter)


def fix_characters(text: str) -> str:
    """Unify line ends, drop invisible controls, turn exotic spaces (NBSP...) into plain spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text)


def clean_article(text: str, stats: CleaningStats | None = None) -> list[str]:
    """Return the content lines of an article: boilerplate lines dropped, datelines stripped."""
    rules = load_rules()
    stats = stats if stats is not None else CleaningStats()
    lines: list[str] = []
    for line in fix_characters(text).split("\n"):
        line = line.strip()
        if not line:
            continue
        cut = rules.first("cut_from_line", line)
        if cut:
            stats.removed[cut] += 1
            break
        dropped = rules.first("drop_line", line)
        if dropped:
            stats.removed[dropped] += 1
            continue
        for name, pattern in rules.strip_prefix.items():
            stripped = pattern.sub("", line, count=1)
            if stripped != line:
                stats.removed[name] += 1
                line = stripped.strip()
        if line:
            lines.append(line)
    return lines


# A closed quotation or bracket on one line. finditer scans left to right like a reader: an
# opening mark with no closing mark on the line protects nothing and the scan moves on.
_QUOTED = re.compile(r'«[^»\n]*»|“[^”\n]*”|„[^“\n]*“|\([^)\n]*\)|"[^"\n]*"')
_QUOTE_OPENERS = '«“„("'


def _has_quote_mark(line: str) -> bool:
    """False for a line with no opening mark: most lines, which then skip the quotation scan."""
    return any(mark in line for mark in _QUOTE_OPENERS)


def _protected_spans(line: str) -> list[tuple[int, int]]:
    """Spans of closed quotations and brackets, and of abbreviations, where no split may happen.

    A quotation that is not closed on the same line protects nothing: scraped news often loses
    a closing mark, and protecting to the end of the line would merge many sentences.
    """
    spans = [(m.start(), m.end() - 1) for m in _QUOTED.finditer(line)] if _has_quote_mark(line) else []
    abbrevs = load_rules().abbreviations
    if abbrevs is not None and "." in line:  # every abbreviation holds a dot
        spans.extend((m.start(), m.end()) for m in abbrevs.finditer(line))
    return spans


def _boundaries(line: str) -> list[int]:
    """Indices just after each sentence-ending run of marks in one line."""
    marks = list(_BOUNDARY_MARKS.finditer(line))
    spans = _protected_spans(line) if marks else []
    cuts = []
    for m in marks:
        start, end = m.span()
        if spans and any(s <= start < e for s, e in spans):
            continue
        if m.group() == "." and _NUMBER_DOT.match(line, start):
            continue
        cuts.append(end)
    return cuts


def _words_up_to(text: str, cap: int) -> int:
    """The number of words in `text`, counted no further than `cap` (the scan stops there)."""
    count = 0
    for _ in _WORD.finditer(text):
        count += 1
        if count >= cap:
            break
    return count


def split_line(line: str, min_words: int = 3, stats: CleaningStats | None = None) -> list[str]:
    """Split one content line into sentences.

    Fragments with no word are dropped; fragments under `min_words` words are merged into
    the sentence before them on the same line (or after it when they come first); a line that
    is short as a whole is dropped. Each merge or drop is counted in `stats`.
    """
    stats = stats if stats is not None else CleaningStats()
    # Each piece carries its word count: joining two pieces with a space adds their counts. Counts
    # are only compared with 0 and min_words, so they stop at min_words (sums stay exact below it).
    cap, pieces, last = max(min_words, 1), [], 0
    for cut in _boundaries(line) + [len(line)]:
        piece = line[last:cut].strip()
        last = cut
        if not piece:
            continue
        words = _words_up_to(piece, cap)
        if words == 0:
            stats.removed["punctuation_fragment_dropped"] += 1
            continue
        pieces.append((piece, words))
    sentences: list[tuple[str, int]] = []
    pending, pending_words = "", 0
    for piece, words in pieces:
        if words < min_words and (sentences or pending or len(pieces) > 1):
            stats.removed["short_fragment_merged"] += 1
            if sentences:
                text, count = sentences[-1]
                sentences[-1] = (f"{text} {piece}", count + words)
            else:
                pending, pending_words = f"{pending} {piece}".strip(), pending_words + words
            continue
        sentences.append((f"{pending} {piece}".strip(), pending_words + words) if pending else (piece, words))
        pending, pending_words = "", 0
    if pending:
        sentences.append((pending, pending_words))
    kept = [text for text, words in sentences if words >= min_words]
    if len(kept) < len(sentences):
        stats.removed["short_line_dropped"] += len(sentences) - len(kept)
    return [piece for s in kept for piece in _cut_long(s, stats)]


# A "sentence" longer than this is text without sentence punctuation (a list, a transcript, a
# scraped page); about the 128 tokens a model reads, so no part of it is silently truncated. The
# longest of the 185k ANT sentences has 452 words; 0.06% exceed 100.
MAX_SENTENCE_WORDS = 100
UNPUNCTUATED_WORDS = 1000  # a passage this long is worth a warning that names its article


def _cut_long(sentence: str, stats: CleaningStats) -> list[str]:
    """Cut a sentence of over MAX_SENTENCE_WORDS words into near-equal pieces at word boundaries."""
    if len(sentence) < 2 * MAX_SENTENCE_WORDS:  # k words take at least 2k - 1 characters
        return [sentence]
    words = sentence.split()
    if len(words) <= MAX_SENTENCE_WORDS:
        return [sentence]
    stats.removed["unpunctuated_passage_cut" if len(words) > UNPUNCTUATED_WORDS else "long_sentence_cut"] += 1
    pieces = -(-len(words) // MAX_SENTENCE_WORDS)
    size = -(-len(words) // pieces)
    return [" ".join(words[i:i + size]) for i in range(0, len(words), size)]


def split_article(text: str, min_words: int = 3, stats: CleaningStats | None = None) -> list[str]:
    """Clean an article and split it into sentences, in reading order."""
    stats = stats if stats is not None else CleaningStats()
    return [s for line in clean_article(text, stats) for s in split_line(line, min_words, stats)]


# --- normalized view for matching -------------------------------------------------------

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # and tatweel
# Alef forms, alef maqsura and ta marbuta unified; Arabic-Indic digits to ASCII. A list of
# replacements, not str.translate: translate looks every character up in a dict (3x slower here).
_CHAR_MAP = (
    [("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"), ("ى", "ي"), ("ة", "ه")]
    + [(chr(0x0660 + d), str(d)) for d in range(10)]  # Arabic-Indic digits
    + [(chr(0x06F0 + d), str(d)) for d in range(10)]  # Eastern Arabic-Indic digits
)


def normalize(text: str) -> str:
    """The matching view: NFKC, no diacritics or tatweel, alef/ya/ta-marbuta unified, ASCII digits."""
    text = _DIACRITICS.sub("", unicodedata.normalize("NFKC", text))
    for char, replacement in _CHAR_MAP:
        if char in text:
            text = text.replace(char, replacement)
    return " ".join(text.split())

"""WordPiece vocabularies trained on the corpus, deterministically, and the tokenizer built on one.

The tokenizers library's WordPiece trainer breaks ties between equally frequent pairs in
hash-map order, which Rust seeds at random per process: the same corpus gave a different
vocabulary on each of three runs (and so a different model). `train_wordpiece` is the same
algorithm (BPE merges with "##" continuation pieces, as tokenizers' WordPieceTrainer does)
with ties broken by the pair's text, so a corpus always gives one vocabulary.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from typing import Iterable

logger = logging.getLogger(__name__)
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PREFIX = "##"  # marks a piece that continues a word


def count_words(texts: Iterable[str]) -> Counter:
    """Word frequencies after the tokenizer's own normalization and pre-tokenization."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer, pre = normalizers.NFKC(), pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    return counts


def _alphabet(words: Counter) -> list[str]:
    chars = sorted({c for w in words for c in w})
    return chars + [PREFIX + c for c in chars]


def _join(left: str, right: str) -> str:
    return left + right[len(PREFIX):]


class _PairCounts:
    """Pair frequencies over word types, with the words each pair occurs in, and a max-heap."""

    def __init__(self, words: list[list[str]], freqs: list[int]):
        self.count: Counter = Counter()
        self.where: dict[tuple[str, str], set[int]] = defaultdict(set)
        for i, symbols in enumerate(words):
            self.add(i, symbols, freqs[i])
        # ties broken by the pair's text (heap order), never by hash order
        self.heap = [(-c, pair) for pair, c in self.count.items()]
        heapq.heapify(self.heap)

    def add(self, i: int, symbols: list[str], freq: int, sign: int = 1) -> set:
        changed = set()
        for pair in zip(symbols, symbols[1:]):
            self.count[pair] += sign * freq
            if sign > 0:
                self.where[pair].add(i)
            changed.add(pair)
        return changed

    def best(self, min_frequency: int) -> tuple[str, str] | None:
        while self.heap:
            negative, pair = heapq.heappop(self.heap)
            if self.count.get(pair, 0) == -negative:  # else a stale entry
                return pair if -negative >= min_frequency else None
        return None

    def push(self, pairs: set) -> None:
        for pair in pairs:
            if self.count.get(pair, 0) > 0:
                heapq.heappush(self.heap, (-self.count[pair], pair))


def _merge(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    out, k = [], 0
    while k < len(symbols):
        if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == pair:
            out.append(_join(*pair))
            k += 2
        else:
            out.append(symbols[k])
            k += 1
    return out


def train_wordpiece(texts: Iterable[str], size: int, min_frequency: int = 2) -> dict[str, int]:
    """A WordPiece vocabulary of at most `size` tokens: specials, every character (alone and as
    a "##" piece), then BPE merges of the words seen at least `min_frequency` times."""
    counts = count_words(texts)
    tokens = SPECIAL_TOKENS + _alphabet(counts)
    known = set(tokens)
    kept = sorted(w for w, c in counts.items() if c >= min_frequency and len(w) > 1)
    words = [[w[0]] + [PREFIX + c for c in w[1:]] for w in kept]
    freqs = [counts[w] for w in kept]
    pairs = _PairCounts(words, freqs)
    while len(tokens) < size:
        pair = pairs.best(min_frequency)
        if pair is None:
            break
        changed = set()
        for i in sorted(pairs.where.pop(pair, ())):
            changed |= pairs.add(i, words[i], freqs[i], sign=-1)
            words[i] = _merge(words[i], pair)
            changed |= pairs.add(i, words[i], freqs[i])
        pairs.count.pop(pair, None)
        pairs.push(changed - {pair})
        token = _join(*pair)
        if token not in known:
            tokens.append(token)
            known.add(token)
    logger.info("WordPiece vocabulary: %d tokens from %d word types", len(tokens), len(counts))
    return {token: i for i, token in enumerate(tokens)}


def frequent_words_vocab(texts: Iterable[str], size: int) -> dict[str, int]:
    """Specials, every character (alone and as "##" piece), then the most frequent whole words
    (ties alphabetical) up to `size`: the tiny test model's vocabulary, quick on small data."""
    counts = count_words(texts)
    tokens = SPECIAL_TOKENS + _alphabet(counts)
    known = set(tokens)
    for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(tokens) >= size:
            break
        if word not in known:
            tokens.append(word)
            known.add(word)
    return {token: i for i, token in enumerate(tokens)}


def bert_tokenizer(vocab: dict[str, int], max_length: int):
    """A fast BERT tokenizer (NFKC, BERT pre-tokenizer, WordPiece, [CLS] ... [SEP]) on `vocab`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    wordpiece = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix=PREFIX))
    wordpiece.normalizer = normalizers.NFKC()
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    wordpiece.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=max_length)

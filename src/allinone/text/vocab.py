"""Train a WordPiece vocabulary from a text corpus (``tokenizers``' `WordPieceTrainer`).

The vocabulary uses the tokenizer's own normalizer and pre-tokenizer, gives the special tokens ids
``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4, and keeps every character of the
corpus, both as a word start (``c``) and, for letters and digits, as a continuation (``##c``), so
no word spelled with the corpus's characters maps to ``[UNK]``.

Training is done in two passes: the first (no merges) finds the alphabet; the second pre-registers
the continuation pieces in sorted order. Left to itself the trainer numbers them in hash-map order,
which changes ids and tie-breaks between runs; pre-registering makes a corpus give the same
vocabulary every time.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable, Union

from tokenizers import Tokenizer, models, trainers

from .corpus import default_corpus
from .tokenizer import (SPECIAL_TOKENS, SUBWORD_PREFIX, UNK, TextTokenizer, TokenizerError,
                        bert_normalizer, bert_pre_tokenizer)

PathLike = Union[str, Path]

__all__ = ["build_vocab", "build_vocab_from_files", "default_corpus", "default_tokenizer"]


def _train(corpus: list[str], vocab_size: int, min_frequency: int, reserved: list[str]) -> dict[str, int]:
    """One WordPieceTrainer run; `reserved` tokens take ids 0..len-1 in their given order."""
    backend = Tokenizer(models.WordPiece(unk_token=UNK, continuing_subword_prefix=SUBWORD_PREFIX))
    backend.normalizer = bert_normalizer()
    backend.pre_tokenizer = bert_pre_tokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=reserved,
                                        continuing_subword_prefix=SUBWORD_PREFIX, show_progress=False)
    backend.train_from_iterator(corpus, trainer=trainer, length=len(corpus))
    return backend.get_vocab(with_added_tokens=True)


def _as_corpus(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        raise TokenizerError("build_vocab needs an iterable of texts, got one str; wrap it in a list")
    corpus = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TokenizerError(f"corpus item {i} is a {type(text).__name__}, not a str")
        if text.strip():
            corpus.append(text)
    if not corpus:
        raise TokenizerError("the corpus holds no text; give build_vocab at least one non-empty sentence")
    return corpus


def build_vocab(texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 1,
                max_len: int = 40) -> TextTokenizer:
    """Train a WordPiece vocabulary of at most `vocab_size` tokens on `texts` → `TextTokenizer`.

    min_frequency: how often a pair must occur to be merged into a new piece (characters are
    always kept). max_len: length of the tokenizer's encoded rows.
    """
    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise TokenizerError(f"vocab_size={vocab_size}: must exceed the {len(SPECIAL_TOKENS)} special tokens")
    if min_frequency < 0:
        raise TokenizerError(f"min_frequency={min_frequency}: must be ≥ 0")
    corpus = _as_corpus(texts)
    specials = list(SPECIAL_TOKENS)
    seen = _train(corpus, 0, min_frequency, specials)  # no merges: specials + alphabet + ##pieces
    alphabet = {tok for tok in seen if tok not in specials and not tok.startswith(SUBWORD_PREFIX)}
    continuing = {tok for tok in seen if tok.startswith(SUBWORD_PREFIX) and tok not in specials}
    continuing |= {SUBWORD_PREFIX + c for c in alphabet if len(c) == 1 and c.isalnum()}
    reserved = specials + sorted(continuing)
    needed = len(reserved) + len(alphabet)
    if needed > vocab_size:
        raise TokenizerError(f"vocab_size={vocab_size} is too small: the corpus's characters alone need "
                             f"{needed} tokens; raise vocab_size to at least {needed}")
    vocab = _train(corpus, vocab_size, min_frequency, reserved)
    return TextTokenizer(vocab, max_len, source="trained vocabulary")


def _read_lines(path: PathLike) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise TokenizerError(f"{p}: no such text file; pass existing UTF-8 text files, one sentence per line")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenizerError(f"{p}: cannot be read as UTF-8 text ({exc}); convert it to UTF-8") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def build_vocab_from_files(paths: Union[PathLike, Iterable[PathLike]], vocab_size: int = 8192,
                           min_frequency: int = 1, max_len: int = 40) -> TextTokenizer:
    """`build_vocab` on the non-empty lines of one or more UTF-8 text files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    corpus = [line for path in paths for line in _read_lines(path)]
    if not corpus:
        raise TokenizerError("the given files hold no text; pass files with one sentence per line")
    return build_vocab(corpus, vocab_size=vocab_size, min_frequency=min_frequency, max_len=max_len)


@lru_cache(maxsize=None)
def default_tokenizer(max_len: int = 40) -> TextTokenizer:
    """A tokenizer trained on the built-in `default_corpus` (computed once per process).

    Covers common tracking-description words (colours, sizes, positions, motions, LaSOT/COCO
    classes); other words split into pieces, never [UNK] for Latin letters and digits. The
    returned object is shared: treat it as read-only.
    """
    return build_vocab(default_corpus(), vocab_size=8192, min_frequency=1, max_len=max_len)

"""BERT-style uncased WordPiece tokenizer for the tracker's language input (SPEC §2).

Text becomes ``[CLS] w1 w2 ... [SEP]`` (lower-cased, accents stripped, WordPiece pieces), padded on
the right with ``[PAD]`` (id 0) to a fixed ``max_len`` (40 in the paper) with an attention mask.
Longer text is truncated, keeping ``[CLS]`` first and ``[SEP]`` last. "No text" (``None``, empty or
whitespace-only) is all-zero ids and mask, which the model's mean pooling turns into a zero vector.

The pipeline is always the same (see `_build_backend`); a vocabulary is all that varies, so a
tokenizer loaded from a foreign ``tokenizer.json`` is rebuilt around that file's vocabulary.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

PathLike = Union[str, Path]
TextBatch = Union[str, None, Sequence[Optional[str]]]

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)  # the order `build_vocab` gives them ids 0..4
REQUIRED_TOKENS = (PAD, UNK, CLS, SEP)
SUBWORD_PREFIX = "##"
JSON_NAME, VOCAB_NAME = "tokenizer.json", "vocab.txt"
_SOURCES_HINT = f"pass a BERT {VOCAB_NAME}, a {JSON_NAME} or a directory holding one"


class TokenizerError(ValueError):
    """A vocabulary or tokenizer file that cannot be used, or input that cannot be tokenized."""


def _check_vocab(vocab: Mapping[str, int], source: str) -> None:
    """Raise unless `vocab` maps distinct tokens to ids 0..n-1 and holds the required specials."""
    if not vocab:
        raise TokenizerError(f"{source}: the vocabulary is empty; {_SOURCES_HINT}")
    missing = [tok for tok in REQUIRED_TOKENS if tok not in vocab]
    if missing:
        raise TokenizerError(f"{source}: the vocabulary lacks the special token(s) {', '.join(missing)}; "
                             f"add them (BERT vocabularies start with [PAD] at id 0)")
    if vocab[PAD] != 0:
        raise TokenizerError(f"{source}: [PAD] has id {vocab[PAD]} but must have id 0; "
                             f"put [PAD] on the first line of the vocabulary")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise TokenizerError(f"{source}: token ids are not exactly 0..{len(vocab) - 1} "
                             f"(duplicated or skipped ids); renumber the vocabulary")


def bert_normalizer() -> normalizers.Normalizer:
    """BERT-base-uncased normalisation: clean control characters, space out CJK, lower-case."""
    # strip_accents=None means "follow lowercase": accents are stripped too
    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                      strip_accents=None, lowercase=True)


def bert_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Split on whitespace and punctuation, as BERT does."""
    return pre_tokenizers.BertPreTokenizer()


def _build_backend(vocab: Mapping[str, int], max_len: int) -> Tokenizer:
    """The fixed BERT-uncased pipeline around `vocab`, truncating and padding to `max_len`."""
    backend = Tokenizer(models.WordPiece(vocab=dict(vocab), unk_token=UNK,
                                         continuing_subword_prefix=SUBWORD_PREFIX))
    backend.normalizer = bert_normalizer()
    backend.pre_tokenizer = bert_pre_tokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, vocab[CLS]), (SEP, vocab[SEP])])
    backend.decoder = decoders.WordPiece(prefix=SUBWORD_PREFIX)
    backend.add_special_tokens([tok for tok in SPECIAL_TOKENS if tok in vocab])
    # truncation counts the [CLS]/[SEP] the post-processor adds, so they always survive
    backend.enable_truncation(max_length=max_len)
    backend.enable_padding(direction="right", pad_id=vocab[PAD], pad_token=PAD, length=max_len)
    return backend


def _read_vocab_txt(text: str, source: str) -> dict[str, int]:
    """Parse a BERT ``vocab.txt``: one token per line, id = line index."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    vocab: dict[str, int] = {}
    for index, line in enumerate(lines):
        token = line.rstrip("\r")
        if not token.strip():
            raise TokenizerError(f"{source}:{index + 1}: empty token line; "
                                 f"a {VOCAB_NAME} holds one token per line and no blank lines")
        if token in vocab:
            raise TokenizerError(f"{source}:{index + 1}: token {token!r} already on line "
                                 f"{vocab[token] + 1}; remove the duplicate")
        vocab[token] = index
    return vocab


def _vocab_from_json(text: str, source: str) -> dict[str, int]:
    """The WordPiece vocabulary inside a serialized ``tokenizers`` tokenizer (``tokenizer.json``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TokenizerError(f"{source}: not valid JSON ({exc}); {_SOURCES_HINT}") from None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("vocab"), dict):
        raise TokenizerError(f"{source}: no model vocabulary in this JSON; {_SOURCES_HINT}")
    if model.get("type", "WordPiece") != "WordPiece":
        raise TokenizerError(f"{source}: a {model.get('type')} tokenizer, not WordPiece; "
                             f"use a BERT-style WordPiece {JSON_NAME} or {VOCAB_NAME}")
    vocab = model["vocab"]
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in vocab.items()):
        raise TokenizerError(f"{source}: the vocabulary must map token strings to integer ids")
    return vocab


def _resolve_file(path: PathLike) -> Path:
    """`path` itself, or the tokenizer file inside the directory `path` (tokenizer.json first)."""
    p = Path(path)
    if p.is_dir():
        for name in (JSON_NAME, VOCAB_NAME):
            if (p / name).is_file():
                return p / name
        raise TokenizerError(f"{p}: directory holds neither {JSON_NAME} nor {VOCAB_NAME}; {_SOURCES_HINT}")
    if not p.is_file():
        raise TokenizerError(f"{p}: no such file or directory; {_SOURCES_HINT}")
    return p


class TextTokenizer:
    """Uncased BERT WordPiece tokenizer producing fixed-length id/mask tensors for the model.

    Build one with `TextTokenizer.from_file` (``vocab.txt``, ``tokenizer.json`` or a directory),
    `TextTokenizer.from_json_str` (the string a checkpoint carries), `build_vocab` (train on a
    corpus) or `default_tokenizer` (built-in vocabulary). ``encode`` turns text into
    ``(ids, mask)``, both ``torch.long`` of shape ``(B, max_len)``.
    """

    def __init__(self, vocab: Mapping[str, int], max_len: int = 40, *, source: str = "vocabulary") -> None:
        """vocab: token → id (ids 0..n-1, with [PAD]=0, [UNK], [CLS], [SEP]); max_len ≥ 3 tokens."""
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 3:
            raise TokenizerError(f"max_len={max_len!r}: must be an integer ≥ 3 ([CLS], a token, [SEP])")
        _check_vocab(vocab, source)
        self._vocab = dict(vocab)
        self._max_len = max_len
        self._backend = _build_backend(self._vocab, max_len)

    # ---- construction and serialization -------------------------------------------------------
    @classmethod
    def from_file(cls, path: PathLike, max_len: int = 40) -> "TextTokenizer":
        """Load a BERT ``vocab.txt``, a ``tokenizer.json`` or a directory holding either."""
        p = _resolve_file(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenizerError(f"{p}: cannot be read as UTF-8 text ({exc}); {_SOURCES_HINT}") from None
        if text.lstrip().startswith("{"):
            return cls(_vocab_from_json(text, str(p)), max_len, source=str(p))
        return cls(_read_vocab_txt(text, str(p)), max_len, source=str(p))

    @classmethod
    def from_json_str(cls, s: str, max_len: int = 40) -> "TextTokenizer":
        """Rebuild a tokenizer from `to_json_str` output (or any WordPiece ``tokenizer.json`` text).

        Only the JSON's vocabulary is used; the pipeline is the fixed BERT-uncased one and rows have
        `max_len` tokens whatever the JSON's own truncation/padding settings say.
        """
        if not isinstance(s, str):
            raise TokenizerError(f"tokenizer JSON must be a str, got {type(s).__name__}")
        return cls(_vocab_from_json(s, "tokenizer JSON"), max_len, source="tokenizer JSON")

    def to_json_str(self) -> str:
        """The whole tokenizer as ``tokenizers`` JSON (what ``tokenizer.json`` holds)."""
        return self._backend.to_str()

    def save(self, path: PathLike) -> Path:
        """Write ``*.json`` (tokenizers JSON) or ``*.txt`` (BERT vocab); a directory gets tokenizer.json.

        Returns the path of the written file.
        """
        p = Path(path)
        if p.is_dir():
            p = p / JSON_NAME
        if p.suffix == ".json":
            p.write_text(self.to_json_str(), encoding="utf-8")
        elif p.suffix == ".txt":
            tokens = self.id_to_token_list()
            if any("\n" in tok or "\r" in tok for tok in tokens):
                raise TokenizerError(f"{p}: a token holds a line break and cannot go in {VOCAB_NAME}; "
                                     f"save as {JSON_NAME} instead")
            p.write_text("".join(tok + "\n" for tok in tokens), encoding="utf-8")
        else:
            raise TokenizerError(f"{p}: unknown suffix {p.suffix!r}; save to a .json or .txt file "
                                 f"or an existing directory")
        return p

    # ---- properties --------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of token ids (the size the model's word embedding needs)."""
        return len(self._vocab)

    @property
    def max_len(self) -> int:
        """Length of every encoded row, ``[CLS]`` and ``[SEP]`` included."""
        return self._max_len

    @property
    def pad_id(self) -> int:
        return self._vocab[PAD]

    @property
    def unk_id(self) -> int:
        return self._vocab[UNK]

    @property
    def cls_id(self) -> int:
        return self._vocab[CLS]

    @property
    def sep_id(self) -> int:
        return self._vocab[SEP]

    @property
    def backend(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer`` (do not reconfigure it)."""
        return self._backend

    def get_vocab(self) -> dict[str, int]:
        """A copy of the token → id mapping."""
        return dict(self._vocab)

    def id_to_token_list(self) -> list[str]:
        """Tokens in id order (line order of a ``vocab.txt``)."""
        tokens = [""] * len(self._vocab)
        for tok, idx in self._vocab.items():
            tokens[idx] = tok
        return tokens

    def tokenize(self, text: str) -> list[str]:
        """WordPiece tokens of `text` (at most max_len) without specials or padding, for inspection."""
        enc = self._backend.encode(_check_text(text), add_special_tokens=False)
        return [tok for tok, keep in zip(enc.tokens, enc.attention_mask) if keep]

    # ---- encoding ----------------------------------------------------------------------------
    def encode(self, texts: TextBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Text(s) → ``(ids, mask)``, both ``torch.long`` of shape ``(B, max_len)``.

        A single ``str`` (or ``None``) gives B=1. ``None``, empty, whitespace-only text, or text
        that normalises to nothing, is "no text": an all-zero row of ids and of mask.
        """
        batch = _as_batch(texts)
        ids = torch.zeros((len(batch), self._max_len), dtype=torch.long)
        mask = torch.zeros_like(ids)
        rows = [i for i, t in enumerate(batch) if t is not None and t.strip()]
        if not rows:
            return ids, mask
        strings = [batch[i] for i in rows]
        # encode_batch runs in parallel; for one text plain encode avoids flagging the process as
        # having used parallelism (tokenizers then warns in forked DataLoader workers)
        encodings = (self._backend.encode_batch(strings) if len(strings) > 1
                     else [self._backend.encode(strings[0])])
        enc_ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
        enc_mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
        special = torch.tensor([e.special_tokens_mask for e in encodings], dtype=torch.long)
        has_content = (enc_mask * (1 - special)).any(dim=1)  # e.g. control characters only
        index = torch.tensor(rows, dtype=torch.long)[has_content]
        ids[index] = enc_ids[has_content]
        mask[index] = enc_mask[has_content]
        return ids, mask

    def decode(self, ids: Union[torch.Tensor, Sequence[int], Sequence[Sequence[int]]]
               ) -> Union[str, list[str]]:
        """Ids → text without special tokens; a 1-D input gives a str, a 2-D input a list of str."""
        batched = isinstance(ids, torch.Tensor) and ids.dim() == 2
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if batched or (ids and isinstance(ids[0], (list, tuple, torch.Tensor))):
            rows = [[int(i) for i in row] for row in ids]
            return self._backend.decode_batch(rows, skip_special_tokens=True)
        return self._backend.decode([int(i) for i in ids], skip_special_tokens=True)

    def __repr__(self) -> str:
        return f"TextTokenizer(vocab_size={self.vocab_size}, max_len={self.max_len})"


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TokenizerError(f"text must be a str or None, got {type(text).__name__} ({text!r:.60})")
    return text


def _as_batch(texts: TextBatch) -> list[Optional[str]]:
    """`texts` as a list of str/None; anything else raises `TokenizerError`."""
    if texts is None or isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Sequence):
        raise TokenizerError(f"texts must be a str, None or a sequence of them, got {type(texts).__name__}")
    return [None if t is None else _check_text(t) for t in texts]

"""BERT checkpoints → the language embedding (word, position, token type, LayerNorm) and tokenizer.

Accepted: any ``BertModel`` / ``BertFor*`` state dict (``bert-base-uncased``'s ``pytorch_model.bin``,
a sentence-transformers ``model.safetensors`` such as all-MiniLM-L6-v2), keys ``[bert.]embeddings.*``,
old-style ``LayerNorm.gamma/beta`` included. Only the embedding layer is used (SPEC §3.1); its
position table (512 rows) is truncated to ``model.max_text_len``. The word table's rows are ids of
the checkpoint's own ``vocab.txt``, so that file becomes the tokenizer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..checkpoint import CheckpointError
from .files import PathLike, read_state_dict

WEIGHT_NAMES = ("model.safetensors", "pytorch_model.bin")
VOCAB_NAME = "vocab.txt"
_EMBEDDING_KEYS = ("word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight",
                   "LayerNorm.weight", "LayerNorm.bias")


def bert_files(path: PathLike) -> tuple[Path, Optional[Path]]:
    """(weights file, its ``vocab.txt`` or None) for a weights file or a folder holding one."""
    p = Path(path)
    if p.is_dir():
        found = [p / n for n in WEIGHT_NAMES if (p / n).is_file()]
        if not found:
            raise CheckpointError(f"{p}: no BERT weights inside (expected one of {', '.join(WEIGHT_NAMES)})")
        p = found[0]
    elif not p.is_file():
        raise CheckpointError(f"BERT weights not found: {p}")
    vocab = p.parent / VOCAB_NAME
    return p, vocab if vocab.is_file() else None


def bert_to_language(sd: dict[str, torch.Tensor], max_len: int) -> dict[str, torch.Tensor]:
    """BERT embedding-layer keys → ``LanguageEmbedding`` keys, position table cut to `max_len` rows."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        key = key.removeprefix("bert.")
        if not key.startswith("embeddings."):
            continue
        key = key[len("embeddings."):].replace("LayerNorm.gamma", "LayerNorm.weight")
        key = key.replace("LayerNorm.beta", "LayerNorm.bias")
        if key in _EMBEDDING_KEYS:
            out[key] = value
    missing = [f"embeddings.{k}" for k in _EMBEDDING_KEYS if k not in out]
    if missing:
        raise CheckpointError(f"not a BERT state dict: missing {', '.join(missing)}")
    positions = out["position_embeddings.weight"]
    if positions.shape[0] < max_len:
        raise CheckpointError(f"BERT position table has {positions.shape[0]} rows, fewer than "
                              f"model.max_text_len={max_len}; lower model.max_text_len")
    out["position_embeddings.weight"] = positions[:max_len].clone()
    return out


def load_bert_embeddings(model: nn.Module, path: PathLike, log: Optional[Callable[[str], None]] = None) -> list[str]:
    """Initialise ``model.language_embeddings`` from a BERT checkpoint (file or folder).

    The checkpoint's width must be the model's (the language embedding has the ViT's width) and its
    word table must have ``model.vocab_size`` rows. Returns the names of the tensors set.
    """
    weights, _ = bert_files(path)
    language = model.language_embeddings
    new = bert_to_language(read_state_dict(weights), language.max_len)
    own = language.state_dict()
    words, width = new["word_embeddings.weight"].shape
    if width != own["word_embeddings.weight"].shape[1]:
        raise CheckpointError(f"{weights}: BERT width {width} but the model's width (model.embed_dim) is "
                              f"{own['word_embeddings.weight'].shape[1]}; the language embedding has the ViT's "
                              "width: use a BERT of that width (all-MiniLM-L6-v2: 384 for cpu-small, "
                              "bert-base-uncased: 768 for paper-vitb256)")
    if words != own["word_embeddings.weight"].shape[0]:
        raise CheckpointError(f"{weights}: BERT vocabulary of {words} tokens but model.vocab_size is "
                              f"{own['word_embeddings.weight'].shape[0]}; set model.vocab_size={words}")
    shapes = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}" for k, v in new.items()
              if v.shape != own[k].shape]
    if shapes:
        raise CheckpointError(f"{weights} does not fit the language embedding; wrong shape: {', '.join(shapes)}")
    language.load_state_dict(new, strict=True)
    if log is not None:
        log(f"language embedding initialised from {weights} ({words} tokens, width {width})")
    return sorted(new)


def bert_tokenizer(path: PathLike, max_len: int, vocab: Optional[PathLike] = None) -> Any:
    """The tokenizer of a BERT checkpoint: `vocab` if given, else the ``vocab.txt`` beside the weights."""
    from ...text import TextTokenizer

    weights, found = bert_files(path)
    vocab = vocab if vocab is not None else found
    if vocab is None:
        raise CheckpointError(f"no {VOCAB_NAME} beside {weights}; the word embeddings need their vocabulary: "
                              f"put the checkpoint's {VOCAB_NAME} there or pass it with --vocab")
    return TextTokenizer.from_file(vocab, max_len=max_len)

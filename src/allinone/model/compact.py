"""Smaller checkpoint files for shipping: int8 / bf16 weight storage and a vocabulary cut.

Storage (``save_model(..., storage=...)``; `read_checkpoint` always gives fp32 back):

- ``fp32``: tensors as they are.
- ``bf16``: every floating tensor stored as bfloat16 (half the bytes; 8 significant bits).
- ``int8``: every weight matrix (a ``*.weight`` tensor of 2+ dimensions and at least 4096 values:
  Linear, Conv and Embedding weights) stored as int8 with one fp32 scale per output row, symmetric
  (``w ≈ q · scale``, ``scale = max|w_row| / 127``), under ``<name>.int8_scale``; the rest (norms,
  biases, LayerScale, position embeddings) stays fp32. A quarter of the bytes; each weight is off by at
  most half a step of its row's scale, as in the per-channel int8 kernels of ``precision="int8"``.

Vocabulary cut (`cut_vocabulary`): keep the word embeddings of the tokens a model can use and drop
the rest (a BERT vocabulary is 30,522 tokens, 11.7 M values at width 384). `frequent_tokens` picks
the BERT-uncased tokens to keep: the special tokens, the Latin single characters and their ``##``
forms (so any word still splits into known pieces instead of [UNK]), the most frequent tokens (BERT's
vocabulary lists whole words and pieces by frequency after its characters) and every token of given
texts (the training descriptions).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

import torch

STORAGES = ("fp32", "bf16", "int8")
SCALE_SUFFIX = ".int8_scale"
_MIN_INT8_NUMEL = 4096


def _quantizable(name: str, t: torch.Tensor) -> bool:
    return name.endswith(".weight") and t.is_floating_point() and t.dim() >= 2 and t.numel() >= _MIN_INT8_NUMEL


def pack_state(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    """`state` (fp32) → the tensors to write for `storage` (see the module docstring)."""
    if storage not in STORAGES:
        raise ValueError(f"storage={storage!r}: must be one of {', '.join(STORAGES)}")
    if storage == "fp32":
        return dict(state)
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if storage == "bf16":
            out[name] = t.to(torch.bfloat16) if t.is_floating_point() else t
        elif _quantizable(name, t):
            rows = t.detach().float().reshape(t.shape[0], -1)
            scale = rows.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            out[name] = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(t.shape)
            out[name + SCALE_SUFFIX] = scale.contiguous()
        else:
            out[name] = t
    return {k: v.contiguous() for k, v in out.items()}


def unpack_state(state: dict[str, torch.Tensor], storage: str, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """What `pack_state` wrote → fp32 tensors under the model's own names."""
    if storage not in STORAGES:
        raise ValueError(f"{source}: unknown weight storage {storage!r} (this version reads "
                         f"{', '.join(STORAGES)}); upgrade allinone")
    if storage == "fp32":
        return state
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        if storage == "int8" and t.dtype == torch.int8:
            scale = state.get(name + SCALE_SUFFIX)
            if scale is None or scale.numel() != t.shape[0]:
                raise ValueError(f"{source}: int8 tensor {name} has no matching {name + SCALE_SUFFIX}; "
                                 "the file is damaged: write it again with save_model(..., storage='int8')")
            out[name] = (t.float().reshape(t.shape[0], -1) * scale.float()[:, None]).reshape(t.shape)
        else:
            out[name] = t.float() if t.is_floating_point() else t
    return out


# --------------------------------------------------------------------------- vocabulary cut


def _latin(token: str) -> bool:
    body = token[2:] if token.startswith("##") else token
    return len(body) == 1 and ord(body) < 0x250


def frequent_tokens(tokenizer: Any, top: int, texts: Iterable[str] = ()) -> list[str]:
    """The tokens of a BERT-uncased `tokenizer` worth keeping: special tokens, Latin single
    characters (plain and ``##``), the `top` first tokens after BERT's character block (its
    frequency order) and every token `texts` tokenize to. In vocabulary order."""
    vocab = tokenizer.id_to_token_list()
    keep = {t for t in vocab if t.startswith("[") and t.endswith("]") and not t.startswith("[unused")}
    keep |= {t for t in vocab if _latin(t)}
    chars_end = max((i for i, t in enumerate(vocab) if len(t) == 1), default=-1) + 1
    keep |= set(vocab[chars_end:chars_end + max(0, int(top))])
    for text in texts:
        if text:
            keep |= set(tokenizer.tokenize(text))
    return [t for t in vocab if t in keep]


def cut_vocabulary(model: torch.nn.Module, keep: Iterable[str], tokenizer: Optional[Any] = None) -> Any:
    """Keep only the word embeddings of the tokens in `keep` (unknown ones are ignored; [PAD], [UNK],
    [CLS], [SEP] always stay). Renumbers the vocabulary in its old order, updates the model's
    embedding, ``config.model.vocab_size`` and ``model.tokenizer``; returns the new tokenizer.
    Text made only of kept tokens encodes to the same embeddings as before."""
    from ..text import TextTokenizer
    from ..text.tokenizer import REQUIRED_TOKENS

    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError("cut_vocabulary needs the model's tokenizer (model.tokenizer is not set)")
    old = tokenizer.get_vocab()
    wanted = set(keep) | set(REQUIRED_TOKENS)
    kept = sorted((i, t) for t, i in old.items() if t in wanted)
    ids = torch.tensor([i for i, _ in kept])
    emb = model.language_embeddings.word_embeddings
    new_emb = torch.nn.Embedding(len(kept), emb.embedding_dim, padding_idx=0)
    with torch.no_grad():
        new_emb.weight.copy_(emb.weight[ids])
    new_emb.to(emb.weight.device)
    model.language_embeddings.word_embeddings = new_emb
    new_tok = TextTokenizer({t: j for j, (_, t) in enumerate(kept)}, max_len=tokenizer.max_len,
                            source="cut vocabulary")
    if getattr(model, "config", None) is not None:
        model.config.model.vocab_size = len(kept)
    model.tokenizer = new_tok
    return new_tok

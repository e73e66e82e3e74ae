"""Language embedding (SPEC §3.1): BERT's embedding layer and pooling to one vector per sentence."""
from __future__ import annotations

import torch
from torch import nn


class LanguageEmbedding(nn.Module):
    """Word + position + token-type embeddings, LayerNorm and dropout (BERT embedding-layer shape).

    Parameter names match BERT's (``word_embeddings``, ``position_embeddings``,
    ``token_type_embeddings``, ``LayerNorm``) so the reference's ``language_embeddings.*`` import as is.

    Pooling to one vector per sentence:
      - ``mean``: average over the tokens whose mask is 1 (zero vector when there is no text);
        the embeddings train.
      - ``cls``: the vector at position 0, computed without gradient (the reference's behaviour,
        kept for its checkpoints; position 0 is always ``[CLS]``, so the sentence has no effect).
    """

    def __init__(self, *, vocab_size: int = 30522, dim: int = 768, max_len: int = 40,
                 type_vocab_size: int = 2, dropout: float = 0.1, pooling: str = "mean"):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"text pooling must be 'mean' or 'cls', got {pooling!r}")
        self.pooling = pooling
        self.max_len = max_len
        self.word_embeddings = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_len, dim)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        for emb in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings):
            nn.init.normal_(emb.weight, std=0.02)
        if pooling == "cls":
            self.requires_grad_(False)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, L) → token embeddings (B, L, C)."""
        length = ids.shape[1]
        if length > self.max_len:
            raise ValueError(f"text of {length} tokens exceeds the model's max_text_len={self.max_len}")
        pos = self.position_embeddings.weight[:length].unsqueeze(0)
        typ = self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(self.word_embeddings(ids) + pos + typ))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask (B, L) → sentence vector l (B, C)."""
        if self.pooling == "cls":
            with torch.no_grad():
                return self.embed(ids[:, :1])[:, 0]
        tokens = self.embed(ids)  # (B, L, C)
        m = mask.to(tokens.dtype).unsqueeze(-1)  # (B, L, 1)
        return (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)

"""Multi-modal alignment (SPEC §3.9): the training-only projections of the MMA module.

The projections map the patch tokens (taken before modal mixup) and the projected language vector
to a shared `align_dim`-dimensional unit sphere, where the NT-Xent objectives (`nt_xent`) pull a
search region, its template and its description together. They hold most of a ViT-B model's
parameters (≈63 M) and are never needed to track, so inference models are built without them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AlignmentProjections(nn.Module):
    """`v_x = normalize(W_x flatten(x))`, `v_z = normalize(W_z flatten(z))`, `v_l = normalize(W_xl l')`.

    Parameter names follow the reference implementation (`vision_x_proj`, `vision_z_proj`,
    `language_xz_proj`) so its checkpoints import with a prefix change only.
    """

    def __init__(self, embed_dim: int, num_search_tokens: int, num_template_tokens: int, align_dim: int = 256):
        super().__init__()
        self.vision_x_proj = nn.Linear(num_search_tokens * embed_dim, align_dim)
        self.vision_z_proj = nn.Linear(num_template_tokens * embed_dim, align_dim)
        self.language_xz_proj = nn.Linear(embed_dim, align_dim)

    def forward(
        self, x_tokens: torch.Tensor, z_tokens: torch.Tensor, lang: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x_tokens (B, L_x, C), z_tokens (B, L_z, C), lang (B, C) → v_x, v_z, v_l, each (B, align_dim)."""
        v_x = F.normalize(self.vision_x_proj(x_tokens.flatten(1)), dim=-1)
        v_z = F.normalize(self.vision_z_proj(z_tokens.flatten(1)), dim=-1)
        v_l = F.normalize(self.language_xz_proj(lang), dim=-1)
        return v_x, v_z, v_l


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent (SimCLR's InfoNCE with cosine similarity) between paired vectors a, b (N, D).

    The 2N vectors ``cat(a, b)`` are L2-normalised; row ``i`` has its partner ``i ± N`` as the positive
    and the other 2N − 2 rows as negatives (itself excluded); logits are cosine similarity divided by
    `temperature`. Returns the mean of the 2N cross-entropy terms, a scalar. N = 1 gives 0 (no
    negatives); N = 0 gives a zero that stays attached to `a`'s graph, device and dtype.
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"nt_xent needs two (N, D) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    if n == 0:
        return a.sum() * 0.0
    z = F.normalize(torch.cat([a, b], dim=0), dim=-1)  # (2N, D)
    sim = z @ z.t() / temperature  # (2N, 2N)
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))  # a vector is never its own negative
    idx = torch.arange(n, device=z.device)
    target = torch.cat([idx + n, idx])  # row i's positive is its partner
    return F.cross_entropy(sim, target)

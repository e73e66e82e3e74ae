"""ViT backbone with candidate elimination (SPEC §3.3–3.7).

Parameter names follow timm's ``VisionTransformer`` (``patch_embed.proj``, ``blocks.N.attn.qkv``,
``blocks.N.mlp.fc1``, ``norm``) so MAE/timm checkpoints load with a short map; the template and
search position embeddings are ``pos_embed_z`` / ``pos_embed_x`` as in OSTrack-style trackers.

DINOv2-style backbones add LayerScale (``blocks.N.ls1.gamma`` / ``ls2.gamma``: a learned per-channel
scale on each residual branch) and use 14-pixel patches; both are constructor arguments here.

Candidate elimination (OSTrack) drops, in chosen blocks, the search tokens the template's centre
token attends to least. It needs only the attention row(s) of that query, so those are computed
on their own (one small matmul) while the block itself runs the fused
``scaled_dot_product_attention``: no attention map is ever materialised.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def keep_count(ratio: float, n: int) -> int:
    """Search tokens candidate elimination keeps out of `n`: ``ceil(ratio * n)``, at least 1."""
    return max(1, min(n, math.ceil(ratio * n - 1e-9)))


def grid_pos_embed(pos_embed: torch.Tensor) -> torch.Tensor:
    """The square-grid part of a ViT position embedding: (1, G*G, C) as is, or (1, 1 + G*G, C)
    without its leading class-token position (timm / MAE / DINOv2 files store it first)."""
    n = pos_embed.shape[-2]
    if _is_square(n):
        return pos_embed
    if n > 1 and _is_square(n - 1):
        return pos_embed[..., 1:, :]
    raise ValueError(f"position embedding with {n} tokens is neither a square grid nor a class "
                     "position followed by one")


def _is_square(n: int) -> bool:
    return int(round(math.sqrt(n))) ** 2 == n


def interpolate_pos_embed(grid: torch.Tensor, size: int) -> torch.Tensor:
    """Bicubically resize a square position-embedding grid (1, G*G, C) to (1, size*size, C).

    Same arithmetic as the exported DINOv2 graphs (bicubic, a = -0.75, half-pixel centres, no
    antialiasing), so a 37x37 DINOv2 grid resized here matches theirs."""
    n, c = grid.shape[-2:]
    g = int(round(math.sqrt(n)))
    if g * g != n:
        raise ValueError(f"position embedding with {n} tokens is not a square grid")
    if g == size:
        return grid.reshape(1, n, c).clone()
    img = grid.reshape(1, g, g, c).permute(0, 3, 1, 2).float()  # (1, C, G, G)
    img = F.interpolate(img, size=(size, size), mode="bicubic", align_corners=False)
    return img.permute(0, 2, 3, 1).reshape(1, size * size, c).to(grid.dtype)


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample with probability `p` in training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class LayerScale(nn.Module):
    """Per-channel learned scale of a residual branch (CaiT / DINOv2): ``x * gamma``."""

    def __init__(self, dim: int, init: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class PatchEmbed(nn.Module):
    """Non-overlapping `patch_size` convolution: (B, 3, H, W) → (B, H/p · W/p, C)."""

    def __init__(self, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention through `scaled_dot_product_attention`."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, query_rows: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """x (B, N, C) → (out (B, N, C), probs).

        `query_rows` (B, N) weights (or None): when given, also return the head-averaged attention
        probabilities of the weighted query rows over all N keys, shape (B, N), computed without the
        full (N × N) map.
        """
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, H, N, d)
        out = F.scaled_dot_product_attention(q, k, v)
        out = self.proj(out.transpose(1, 2).reshape(b, n, c))
        if query_rows is None:
            return out, None
        return out, _row_attention(q, k, query_rows, self.scale)


def _row_attention(q: torch.Tensor, k: torch.Tensor, rows: torch.Tensor, scale: float) -> torch.Tensor:
    """Attention probabilities of selected query rows, averaged over heads and rows → (B, N)."""
    if rows.dtype == torch.long:  # (B, R) indices of the query tokens
        idx = rows[:, None, :, None].expand(-1, q.shape[1], -1, q.shape[-1])
        q_sel = torch.gather(q, 2, idx)  # (B, H, R, d)
        probs = torch.softmax((q_sel @ k.transpose(-2, -1)).float() * scale, dim=-1)  # (B, H, R, N)
        return probs.mean(dim=(1, 2))
    weights = rows.float()  # (B, N_z) weights over the template tokens (queries 0..N_z-1)
    q_t = q[:, :, : weights.shape[1]]
    probs = torch.softmax((q_t @ k.transpose(-2, -1)).float() * scale, dim=-1)  # (B, H, N_z, N)
    probs = probs.mean(dim=1)  # (B, N_z, N)
    w = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-6)
    return (w.unsqueeze(-1) * probs).sum(dim=1)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; optionally eliminates search candidates after attention.

    layer_scale_init > 0 adds LayerScale (``ls1`` after attention, ``ls2`` after the MLP) with
    that initial value; 0 leaves it out (no parameters), as in timm/MAE ViTs.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop_path: float = 0.0, candidate_elimination: bool = False,
                 layer_scale_init: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.ls1 = LayerScale(dim, layer_scale_init) if layer_scale_init > 0 else nn.Identity()
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, layer_scale_init) if layer_scale_init > 0 else nn.Identity()
        self.candidate_elimination = candidate_elimination

    def forward(self, x: torch.Tensor, len_z: int, index_x: torch.Tensor, keep_ratio: float,
                ce_rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, L_z + L_s, C); index_x (B, L_s) grid positions of the search tokens still present."""
        eliminate = self.candidate_elimination and keep_ratio < 1.0
        attn_out, probs = self.attn(self.norm1(x), ce_rows if eliminate else None)
        x = x + self.drop_path(self.ls1(attn_out))
        if eliminate:
            x, index_x = candidate_elimination(x, probs, len_z, index_x, keep_ratio)
        x = x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))
        return x, index_x


def candidate_elimination(x: torch.Tensor, probs: torch.Tensor, len_z: int, index_x: torch.Tensor,
                          keep_ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the ``ceil(keep_ratio·L_s)`` search tokens with the highest centre-token attention.

    x (B, L_z + L_s, C); probs (B, L_z + L_s) attention of the template centre row over all tokens.
    Returns the reduced tokens (B, L_z + L_keep, C) and their grid indices (B, L_keep).
    """
    len_s = x.shape[1] - len_z
    n_keep = keep_count(keep_ratio, len_s)
    if n_keep >= len_s:
        return x, index_x
    top = probs[:, len_z:].topk(n_keep, dim=1).indices  # (B, L_keep), highest first
    kept = torch.gather(x[:, len_z:], 1, top.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    return torch.cat([x[:, :len_z], kept], dim=1), torch.gather(index_x, 1, top)


class VisionTransformerCE(nn.Module):
    """ViT over concatenated template and search tokens, with candidate elimination.

    Args:
        template_size / search_size: input side lengths in pixels (multiples of `patch_size`).
        pretrain_grid: side of the square grid the position embeddings are interpolated from.
        ce_locations: 0-based indices of the blocks that eliminate candidates.
        layer_scale_init: initial LayerScale value (DINOv2: 1e-5); 0 builds blocks without it.
    """

    def __init__(self, *, template_size: int = 128, search_size: int = 256, patch_size: int = 16,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop_path_rate: float = 0.0, pretrain_grid: int = 14,
                 ce_locations: tuple[int, ...] = (3, 6, 9), layer_scale_init: float = 0.0):
        super().__init__()
        self.embed_dim = embed_dim
        self.patch_size = patch_size
        self.grid_z = template_size // patch_size
        self.grid_x = search_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, 3, embed_dim)
        base = torch.randn(1, pretrain_grid * pretrain_grid, embed_dim) * 0.02
        self.pos_embed_z = nn.Parameter(interpolate_pos_embed(base, self.grid_z))
        self.pos_embed_x = nn.Parameter(interpolate_pos_embed(base, self.grid_x))
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, dpr[i], i in set(ce_locations), layer_scale_init)
            for i in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.apply(_init_weights)
        # Default centre-token query: cell ((g-1)//2, (g-1)//2) of the template grid.
        c = (self.grid_z - 1) // 2
        self.register_buffer("center_index", torch.tensor([c * self.grid_z + c]), persistent=False)
        # Training only: the first `frozen_blocks` blocks (and everything before them) take no
        # gradient and run without autograd, so backward stops there (`freeze_prefix`).
        self.frozen_blocks = 0

    def freeze_prefix(self, blocks: int) -> None:
        """Freeze the patch embedding, position embeddings and the first `blocks` blocks.

        Their forward then runs without autograd, so backward only goes through the blocks above
        (about half the cost of a full fine-tune when 8 of 12 blocks are frozen). Tokens entering
        the frozen blocks still carry the language (modal mixup), but the language embedding then
        learns from the alignment (MMA) losses only.
        """
        if not 0 <= blocks <= len(self.blocks):
            raise ValueError(f"train.frozen_blocks={blocks}: must be between 0 and the depth {len(self.blocks)}")
        self.frozen_blocks = blocks
        if blocks == 0:
            return
        frozen = [self.patch_embed, *self.blocks[:blocks]]
        for p in [p for m in frozen for p in m.parameters()] + [self.pos_embed_z, self.pos_embed_x]:
            p.requires_grad_(False)

    def forward(self, z: torch.Tensor, x: torch.Tensor, keep_ratio: float = 1.0,
                template_mask: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, L_z, C), x (B, L_x, C): embedded tokens with position embeddings already added.

        Returns the search feature tokens (B, L_x, C) in grid order (eliminated ones zero) and the
        grid indices of the tokens that survived (B, L_keep).
        """
        b, len_z, len_x = x.shape[0], z.shape[1], x.shape[1]
        if template_mask is None:
            ce_rows = self.center_index.expand(b, -1)
        else:
            ce_rows = template_mask.reshape(b, len_z).to(x.dtype)
        index_x = torch.arange(len_x, device=x.device).expand(b, -1)
        tokens = torch.cat([z, x], dim=1)  # (B, L_z + L_x, C)
        for i, blk in enumerate(self.blocks):
            # blocks below `frozen_blocks` run without building a graph (CPU fine-tuning budget)
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= self.frozen_blocks):
                tokens, index_x = blk(tokens, len_z, index_x, keep_ratio, ce_rows)
        tokens = self.norm(tokens)
        kept = tokens[:, len_z:]
        if kept.shape[1] == len_x:  # nothing eliminated: tokens are still in grid order
            return kept, index_x
        out = kept.new_zeros(b, len_x, kept.shape[-1])
        out.scatter_(1, index_x.unsqueeze(-1).expand_as(kept), kept)  # dropped tokens stay zero
        return out, index_x


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)

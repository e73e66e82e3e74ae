"""MAE / timm ViT checkpoints (``mae_pretrain_vit_base.pth``, timm ``vit_*`` state dicts) → our backbone.

Our backbone keeps timm's parameter names (``patch_embed.proj``, ``blocks.N.attn.qkv``,
``blocks.N.mlp.fc1``, ``norm``), so the map only drops what a tracker does not use: the class token,
MAE's decoder and mask token, classification heads. The position embedding is resized by the caller
(`load_pretrained_backbone`), which handles every layout the same way.
"""
from __future__ import annotations

import torch

SKIPPED_PREFIXES = ("cls_token", "mask_token", "decoder", "head", "fc_norm", "dist_token", "pos_embed")


def mae_to_backbone(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """MAE/timm ViT keys → backbone keys (all but the position embedding, which needs resizing)."""
    return {k: v for k, v in sd.items() if not k.startswith(SKIPPED_PREFIXES)}

"""Official DINOv2 checkpoints (``dinov2_vit{s,b,l}14_pretrain.pth``) → our backbone.

The official layout is timm's plus LayerScale: ``cls_token`` (1, 1, C), ``pos_embed`` (1, 1 + 37², C)
with the class position first, ``mask_token`` (1, C), ``patch_embed.proj`` (14x14 patches),
``blocks.N.{norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}``, ``norm``.
Training checkpoints may chunk the blocks (``blocks.C.N.``, N the global index) and nest the backbone
under ``teacher`` / ``backbone.``; both are undone here. Register tokens (``*_reg`` models) are
dropped: the tracker has no use for them. ViT-g's SwiGLU feed-forward (``mlp.w12``) has no
counterpart in our blocks and is refused.
"""
from __future__ import annotations

import re

import torch

from ..checkpoint import CheckpointError

_CHUNKED_BLOCK = re.compile(r"^blocks\.\d+\.(\d+)\.")
SKIPPED_PREFIXES = ("cls_token", "mask_token", "register_tokens", "pos_embed", "dino_head", "ibot_head", "head")


def is_dinov2(sd: dict[str, torch.Tensor]) -> bool:
    """Whether a ViT state dict is in DINOv2's layout rather than MAE/timm's: LayerScale gammas,
    a 2-D mask token, register tokens or chunked blocks."""
    mask = sd.get("mask_token")
    return (
        any(k.endswith((".ls1.gamma", ".ls2.gamma")) for k in sd)
        or (mask is not None and mask.dim() == 2)
        or "register_tokens" in sd
        or any(_CHUNKED_BLOCK.match(k) for k in sd)
    )


def dinov2_to_backbone(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """DINOv2 keys → backbone keys (all but the position embedding, which needs resizing)."""
    swiglu = sorted(k for k in sd if ".mlp.w12." in k or ".mlp.w3." in k)
    if swiglu:
        raise CheckpointError(f"DINOv2 checkpoint with a SwiGLU feed-forward ({swiglu[0]}, ViT-g/14) is not "
                              "supported; use a ViT-S/14, ViT-B/14 or ViT-L/14 checkpoint")
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key.startswith(SKIPPED_PREFIXES):
            continue
        out[_CHUNKED_BLOCK.sub(r"blocks.\1.", key)] = value
    return out

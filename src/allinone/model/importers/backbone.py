"""Backbone initialisation from a pretrained ViT file, whatever its layout (DINOv2 or MAE/timm).

The layout is detected from the keys (`is_dinov2`); each layout's module maps its keys to ours, and
everything after that is shared: the position embedding's square grid (class position dropped) is
bicubically resized to the template and search grids, LayerScale is matched, and any missing,
unexpected or mis-shaped tensor fails the load with its name.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from ..checkpoint import CheckpointError
from ..vit import grid_pos_embed, interpolate_pos_embed
from .dinov2 import dinov2_to_backbone, is_dinov2
from .files import PathLike, read_state_dict
from .mae import mae_to_backbone

_LAYER_SCALE = (".ls1.gamma", ".ls2.gamma")


def load_pretrained_backbone(model: nn.Module, path: PathLike,
                             log: Optional[Callable[[str], None]] = None) -> list[str]:
    """Initialise ``model.backbone`` (or `model` itself, a backbone) from pretrained ViT weights.

    Accepted: official DINOv2 checkpoints (``dinov2_vits14_pretrain.pth``-style keys, LayerScale,
    a 37x37 position grid with a class position) and MAE/timm ViT weights (``{"model": ...}`` or a
    bare state dict), as ``.pth`` (read weights-only) or ``.safetensors``. The model must have the
    file's width and patch size, and at most the file's depth: a shallower model takes the file's
    first blocks (a truncated ViT, e.g. cpu-small's first 8 of DINOv2's 12). A file without LayerScale
    loads into a model with LayerScale as gamma = 1 (the same network). Returns the names of the
    backbone tensors set; `log` receives one line saying what was detected.
    """
    sd = _strip_backbone_prefix(read_state_dict(path))
    if "patch_embed.proj.weight" not in sd:
        raise CheckpointError(f"{path}: not a ViT state dict (no 'patch_embed.proj.weight'); expected DINOv2 "
                              "or MAE/timm weights, optionally under 'model'")
    layout = "DINOv2" if is_dinov2(sd) else "MAE/timm"
    new = dinov2_to_backbone(sd) if layout == "DINOv2" else mae_to_backbone(sd)
    backbone = getattr(model, "backbone", model)
    if "pos_embed" in sd:
        try:
            grid = grid_pos_embed(sd["pos_embed"])
        except ValueError as exc:
            raise CheckpointError(f"{path}: pos_embed: {exc}") from None
        new["pos_embed_z"] = interpolate_pos_embed(grid, backbone.grid_z)
        new["pos_embed_x"] = interpolate_pos_embed(grid, backbone.grid_x)
    own = backbone.state_dict()
    depth, file_depth = len(backbone.blocks), vit_depth(new)
    if depth < file_depth:  # truncate: keep the file's first `depth` blocks
        new = {k: v for k, v in new.items() if not (k.startswith("blocks.") and int(k.split(".")[1]) >= depth)}
    _match_layer_scale(new, own, path)
    _check_fit(new, own, path, f"{layout} layout, {describe_vit(sd)}", backbone)
    backbone.load_state_dict({**own, **new}, strict=True)
    if log is not None:
        used = f"; its first {depth} blocks" if depth < file_depth else ""
        log(f"backbone initialised from {path} ({layout} layout, {describe_vit(sd)}{used}; {len(new)} tensors)")
    return sorted(new)


def vit_depth(sd: dict[str, torch.Tensor]) -> int:
    """Number of transformer blocks in a timm-named ViT state dict."""
    return len({k.split(".")[1] for k in sd if k.startswith("blocks.")})


def describe_vit(sd: dict[str, torch.Tensor]) -> str:
    """'width 384, 12 blocks, patch 14, 37x37 position grid' for a timm-named ViT state dict."""
    patch = sd["patch_embed.proj.weight"]
    text = f"width {patch.shape[0]}, {vit_depth(sd)} blocks, patch {patch.shape[-1]}"
    if "pos_embed" in sd:
        n = grid_pos_embed(sd["pos_embed"]).shape[-2]
        g = round(n ** 0.5)
        text += f", {g}x{g} position grid"
    return text


def _strip_backbone_prefix(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """DINOv2 / detection training checkpoints nest the ViT under ``backbone.``: keep only that."""
    if "patch_embed.proj.weight" in sd or "backbone.patch_embed.proj.weight" not in sd:
        return sd
    return {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}


def _match_layer_scale(new: dict[str, torch.Tensor], own: dict[str, torch.Tensor], path: PathLike) -> None:
    file_has = any(k.endswith(_LAYER_SCALE) for k in new)
    model_has = any(k.endswith(_LAYER_SCALE) for k in own)
    if file_has and not model_has:
        raise CheckpointError(f"{path} has LayerScale (blocks.N.ls1.gamma) but the model has none; build it "
                              "with model.layer_scale_init > 0 (e.g. --set model.layer_scale_init=1e-5; "
                              "the cpu-small preset has it)")
    if model_has and not file_has:  # gamma = 1 is exactly the file's network
        new.update({k: torch.ones_like(v) for k, v in own.items() if k.endswith(_LAYER_SCALE)})


def _check_fit(new: dict[str, torch.Tensor], own: dict[str, torch.Tensor], path: PathLike, what: str,
               backbone: nn.Module) -> None:
    required = [k for k in own if not k.startswith("norm.")]  # MAE fine-tuned files use fc_norm
    missing = [k for k in required if k not in new]
    unexpected = sorted(k for k in new if k not in own)
    shapes = [f"{k}: file {tuple(new[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in new and new[k].shape != own[k].shape]
    if not (missing or unexpected or shapes):
        return
    parts = [f"{title}: {', '.join(items[:8])}" + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
             for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
             if items]
    model_desc = (f"width {backbone.embed_dim}, {len(backbone.blocks)} blocks, patch {backbone.patch_size}")
    raise CheckpointError(f"{path} ({what}) does not fit the backbone ({model_desc}); " + "; ".join(parts)
                          + "; use a preset of the file's shape (cpu-small = DINOv2 ViT-S/14, paper-vitb256 "
                          "= ViT-B/16) or set model.embed_dim / model.depth / model.patch_size / model.num_heads")

"""The training objective (SPEC §4): focal loss on a Gaussian heat map, GIoU, L1, NT-Xent terms.

`AllInOneLoss` takes the model's outputs and the batch's targets and returns the total loss and
its named terms; the trainer knows nothing of the terms.
"""
from __future__ import annotations

import math
from typing import Any, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..config import LossConfig
from ..model.alignment import nt_xent
from ..model.box_ops import box_cxcywh_to_xyxy, box_iou, generalized_box_iou

Number = Union[float, torch.Tensor]


def gaussian_radius(height: Number, width: Number, min_overlap: float = 0.7) -> Number:
    """CornerNet's radius (as written in CenterNet): the smallest of the three corner-shift cases
    keeping IoU ≥ `min_overlap`. Sizes in heat-map cells; floats or (broadcastable) tensors."""
    tensors = isinstance(height, torch.Tensor) or isinstance(width, torch.Tensor)
    sqrt = torch.sqrt if tensors else math.sqrt
    # Both corners inside the box / both outside / one in, one out; each root of a·r² − b·r + c = 0.
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + sqrt(b1 * b1 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + sqrt(b2 * b2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + sqrt(b3 * b3 - 4 * a3 * c3)) / 2
    return torch.minimum(torch.minimum(r1, r2), r3) if tensors else min(r1, r2, r3)


def gaussian_heatmap(boxes_cxcywh_norm: torch.Tensor, map_size: int, min_overlap: float = 0.7) -> torch.Tensor:
    """Target heat maps (B, S, S) for boxes (B, 4) ``cx, cy, w, h`` normalised to the search crop.

    CenterNet's ``draw_umich_gaussian`` on an empty map: a Gaussian with peak exactly 1 at the cell
    ``(int(cx·S), int(cy·S))`` (clamped into the map), sigma = (2r + 1) / 6 with
    r = max(0, int(gaussian_radius(h·S, w·S))), drawn inside the (2r + 1)² window only (0 outside).
    """
    s = map_size
    b = boxes_cxcywh_norm.detach().to(torch.float64)  # float64: the radius truncation matches Python's
    cx, cy, w, h = b.unbind(-1)
    r = gaussian_radius((h * s).clamp(min=0), (w * s).clamp(min=0), min_overlap).floor().clamp(min=0)
    sigma = (2 * r + 1) / 6
    x0 = (cx * s).trunc().clamp(0, s - 1)  # trunc = Python int(); clamped into the map
    y0 = (cy * s).trunc().clamp(0, s - 1)
    grid = torch.arange(s, dtype=torch.float64, device=b.device)
    dx = grid[None, :] - x0[:, None]  # (B, S)
    dy = grid[None, :] - y0[:, None]
    two_var = (2 * sigma * sigma)[:, None]
    gx = torch.exp(-dx * dx / two_var) * (dx.abs() <= r[:, None])
    gy = torch.exp(-dy * dy / two_var) * (dy.abs() <= r[:, None])
    heat = gy[:, :, None] * gx[:, None, :]  # (B, S, S); separable: exp(-(dx²+dy²)/2σ²)
    dtype = boxes_cxcywh_norm.dtype if boxes_cxcywh_norm.is_floating_point() else torch.float32
    return heat.to(dtype)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet focal loss summed over the whole batch and divided by the number of peaks.

    `pred` is already sigmoid-ed and clamped to [1e-4, 1 − 1e-4]; `gt` is the Gaussian heat map,
    positives where it equals 1. Without positives the loss is the negative term alone.
    """
    pos = gt.eq(1).to(pred.dtype)
    neg = 1.0 - pos
    pos_loss = (torch.log(pred) * (1 - pred) ** alpha * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred ** alpha * (1 - gt) ** beta * neg).sum()
    # pos_loss is 0 when there are no positives, so dividing by max(num_pos, 1) gives −neg_loss
    # without a host sync on num_pos.
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def giou_loss(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """mean(1 − GIoU) over paired xyxy boxes (N, 4), and the mean IoU (no gradient needed)."""
    giou = generalized_box_iou(pred_xyxy, gt_xyxy)
    iou, _ = box_iou(pred_xyxy.detach(), gt_xyxy.detach())
    return (1 - giou).mean(), iou.mean()


def l1_loss(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the 4 coordinates and the batch."""
    return F.l1_loss(pred_xyxy, gt_xyxy)


class AllInOneLoss(nn.Module):
    """focal + 2·GIoU + 5·L1 + L_cma + L_ima with the weights of `LossConfig` (SPEC §4).

    ``forward(out, gt_box_cxcywh_norm, has_text)``: `out` carries ``score_map`` (B, 1, S, S),
    ``boxes`` (B, 4) normalised cx, cy, w, h, and ``v_x, v_z, v_l`` (B, D) or None; `has_text` is a
    bool (B,). L_cma = w·NTX(v_x, v_l) + w·NTX(v_z, v_l) over the samples that have text only (0 with
    fewer than two); L_ima = w'·NTX(v_x, v_z) over all samples. Without alignment vectors both terms
    are left out of the total and of the stats. Returns (total loss, {term name: float}).
    """

    def __init__(self, cfg: LossConfig):
        super().__init__()
        self.cfg = cfg

    def forward(self, out: Any, gt_box_cxcywh_norm: torch.Tensor,
                has_text: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.cfg
        score = out.score_map  # (B, 1, S, S)
        heat = gaussian_heatmap(gt_box_cxcywh_norm, score.shape[-1], c.heatmap_min_overlap).to(score)
        terms = {"focal": focal_loss(score[:, 0], heat)}
        pred_xyxy = box_cxcywh_to_xyxy(out.boxes)
        gt_xyxy = box_cxcywh_to_xyxy(gt_box_cxcywh_norm.to(out.boxes))
        terms["giou"], iou = giou_loss(pred_xyxy, gt_xyxy)
        terms["l1"] = l1_loss(pred_xyxy, gt_xyxy)
        total = c.focal_weight * terms["focal"] + c.giou_weight * terms["giou"] + c.l1_weight * terms["l1"]
        v_x, v_z, v_l = (getattr(out, k, None) for k in ("v_x", "v_z", "v_l"))
        if v_x is not None and v_z is not None and v_l is not None:
            terms["cma"] = self._cross_modal(v_x, v_z, v_l, has_text)
            terms["ima"] = c.ima_weight * nt_xent(v_x, v_z, c.temperature)
            total = total + terms["cma"] + terms["ima"]
        names = ["loss", *terms, "iou"]
        values = torch.stack([total, *terms.values(), iou]).detach().float().tolist()  # one host sync
        return total, dict(zip(names, values))

    def _cross_modal(self, v_x: torch.Tensor, v_z: torch.Tensor, v_l: torch.Tensor,
                     has_text: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        t = has_text.to(device=v_l.device, dtype=torch.bool)
        if int(t.sum()) < 2:
            # A zero still connected to all three projections: under DDP every parameter must get
            # a gradient each step, even when the batch holds fewer than two described samples.
            return (v_x.sum() + v_z.sum() + v_l.sum()) * 0.0
        return c.cma_weight * (nt_xent(v_x[t], v_l[t], c.temperature) + nt_xent(v_z[t], v_l[t], c.temperature))

"""The training objective (SPEC §4): focal loss on a Gaussian heat map, GIoU, L1, NT-Xent terms.

`AllInOneLoss` takes the model's outputs and the batch's targets and returns the total loss and
its named terms; the trainer knows nothing of the terms.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import LossConfig
from ..model.alignment import nt_xent
from ..model.box_ops import box_cxcywh_to_xyxy, generalized_box_iou


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CornerNet's radius: the smallest of the three corner-shift cases keeping IoU ≥ min_overlap."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def gaussian_heatmap(boxes_cxcywh_norm: torch.Tensor, map_size: int, min_overlap: float = 0.7) -> torch.Tensor:
    """Target heat maps (B, S, S): a Gaussian with peak 1 at the cell holding each box centre,
    sigma = (2r + 1) / 6 with r the CornerNet radius of the box measured in cells."""
    out = torch.zeros(boxes_cxcywh_norm.shape[0], map_size, map_size)
    grid = torch.arange(map_size, dtype=torch.float32)
    for i, (cx, cy, w, h) in enumerate(boxes_cxcywh_norm.detach().float().cpu().tolist()):
        r = max(0, int(gaussian_radius(h * map_size, w * map_size, min_overlap)))
        sigma = (2 * r + 1) / 6.0
        x0 = min(max(int(cx * map_size), 0), map_size - 1)
        y0 = min(max(int(cy * map_size), 0), map_size - 1)
        gx = torch.exp(-((grid - x0) ** 2) / (2 * sigma ** 2))
        gy = torch.exp(-((grid - y0) ** 2) / (2 * sigma ** 2))
        g = gy[:, None] * gx[None, :]
        # CenterNet draws only inside the radius window
        window = ((grid - x0).abs() <= r)[None, :] & ((grid - y0).abs() <= r)[:, None]
        out[i] = torch.where(window, g, torch.zeros_like(g))
    return out.to(boxes_cxcywh_norm.device)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet focal loss over the whole batch; `pred` already sigmoid-ed and clamped."""
    pos = gt.eq(1).float()
    neg = 1.0 - pos
    pos_loss = (torch.log(pred) * (1 - pred) ** alpha * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred ** alpha * (1 - gt) ** beta * neg).sum()
    num_pos = pos.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


class AllInOneLoss(nn.Module):
    """focal + 2·GIoU + 5·L1 + L_cma + L_ima with the weights of `LossConfig`.

    L_cma = w·NTX(v_x, v_l) + w·NTX(v_z, v_l) over the samples that have text only;
    L_ima = w'·NTX(v_x, v_z) over all samples. Without alignment vectors both are left out.
    """

    def __init__(self, cfg: LossConfig):
        super().__init__()
        self.cfg = cfg

    def forward(self, out: Any, gt_box_cxcywh_norm: torch.Tensor,
                has_text: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.cfg
        score = out.score_map  # (B, 1, S, S)
        heat = gaussian_heatmap(gt_box_cxcywh_norm, score.shape[-1], c.heatmap_min_overlap).to(score.dtype)
        focal = focal_loss(score[:, 0], heat)
        pred_xyxy = box_cxcywh_to_xyxy(out.boxes)
        gt_xyxy = box_cxcywh_to_xyxy(gt_box_cxcywh_norm.to(out.boxes.dtype))
        giou, iou = generalized_box_iou(pred_xyxy, gt_xyxy)
        giou_loss = (1 - giou).mean()
        l1 = F.l1_loss(pred_xyxy, gt_xyxy)
        total = c.focal_weight * focal + c.giou_weight * giou_loss + c.l1_weight * l1
        stats = {"focal": focal.item(), "giou": giou_loss.item(), "l1": l1.item(), "iou": iou.mean().item()}
        if getattr(out, "v_x", None) is not None:
            t = has_text.bool()
            cma = out.v_x.sum() * 0.0
            if int(t.sum()) >= 2:
                cma = c.cma_weight * (nt_xent(out.v_x[t], out.v_l[t], c.temperature)
                                      + nt_xent(out.v_z[t], out.v_l[t], c.temperature))
            ima = c.ima_weight * nt_xent(out.v_x, out.v_z, c.temperature)
            total = total + cma + ima
            stats.update(cma=cma.item(), ima=ima.item())
        stats["loss"] = total.item()
        return total, stats

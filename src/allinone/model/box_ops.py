"""Box-format conversions and paired IoU / GIoU on torch tensors (last dimension 4).

Formats (DESIGN "Conventions"): ``xywh`` = top-left corner and size, ``xyxy`` = corners,
``cxcywh`` = centre and size. Conversions work on any leading shape ``(..., 4)``; the IoU functions
compare box ``i`` of ``a`` with box ``i`` of ``b`` (paired, not all-pairs) and stay finite for
degenerate (zero-area or inverted) boxes.
"""
from __future__ import annotations

import torch

# Guards the divisions when a union or an enclosing box has zero area.
_EPS = 1e-7


def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def box_xyxy_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def box_xywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def box_xyxy_to_xywh(b: torch.Tensor) -> torch.Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    return torch.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)


def box_xywh_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack([x + 0.5 * w, y + 0.5 * h, w, h], dim=-1)


def box_cxcywh_to_xywh(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, w, h], dim=-1)


def _area(b: torch.Tensor) -> torch.Tensor:
    """Area of xyxy boxes; inverted boxes (x2 < x1 or y2 < y1) count as empty."""
    return (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Paired IoU of xyxy boxes (N, 4), (N, 4) → (iou (N,), union (N,)).

    Two empty boxes have IoU 0 (not NaN).
    """
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    union = _area(a) + _area(b) - inter
    return inter / union.clamp(min=_EPS), union


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Paired GIoU of xyxy boxes (N, 4), (N, 4) → (N,) in [-1, 1].

    GIoU = IoU − (|C| − |A ∪ B|) / |C| with C the smallest box enclosing both (Rezatofighi et al.,
    CVPR 2019). Finite, with finite gradients, for degenerate boxes.
    """
    iou, union = box_iou(a, b)
    lt = torch.minimum(a[..., :2], b[..., :2])
    rb = torch.maximum(a[..., 2:], b[..., 2:])
    enclosing = (rb - lt).clamp(min=0).prod(dim=-1)
    return iou - (enclosing - union) / enclosing.clamp(min=_EPS)

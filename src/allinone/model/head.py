"""Center head (SPEC §3.8): score, offset and size maps on the search feature map, and box decoding."""
from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CenterHead(nn.Module):
    """Three branches (``ctr`` score, ``offset``, ``size``) of four Conv3x3-BN-ReLU layers with
    channels C → h → h/2 → h/4 → h/8, then a Conv1x1 to 1 / 2 / 2 outputs.

    Layer names (``conv{1..4}_{ctr,offset,size}``, ``conv5_*``) match the reference implementation.
    """

    def __init__(self, in_channels: int = 768, channels: int = 256, map_size: int = 16):
        super().__init__()
        self.map_size = map_size
        widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
        outputs = {"ctr": 1, "offset": 2, "size": 2}
        for branch, n_out in outputs.items():
            for i in range(4):
                setattr(self, f"conv{i + 1}_{branch}", _conv_bn_relu(widths[i], widths[i + 1]))
            setattr(self, f"conv5_{branch}", nn.Conv2d(widths[4], n_out, 1))

    def _branch(self, name: str, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 5):
            x = getattr(self, f"conv{i}_{name}")(x)
        return getattr(self, f"conv5_{name}")(x)

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """feat (B, C, S, S) → score (B,1,S,S) in [1e-4, 1-1e-4], size (B,2,S,S) in (0,1), offset (B,2,S,S)."""
        score = self._branch("ctr", feat).sigmoid().clamp(1e-4, 1 - 1e-4)
        size = self._branch("size", feat).sigmoid()
        offset = self._branch("offset", feat)
        return score, size, offset


def decode_boxes(score: torch.Tensor, size: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Box at the argmax cell (i, j) of the score map → (B, 4) ``cx, cy, w, h`` normalised to the crop.

    Centre ``((j + off_x) / S, (i + off_y) / S)``, size read from the size map at the same cell.
    """
    b, _, h, w = score.shape
    idx = score.flatten(1).argmax(dim=1)  # (B,)
    i, j = idx // w, idx % w
    gather = idx.view(b, 1, 1).expand(-1, 2, 1)
    off = offset.flatten(2).gather(2, gather).squeeze(-1)  # (B, 2)
    wh = size.flatten(2).gather(2, gather).squeeze(-1)  # (B, 2)
    cx = (j.to(off.dtype) + off[:, 0]) / w
    cy = (i.to(off.dtype) + off[:, 1]) / h
    return torch.stack([cx, cy, wh[:, 0], wh[:, 1]], dim=1)

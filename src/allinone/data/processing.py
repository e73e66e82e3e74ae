"""Square crops around a box, their inverse, and image normalisation (SPEC §2, §5, §6).

A crop of side ``ceil(sqrt(w·h) · factor)`` centred on the box is resampled to ``out_size`` in one
``cv2.warpAffine`` call that also pads with the image mean where the crop leaves the image, so
tracking and training share exactly one crop geometry:

    crop pixel u  ↔  image pixel  x0 + (u + 0.5) / scale − 0.5,   scale = out_size / side

(the pixel-centre convention of ``cv2.resize``). `box_to_crop` / `box_from_crop` map boxes through
the same transform, which makes box → crop → back exact up to float rounding.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CropWindow:
    """Where a crop lies in the image: its top-left corner (x0, y0), side and resampling scale."""

    x0: float
    y0: float
    side: float
    scale: float  # crop pixels per image pixel


def crop_window(box_xywh: Sequence[float], factor: float, out_size: int,
                center_xy: Optional[Sequence[float]] = None, side: Optional[float] = None) -> CropWindow:
    """Crop window of side ``ceil(sqrt(w·h)·factor)`` centred on the box (or on `center_xy`)."""
    x, y, w, h = (float(v) for v in box_xywh)
    if side is None:
        side = math.ceil(math.sqrt(max(w, 0.0) * max(h, 0.0)) * factor)
    side = max(float(side), 1.0)
    cx, cy = center_xy if center_xy is not None else (x + 0.5 * w, y + 0.5 * h)
    return CropWindow(cx - 0.5 * side, cy - 0.5 * side, side, out_size / side)


def crop_square(image: np.ndarray, window: CropWindow, out_size: int,
                fill: Optional[Sequence[float]] = None) -> np.ndarray:
    """Resample `window` of an RGB uint8 image (H, W, 3) to (out_size, out_size, 3), mean-padded."""
    s = window.scale
    matrix = np.array([[s, 0.0, s * (0.5 - window.x0) - 0.5],
                       [0.0, s, s * (0.5 - window.y0) - 0.5]], dtype=np.float64)
    if fill is None:
        fill = image.reshape(-1, image.shape[-1]).mean(axis=0)
    # bilinear, like the reference's cv2.resize of the cropped patch
    return cv2.warpAffine(image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in fill))


def box_to_crop(box_xywh: Sequence[float], window: CropWindow) -> np.ndarray:
    """Image box ``x, y, w, h`` → the same box in crop pixels."""
    x, y, w, h = (float(v) for v in box_xywh)
    s = window.scale
    return np.array([(x - window.x0) * s, (y - window.y0) * s, w * s, h * s])


def box_from_crop(box_xywh_crop: Sequence[float], window: CropWindow) -> np.ndarray:
    """Crop-pixel box → image box ``x, y, w, h`` (the inverse of `box_to_crop`)."""
    x, y, w, h = (float(v) for v in box_xywh_crop)
    s = window.scale
    return np.array([x / s + window.x0, y / s + window.y0, w / s, h / s])


def normalize_image(crop: np.ndarray, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """RGB uint8 (H, W, 3) → float tensor (3, H, W), ``(x/255 − mean) / std``."""
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float()
    m = torch.tensor(mean).view(3, 1, 1) * 255.0
    s = torch.tensor(std).view(3, 1, 1) * 255.0
    return (t - m) / s

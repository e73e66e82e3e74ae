"""Square crops around a box, their inverse, and image normalisation (SPEC §2, §5, §6).

One crop convention for tracking and training, the reference implementation's (OSTrack's
``sample_target``), because imported reference weights only reproduce the reference with it:

- the side is ``ceil(sqrt(w·h) · factor)`` whole pixels;
- the top-left corner is ``round(cx − side/2)`` (Python's round: halves go to the even integer);
- where the square leaves the image it is padded with zeros (black). The right/bottom padding is
  ``x2 − W + 1``, so whenever the square reaches that border the last image column/row is replaced
  by black as well (a quirk kept on purpose);
- the padded square is resized to ``out_size`` with ``cv2.resize`` (bilinear).

Boxes follow the reference too. `box_from_crop` maps a predicted box back from the unrounded
corner ``cx − side/2`` (the reference's ``map_box_back``); `box_to_crop` gives training targets
as the reference's ``transform_image_to_crop`` does, centre at ``(out_size − 1)/2 + (c − c_crop) ·
scale``. The two are therefore not exact inverses: ``box_from_crop(box_to_crop(b))`` is ``b``
shifted by ``−0.5/scale`` image pixels in x and y, as in the reference.
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

# Above this side the zero-padded square would take > 200 MB (uint8 RGB); such crops are resampled
# directly with cv2.warpAffine instead (same geometry, interpolation rounding may differ by 1 level).
MAX_PADDED_SIDE = 8192


@dataclass(frozen=True)
class CropWindow:
    """Where a crop lies in the image.

    ``x0, y0`` is the unrounded top-left corner ``c − side/2`` (boxes map back from it, as in the
    reference); the pixels are cut from the whole-pixel corner ``left, top`` = ``round(x0), round(y0)``.
    ``side`` is in whole image pixels, ``scale`` = out_size / side (crop pixels per image pixel).
    """

    x0: float
    y0: float
    side: int
    scale: float

    @property
    def left(self) -> int:
        return int(round(self.x0))

    @property
    def top(self) -> int:
        return int(round(self.y0))


def crop_window(box_xywh: Sequence[float], factor: float, out_size: int,
                center_xy: Optional[Sequence[float]] = None, side: Optional[float] = None) -> CropWindow:
    """Crop window of side ``ceil(sqrt(w·h)·factor)`` centred on the box (or on `center_xy`).

    An explicit `side` is rounded up to whole pixels; the side is at least 1.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    if side is None:
        side = math.sqrt(max(w, 0.0) * max(h, 0.0)) * factor
    side_px = max(int(math.ceil(side)), 1)
    cx, cy = center_xy if center_xy is not None else (x + 0.5 * w, y + 0.5 * h)
    return CropWindow(cx - 0.5 * side_px, cy - 0.5 * side_px, side_px, out_size / side_px)


def crop_square(image: np.ndarray, window: CropWindow, out_size: int) -> np.ndarray:
    """Cut `window` out of an RGB uint8 image (H, W, 3), zero-padded, resized to (out_size, out_size, 3).

    Pixel for pixel the reference's ``sample_target`` (see the module docstring), including the
    black last column/row when the square reaches the right/bottom border.
    """
    height, width = image.shape[:2]
    side, x1, y1 = window.side, window.left, window.top
    x2, y2 = x1 + side, y1 + side
    # the reference keeps image columns [max(x1, 0), x2 - pad_right) with pad_right = x2 - W + 1
    # when positive, i.e. it stops at column W - 1 (exclusive) as soon as the square reaches W
    col0, col1 = max(x1, 0), (x2 if x2 < width else width - 1)
    row0, row1 = max(y1, 0), (y2 if y2 < height else height - 1)
    if (col0, row0, col1, row1) == (x1, y1, x2, y2):  # entirely inside: no padding, no copy
        return cv2.resize(image[y1:y2, x1:x2], (out_size, out_size), interpolation=cv2.INTER_LINEAR)
    if side > MAX_PADDED_SIDE:
        return _crop_by_warp(image, window, out_size, col1, row1)
    padded = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    if col1 > col0 and row1 > row0:
        padded[row0 - y1:row1 - y1, col0 - x1:col1 - x1] = image[row0:row1, col0:col1]
    return cv2.resize(padded, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def _crop_by_warp(image: np.ndarray, window: CropWindow, out_size: int, col1: int, row1: int) -> np.ndarray:
    """`crop_square` for huge sides: one warpAffine from the same whole-pixel corner, zero border."""
    s = window.scale
    visible = image[:max(row1, 0), :max(col1, 0)]  # the columns/rows the reference blackens are cut off
    matrix = np.array([[s, 0.0, s * (0.5 - window.left) - 0.5],
                       [0.0, s, s * (0.5 - window.top) - 0.5]], dtype=np.float64)
    if visible.size == 0:
        return np.zeros((out_size, out_size, image.shape[2]), dtype=image.dtype)
    return cv2.warpAffine(np.ascontiguousarray(visible), matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def box_to_crop(box_xywh: Sequence[float], window: CropWindow) -> np.ndarray:
    """Image box ``x, y, w, h`` → the same box in crop pixels, the reference's training target.

    Centre ``(out_size − 1)/2 + (c − c_window) · scale`` (``transform_image_to_crop``), i.e. half a
    crop pixel above/left of the exact position.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    s = window.scale
    return np.array([(x - window.x0) * s - 0.5, (y - window.y0) * s - 0.5, w * s, h * s])


def box_from_crop(box_xywh_crop: Sequence[float], window: CropWindow) -> np.ndarray:
    """Crop-pixel box → image box ``x, y, w, h`` (the reference's ``map_box_back``).

    Maps from the unrounded corner ``x0, y0``; ``box_from_crop(box_to_crop(b))`` is ``b`` moved by
    ``−0.5 / scale`` in x and y, as in the reference.
    """
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

"""Training augmentations (SPEC §5): box jitter, brightness, horizontal flip (+ text), grayscale.

Every function is pure and takes its randomness from an explicit ``numpy.random.Generator``, so a
training pair depends only on the generator's seed.

Box jitter follows OSTrack's ``_get_jittered_box`` (its processing of training pairs), applied to a
box ``x, y, w, h``:

    w', h'  = w · exp(N(0, scale_jitter)),  h · exp(N(0, scale_jitter))      (independent per axis)
    offset  = (U(0, 1) − 0.5) · center_jitter · sqrt(w'·h')                   (independent per axis)
    centre' = centre + offset

so the centre moves uniformly within ``±0.5 · center_jitter · sqrt(w'·h')``: with the paper's
``center_jitter = 3`` and search factor 4 the true centre stays within the inner 3/4 of the crop
before scale jitter (|offset| ≤ 1.5·sqrt(w'h') < 2·sqrt(w'h') = half the crop side).

Brightness follows OSTrack's ``ToTensorAndJitter(0.2)``: one factor ``U(1 − b, 1 + b)`` multiplies a
whole image (all three channels), then values are clamped to the uint8 range.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

import cv2
import numpy as np

# Words whose meaning mirrors under a horizontal flip (whole words only, matched case-insensitively).
_MIRROR_WORDS = {
    "left": "right", "right": "left",
    "leftmost": "rightmost", "rightmost": "leftmost",
    "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards",
}
_MIRROR_RE = re.compile(r"\b(" + "|".join(sorted(_MIRROR_WORDS, key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)


def jitter_box(box_xywh: Sequence[float], center_jitter: float, scale_jitter: float,
               rng: np.random.Generator) -> np.ndarray:
    """Jittered copy of an ``x, y, w, h`` box (OSTrack convention, see the module docstring).

    A zero jitter consumes no randomness and returns the box unchanged.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    size = np.array([w, h])
    if scale_jitter > 0:
        size = size * np.exp(rng.standard_normal(2) * scale_jitter)
    center = np.array([x + 0.5 * w, y + 0.5 * h])
    if center_jitter > 0:
        spread = float(np.sqrt(size[0] * size[1])) * center_jitter  # full width of the uniform
        center = center + (rng.random(2) - 0.5) * spread
    return np.concatenate([center - 0.5 * size, size])


def brightness_factor(rng: np.random.Generator, jitter: float = 0.2) -> float:
    """A brightness factor ``U(max(0, 1 − jitter), 1 + jitter)``; 1.0 when `jitter` is 0."""
    if jitter <= 0:
        return 1.0
    return float(rng.uniform(max(0.0, 1.0 - jitter), 1.0 + jitter))


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """(H, W, 3) image × `factor`, clamped to [0, 255], as float32 (no re-quantisation)."""
    out = image.astype(np.float32) * np.float32(factor)
    return np.clip(out, 0.0, 255.0, out=out)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) → its luma (ITU-R 601, as ``cv2.COLOR_RGB2GRAY``) repeated on 3 channels."""
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


def hflip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an (H, W, ...) image left-right (a contiguous copy)."""
    return np.ascontiguousarray(image[:, ::-1])


def hflip_box(box_xywh: Sequence[float], width: float) -> np.ndarray:
    """Mirror an ``x, y, w, h`` box in an image `width` pixels wide: ``x' = W − x − w``."""
    x, y, w, h = (float(v) for v in box_xywh)
    return np.array([width - x - w, y, w, h])


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def hflip_text(text: Optional[str]) -> Optional[str]:
    """Swap "left" ↔ "right" (and -most, -ward(s)) as whole words, keeping their case.

    ``"The dog on the Left"`` → ``"The dog on the Right"``; ``"leftover"`` is untouched; ``None``
    stays ``None``.
    """
    if not text:
        return text
    return _MIRROR_RE.sub(lambda m: _match_case(_MIRROR_WORDS[m.group(0).lower()], m.group(0)), text)

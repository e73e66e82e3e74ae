"""Descriptions of real tracks: a basic colour name from HSV, position and motion words, and a
sentence from class, colour, position and motion ("the person in red on the left, moving right")."""
from __future__ import annotations

import zlib
from typing import Sequence

import cv2
import numpy as np


def colour_names(pixels_rgb: np.ndarray) -> np.ndarray:
    """A basic colour name per RGB pixel ((N, 3) uint8 → (N,) str), from HSV thresholds."""
    hsv = cv2.cvtColor(np.asarray(pixels_rgb, np.uint8).reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    h, s, v = (hsv[:, k].astype(int) for k in range(3))  # OpenCV: H in [0, 180), S and V in [0, 255]
    hue_bins = np.array([8, 20, 34, 80, 100, 130, 150, 170, 180])
    hue_names = np.array(["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "red"])
    names = hue_names[np.searchsorted(hue_bins, h, side="right")]
    names = np.where(((h >= 8) & (h < 20) & (v < 160)) | ((h < 8) & (v < 100)), "brown", names)
    grey = np.where(v > 190, "white", "grey")
    names = np.where(s < 50, grey, names)
    return np.where(v < 50, "black", names)


def dominant_colour(crops: Sequence[np.ndarray]) -> str:
    """The colour name of the central half (by side) of the given box crops: the most frequent
    one, except that a chromatic colour covering at least 20 % of the pixels and 60 % of the most
    frequent achromatic one (black, grey, white: often shadows and background) is preferred."""
    pixels = []
    for crop in crops:
        h, w = crop.shape[:2]
        inner = crop[h // 4:h - h // 4 or h, w // 4:w - w // 4 or w]
        pixels.append(inner.reshape(-1, 3))
    names, counts = np.unique(colour_names(np.concatenate(pixels)), return_counts=True)
    share = counts / counts.sum()
    best = int(np.argmax(share))
    chromatic = [i for i in np.argsort(-share) if names[i] not in ("black", "grey", "white")]
    if names[best] in ("black", "grey", "white") and chromatic:
        c = chromatic[0]
        if share[c] >= 0.2 and share[c] >= 0.6 * share[best]:
            best = c
    return str(names[best])


def position_words(box: np.ndarray, frame_wh: tuple[int, int]) -> str:
    """Where the box's centre lies in the frame ("on the left", "in the upper right", ...)."""
    fx, fy = (box[0] + box[2] / 2) / frame_wh[0], (box[1] + box[3] / 2) / frame_wh[1]
    horiz = "left" if fx < 0.35 else "right" if fx > 0.65 else ""
    vert = "top" if fy < 0.35 else "bottom" if fy > 0.65 else ""
    if horiz and vert:
        return f"in the {'upper' if vert == 'top' else 'lower'} {horiz}"
    return f"at the {vert}" if vert else f"on the {horiz}" if horiz else "in the middle"


def motion_words(boxes: np.ndarray, frame_wh: tuple[int, int]) -> str:
    """The main motion over the track ("moving right", "coming closer", ...), '' when it barely moves."""
    c = boxes[:, :2] + boxes[:, 2:] / 2
    d = (c[-1] - c[0]) / np.array(frame_wh, float)
    growth = np.sqrt((boxes[-1, 2] * boxes[-1, 3]) / max(1e-6, boxes[0, 2] * boxes[0, 3]))
    if np.abs(d).max() >= 0.1:
        if abs(d[0]) >= abs(d[1]):
            return "moving right" if d[0] > 0 else "moving left"
        return "moving down" if d[1] > 0 else "moving up"
    if growth > 1.4:
        return "coming closer"
    if growth < 1 / 1.4:
        return "moving away"
    return ""


def describe(label: str, colour: str, boxes: np.ndarray, frame_wh: tuple[int, int], key: str) -> str:
    """A description from class, colour, first-frame position and motion; the phrasing is picked
    deterministically from `key`."""
    obj = f"the {label} in {colour}" if label == "person" else f"the {colour} {label}"
    where, move = position_words(boxes[0], frame_wh), motion_words(boxes, frame_wh) if len(boxes) > 1 else ""
    options = [f"{obj} {where}"]
    if move:
        options += [f"{obj} {move}", f"{obj} {where}, {move}"]
    return options[zlib.crc32(key.encode()) % len(options)]

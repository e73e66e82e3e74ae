"""What every dataset reader returns: `Sequence` (a video or a still image with its annotation)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np


class DatasetError(ValueError):
    """A dataset root or file is missing or has the wrong layout."""


class AnnotationError(DatasetError):
    """An annotation line cannot be parsed; the message names the file and the 1-based line."""


class FrameReadError(DatasetError):
    """A frame file is missing or cannot be decoded."""


@dataclass
class Sequence:
    """One annotated sequence. Still-image sets give one-frame sequences.

    frames: absolute frame paths in order. boxes: (N, 4) ``x, y, w, h`` pixels (NaN rows where the
    annotation is missing). visible: (N,) bool, the absence flags as read from disk (True where the
    dataset has none); box validity is not folded in, since the metrics treat a flagged frame and an
    empty box differently. text: the description ("" = no text).
    image_size: ``(W, H)`` when known without decoding a frame.
    """

    name: str
    frames: list[str]
    boxes: np.ndarray
    visible: np.ndarray
    text: str = ""
    dataset: str = ""
    image_size: Optional[tuple[int, int]] = None
    class_name: Optional[str] = None
    _size_warned: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(-1)
        if not (len(self.frames) == len(self.boxes) == len(self.visible)):
            raise DatasetError(f"sequence {self.name}: {len(self.frames)} frames, {len(self.boxes)} boxes and "
                               f"{len(self.visible)} visibility flags; they must be equal")

    def __len__(self) -> int:
        return len(self.frames)

    def get_image_size(self) -> tuple[int, int]:
        """``(W, H)`` of the frames: from the annotation when known, else read from the first frame."""
        if self.image_size is None:
            h, w = self.read_frame(0).shape[:2]
            self.image_size = (w, h)
        return self.image_size

    def read_frame(self, index: int) -> np.ndarray:
        """Frame `index` as an RGB uint8 (H, W, 3) array."""
        path = self.frames[index]
        if not Path(path).is_file():
            raise FrameReadError(f"sequence {self.name}: frame {index} missing: {path}")
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise FrameReadError(f"sequence {self.name}: frame {index} cannot be decoded: {path}")
        self._check_size(index, image.shape[1], image.shape[0])
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def _check_size(self, index: int, width: int, height: int) -> None:
        """Remember the frame size; warn (once per sequence) when a frame's differs: boxes are in
        each frame's own pixels, so a folder mixing sizes is most likely not one video."""
        if self.image_size is None:
            self.image_size = (width, height)
        elif (width, height) != tuple(self.image_size) and not self._size_warned:
            self._size_warned = True
            w, h = self.image_size
            warnings.warn(f"sequence {self.name}: frame {index} is {width}x{height} but earlier frames are "
                          f"{w}x{h} ({self.frames[index]}); frames of one sequence should share a size",
                          stacklevel=3)

"""Result files in the pytracking style: ``<seq>.txt`` (``x<TAB>y<TAB>w<TAB>h`` per frame) and
``<seq>_time.txt`` (seconds per frame). Boxes are written as integers, as pytracking writes them
(``np.savetxt(fmt='%d', delimiter='\\t')``), so files are byte-compatible with its tools; readers
accept tabs, commas or spaces, and decimals."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.datasets.base import read_boxes


def write_results(path: Path, boxes: np.ndarray) -> None:
    """Write (N, 4) boxes as tab-separated integers (truncated toward zero, as ``%d`` does)."""
    np.savetxt(path, np.asarray(boxes, dtype=np.float64), delimiter="\t", fmt="%d")


def read_results(path: Path) -> np.ndarray:
    """Read a result file → (N, 4) float; a malformed line fails naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"result file missing: {path}")
    return read_boxes(path)  # the same parser as the ground truth: tabs, commas or spaces

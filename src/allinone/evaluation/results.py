"""Result files in the pytracking style.

A results folder holds, per sequence, ``<seq>.txt`` (one ``x<TAB>y<TAB>w<TAB>h`` line per frame)
and ``<seq>_time.txt`` (one time in seconds per frame). The folder's name is the tracker's name.
The got10k toolkit's layout, ``<seq>/<seq>_001.txt`` (comma-separated, first repetition), is read
too (`find_result`).

Writing: boxes are written as integers, truncated toward zero, tab-separated — byte for byte what
pytracking writes (``np.savetxt(path, boxes.astype(int), delimiter='\\t', fmt='%d')``), so its
tools read our files and the analysis gives the same numbers on both. Sub-pixel precision is
deliberately dropped (pass ``decimals`` to keep it). Times are written with ``%f``.

Reading accepts tabs, commas or any whitespace (mixed too), integers or decimals, and ``nan``;
blank lines are skipped as ``np.loadtxt`` skips them. A malformed line raises
`ResultsFormatError` naming ``file:line``. NaN values are kept: the metrics decide what they mean.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np

_SEPARATORS = re.compile(r"[,\s]+")


class ResultsFormatError(ValueError):
    """A result file cannot be parsed; the message names the file and the 1-based line."""


def result_path(results_dir: str | Path, sequence: str) -> Path:
    """``<results_dir>/<sequence>.txt``."""
    return Path(results_dir) / f"{sequence}.txt"


def got10k_result_path(results_dir: str | Path, sequence: str, repetition: int = 1) -> Path:
    """``<results_dir>/<sequence>/<sequence>_001.txt``: the got10k toolkit's layout (``ExperimentGOT10k``)."""
    return Path(results_dir) / sequence / f"{sequence}_{repetition:03d}.txt"


def find_result(results_dir: str | Path, sequence: str) -> Optional[Path]:
    """The sequence's result file in either layout (pytracking's ``<seq>.txt`` first, then the
    got10k toolkit's ``<seq>/<seq>_001.txt``), or None when there is none."""
    for path in (result_path(results_dir, sequence), got10k_result_path(results_dir, sequence)):
        if path.is_file():
            return path
    return None


def time_path(results_dir: str | Path, sequence: str) -> Path:
    """``<results_dir>/<sequence>_time.txt``."""
    return Path(results_dir) / f"{sequence}_time.txt"


def write_results(path: str | Path, boxes: np.ndarray, decimals: Optional[int] = None) -> None:
    """Write (N, 4) ``x, y, w, h`` boxes, one tab-separated line per frame.

    decimals=None (default): integers truncated toward zero, as pytracking writes them.
    """
    path = Path(path)
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{path}: boxes must be (N, 4) x, y, w, h; got shape {boxes.shape}")
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{path}: box of frame {i + 1} is not finite ({boxes[i].tolist()}); "
                         "a result file must hold a box for every frame")
    path.parent.mkdir(parents=True, exist_ok=True)
    if decimals is None:
        np.savetxt(path, np.trunc(boxes).astype(np.int64), delimiter="\t", fmt="%d")
    else:
        np.savetxt(path, boxes, delimiter="\t", fmt=f"%.{int(decimals)}f")


def write_times(path: str | Path, seconds: np.ndarray) -> None:
    """Write per-frame times in seconds, one per line (pytracking's ``%f``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.asarray(seconds, dtype=np.float64).reshape(-1), fmt="%f")


def _numbers(path: Path, expected: Optional[int]) -> list[list[float]]:
    if not path.is_file():
        raise FileNotFoundError(f"result file missing: {path}")
    rows = []
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        parts = [p for p in _SEPARATORS.split(line.strip()) if p]
        if not parts:
            continue
        try:
            if expected is not None and len(parts) != expected:
                raise ValueError
            rows.append([float(p) for p in parts])
        except ValueError:
            what = f"{expected} numbers" if expected else "numbers"
            raise ResultsFormatError(f"{path}:{number}: expected {what} separated by tabs, commas or "
                                     f"spaces, got {line.strip()!r}") from None
    return rows


def read_results(path: str | Path) -> np.ndarray:
    """Read a result file → (N, 4) float64 ``x, y, w, h`` (NaN kept)."""
    return np.asarray(_numbers(Path(path), 4), dtype=np.float64).reshape(-1, 4)


def read_times(path: str | Path) -> np.ndarray:
    """Read a ``_time.txt`` file → (N,) seconds (one per line, or several separated per line)."""
    return np.asarray([t for row in _numbers(Path(path), None) for t in row], dtype=np.float64)

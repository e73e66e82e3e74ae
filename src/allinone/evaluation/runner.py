"""Benchmark runs: track every sequence of a dataset, write pytracking-style result files.

For each sequence ``<seq>.txt`` (one ``x<TAB>y<TAB>w<TAB>h`` line per frame) and ``<seq>_time.txt``
(seconds per frame) are written atomically into the results folder, so an interrupted run keeps
every finished sequence and a rerun skips them (a sequence counts as finished when its result file
has one line per frame). Sequences run in parallel worker processes (``workers``), each loading the
model once and using ``max(1, cores // workers)`` threads.
"""
from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Optional, Sequence as Seq

import numpy as np

from .results import write_results


def _finished(out_dir: Path, name: str, n_frames: int) -> bool:
    path = out_dir / f"{name}.txt"
    if not path.exists():
        return False
    with open(path) as f:
        return sum(1 for line in f if line.strip()) == n_frames


def _atomic_write(path: Path, writer) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def track_sequence(tracker, sequence, use_text: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run `tracker` over one `Sequence` from its first-frame box (and text) → (boxes (N,4), seconds (N,))."""
    n = len(sequence.frames)
    boxes = np.zeros((n, 4))
    times = np.zeros(n)
    frame = sequence.read_frame(0)
    t0 = time.perf_counter()
    tracker.initialize(frame, bbox=sequence.boxes[0], text=(sequence.text or None) if use_text else None)
    times[0] = time.perf_counter() - t0
    boxes[0] = sequence.boxes[0]
    for i in range(1, n):
        frame = sequence.read_frame(i)
        t0 = time.perf_counter()
        box, _ = tracker.track(frame)
        times[i] = time.perf_counter() - t0
        boxes[i] = box
    return boxes, times


_WORKER: dict = {}


def _init_worker(checkpoint: str, device: str, precision: str, threads: int, use_text: bool = True) -> None:
    import cv2
    import torch

    from ..track import Tracker

    torch.set_num_threads(threads)
    cv2.setNumThreads(1)
    _WORKER["tracker"] = Tracker.from_checkpoint(checkpoint, device=device, precision=precision)
    _WORKER["use_text"] = use_text


def _run_one(sequence, out_dir: str) -> tuple[str, float]:
    boxes, times = track_sequence(_WORKER["tracker"], sequence, _WORKER["use_text"])
    out = Path(out_dir)
    _atomic_write(out / f"{sequence.name}_time.txt", lambda p: np.savetxt(p, times, fmt="%.6f"))
    _atomic_write(out / f"{sequence.name}.txt", lambda p: write_results(p, boxes))
    return sequence.name, float(len(times) / max(times.sum(), 1e-9))


def run_benchmark(dataset: str, root: str, checkpoint: str, out: str, *, sequences: Optional[Seq[str]] = None,
                  workers: int = 1, device: str = "cpu", precision: str = "fp32", split: Optional[str] = None,
                  progress: bool = True, use_text: bool = True) -> list[str]:
    """Track every (or the named) sequence(s) of `dataset` under `root`; returns the names run now.

    use_text=False tracks from the first box only (to measure what the language adds)."""
    from tqdm import tqdm

    from ..data import open_dataset

    ds = open_dataset(dataset, root, split=split) if split else open_dataset(dataset, root)
    all_seqs = ds.sequences()
    if sequences:
        by_name = {s.name: s for s in all_seqs}
        unknown = [n for n in sequences if n not in by_name]
        if unknown:
            raise ValueError(f"unknown sequence(s) for {dataset} at {root}: {', '.join(unknown[:5])}")
        all_seqs = [by_name[n] for n in sequences]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in all_seqs if not _finished(out_dir, s.name, len(s.frames))]
    skipped = len(all_seqs) - len(todo)
    if skipped and progress:
        print(f"{skipped} sequence(s) already finished in {out_dir}; skipping them")
    workers = max(1, min(workers, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    done: list[str] = []
    bar = tqdm(total=len(todo), desc=f"{dataset}", disable=not progress, unit="seq")
    if workers == 1:
        _init_worker(str(checkpoint), device, precision, threads, use_text)
        for s in todo:
            name, fps = _run_one(s, str(out_dir))
            done.append(name)
            bar.set_postfix(seq=name, fps=f"{fps:.1f}")
            bar.update(1)
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(str(checkpoint), device, precision, threads, use_text)) as pool:
            futures = [pool.submit(_run_one, s, str(out_dir)) for s in todo]
            for fut in as_completed(futures):
                name, fps = fut.result()
                done.append(name)
                bar.set_postfix(seq=name, fps=f"{fps:.1f}")
                bar.update(1)
    bar.close()
    return done

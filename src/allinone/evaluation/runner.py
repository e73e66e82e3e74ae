"""Benchmark runs: track every sequence of a dataset, write pytracking-style result files.

For each sequence ``<seq>.txt`` (one ``x<TAB>y<TAB>w<TAB>h`` line per frame) and ``<seq>_time.txt``
(seconds per frame) are written atomically into the results folder, so an interrupted run keeps
every finished sequence and a rerun skips them (a sequence counts as finished when its result file
has one line per frame). Sequences run in parallel worker processes (``workers``), each loading the
model once and using ``threads`` torch threads (default 1): the thread count, not the number of
workers, is what changes floating-point results, so any ``workers`` gives identical files.
A sequence that cannot be tracked is reported at the end and does not stop the others; pool
workers leave Ctrl-C / SIGTERM to the main process, which stops them at once, and exit by
themselves if it is killed.

One results folder can be shared: ``shard=(K, N)`` runs a deterministic 1/N of the sequences,
balanced by frame count (`shards`), so N cluster jobs fill one folder; concurrent runs claim each
sequence before tracking it (`claims`), so no sequence is tracked twice; and the folder's manifest
(`manifest`) makes sure every run writing there uses the same checkpoint and settings.

Start-up stays cheap on big trees: the dataset lists its sequence names, frame counts come from the
annotation files' line counts (`Dataset.frame_count`), and a sequence is loaded (its annotation
parsed, its frames listed where the reader lists them) only by the process that tracks it.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence as Seq, Union

import numpy as np

from ..files import atomic_write
from .claims import claim_path, try_claim
from .manifest import check_manifest, manifest_still_matches, prepare_results_folder, run_identity
from .results import write_results
from .shards import parse_shard, shard_names

# what `_run_one` did with a sequence
TRACKED, BUSY, FINISHED, FAILED = "tracked", "busy", "finished", "failed"


class SequenceError(ValueError):
    """One sequence cannot be tracked (bad first box, unreadable annotation or frame); the message names it."""


class BenchmarkError(ValueError):
    """Some sequences of a run failed; the others were tracked and written. The message lists them."""


def _finished(out_dir: Path, name: str, n_frames: int) -> bool:
    path = out_dir / f"{name}.txt"
    if not path.exists():
        return False
    with open(path) as f:
        return sum(1 for line in f if line.strip()) == n_frames


def track_sequence(tracker, sequence, use_text: bool = True, start: str = "box") -> tuple[np.ndarray, np.ndarray]:
    """Run `tracker` over one `Sequence` → (boxes (N,4), seconds (N,)).

    start="box": from the first-frame ground-truth box (and the text unless ``use_text=False``); the
    first result line is that box. start="text": from the description alone (no box, SPEC §9); the
    first result line is the box the tracker located."""
    n = len(sequence.frames)
    boxes = np.zeros((n, 4))
    times = np.zeros(n)
    frame = sequence.read_frame(0)
    t0 = time.perf_counter()
    if start == "text":
        if not (sequence.text or "").strip():
            raise SequenceError(f"sequence {sequence.name} has no description, so it cannot start from text; "
                                "leave out --start text or the sequence")
        tracker.initialize(frame, text=sequence.text)
        boxes[0] = tracker.state.box_xywh
    else:
        try:
            tracker.initialize(frame, bbox=sequence.boxes[0], text=(sequence.text or None) if use_text else None)
        except ValueError as exc:  # a bad first ground-truth box: name the sequence
            raise SequenceError(f"sequence {sequence.name}: cannot start from its first ground-truth box "
                                f"{sequence.boxes[0].tolist()}: {exc}") from None
        boxes[0] = sequence.boxes[0]
    times[0] = time.perf_counter() - t0
    for i in range(1, n):
        frame = sequence.read_frame(i)
        t0 = time.perf_counter()
        box, _ = tracker.track(frame)
        times[i] = time.perf_counter() - t0
        boxes[i] = box
    return boxes, times


@dataclass
class RunPlan:
    """The sequences one run tracks: `names` (its shard, in dataset order) out of `frame_counts`
    (every selected sequence → frames)."""

    names: list[str]
    frame_counts: dict[str, int]
    shard: Optional[tuple[int, int]] = None

    @property
    def frames(self) -> int:
        return sum(self.frame_counts[n] for n in self.names)

    def describe(self) -> str:
        what = f"{len(self.names)} sequence(s), {self.frames:,} frames"
        if self.shard is None:
            return what
        k, n = self.shard
        return (f"shard {k}/{n}: {what} (of {len(self.frame_counts)} sequence(s), "
                f"{sum(self.frame_counts.values()):,} frames)")


def plan_run(ds, sequences: Optional[Seq[str]] = None,
             shard: Union[str, tuple[int, int], None] = None) -> RunPlan:
    """Select the (named) sequences of dataset `ds` and this run's shard of them, without loading any."""
    names = ds.sequence_names()
    if sequences:
        known = set(names)
        unknown = [n for n in sequences if n not in known]
        if unknown:
            raise ValueError(f"unknown sequence(s) for {ds.name} at {ds.root}: {', '.join(unknown[:5])}")
        names = list(dict.fromkeys(sequences))
    if shard is None:
        return RunPlan(names, {n: ds.frame_count(n) for n in names})
    k, n = parse_shard(shard) if isinstance(shard, str) else parse_shard(f"{shard[0]}/{shard[1]}")
    counts = {name: ds.frame_count(name) for name in names}
    return RunPlan(shard_names(counts, k, n), counts, (k, n))


_WORKER: dict = {}


def _init_worker(checkpoint: str, device: str, precision: str, threads: int, use_text: bool = True,
                 dataset=None, out_dir: str = "", identity: Optional[dict] = None, backend: str = "torch",
                 parent_pid: Optional[int] = None, start: str = "box") -> None:
    """Load the model (and open the dataset, given as ``(name, root, split)``) once per worker.

    threads: torch's intra-op threads, the same in every worker whatever their number, so that
    results depend only on the inputs (``--workers 1`` and ``--workers 2`` write identical files).
    parent_pid: in a pool worker, the run's main process: Ctrl-C is left to it, and the worker
    exits when it is gone (``kill -9`` included; see `allinone.processes`)."""
    import cv2
    import torch

    from ..data import open_dataset
    from ..track import Tracker

    if parent_pid is not None:
        from ..processes import exit_with_parent, worker_signals

        worker_signals()
        exit_with_parent(parent_pid)
    torch.set_num_threads(threads)
    cv2.setNumThreads(1)
    extra = {} if backend in (None, "", "torch") else {"backend": backend}
    _WORKER["tracker"] = Tracker.from_checkpoint(checkpoint, device=device, precision=precision, threads=threads,
                                                 **extra)
    _WORKER["use_text"] = use_text
    _WORKER["start"] = start
    if isinstance(dataset, tuple):
        name, root, split = dataset
        with warnings.catch_warnings():  # the main process has warned about the sequences it skips
            warnings.simplefilter("ignore")
            dataset = open_dataset(name, root, split=split, skip_missing=True)
    _WORKER.update(dataset=dataset, out=Path(out_dir), identity=identity)


def _run_one(name: str) -> tuple[str, str, Union[float, str]]:
    """Claim, load, track and write one sequence → (name, TRACKED / BUSY / FINISHED, frames per second),
    or (name, FAILED, why) when its data cannot be tracked."""
    out = _WORKER["out"]
    claim = try_claim(claim_path(out, name))
    if claim is None:
        return name, BUSY, 0.0  # another run is tracking it
    with claim:
        try:
            sequence = _WORKER["dataset"][name]
        except ValueError as exc:  # its annotation or frame folder: the others go on
            return name, FAILED, " ".join(str(exc).split())
        if _finished(out, name, len(sequence)):
            return name, FINISHED, 0.0  # another run finished it since this one started
        if _WORKER["identity"] is not None:
            manifest_still_matches(out, _WORKER["identity"])
        try:
            boxes, times = track_sequence(_WORKER["tracker"], sequence, _WORKER["use_text"], _WORKER["start"])
        except ValueError as exc:  # this sequence's data: the others go on
            return name, FAILED, " ".join(str(exc).split())
        atomic_write(out / f"{name}_time.txt", lambda p: np.savetxt(p, times, fmt="%.6f"))
        atomic_write(out / f"{name}.txt", lambda p: write_results(p, boxes))
    return name, TRACKED, float(len(times) / max(times.sum(), 1e-9))


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued sequences and end the running workers (their claims and temporary files
    are cleaned up by the next run)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def run_benchmark(dataset: str, root: str, checkpoint: str, out: str, *, sequences: Optional[Seq[str]] = None,
                  workers: int = 1, device: str = "cpu", precision: str = "fp32", split: Optional[str] = None,
                  progress: bool = True, use_text: bool = True, shard: Union[str, tuple[int, int], None] = None,
                  backend: str = "torch", overwrite: bool = False, dry_run: bool = False,
                  threads: Optional[int] = None, skip_missing: bool = False, start: str = "box") -> list[str]:
    """Track every (or the named) sequence(s) of `dataset` under `root`; returns the names run now.

    use_text=False tracks from the first box only (to measure what the language adds).
    start="text": start every sequence from its description alone, without the first box (the first
    result line is the located box); needs use_text.
    shard: ``"K/N"`` or ``(K, N)``: only this run's 1/N of the sequences (see `shards`).
    overwrite: when `out` holds results of another checkpoint or settings, delete them first
    (otherwise that is an error). dry_run: print what would be tracked, track and write nothing,
    and return those names. threads: CPU threads per worker (default 1); the same for any number of
    workers, so results depend on it but not on `workers`. skip_missing: leave out, with a warning,
    the sequences whose ground truth is missing or empty (otherwise the dataset does not open). A
    sequence that cannot be tracked (bad first box, unreadable annotation or frame) does not stop the
    others: a `BenchmarkError` naming it, and why, is raised at the end.
    """
    from ..data import open_dataset

    if start not in ("box", "text"):
        raise ValueError(f"start={start!r}: must be 'box' (first-frame box) or 'text' (description only)")
    if start == "text" and not use_text:
        raise ValueError("--start text finds the target from the description, so it cannot be combined with "
                         "--no-text")
    ds = open_dataset(dataset, root, split=split, skip_missing=skip_missing)
    if progress:
        print(ds.describe())
    plan = plan_run(ds, sequences, shard)
    out_dir = Path(out)
    identity = run_identity(checkpoint, precision=precision, backend=backend, use_text=use_text, start=start)
    if dry_run:
        check_manifest(out_dir, identity)
        todo = [n for n in plan.names if not _finished(out_dir, n, plan.frame_counts[n])]
        print(f"{plan.describe()}; {len(todo)} to track into {out_dir}")
        for n in todo:
            print(f"  {n}\t{plan.frame_counts[n]}")
        return todo
    info = {"checkpoint": str(checkpoint), "dataset": dataset, "root": str(root), "split": split or ds.split,
            "device": device, "threads": threads or 1}
    deleted = prepare_results_folder(out_dir, identity, info, overwrite=overwrite)
    if deleted and progress:
        print(f"--overwrite: deleted {len(deleted)} result file(s) of another run from {out_dir}")
    todo = [n for n in plan.names if not _finished(out_dir, n, plan.frame_counts[n])]
    if progress and (plan.shard or len(todo) < len(plan.names)):
        print(f"{plan.describe()}; {len(plan.names) - len(todo)} already finished in {out_dir}, skipping them")
    return _track_all(todo, ds, (dataset, str(root), split), str(checkpoint), out_dir, identity, workers=workers,
                      device=device, precision=precision, backend=backend, use_text=use_text, progress=progress,
                      threads=threads, start=start)


def _track_all(todo: list[str], ds, ds_spec: tuple, checkpoint: str, out_dir: Path, identity: dict, *,
               workers: int, device: str, precision: str, backend: str, use_text: bool, progress: bool,
               threads: Optional[int] = None, start: str = "box") -> list[str]:
    from tqdm import tqdm

    workers = max(1, min(workers, len(todo) or 1))
    threads = threads or 1  # not cores // workers: the thread count changes the floating-point results
    done: list[str] = []
    busy: list[str] = []
    failed: dict[str, str] = {}
    bar = tqdm(total=len(todo), desc=ds.name, disable=not progress, unit="seq")

    def record(name: str, status: str, fps: Union[float, str]) -> None:
        if status == TRACKED:
            done.append(name)
            bar.set_postfix(seq=name, fps=f"{fps:.1f}")
        elif status == BUSY:
            busy.append(name)
        elif status == FAILED:
            failed[name] = str(fps)
            bar.write(f"failed: {fps}", file=sys.stderr)
        bar.update(1)

    if not todo:
        pass
    elif workers == 1:
        _init_worker(checkpoint, device, precision, threads, use_text, ds, str(out_dir), identity, backend,
                     start=start)
        for name in todo:
            record(*_run_one(name))
    else:
        # workers start from a clean forkserver: a worker forked from this process would inherit
        # OpenCV's and the BLAS libraries' thread pools mid-state, and OpenCV's next call to
        # setNumThreads can then wait forever on a lock held by a thread that no longer exists
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_init_worker,
                                   initargs=(checkpoint, device, precision, threads, use_text, ds_spec,
                                             str(out_dir), identity, backend, os.getpid(), start))
        try:
            futures = [pool.submit(_run_one, name) for name in todo]
            for fut in as_completed(futures):
                record(*fut.result())
        except BaseException:  # Ctrl-C, SIGTERM, an error: stop now, not after every queued sequence
            _stop_pool(pool)
            raise
        pool.shutdown()
    bar.close()
    if failed:
        shown = "; ".join(list(failed.values())[:3]) + (f"; and {len(failed) - 3} more" if len(failed) > 3 else "")
        raise BenchmarkError(f"{len(failed)} sequence(s) could not be tracked ({len(done)} tracked, results in "
                             f"{out_dir}): {shown}")
    if busy and progress:
        print(f"{len(busy)} sequence(s) skipped: another run is tracking them ({', '.join(busy[:3])}"
              f"{', ...' if len(busy) > 3 else ''}); its claims are in {out_dir / '.claims'}")
    return done

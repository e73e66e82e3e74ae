"""Start-up time of `allinone test` on a LaSOT-sized tree: one shard, and N shards started at once.

Writes a LaSOT-layout tree of 1,400 sequences (70 classes x 20; empty ``img/*.jpg`` files, real
``groundtruth.txt`` / flag / ``nlp.txt`` files with one line per frame), then times

- ``allinone test --shard 1/N --dry-run`` as a fresh process (interpreter, imports, dataset listing,
  frame counts of every sequence for the balanced split, the checkpoint's hash for the manifest,
  the finished-sequence check of its shard): what every cluster job pays before it tracks;
- the same for ``--shard 1/1``, ``1/N`` and ``1/8N``: what one process does must not grow with N;
- shards started together, one per core of this machine (the slowest of them: on shared storage
  this is where per-process full scans would add up);
- in-process: listing, frame counting, and, for comparison, loading every sequence (what each
  process did before shards: parse all 1,400 annotations and build every frame list);
- a real run (not dry), until it reports its first sequence (which fails at once on its empty
  frame file): the whole start-up, model load included;
- loading the model (the bundled checkpoint), which a real run adds once per worker.

Usage: python benchmarks/startup.py [--sequences 1400] [--frames 600] [--shards 8] [--tree DIR]
(``--frames`` is the mean per sequence, drawn uniformly from 0.5x-1.5x; real LaSOT averages 2,500,
which takes a few minutes and 3.5 M files to write; --tree keeps the tree for reuse.)
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_tree(root: Path, sequences: int, mean_frames: int, seed: int = 0) -> int:
    """A LaSOT-layout tree with empty frame files; returns the number of frames written."""
    from allinone.data.datasets.lasot import lasot_test_sequences

    classes = list(dict.fromkeys(n.rsplit("-", 1)[0] for n in lasot_test_sequences()))
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(sequences):
        cls = classes[i % len(classes)]
        seq = root / cls / f"{cls}-{i // len(classes) + 1}"
        n = int(rng.integers(max(1, mean_frames // 2), mean_frames * 3 // 2 + 1))
        (seq / "img").mkdir(parents=True, exist_ok=True)
        for k in range(1, n + 1):
            os.close(os.open(seq / "img" / f"{k:08d}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
        (seq / "groundtruth.txt").write_text("10,20,30,40\n" * n)
        zeros = ",".join("0" * n) + "\n"
        (seq / "full_occlusion.txt").write_text(zeros)
        (seq / "out_of_view.txt").write_text(zeros)
        (seq / "nlp.txt").write_text(f"the {cls} in the middle\n")
        total += n
    return total


def _test_cmd(tree: Path, out: Path, shard: str, split: str) -> list[str]:
    return [sys.executable, "-m", "allinone.cli", "test", "--dataset", "lasot", "--root", str(tree),
            "--split", split, "--out", str(out), "--shard", shard, "--dry-run", "--no-progress"]


def time_processes(cmds: list[list[str]]) -> tuple[float, float]:
    """(wall seconds until the last of `cmds`, started together, has exited; CPU seconds per process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"{' '.join(p.args)} failed: {err.strip()[-500:]}")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / len(cmds)


def time_to_first_sequence(cmd: list[str]) -> float:
    """Wall seconds from launching a real (not dry) run until it reports its first sequence: the
    frames are empty files, so that sequence fails at once and the report marks the end of the
    start-up (listing, split, manifest, model load, loading that sequence). The run is then stopped."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.startswith(("failed:", "error:")):
                break
        return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()


def in_process(tree: Path, shards: int) -> dict[str, float]:
    from allinone.data import open_dataset
    from allinone.evaluation.manifest import run_identity
    from allinone.evaluation.runner import plan_run
    from allinone.track import Tracker
    from allinone.track.tracker import default_checkpoint

    times = {}
    t0 = time.perf_counter()
    ds = open_dataset("lasot", tree, split="all")
    times[f"list the {len(ds)} sequence names"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan_run(ds, shard=(1, shards))
    times[f"frame counts + balanced split (shard 1/{shards})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_identity(default_checkpoint())
    times["manifest identity (checkpoint sha256)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Tracker.from_checkpoint()
    times["tracking code import + model load (bundled cpu-tiny, once per worker)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = open_dataset("lasot", tree, split="all")
    for s in full.sequences():
        s.frames  # noqa: B018 - loaded, as every process did before
    times[f"for comparison: load all {len(full)} sequences (the old start-up)"] = time.perf_counter() - t0
    return times


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=1400)
    ap.add_argument("--frames", type=int, default=600, help="mean frames per sequence (default 600)")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of one shard (median)")
    ap.add_argument("--tree", help="where to write (or reuse) the tree; default: a temporary folder, deleted")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="allinone-startup-"))
    tree = Path(args.tree) if args.tree else tmp / "LaSOT"
    try:
        if not (tree / "airplane").is_dir():
            t0 = time.perf_counter()
            frames = write_tree(tree, args.sequences, args.frames)
            print(f"wrote {args.sequences} sequences, {frames:,} empty frames to {tree} "
                  f"in {time.perf_counter() - t0:.0f} s")
        out = tmp / "results" / "allinone"
        for split in ("all", "test"):
            runs = [time_processes([_test_cmd(tree, out, f"1/{args.shards}", split)]) for _ in range(args.repeats)]
            wall, cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
            print(f"allinone test --split {split} --shard 1/{args.shards} --dry-run, one process: "
                  f"{wall:.2f} s wall, {cpu:.2f} s CPU (median of {args.repeats})")
        for n in (1, args.shards, 8 * args.shards):
            wall, cpu = time_processes([_test_cmd(tree, out, f"1/{n}", "all")])
            print(f"  --shard 1/{n}: {wall:.2f} s wall, {cpu:.2f} s CPU (the work per shard does not grow with N)")
        together = max(1, min(args.shards, os.cpu_count() or 1))
        cmds = [_test_cmd(tree, out, f"{k}/{args.shards}", "all") for k in range(1, together + 1)]
        wall, cpu = time_processes(cmds)
        print(f"{together} of the {args.shards} shards (--split all) started together, one per core: slowest done "
              f"after {wall:.2f} s, {cpu:.2f} s CPU each")
        real = [c for c in _test_cmd(tree, tmp / "real" / "allinone", f"1/{args.shards}", "test") if c != "--dry-run"]
        print(f"a real run (--split test --shard 1/{args.shards}, bundled model) reaches its first sequence after "
              f"{statistics.median(time_to_first_sequence(real) for _ in range(args.repeats)):.2f} s wall")
        wall, cpu = time_processes([[sys.executable, "-c", "import allinone.cli, torch"]])
        print(f"(of which interpreter and imports, python -c 'import allinone.cli, torch': {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU)")
        for what, seconds in in_process(tree, args.shards).items():
            print(f"  {what}: {seconds:.2f} s")
        print(f"CPU: {_cpu_model()}, {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

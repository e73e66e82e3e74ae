"""Tracking quality on real footage: allinone checkpoints against OpenCV's CSRT and KCF.

Scores every tracker on a LaSOT-layout folder of real tracks (``allinone pseudo-tracks`` writes
one; the held-out validation split is what this benchmark is for) with the pytracking conventions
(success AUC, precision at 20 px, normalised precision) and measures end-to-end FPS (decoding
excluded). allinone checkpoints run twice: with each sequence's description and from the first
box only.

CSRT and KCF need OpenCV's contrib modules, an extra of this benchmark only:
    pip install opencv-contrib-python-headless==<the installed opencv-python-headless version>

Usage:
    python benchmarks/realvideo.py --root REAL_VAL --out results/realvideo \
        --checkpoint cpu-small=path/to/cpu-small.safetensors --checkpoint cpu-tiny=bundled \
        [--opencv csrt kcf] [--threads 2] [--mode fp32|bf16|int8|ort-fp32|ort-int8] [--max-frames 300]

Writes ``<out>/<tracker>/<seq>.txt`` (pytracking results), ``<out>/report.json`` and
``<out>/table.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import torch
from tqdm import tqdm

import allinone
from allinone.data import open_dataset
from allinone.evaluation.analysis import analyze
from allinone.track.tracker import default_checkpoint
from machine import cpu_model, load_average


class OpenCVTracker:
    """CSRT / KCF behind the same init/update calls as `allinone.Tracker` (RGB frames, x, y, w, h)."""

    def __init__(self, kind: str):
        factories = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF"}
        name = factories[kind]
        make = getattr(cv2, f"{name}_create", None) or getattr(getattr(cv2, name, None), "create", None)
        if make is None and hasattr(cv2, "legacy"):
            make = getattr(cv2.legacy, f"{name}_create", None)
        if make is None:
            raise SystemExit(f"OpenCV {cv2.__version__} has no {name}: pip install "
                             f"opencv-contrib-python-headless=={cv2.__version__}")
        self._make, self._tracker, self._box = make, None, None

    def initialize(self, frame: np.ndarray, bbox, text: Optional[str] = None) -> None:
        self._tracker = self._make()
        self._box = np.asarray(bbox, dtype=np.float64)
        self._tracker.init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), tuple(int(round(v)) for v in bbox))

    def track(self, frame: np.ndarray):
        ok, box = self._tracker.update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if ok:
            self._box = np.asarray(box, dtype=np.float64)
        return self._box, float(ok)


def _read(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read frame {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def run_tracker(tracker, sequences, out: Path, use_text: bool, max_frames: int) -> float:
    """Track every sequence with `tracker` (started afresh by each `initialize`) from its first
    ground-truth box; write results; return mean FPS."""
    out.mkdir(parents=True, exist_ok=True)
    frames_done, seconds = 0, 0.0
    for seq in tqdm(sequences, desc=out.name, unit="seq"):
        n = min(len(seq), max_frames)
        images = [_read(p) for p in seq.frames[:n]]
        tracker.initialize(images[0], bbox=seq.boxes[0], text=seq.text if use_text else None)
        boxes = [np.asarray(seq.boxes[0], dtype=np.float64)]
        t0 = time.perf_counter()
        for image in images[1:]:
            boxes.append(np.asarray(tracker.track(image)[0], dtype=np.float64))
        seconds += time.perf_counter() - t0
        frames_done += n - 1
        np.savetxt(out / f"{seq.name}.txt", np.array(boxes), fmt="%.2f", delimiter=",")
    return frames_done / max(seconds, 1e-9)


def _truncated(sequences, max_frames: int):
    from dataclasses import replace

    return [replace(s, frames=s.frames[:max_frames], boxes=s.boxes[:max_frames], visible=s.visible[:max_frames])
            for s in sequences]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="LaSOT-layout folder of real tracks (e.g. the held-out val split)")
    p.add_argument("--out", default="results/realvideo")
    p.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                   help="an allinone checkpoint to score (PATH 'bundled' = the bundled default); repeatable")
    p.add_argument("--opencv", nargs="*", default=["csrt", "kcf"], choices=["csrt", "kcf"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mode", default="fp32", choices=["fp32", "bf16", "int8", "ort-fp32", "ort-int8"],
                   help="how the allinone checkpoints run (ort-*: ONNX Runtime; default torch fp32)")
    p.add_argument("--max-frames", type=int, default=300, help="frames per sequence at most")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    sequences = list(open_dataset("lasot", args.root, split="all").sequences())
    if not sequences:
        raise SystemExit(f"no sequences under {args.root}")
    out = Path(args.out)
    fps, folders = {}, []
    for item in args.checkpoint:
        name, _, path = item.partition("=")
        model = allinone.load_model(default_checkpoint() if path in ("", "bundled") else path)
        backend, precision = ("onnxruntime", args.mode[4:]) if args.mode.startswith("ort-") else ("torch", args.mode)
        tracker = allinone.Tracker(model, threads=args.threads, backend=backend, precision=precision)
        for use_text, suffix in ((True, ""), (False, "-box-only")):
            folder = out / f"{name}{suffix}"
            fps[folder.name] = run_tracker(tracker, sequences, folder, use_text, args.max_frames)
            folders.append(folder)
    for kind in args.opencv:
        folder = out / kind.upper()
        fps[folder.name] = run_tracker(OpenCVTracker(kind), sequences, folder, False, args.max_frames)
        folders.append(folder)
    report = analyze(_truncated(sequences, args.max_frames), folders, print_table=False)
    lines = [f"real tracks: {len(sequences)} sequences from {args.root}; {args.threads} threads; allinone in "
             f"{args.mode}; "
             f"CPU {cpu_model()}; load {load_average()}", "",
             "| tracker | AUC | P@20 | NP | FPS |", "|---|---:|---:|---:|---:|"]
    for name, r in sorted(report.items(), key=lambda kv: -kv[1]["auc"]):
        lines.append(f"| {name} | {r['auc']:.1f} | {r['precision']:.1f} | {r['norm_precision']:.1f} | "
                     f"{fps[name]:.1f} |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")
    (out / "report.json").write_text(json.dumps(
        {name: {k: v for k, v in r.items() if k != "per_sequence"} | {"fps": fps[name]}
         for name, r in report.items()}, indent=2))


if __name__ == "__main__":
    main()

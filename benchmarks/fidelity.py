"""Accuracy of the fast CPU modes against torch fp32: closed loop and teacher-forced.

A closed-loop run (each mode tracks on its own) answers "what AUC does this mode get", but one
frame where the int8 peak lands on another token moves every later crop, so two runs of nearly the
same network part ways on a few sequences and the AUC difference is dominated by that chaos (its
standard error over 60 SynthVL sequences is 1-2 points). The teacher-forced run isolates the
numeric error: at every frame the mode tracks from fp32's own previous box (the same search crop
as fp32), so its boxes differ from fp32's only through the network's arithmetic. Both are scored
with the pytracking conventions against the ground truth; differences are paired per sequence,
with their standard error.

Usage:
    python benchmarks/fidelity.py --data SYNTHVL_TEST [--checkpoint PATH] \
        [--modes int8 ort-fp32 ort-int8] [--sequences 60] [--threads 2] [--out results/fidelity]

Prints a table and writes ``<out>/fidelity.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import allinone
from allinone.data import open_dataset
from allinone.evaluation.analysis import score_boxes
from allinone.evaluation.metrics import iou_inclusive
from allinone.track.tracker import default_checkpoint
from machine import cpu_model, load_average

MODES = {"fp32": ("torch", "fp32"), "bf16": ("torch", "bf16"), "int8": ("torch", "int8"),
         "ort-fp32": ("onnxruntime", "fp32"), "ort-int8": ("onnxruntime", "int8")}


def _tracker(model, mode: str, threads: int) -> allinone.Tracker:
    backend, precision = MODES[mode]
    return allinone.Tracker(model, backend=backend, precision=precision, threads=threads)


def _auc(seq, boxes: np.ndarray) -> float:
    return score_boxes(seq, boxes).auc


def run_sequence(seq, fp32: allinone.Tracker, others: dict[str, allinone.Tracker]) -> dict:
    """fp32 closed loop, each mode teacher-forced on fp32's boxes, then each mode closed loop."""
    frames = [seq.read_frame(i) for i in range(len(seq))]
    first = dict(bbox=seq.boxes[0], text=seq.text or None)
    ref = [np.asarray(seq.boxes[0], np.float64)]
    forced = {m: [ref[0]] for m in others}
    fp32.initialize(frames[0], **first)
    for t in others.values():
        t.initialize(frames[0], **first)
    for frame in frames[1:]:
        previous = fp32.state.box_xywh.copy()
        for m, t in others.items():
            t.state.box_xywh = previous.copy()
            forced[m].append(np.asarray(t.track(frame)[0], np.float64))
        ref.append(np.asarray(fp32.track(frame)[0], np.float64))
    free = {}
    for m, t in others.items():
        t.initialize(frames[0], **first)
        free[m] = [ref[0]] + [np.asarray(t.track(f)[0], np.float64) for f in frames[1:]]
    ref_a = np.array(ref)
    out = {"name": seq.name, "frames": len(frames), "fp32": _auc(seq, ref_a), "modes": {}}
    for m in others:
        f_a = np.array(forced[m])
        iou = iou_inclusive(f_a[1:], ref_a[1:])
        shift = np.abs((f_a[1:, :2] + f_a[1:, 2:] / 2) - (ref_a[1:, :2] + ref_a[1:, 2:] / 2)).max(axis=1)
        out["modes"][m] = {"forced": _auc(seq, f_a), "free": _auc(seq, np.array(free[m])),
                           "iou_min": float(iou.min()), "iou_mean": float(iou.mean()),
                           "frames_iou_below_0.9": int((iou < 0.9).sum()), "centre_shift_max_px": float(shift.max())}
    return out


def summarize(rows: list[dict], modes: list[str]) -> dict:
    fp32 = np.array([r["fp32"] for r in rows])
    summary = {"fp32_auc": float(fp32.mean())}
    for m in modes:
        s = {}
        for kind in ("forced", "free"):
            d = np.array([r["modes"][m][kind] for r in rows]) - fp32
            s[kind] = {"auc": float(fp32.mean() + d.mean()), "diff": float(d.mean()),
                       "se": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0,
                       "max_abs_seq_diff": float(np.abs(d).max())}
        frames = sum(r["frames"] - 1 for r in rows)
        s["iou_to_fp32_mean"] = float(sum(r["modes"][m]["iou_mean"] * (r["frames"] - 1) for r in rows) / frames)
        s["iou_to_fp32_min"] = float(min(r["modes"][m]["iou_min"] for r in rows))
        s["frames_iou_below_0.9"] = int(sum(r["modes"][m]["frames_iou_below_0.9"] for r in rows))
        s["frames"] = frames
        s["centre_shift_max_px"] = float(max(r["modes"][m]["centre_shift_max_px"] for r in rows))
        summary[m] = s
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="SynthVL test folder (allinone synth --split test)")
    p.add_argument("--checkpoint", help="model (default: the bundled one)")
    p.add_argument("--modes", nargs="+", default=["int8", "ort-fp32", "ort-int8"],
                   choices=sorted(set(MODES) - {"fp32"}))
    p.add_argument("--sequences", type=int, default=60, help="first N sequences (default 60)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="results/fidelity")
    args = p.parse_args()
    model = allinone.load_model(args.checkpoint or default_checkpoint())
    sequences = list(open_dataset("synthvl", args.data).sequences())[:args.sequences]
    fp32 = _tracker(model, "fp32", args.threads)
    others = {m: _tracker(model, m, args.threads) for m in args.modes}
    t0 = time.time()
    rows = [run_sequence(seq, fp32, others) for seq in tqdm(sequences, unit="seq")]
    summary = summarize(rows, args.modes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"checkpoint": str(args.checkpoint or default_checkpoint()), "data": args.data,
            "sequences": len(rows), "threads": args.threads, "cpu": cpu_model(), "load": load_average(),
            "seconds": round(time.time() - t0, 1)}
    (out / "fidelity.json").write_text(json.dumps({"meta": meta, "summary": summary, "sequences": rows}, indent=1))
    print(f"# {meta['checkpoint']} on {len(rows)} sequences of {args.data}; CPU {meta['cpu']}, "
          f"{args.threads} threads, load {meta['load']}")
    print(f"fp32 AUC {summary['fp32_auc']:.2f}")
    print(f"{'mode':<10}{'forced AUC':>11}{'diff':>8}{'± SE':>7}{'free AUC':>10}{'diff':>8}{'± SE':>7}"
          f"{'IoU to fp32':>12}{'min':>6}{'<0.9':>6}")
    for m in args.modes:
        s = summary[m]
        f, c = s["forced"], s["free"]
        print(f"{m:<10}{f['auc']:>11.2f}{f['diff']:>+8.2f}{f['se']:>7.2f}{c['auc']:>10.2f}{c['diff']:>+8.2f}"
              f"{c['se']:>7.2f}{s['iou_to_fp32_mean']:>12.4f}{s['iou_to_fp32_min']:>6.2f}"
              f"{s['frames_iou_below_0.9']:>6}")


if __name__ == "__main__":
    main()

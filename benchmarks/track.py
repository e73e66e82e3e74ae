"""End-to-end tracking speed: ms per `Tracker.track` call on 640x480 frames, for every preset and
inference mode (torch fp32 / bf16 / int8, ONNX Runtime fp32 / int8), side by side in one run.

Decoding is excluded (frames are in memory); cropping, normalisation, the network and the box
post-processing are included. Random weights (speed does not depend on them). The modes take turns
on chunks of the video, so a change in the machine's load hits them alike; each row gives ms per
frame (median over the chunks), FPS and the speed-up over torch fp32 with the same threads in the
same run. The header names the CPU, the thread settings and the background load.

``--load N`` starts N busy processes for the whole run (contention); ``--threads 1 2`` measures each
thread setting; run it under ``OMP_WAIT_POLICY=PASSIVE`` to make torch's idle threads sleep at once.

Usage: python benchmarks/track.py [--presets ...] [--modes fp32 bf16 int8 ort-fp32 ort-int8]
       [--threads 1 2] [--load 0] [--frames 200] [--rounds 4]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import allinone  # before torch: `import allinone` makes torch's threads wait passively
import torch  # noqa: E402
from allinone.text import default_tokenizer
from allinone.track.backends import OnnxRuntimeModel, available_cores
from machine import MODES, background_load, export_folder, header


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return [np.roll(base, (2 * i, 3 * i), axis=(0, 1)) for i in range(n)]


def _tracker(model, export_dir: str, mode: str, threads: int) -> allinone.Tracker:
    backend, precision = MODES[mode]
    source = OnnxRuntimeModel(export_dir, precision, threads) if backend == "onnxruntime" else model
    return allinone.Tracker(source, precision=precision, backend=backend, threads=threads)


def ms_per_frame(model, export_dir: str, modes: list[str], threads: int, video: list[np.ndarray],
                 rounds: int) -> dict[str, float]:
    """Each mode's ms per `track` call: the modes take turns on `rounds` chunks of the video."""
    trackers = {m: _tracker(model, export_dir, m, threads) for m in modes}
    for t in trackers.values():
        t.initialize(video[0], bbox=(300, 220, 60, 40), text="the red car")
        for f in video[1:3]:  # warm-up
            t.track(f)
    times: dict[str, list[float]] = {m: [] for m in modes}
    for chunk in np.array_split(np.arange(3, len(video)), rounds):
        for m, t in trackers.items():
            torch.set_num_threads(1 if t.backend == "onnxruntime" else threads)  # as its Tracker set it (global)
            t0 = time.perf_counter()
            for i in chunk:
                t.track(video[i])
            times[m].append((time.perf_counter() - t0) * 1000 / len(chunk))
    return {m: float(np.median(v)) for m, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="*", default=["cpu-tiny", "cpu-small", "paper-vitb256", "paper-vitb384"])
    p.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    p.add_argument("--threads", nargs="*", type=int, default=sorted({1, available_cores()}))
    p.add_argument("--load", type=int, default=0, help="busy background processes during the run")
    p.add_argument("--frames", type=int, default=200, help="frames per mode for the cpu-* presets")
    p.add_argument("--large-frames", type=int, default=27, help="frames per mode for the paper presets")
    p.add_argument("--rounds", type=int, default=4, help="chunks the modes take turns on")
    args = p.parse_args()
    print(header(args.threads, args.load))
    print("# 640x480 frames in memory; crop, normalisation, network and box decoding included")
    print(f"{'preset':<15}{'threads':>8}  {'mode':<10}{'ms/frame':>10}{'FPS':>8}{'vs fp32':>9}")
    with background_load(args.load):
        for preset in args.presets:
            model = allinone.build_model(preset, with_alignment=False).eval()
            model.tokenizer = default_tokenizer()
            export = export_folder(model) if any(MODES[m][0] == "onnxruntime" for m in args.modes) else None
            video = frames(3 + max(args.rounds, args.frames if preset.startswith("cpu-") else args.large_frames))
            for threads in args.threads:
                ms = ms_per_frame(model, export.name if export else "", args.modes, threads, video, args.rounds)
                for mode, v in ms.items():
                    ratio = f"{ms['fp32'] / v:.2f}x" if "fp32" in ms else "-"
                    print(f"{preset:<15}{threads:>8}  {mode:<10}{v:>10.1f}{1000 / v:>8.1f}{ratio:>9}", flush=True)
            if export:
                export.cleanup()


if __name__ == "__main__":
    main()

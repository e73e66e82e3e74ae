"""End-to-end tracking speed: frames per second of `Tracker.track` on 640x480 frames.

Decoding is excluded (frames are in memory); cropping, normalisation, the network and the box
post-processing are included. Random weights (speed does not depend on them).

Usage: python benchmarks/track.py [--threads 2] [--frames 200] [--presets ...]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import allinone
from allinone.text import default_tokenizer


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return [np.roll(base, (2 * i, 3 * i), axis=(0, 1)) for i in range(n)]


def fps(preset: str, precision: str, video: list[np.ndarray]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = allinone.save_model(allinone.build_model(preset, with_alignment=False), Path(tmp) / "m.safetensors",
                                   tokenizer=default_tokenizer())
        tracker = allinone.Tracker.from_checkpoint(ckpt, precision=precision)
    tracker.initialize(video[0], bbox=(300, 220, 60, 40), text="the red car")
    for f in video[1:6]:  # warm-up
        tracker.track(f)
    t0 = time.perf_counter()
    for f in video[6:]:
        tracker.track(f)
    return (len(video) - 6) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--presets", nargs="*", default=["cpu-tiny", "paper-vitb256", "paper-vitb384"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, 640x480 frames, decode excluded")
    print(f"{'preset':<16}{'precision':<11}{'FPS':>8}")
    for preset in args.presets:
        n = args.frames if preset == "cpu-tiny" else 26
        video = frames(n)
        for precision in ("fp32", "bf16"):
            print(f"{preset:<16}{precision:<11}{fps(preset, precision, video):>8.1f}", flush=True)


if __name__ == "__main__":
    main()

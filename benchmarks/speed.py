"""Inference speed of the network: ms per forward at batch 1 for each preset, fp32 and bf16.

Two figures per row:
  forward  the whole network (template + search + text), as in a training-style call;
  track    one tracking step: the search side against template features cached at initialisation.

Usage: python benchmarks/speed.py [--threads 2] [--presets cpu-tiny paper-vitb256 ...] [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch

from allinone import build_model, load_config


def _time(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0


def bench_preset(name: str, runs: int, precision: str) -> tuple[float, float]:
    cfg = load_config(name)
    model = build_model(cfg, with_alignment=False).eval()
    m = cfg.model
    z = torch.randn(1, 3, m.template_size, m.template_size)
    x = torch.randn(1, 3, m.search_size, m.search_size)
    ids = torch.zeros(1, m.max_text_len, dtype=torch.long)
    ids[0, :6] = torch.tensor([2, 20, 21, 22, 23, 3])
    mask = (ids > 0).long()
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with torch.inference_mode(), ctx:
        feats = model.encode_template(z, ids, mask)
        warmup = 3 if m.embed_dim >= 512 else 10
        fwd = _time(lambda: model(z, x, ids, mask), runs, warmup)
        trk = _time(lambda: model.track_search(feats, x), runs, warmup)
    return fwd, trk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--presets", nargs="*", default=["cpu-tiny", "paper-vitb256", "paper-vitb384"])
    parser.add_argument("--runs", type=int, default=0, help="timed runs (default: 50 tiny, 8 large)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU threads, batch 1, median over runs")
    print(f"{'preset':<16}{'precision':<11}{'forward ms':>12}{'track ms':>11}{'track FPS':>11}")
    for name in args.presets:
        tiny = load_config(name).model.embed_dim < 512
        runs = args.runs or (50 if tiny else 8)
        for precision in ("fp32", "bf16"):
            fwd, trk = bench_preset(name, runs, precision)
            print(f"{name:<16}{precision:<11}{fwd:>12.1f}{trk:>11.1f}{1000.0 / trk:>11.1f}", flush=True)


if __name__ == "__main__":
    main()

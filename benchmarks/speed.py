"""Inference speed of the network: ms per call at batch 1 for each preset and inference mode
(torch fp32 / bf16 / int8, ONNX Runtime fp32 / int8), side by side in one run.

Two figures per row:
  forward  the whole network (template side + tracking step, text included);
  track    one tracking step: the search side against template features cached at initialisation.
The modes take turns (round after round, so a change in the machine's load hits them alike); the
figures are medians, and "vs fp32" is the tracking step's speed-up over torch fp32 with the same
threads in the same run. The header names the CPU, the thread settings and the background load.

Usage: python benchmarks/speed.py [--presets cpu-tiny cpu-small paper-vitb256 ...] [--threads 1 2]
       [--modes fp32 bf16 int8 ort-fp32 ort-int8] [--load 0] [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

from allinone import build_model  # before torch: `import allinone` makes torch's threads wait passively

import torch  # noqa: E402
from allinone.track.backends import OnnxRuntimeModel, available_cores, quantize_linear_int8
from machine import MODES, background_load, export_folder, header


def _runner(model, export_dir: str, mode: str, threads: int):
    """(object with encode_template / track_search, autocast context) for `mode`."""
    backend, precision = MODES[mode]
    if backend == "onnxruntime":
        return OnnxRuntimeModel(export_dir, precision, threads), nullcontext
    if precision == "int8":
        return quantize_linear_int8(model), nullcontext
    if precision == "bf16":
        return model, lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return model, nullcontext


def bench(model, export_dir: str, modes: list[str], threads: int, runs: int) -> dict[str, tuple[float, float]]:
    """Each mode's (forward ms, track ms): medians over `runs` rounds in which every mode runs once."""
    torch.set_num_threads(threads)
    m = model.config.model
    z = torch.randn(1, 3, m.template_size, m.template_size)
    x = torch.randn(1, 3, m.search_size, m.search_size)
    ids = torch.zeros(1, m.max_text_len, dtype=torch.long)
    ids[0, :6] = torch.tensor([2, 20, 21, 22, 23, 3])
    mask = (ids > 0).long()
    runners = {mode: _runner(model, export_dir, mode, threads) for mode in modes}
    fwd: dict[str, list[float]] = {mode: [] for mode in modes}
    trk: dict[str, list[float]] = {mode: [] for mode in modes}
    with torch.inference_mode():
        feats = {}
        for mode, (net, ctx) in runners.items():  # warm-up
            with ctx():
                feats[mode] = net.encode_template(z, ids, mask)
                for _ in range(2):
                    net.track_search(feats[mode], x)
        for _ in range(runs):
            for mode, (net, ctx) in runners.items():
                with ctx():
                    t0 = time.perf_counter()
                    net.track_search(net.encode_template(z, ids, mask), x)
                    t1 = time.perf_counter()
                    net.track_search(feats[mode], x)
                    t2 = time.perf_counter()
                fwd[mode].append((t1 - t0) * 1000)
                trk[mode].append((t2 - t1) * 1000)
    return {mode: (statistics.median(fwd[mode]), statistics.median(trk[mode])) for mode in modes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=["cpu-tiny", "cpu-small", "paper-vitb256", "paper-vitb384"])
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    parser.add_argument("--threads", nargs="*", type=int, default=sorted({1, available_cores()}))
    parser.add_argument("--load", type=int, default=0, help="busy background processes during the run")
    parser.add_argument("--runs", type=int, default=0, help="rounds (default: 30 for cpu-*, 5 for paper-*)")
    args = parser.parse_args()
    print(header(args.threads, args.load))
    print("# batch 1, median over rounds")
    print(f"{'preset':<15}{'threads':>8}  {'mode':<10}{'forward ms':>11}{'track ms':>10}{'track FPS':>10}{'vs fp32':>9}")
    with background_load(args.load):
        for name in args.presets:
            model = build_model(name, with_alignment=False).eval()
            export = export_folder(model) if any(MODES[m][0] == "onnxruntime" for m in args.modes) else None
            runs = args.runs or (30 if name.startswith("cpu-") else 5)
            for threads in args.threads:
                res = bench(model, export.name if export else "", args.modes, threads, runs)
                for mode, (fwd, trk) in res.items():
                    ratio = f"{res['fp32'][1] / trk:.2f}x" if "fp32" in res else "-"
                    print(f"{name:<15}{threads:>8}  {mode:<10}{fwd:>11.1f}{trk:>10.1f}{1000 / trk:>10.1f}{ratio:>9}",
                          flush=True)
            if export:
                export.cleanup()


if __name__ == "__main__":
    main()

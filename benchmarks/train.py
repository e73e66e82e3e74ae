"""Training throughput on this machine: pairs/s and the share of time spent waiting for data.

Runs the real trainer (`allinone.train.trainer.train`) for a few steps per setting on a small
SynthVL set written to a temporary folder, and reads the figures it logs (the second half of the
steps, after warm-up).

Usage: python benchmarks/train.py [--steps 16] [--presets cpu-tiny paper-vitb256] [--workers 1]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.train.logger import read_metrics
from allinone.train.trainer import TrainOptions, train


def run(preset: str, precision: str, data: Path, steps: int, batch: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        train(TrainOptions(config=preset, data={"synthvl": str(data)}, out=Path(out), steps=steps,
                           batch_size=batch, workers=workers, log_every=steps // 2, progress=False,
                           overrides=[f"train.precision={precision}", "train.samples_per_epoch=4096"],
                           checkpoint_every=10 ** 9))
        return read_metrics(Path(out), "train")[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--presets", nargs="*", default=["cpu-tiny", "paper-vitb256"])
    args = p.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "synthvl"
        generate_synthvl(data, 24, seed=0, config=SynthConfig(min_frames=40, max_frames=60), progress=False)
        print(f"torch {torch.__version__}, batch {args.batch}, {args.workers} data worker(s), "
              f"{torch.get_num_threads()} threads")
        print(f"{'preset':<16}{'precision':<11}{'pairs/s':>9}{'data wait':>11}")
        for preset in args.presets:
            steps = args.steps if preset == "cpu-tiny" else max(4, args.steps // 4)
            for precision in ("fp32", "bf16"):
                r = run(preset, precision, data, steps, args.batch, args.workers)
                print(f"{preset:<16}{precision:<11}{r['samples_per_s']:>9.1f}{100 * r['data_wait']:>10.1f}%",
                      flush=True)


if __name__ == "__main__":
    main()

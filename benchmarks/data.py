"""Training-pair pipeline throughput on SynthVL: pairs/s with 0 and 2 DataLoader workers.

Pairs are read from JPEGs, cropped, augmented, normalised and tokenised exactly as in training
(`allinone.data.pairs.PairDataset`), batched by `collate_pairs`.

Usage: python benchmarks/data.py [--pairs 512] [--batch 32]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from allinone import load_config
from allinone.data.pairs import PairDataset, collate_pairs, worker_init_fn
from allinone.data.sampler import PairSampler, build_datasets
from allinone.data.synthetic import generate_synthvl
from allinone.text import default_tokenizer


def pairs_per_second(preset: str, root: Path, pairs: int, batch: int, workers: int) -> float:
    cfg = load_config(preset)
    sampler = PairSampler(build_datasets({"synthvl": str(root)}, {}), cfg.data.max_gap)
    ds = PairDataset(sampler, cfg.model, cfg.data, default_tokenizer(), pairs, seed=0)
    loader = DataLoader(ds, batch_size=batch, collate_fn=collate_pairs, num_workers=workers,
                        worker_init_fn=worker_init_fn,
                        multiprocessing_context="forkserver" if workers else None)
    it = iter(loader)
    next(it)  # workers started, first batch out
    t0, n = time.perf_counter(), 0
    for b in it:
        n += len(b.search)
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=512)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synthvl"
        generate_synthvl(root, 30, seed=0, progress=False)
        print(f"SynthVL 320x240, batch {args.batch}, {args.pairs} pairs per setting")
        print(f"{'preset':<16}{'workers':>8}{'pairs/s':>10}")
        for preset in ("cpu-tiny", "paper-vitb256"):
            for workers in (0, 2):
                rate = pairs_per_second(preset, root, args.pairs, args.batch, workers)
                print(f"{preset:<16}{workers:>8}{rate:>10.1f}", flush=True)


if __name__ == "__main__":
    main()

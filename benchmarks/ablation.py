"""Ablation with seeds: what language and the multi-modal alignment (MMA) losses are worth.

Trains ``cpu-tiny`` variants on SynthVL train with one pair budget each and several seeds, tracks the
SynthVL test split with and without the descriptions, and reports mean ± std (over seeds) of success
AUC, precision at 20 px and normalised precision, overall and on the ambiguous subset (sequences
whose first frame does not identify the target: SynthVL's ``dark_start`` attribute, a same-shape,
same-size distractor beside a target that fades in from near-dark).

Variants (each a set of config overrides on ``cpu-tiny``):
    full         the model as shipped (mean-pooled trainable language embedding, L_cma + L_ima)
    no_language  no description in training (``data.text_drop_prob=1``) nor in testing
    no_mma       no contrastive terms (``loss.cma_weight=0``, ``loss.ima_weight=0``)
    reference    the reference implementation's language path: ``cls`` pooling of frozen
                 embeddings, i.e. one constant vector whatever the sentence

Protocol. A ViT this small learns nothing from 16k pairs from scratch (measured: success AUC about
6 for every variant, training IoU flat at 0.11), and the paper too starts from a backbone
pre-trained without language (MAE). So every variant starts from one shared vision-only
initialisation: ``cpu-tiny`` trained once without descriptions and without contrastive terms
(``--init-pairs``, default 60,000 pairs; ``<out>/runs/vision-init``); its language embedding has
never received a gradient and the MMA projections are re-initialised. Each variant then trains
``--pairs`` (default 16,000) from it per seed. ``--init-pairs 0`` trains from scratch instead.

Resumable: every (variant, seed) run trains with ``allinone train --resume`` in
``<out>/runs/<variant>-s<seed>`` and tracks with ``allinone test`` (which keeps finished
sequences); rerun the same command after an interruption and it continues where it stopped.

Usage:
    python benchmarks/ablation.py --out results/ablation                 # all variants, seeds 0 1 2
    python benchmarks/ablation.py --out results/ablation --variants full --seeds 0
    python benchmarks/ablation.py --out results/ablation --report-only   # table from what is done
    python benchmarks/ablation.py --out results/ablation --text-start bundled  # language-only start

Writes ``<out>/ablation.json``, ``<out>/ablation.md`` (the table) and ``<out>/ablation.png``.
``--text-start CKPT`` instead tracks the test split twice with one checkpoint (``bundled``: the
bundled model), started from the description alone and from the first box, and writes
``<out>/text_start.json`` / ``.md``: the IoU of the first located box and the run's AUC.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np

from machine import cpu_model, load_average

VARIANTS = {
    "full": [],
    "no_language": ["data.text_drop_prob=1.0"],
    "no_mma": ["loss.cma_weight=0", "loss.ima_weight=0"],
    "reference": ["model.text_pooling=cls"],
}
# Variants whose language is off at test time too: their "text" column is their box-only run.
NO_TEXT_AT_TEST = {"no_language"}
METRICS = ("auc", "precision", "norm_precision")
AMBIGUOUS = "dark_start"


def _allinone(*args: str, threads: int, log: Path) -> None:
    """Run one `allinone` command in a child process with `threads` CPU threads; fail loudly."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    exe = Path(sys.executable).with_name("allinone")
    cmd = [str(exe) if exe.exists() else "allinone", *args]
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        raise SystemExit(f"`{' '.join(cmd[:2])}` failed (exit {done.returncode}); see {log}")


def ensure_synthvl(root: Path, sequences: int, seed: int, split: str) -> Path:
    """Generate a SynthVL split once (deterministic); reuse it when it is complete."""
    if (root / ".complete").is_file():
        return root
    from allinone.data.synthetic import generate_synthvl

    generate_synthvl(root, sequences, seed=seed, split=split)
    (root / ".complete").write_text(f"{sequences} sequences, seed {seed}, split {split}\n")
    return root


def training_overrides(variant: str, pairs: int, batch: int) -> list[str]:
    """Config overrides for `variant` at a budget of `pairs` training pairs (epochs of 2,000 pairs,
    the candidate-elimination ramp scaled with the run as in the preset: 1/6 → 2/3 of the epochs)."""
    per_epoch = 2000
    epochs = max(1, round(pairs / per_epoch))
    return [f"train.epochs={epochs}", f"train.samples_per_epoch={per_epoch}", f"train.batch_size={batch}",
            f"train.ce_start_epoch={max(1, epochs // 6)}", f"train.ce_end_epoch={max(1, (2 * epochs) // 3)}",
            *VARIANTS[variant]]


def train_run(run: Path, steps: int, sets: list[str], seed: int, threads: int, train_root: Path,
              init: Optional[str] = None) -> str:
    """Train (resuming when interrupted) ``cpu-tiny`` into `run` for `steps` steps → its final checkpoint
    (recorded in ``trained.json``, which marks the run as done)."""
    from allinone.train.run_state import checkpoint_paths, checkpoint_steps

    run.mkdir(parents=True, exist_ok=True)
    done_file, log = run / "trained.json", run / "ablation.log"
    if not done_file.is_file():
        t0 = time.time()
        start = ["--resume"] if checkpoint_steps(run) else (["--init", init] if init else [])
        _allinone("train", "--config", "cpu-tiny", "--data", f"synthvl={train_root}", "--out", str(run),
                  "--seed", str(seed), "--steps", str(steps), "--workers", "0", "--no-progress",
                  "--checkpoint-every", "100", "--keep-last", "1", "--log-every", "20", *start,
                  "--set", *sets, threads=threads, log=log)
        if checkpoint_steps(run)[-1:] != [steps]:
            raise SystemExit(f"{run}: training ended without its step-{steps:06d} checkpoint; see {log}")
        ckpt = checkpoint_paths(run, steps)[0]
        done_file.write_text(json.dumps({"checkpoint": str(ckpt), "steps": steps, "init": init,
                                         "overrides": sets, "seconds": round(time.time() - t0, 1)}) + "\n")
    return json.loads(done_file.read_text())["checkpoint"]


def vision_init(args: argparse.Namespace, train_root: Path) -> Optional[str]:
    """The shared vision-only starting point (None with ``--init-pairs 0``)."""
    if args.init_pairs <= 0:
        return None
    steps = max(1, round(args.init_pairs / args.batch_size))
    sets = training_overrides("no_language", args.init_pairs, args.batch_size) + \
        ["loss.cma_weight=0", "loss.ima_weight=0"]
    print(f"vision-only initialisation: {steps * args.batch_size:,} pairs", flush=True)
    return train_run(Path(args.out) / "runs" / "vision-init", steps, sets, 0, args.jobs * args.threads, train_root)


def run_one(variant: str, seed: int, args: argparse.Namespace, train_root: Path, test_root: Path,
            init: Optional[str] = None) -> dict:
    """Train (or resume) one variant/seed, then track the test split with and without text."""
    out = Path(args.out)
    run = out / "runs" / f"{variant}-s{seed}"
    t0 = time.time()
    ckpt = train_run(run, max(1, round(args.pairs / args.batch_size)),
                     training_overrides(variant, args.pairs, args.batch_size), seed, args.threads, train_root, init)
    log = run / "ablation.log"
    modes = [("box", True)] + ([] if variant in NO_TEXT_AT_TEST else [("text", False)])
    for mode, no_text in modes:
        results = out / "results" / f"{variant}-s{seed}-{mode}"
        _allinone("test", "--dataset", "synthvl", "--root", str(test_root), "--checkpoint", ckpt,
                  "--out", str(results), "--threads", str(args.threads), "--no-progress",
                  *(["--no-text"] if no_text else []), threads=args.threads, log=log)
    return {"variant": variant, "seed": seed, "seconds": round(time.time() - t0, 1)}


def _scores(sequences: list, folder: Path) -> dict:
    from allinone.evaluation.analysis import analyze

    report = analyze(sequences, [folder], print_table=False)
    return {k: v for k, v in next(iter(report.values())).items() if k in METRICS}


def collect(out: Path, test_root: Path, variants: list[str], seeds: list[int]) -> dict:
    """Per variant and test mode: every finished seed's scores and their mean / std, overall and on
    the ambiguous subset."""
    from allinone.data import open_dataset
    from allinone.evaluation.attributes import sequence_attributes

    sequences = list(open_dataset("synthvl", test_root, split="test").sequences())
    flags = sequence_attributes(sequences, "synthvl")
    ambiguous = [s for s in sequences if flags[s.name][AMBIGUOUS]]
    table: dict = {}
    for variant in variants:
        for mode in ("box",) if variant in NO_TEXT_AT_TEST else ("text", "box"):
            per_seed = {}
            for seed in seeds:
                folder = out / "results" / f"{variant}-s{seed}-{mode}"
                if all((folder / f"{s.name}.txt").is_file() for s in sequences):
                    per_seed[seed] = {"all": _scores(sequences, folder), "ambiguous": _scores(ambiguous, folder)}
            if not per_seed:
                continue
            summary = {}
            for subset in ("all", "ambiguous"):
                for metric in METRICS:
                    values = np.array([r[subset][metric] for r in per_seed.values()])
                    summary[f"{subset}/{metric}"] = {"mean": float(values.mean()),
                                                     "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
            table[f"{variant}/{mode}"] = {"seeds": per_seed, "summary": summary, "n_seeds": len(per_seed)}
    return {"sequences": len(sequences), "ambiguous": len(ambiguous), "rows": table, "paired": paired(table)}


def _difference(a: dict, b: dict) -> Optional[dict]:
    """AUC differences a − b over the seeds both rows have (same seed: same initialisation of the
    shared parts and the same pair order), per subset: the values and their mean / std."""
    seeds = sorted(set(a["seeds"]) & set(b["seeds"]))
    if not seeds:
        return None
    out = {"seeds": seeds}
    for subset in ("all", "ambiguous"):
        d = np.array([a["seeds"][s][subset]["auc"] - b["seeds"][s][subset]["auc"] for s in seeds])
        out[subset] = {"values": d.round(2).tolist(), "mean": float(d.mean()),
                       "std": float(d.std(ddof=1)) if len(d) > 1 else 0.0}
    return out


def paired(rows: dict) -> dict:
    """Seed-paired AUC differences: the full model (tested with text) minus each other variant
    (with text where it has it), and within each variant, tested with text minus box only."""
    out = {}
    full = rows.get("full/text")
    for key, row in rows.items():
        variant, mode = key.split("/")
        if full is not None and variant != "full" and (mode == "text" or variant in NO_TEXT_AT_TEST):
            out[f"full − {variant}"] = _difference(full, row)
        if mode == "text" and f"{variant}/box" in rows:
            out[f"{variant}: text − box only"] = _difference(row, rows[f"{variant}/box"])
    return {k: v for k, v in out.items() if v is not None}


def format_table(result: dict) -> str:
    head = ("| variant | test text | seeds | AUC | P@20 | NP | AUC ambiguous | P@20 ambiguous |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for key, row in result["rows"].items():
        variant, mode = key.split("/")
        s = row["summary"]
        cell = lambda k: f"{s[k]['mean']:.1f} ± {s[k]['std']:.1f}"  # noqa: E731
        text = "no (off)" if variant in NO_TEXT_AT_TEST else ("yes" if mode == "text" else "no")
        lines.append(f"| {variant} | {text} | {row['n_seeds']} | {cell('all/auc')} | {cell('all/precision')} | "
                     f"{cell('all/norm_precision')} | {cell('ambiguous/auc')} | {cell('ambiguous/precision')} |")
    if result.get("paired"):
        lines += ["", "| seed-paired AUC difference | all (mean ± std) | per seed | ambiguous (mean ± std) |",
                  "|---|---:|---|---:|"]
        for name, d in result["paired"].items():
            lines.append(f"| {name} | {d['all']['mean']:+.2f} ± {d['all']['std']:.2f} | "
                         f"{', '.join(f'{v:+.2f}' for v in d['all']['values'])} | "
                         f"{d['ambiguous']['mean']:+.2f} ± {d['ambiguous']['std']:.2f} |")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(result["rows"].items())
    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    x = np.arange(len(rows))
    for i, (subset, label) in enumerate((("all", "all sequences"), ("ambiguous", "ambiguous subset"))):
        means = [r["summary"][f"{subset}/auc"]["mean"] for _, r in rows]
        stds = [r["summary"][f"{subset}/auc"]["std"] for _, r in rows]
        ax.bar(x + (i - 0.5) * 0.38, means, 0.38, yerr=stds, capsize=3, label=label)
    ax.set_xticks(x, [k.replace("/text", "\n+text").replace("/box", "\nbox only") for k, _ in rows], fontsize=8)
    ax.set_ylabel("success AUC (%), mean ± std over seeds")
    ax.set_title(f"cpu-tiny ablation on SynthVL test ({result['sequences']} sequences, "
                 f"{result['ambiguous']} ambiguous)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def text_start(checkpoint: str, out: Path, test_root: Path, threads: int) -> dict:
    """Language-only initialisation against the box start, one checkpoint, the whole test split."""
    from allinone.data import open_dataset
    from allinone.evaluation.metrics import iou_inclusive
    from allinone.evaluation.results import read_results

    if checkpoint == "bundled":
        from allinone.track.tracker import default_checkpoint

        checkpoint = str(default_checkpoint())
    folder = out / "text_start"
    folder.mkdir(parents=True, exist_ok=True)
    for start in ("text", "box"):
        _allinone("test", "--dataset", "synthvl", "--root", str(test_root), "--checkpoint", checkpoint,
                  "--out", str(folder / f"start-{start}"), "--start", start, "--threads", str(threads),
                  "--no-progress", threads=threads, log=folder / "text_start.log")
    sequences = list(open_dataset("synthvl", test_root, split="test").sequences())
    first = np.array([iou_inclusive(read_results(folder / "start-text" / f"{s.name}.txt")[:1], s.boxes[:1])[0]
                      for s in sequences])
    result = {"checkpoint": checkpoint, "sequences": len(sequences),
              "first_box_iou": {"mean": float(first.mean()), "median": float(np.median(first)),
                                "share_above_0.5": float((first > 0.5).mean())}}
    for start in ("text", "box"):
        result[f"start_{start}"] = _scores(sequences, folder / f"start-{start}")
    lines = ["| start | first-box IoU (mean / median / share > 0.5) | AUC | P@20 | NP |", "|---|---|---:|---:|---:|"]
    f = result["first_box_iou"]
    for start, first_cell in (("text only", f"{f['mean']:.2f} / {f['median']:.2f} / {100 * f['share_above_0.5']:.0f} %"),
                              ("first box + text", "1 (given)")):
        r = result["start_text" if start == "text only" else "start_box"]
        lines.append(f"| {start} | {first_cell} | {r['auc']:.1f} | {r['precision']:.1f} | {r['norm_precision']:.1f} |")
    table = "\n".join(lines)
    print(table)
    (out / "text_start.md").write_text(table + "\n")
    (out / "text_start.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/ablation", help="folder for runs, results and the report")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--pairs", type=int, default=16000, help="training pairs per run (default 16,000)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--init-pairs", type=int, default=60000,
                   help="pairs of the shared vision-only initialisation (default 60,000; 0: from scratch)")
    p.add_argument("--train-data", help="SynthVL train root (default: <out>/data/train, generated: 300 sequences)")
    p.add_argument("--test-data", help="SynthVL test root (default: <out>/data/test, generated: 60 sequences)")
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2, one per core)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads per run (default 1)")
    p.add_argument("--report-only", action="store_true", help="only build the table from finished runs")
    p.add_argument("--text-start", metavar="CKPT",
                   help="instead: measure the description-only start of CKPT ('bundled' = the bundled model)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_root = Path(args.train_data) if args.train_data else ensure_synthvl(out / "data" / "train", 300, 0, "train")
    test_root = Path(args.test_data) if args.test_data else ensure_synthvl(out / "data" / "test", 60, 1, "test")
    print(f"CPU {cpu_model()}; {args.jobs} jobs x {args.threads} threads; load {load_average()}")
    if args.text_start:
        text_start(args.text_start, out, test_root, args.threads)
        return
    if not args.report_only:
        init = vision_init(args, train_root)
        tasks = [(v, s) for s in args.seeds for v in args.variants]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for r in pool.map(lambda vs: run_one(*vs, args, train_root, test_root, init), tasks):
                print(f"done {r['variant']} seed {r['seed']} in {r['seconds']:.0f} s", flush=True)
    result = collect(out, test_root, args.variants, args.seeds)
    result |= {"pairs_per_run": max(1, round(args.pairs / args.batch_size)) * args.batch_size,
               "init_pairs": max(0, args.init_pairs),
               "cpu": cpu_model(), "variants": {v: VARIANTS[v] for v in args.variants}}
    table = format_table(result)
    print(table)
    (out / "ablation.md").write_text(table + "\n")
    (out / "ablation.json").write_text(json.dumps(result, indent=2) + "\n")
    if result["rows"]:
        plot(result, out / "ablation.png")
        print(f"wrote {out / 'ablation.md'}, {out / 'ablation.json'}, {out / 'ablation.png'}")


if __name__ == "__main__":
    main()

"""The `allinone` command: one entry point, one subcommand per task.

Errors that are the user's to fix (bad config, missing file, wrong checkpoint) print one red line
and exit with code 2; ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class UsageError(ValueError):
    """A command-line argument is wrong; the message says which and how to fix it."""


def command(name: str) -> Callable:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable:
        COMMANDS[name] = fn
        return fn

    return register


# --------------------------------------------------------------------------- commands


@command("info")
def cmd_info(args: argparse.Namespace) -> int:
    """Show a preset's (or a checkpoint's) configuration and parameter counts."""
    import torch

    from . import build_model, load_config, load_model

    if args.checkpoint:
        model = load_model(args.checkpoint)
    else:
        model = build_model(load_config(args.config, args.set), with_alignment=True)
    total = sum(p.numel() for p in model.parameters())
    mma = sum(p.numel() for p in model.alignment.parameters()) if model.alignment is not None else 0
    print(model.config.to_yaml().rstrip())
    print(f"# parameters: {total / 1e6:.2f} M in all, {(total - mma) / 1e6:.2f} M for inference "
          f"(MMA projections: {mma / 1e6:.2f} M); torch {torch.__version__}")
    return 0


@command("synth")
def cmd_synth(args: argparse.Namespace) -> int:
    """Write the SynthVL synthetic benchmark in the LaSOT layout."""
    from .data.synthetic import generate_synthvl

    names = generate_synthvl(args.out, args.sequences, seed=args.seed, split=args.split)
    print(f"wrote {len(names)} SynthVL sequences ({args.split}) to {args.out}")
    return 0


@command("vocab")
def cmd_vocab(args: argparse.Namespace) -> int:
    """Build a WordPiece vocabulary from text files (one description per line)."""
    from .text import build_vocab_from_files

    for p in args.texts:
        if not Path(p).is_file():
            raise UsageError(f"text file not found: {p}")
    tok = build_vocab_from_files(args.texts, vocab_size=args.size)
    tok.save(args.out)
    print(f"wrote a {tok.vocab_size}-token vocabulary to {args.out}")
    return 0


@command("import-reference")
def cmd_import_reference(args: argparse.Namespace) -> int:
    """Convert a reference All-in-One training checkpoint (.pth.tar) into an allinone checkpoint."""
    from .model.checkpoint import import_reference_checkpoint, save_model

    model = import_reference_checkpoint(args.checkpoint, tokenizer=args.vocab, config=args.config)
    path = save_model(model, args.out, include_alignment=not args.inference_only)
    print(f"wrote {path}")
    return 0


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    """``NAME=ROOT`` arguments → {name: root}."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, root = item.partition("=")
        if not sep or not name or not root:
            raise UsageError(f"{flag} expects NAME=ROOT (e.g. {flag} synthvl=data/synthvl/train), got '{item}'")
        out[name.strip()] = root.strip()
    return out


@command("train")
def cmd_train(args: argparse.Namespace) -> int:
    """Train a model (one process, or many under torchrun) into a run directory."""
    from .train.trainer import TrainOptions, train

    data = _pairs(args.data, "--data")
    if not data:
        raise UsageError("give at least one training set: --data NAME=ROOT")
    overrides = list(args.set)
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    opts = TrainOptions(
        config=args.config, data=data, out=Path(args.out), resume=args.resume, steps=args.steps,
        batch_size=args.batch_size, seed=args.seed, overrides=overrides,
        val_data=_pairs(args.val_data, "--val-data"), val_pairs=args.val_pairs, val_every=args.val_every,
        checkpoint_every=args.checkpoint_every, keep_last=args.keep_last, log_every=args.log_every,
        init=args.init, vocab=args.vocab, device=args.device, workers=args.workers,
        progress=not args.no_progress)
    final = train(opts)
    print(f"final checkpoint: {final}")
    return 0


def _parse_bbox(text: Optional[str]) -> Optional[list[float]]:
    if text is None:
        return None
    try:
        box = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        box = []
    if len(box) != 4:
        raise UsageError(f"--bbox expects x,y,w,h (four numbers), got '{text}'")
    return box


@command("track")
def cmd_track(args: argparse.Namespace) -> int:
    """Track a target through a video file, a folder of frames or a webcam, from a box and/or text."""
    from .track.video import track_video

    if args.bbox is None and not args.text:
        raise UsageError("give the target's first-frame --bbox x,y,w,h, a --text description, or both")
    summary = track_video(args.source, out_dir=args.out, checkpoint=_checkpoint(args.checkpoint),
                          text=args.text, bbox=_parse_bbox(args.bbox), show=args.show, device=args.device,
                          precision=args.precision, progress=not args.no_progress)
    print(f"tracked {len(summary['frames'])} frames at {summary['fps'] or 0:.1f} FPS; "
          f"wrote {args.out}/boxes.txt, boxes.json, annotated.mp4")
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    """The embedded default: SynthVL test sequences tracked by the bundled cpu-tiny model, scored."""
    from .evaluation.demo import run_demo

    run_demo(Path(args.out), sequences=args.sequences, checkpoint=args.checkpoint)
    return 0


@command("test")
def cmd_test(args: argparse.Namespace) -> int:
    """Run a checkpoint over a benchmark's sequences, writing pytracking-style result files."""
    from .evaluation.runner import run_benchmark

    done = run_benchmark(args.dataset, args.root, _checkpoint(args.checkpoint), args.out,
                         sequences=args.sequences, workers=args.workers, device=args.device,
                         precision=args.precision, split=args.split, progress=not args.no_progress)
    print(f"tracked {len(done)} sequence(s); results in {args.out}")
    return 0


@command("analyze")
def cmd_analyze(args: argparse.Namespace) -> int:
    """Success AUC, precision and normalised precision of result folders (pytracking conventions)."""
    from .evaluation.analysis import analyze_command

    analyze_command(args.dataset, args.root, [Path(r) for r in args.results], json_out=args.json,
                    plot_dir=args.plots, mode=args.mode, split=args.split)
    return 0


@command("vot")
def cmd_vot(args: argparse.Namespace) -> int:
    """Serve the TraX protocol for the VOT toolkit (see docs: trackers.ini recipe)."""
    from .evaluation.integrations import run_vot_server

    run_vot_server(args.checkpoint, device=args.device, precision=args.precision)
    return 0


def _checkpoint(path: Optional[str]) -> str:
    """The given checkpoint, or the bundled default model."""
    if path:
        return path
    from .track.tracker import default_checkpoint

    return str(default_checkpoint())


@command("plot-run")
def cmd_plot_run(args: argparse.Namespace) -> int:
    """Plot a run's training loss and validation IoU (from its metrics.jsonl) to a PNG."""
    from .train.logger import plot_metrics

    print(f"wrote {plot_metrics(Path(args.run), Path(args.out))}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allinone", description="All-in-One vision-language tracker")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help=cmd_info.__doc__, description=cmd_info.__doc__)
    p.add_argument("--config", default="cpu-tiny", help="preset name or YAML file (default cpu-tiny)")
    p.add_argument("--checkpoint", help="show this checkpoint's config instead")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dotted config overrides")

    p = sub.add_parser("synth", help=cmd_synth.__doc__, description=cmd_synth.__doc__)
    p.add_argument("--out", required=True, help="output folder (LaSOT layout)")
    p.add_argument("--sequences", type=int, required=True, help="number of sequences")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=["train", "val", "test"], default="train")

    p = sub.add_parser("vocab", help=cmd_vocab.__doc__, description=cmd_vocab.__doc__)
    p.add_argument("texts", nargs="+", help="text files, one description per line")
    p.add_argument("--out", required=True, help="tokenizer.json or vocab.txt to write")
    p.add_argument("--size", type=int, default=8192, help="vocabulary size (default 8192)")

    p = sub.add_parser("import-reference", help=cmd_import_reference.__doc__,
                       description=cmd_import_reference.__doc__)
    p.add_argument("checkpoint", help="reference .pth.tar holding {'net': state_dict}")
    p.add_argument("--out", required=True, help="allinone checkpoint to write (.safetensors)")
    p.add_argument("--vocab", help="BERT vocab.txt / tokenizer.json to carry (optional)")
    p.add_argument("--config", default="paper-vitb256", help="preset for what weights cannot tell")
    p.add_argument("--inference-only", action="store_true", help="leave out the MMA projections")
    p = sub.add_parser("train", help=cmd_train.__doc__, description=cmd_train.__doc__)
    p.add_argument("--config", required=True, help="preset name or YAML file")
    p.add_argument("--data", action="append", default=[], metavar="NAME=ROOT",
                   help="a training set (repeatable); NAME as in allinone.data.open_dataset")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's latest checkpoint")
    p.add_argument("--steps", type=int, help="optimizer steps (default: epochs x samples_per_epoch / batch)")
    p.add_argument("--batch-size", type=int, help="pairs per process and micro-step")
    p.add_argument("--seed", type=int)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dotted config overrides")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--val-data", action="append", default=[], metavar="NAME=ROOT", help="validation set")
    p.add_argument("--val-pairs", type=int, default=256, help="validation pairs (default 256)")
    p.add_argument("--val-every", type=int, default=0, help="steps between validations (default: 10 per run)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="steps between checkpoints (default: 10 per run)")
    p.add_argument("--keep-last", type=int, default=3, help="checkpoints kept (default 3)")
    p.add_argument("--log-every", type=int, default=10, help="steps between log lines (default 10)")
    p.add_argument("--init", help="MAE/timm ViT weights to initialise the backbone")
    p.add_argument("--vocab", help="vocab.txt / tokenizer.json (default: built from the data's texts)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--workers", type=int, help="data-loading processes per training process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("plot-run", help=cmd_plot_run.__doc__, description=cmd_plot_run.__doc__)
    p.add_argument("run", help="run directory")
    p.add_argument("--out", required=True, help="PNG to write")

    p = sub.add_parser("track", help=cmd_track.__doc__, description=cmd_track.__doc__)
    p.add_argument("source", help="video file, folder of frames, or webcam index (0, 1, ...)")
    p.add_argument("--text", help="description of the target")
    p.add_argument("--bbox", help="first-frame box x,y,w,h in pixels")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--show", action="store_true", help="show the tracking in a window (needs a display)")
    _add_device_args(p)

    p = sub.add_parser("demo", help=cmd_demo.__doc__, description=cmd_demo.__doc__)
    p.add_argument("--out", default="demo", help="output folder (default ./demo)")
    p.add_argument("--sequences", type=int, default=12, help="SynthVL test sequences (default 12)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")

    p = sub.add_parser("test", help=cmd_test.__doc__, description=cmd_test.__doc__)
    p.add_argument("--dataset", required=True,
                   choices=["lasot", "lasot_ext", "tnl2k", "otb99l", "webuav3m", "synthvl", "got10k"])
    p.add_argument("--root", required=True, help="dataset root folder")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")
    p.add_argument("--out", required=True, help="results folder (its name is the tracker's name)")
    p.add_argument("--sequences", nargs="*", help="only these sequences")
    p.add_argument("--split", help="dataset split, where the dataset has several (e.g. test)")
    p.add_argument("--workers", type=int, default=1, help="sequences tracked in parallel (default 1)")
    _add_device_args(p)

    p = sub.add_parser("analyze", help=cmd_analyze.__doc__, description=cmd_analyze.__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--root", required=True, help="dataset root folder (ground truth)")
    p.add_argument("--results", nargs="+", required=True, help="one results folder per tracker")
    p.add_argument("--split", help="dataset split (e.g. test)")
    p.add_argument("--json", help="write the scores as JSON here")
    p.add_argument("--plots", help="folder for success / precision / normalised precision plots")
    p.add_argument("--mode", choices=["pytracking", "got10k"], default="pytracking",
                   help="metric conventions (default pytracking)")

    p = sub.add_parser("vot", help=cmd_vot.__doc__, description=cmd_vot.__doc__)
    p.add_argument("--checkpoint", help="model checkpoint (default: $ALLINONE_CHECKPOINT or the bundled model)")
    _add_device_args(p, progress=False)
    return parser


def _add_device_args(p: argparse.ArgumentParser, progress: bool = True) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        from .train.errors import TrainingError

        if isinstance(exc, RuntimeError) and not isinstance(exc, TrainingError):
            raise  # an internal error: show the traceback
        if args.debug:
            raise
        red, reset = ("\033[31m", "\033[0m") if sys.stderr.isatty() else ("", "")
        msg = " ".join(str(exc).split())
        print(f"{red}error: {msg}{reset}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

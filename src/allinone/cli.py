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
    return parser


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
    except (ValueError, FileNotFoundError, OSError) as exc:
        if args.debug:
            raise
        red, reset = ("\033[31m", "\033[0m") if sys.stderr.isatty() else ("", "")
        msg = " ".join(str(exc).split())
        print(f"{red}error: {msg}{reset}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

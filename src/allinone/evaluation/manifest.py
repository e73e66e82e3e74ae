"""What produced a results folder: ``<folder>/manifest.json``, checked by every run that writes there.

A rerun resumes a folder by skipping finished sequences, so the folder must never mix results of
different models or settings (a rerun with another checkpoint would otherwise report the old
model's scores). The manifest records

    {"format": "allinone-results/1",
     "produced_by": {"checkpoint_sha256": "...", "precision": "fp32", "backend": "torch",
                     "text": true, "crop": {"template_size": 128, "search_size": 256,
                     "template_factor": 2.0, "search_factor": 4.0}, "track": {...}},
     "first_run": {"checkpoint": "<path>", "dataset": "lasot", "host": ..., "created": ...}}

``produced_by`` is compared by every run (every shard) before it tracks anything, and again, under
the folder lock, before each sequence: any difference is an error naming it and the fix (a new
``--out``, or ``--overwrite`` to delete the folder's results and start over). ``first_run`` is
information only. A folder that holds result files but no manifest (an older version, another tool)
is refused the same way.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Optional

from ..files import HOST, atomic_write
from .claims import folder_lock, live_claims, remove_leftovers

MANIFEST_NAME = "manifest.json"
FORMAT = "allinone-results/1"


def _checkpoint_target(path: str | Path) -> Path:
    """The file a checkpoint argument resolves to (as `load_model` resolves it), else the path itself."""
    from ..model.checkpoint import CheckpointError, _resolve

    try:
        return _resolve(path)
    except CheckpointError:
        p = Path(path)
        if p.exists():  # another backend's file or folder (e.g. ONNX)
            return p
        raise


def checkpoint_digest(path: str | Path) -> str:
    """SHA-256 of the checkpoint file (of every file, with its relative path, for a folder)."""
    target = _checkpoint_target(path)
    h = hashlib.sha256()
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    for f in files:
        if target.is_dir():
            h.update(str(f.relative_to(target)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()


def checkpoint_settings(path: str | Path) -> Optional[dict[str, Any]]:
    """Crop and tracking settings of an own-format checkpoint's embedded config (header only), or None."""
    target = _checkpoint_target(path)
    try:
        with open(target, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size)) if 0 < size < (1 << 27) else {}
        import yaml

        from ..config import config_from_dict

        cfg = config_from_dict(yaml.safe_load(header["__metadata__"]["config"]))
    except Exception:  # not our format (reference .pth, ONNX, ...): the digest still tells them apart
        return None
    m, d = cfg.model, cfg.data
    return {"crop": {"template_size": m.template_size, "search_size": m.search_size,
                     "template_factor": d.template_factor, "search_factor": d.search_factor},
            "track": dict(vars(cfg.track))}


def run_identity(checkpoint: str | Path, *, precision: str = "fp32", backend: str = "torch",
                 use_text: bool = True, start: str = "box") -> dict[str, Any]:
    """The ``produced_by`` record of a run: what must be equal for results to be mixed (``start`` is
    recorded only for text-started runs, so box-started folders keep their earlier manifests)."""
    settings = checkpoint_settings(checkpoint) or {"crop": None, "track": None}
    started = {} if start == "box" else {"start": str(start)}
    return {"checkpoint_sha256": checkpoint_digest(checkpoint), "precision": str(precision),
            "backend": str(backend or "torch"), "text": bool(use_text), **started, **settings}


def _result_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.txt") if not p.name.startswith("."))


def _show(key: str, value: Any) -> str:
    if key == "checkpoint_sha256" and isinstance(value, str):
        return value[:12]
    if key == "text" and isinstance(value, bool):
        return "on" if value else "off"
    return json.dumps(value, sort_keys=True)


def _differences(there: dict, here: dict) -> list[str]:
    diffs = []
    for key in sorted(set(there) | set(here)):
        a, b = there.get(key), here.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k} {_show(k, a.get(k))} there, {_show(k, b.get(k))} now"
                      for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            diffs.append(f"{key} {_show(key, a)} there, {_show(key, b)} now")
    return diffs


def mismatch(folder: str | Path, identity: dict) -> Optional[str]:
    """Why `folder` cannot take results of a run with `identity` (None when it can)."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        n = len(_result_files(folder)) if folder.is_dir() else 0
        return (f"results folder {folder} holds {n} result file(s) but no {MANIFEST_NAME} saying what produced "
                "them (an older allinone or another tool)") if n else None
    try:
        there = json.loads(path.read_text())["produced_by"]
    except (ValueError, KeyError, TypeError):
        return f"results folder {folder} has an unreadable {MANIFEST_NAME}"
    diffs = _differences(there, identity)
    return f"results folder {folder} holds results of another run ({'; '.join(diffs)})" if diffs else None


def _fix(folder: Path) -> str:
    return (f"; use a new --out for this run, or --overwrite to delete the results in {folder} and start "
            "over")


def check_manifest(folder: str | Path, identity: dict) -> None:
    """Raise ValueError when `folder` holds results of another run; writes nothing."""
    problem = mismatch(folder, identity)
    if problem:
        raise ValueError(problem + _fix(Path(folder)))


def prepare_results_folder(folder: str | Path, identity: dict, info: Optional[dict] = None,
                           overwrite: bool = False) -> list[Path]:
    """Create `folder`, clean what dead runs left, and check (or write) its manifest, under the lock.

    overwrite=True: when the folder holds results of another run, delete its result files
    (``*.txt`` directly in it) and write a new manifest; refused while another run writes there.
    Returns the result files deleted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    deleted: list[Path] = []
    with folder_lock(folder):
        remove_leftovers(folder)
        problem = mismatch(folder, identity)
        if problem and not overwrite:
            raise ValueError(problem + _fix(folder))
        if problem:
            busy = live_claims(folder)
            if busy:
                b = busy[0]
                raise ValueError(f"--overwrite: {folder} is in use by another run (pid {b.get('pid')} on "
                                 f"{b.get('host')} tracks {b['path'].stem}); wait for it, or use a new --out")
            deleted = _result_files(folder)
            for p in deleted:
                p.unlink(missing_ok=True)
        if problem or not (folder / MANIFEST_NAME).is_file():
            record = {"format": FORMAT, "produced_by": identity,
                      "first_run": {**(info or {}), "host": HOST,
                                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}}
            atomic_write(folder / MANIFEST_NAME,
                         lambda p: p.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n"))
    return deleted


def manifest_still_matches(folder: str | Path, identity: dict) -> None:
    """Re-check the manifest under the folder lock (another run may have used --overwrite)."""
    with folder_lock(Path(folder)):
        problem = mismatch(folder, identity)
    if problem:
        raise ValueError(f"{problem}: it was overwritten while this run was writing there; "
                         "rerun with a new --out")

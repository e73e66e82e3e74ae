"""Sharing one results folder between processes: claim files, atomic writes, leftover clean-up.

Several runs may write into one results folder at once (the shards of a cluster job array, or two
``allinone test`` started by hand). Before tracking a sequence a process creates
``<folder>/.claims/<sequence>.claim`` (``O_EXCL``: exactly one creator wins) holding its host name
and pid; others skip that sequence. A claim stops counting, so that a killed run never blocks a
sequence for good, when

- its process is gone (same host: the pid no longer runs, or is a zombie), or
- it has not been refreshed for `STALE_AFTER_S` seconds (any host: the holder touches its claim
  every `HEARTBEAT_S` seconds while it works, so only a dead or frozen holder goes stale).

Taking over a dead claim renames it away first and checks that the renamed file is the dead one, so
a live claim is never removed; in the worst race two processes track the same sequence and the
atomic writes keep one complete result. The same mechanism gives a short-lived folder lock
(`folder_lock`) for reading and writing the manifest.

Result files are written with `allinone.files.atomic_write` (``.tmp-<host>-<pid>-*``, renamed into
place), so a reader never sees a partial file; `remove_leftovers` deletes the temporary files and
claims of dead processes at the next start.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

from ..files import HOST, STALE_AFTER_S, file_mode, holder_alive, remove_stale_tmp

CLAIMS_DIR = ".claims"
HEARTBEAT_S = 60.0


def read_claim(path: Path) -> Optional[dict]:
    """The claim at `path` as ``{"host", "pid", "token", "mtime", "inode", "live"}``; None if absent."""
    try:
        st = path.stat()
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text) if text.strip() else {}
        info = info if isinstance(info, dict) else {}
    except ValueError:
        info = {}  # being written right now, or garbage: judged by its age alone
    info.update(mtime=st.st_mtime, inode=st.st_ino)
    info["live"] = holder_alive(info.get("host"), info.get("pid"), st.st_mtime)
    return info


def _remove_dead(path: Path, dead: dict) -> None:
    """Remove the dead claim `dead` read from `path`, never a live one that replaced it meanwhile."""
    aside = path.with_name(f"{path.name}.dead-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # someone else removed it
    try:
        if aside.stat().st_ino != dead["inode"]:  # a fresh claim slipped in: put it back
            with contextlib.suppress(FileExistsError, FileNotFoundError):
                os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)


class Claim:
    """A held claim file, refreshed in the background until `release`."""

    def __init__(self, path: Path, token: str):
        self.path, self.token = path, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"claim-{path.name}")
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        """Stop refreshing and delete the claim file (if it is still ours)."""
        self._stop.set()
        self._thread.join()
        info = read_claim(self.path)
        if info is not None and info.get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def try_claim(path: Path) -> Optional[Claim]:
    """Create the claim file `path` for this process; None when a live process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode())
        except FileExistsError:
            info = read_claim(path)
            if info is not None and info["live"]:
                return None
            if info is not None:
                _remove_dead(path, info)
            continue
        token = uuid.uuid4().hex
        with os.fdopen(fd, "w") as f:
            json.dump({"host": HOST, "pid": os.getpid(), "token": token, "started": time.time()}, f)
        return Claim(path, token)
    return None


def claim_path(folder: Path, sequence: str) -> Path:
    """``<folder>/.claims/<sequence>.claim``."""
    return Path(folder) / CLAIMS_DIR / f"{sequence}.claim"


def live_claims(folder: Path) -> list[dict]:
    """The live sequence claims in `folder` (each with its ``path``)."""
    found = []
    for path in sorted((Path(folder) / CLAIMS_DIR).glob("*.claim")):
        info = read_claim(path)
        if info is not None and info["live"]:
            found.append({**info, "path": path})
    return found


@contextlib.contextmanager
def folder_lock(folder: Path, timeout_s: float = 300.0) -> Iterator[None]:
    """Hold ``<folder>/.claims/folder.lock`` (waiting for a live holder, taking over a dead one)."""
    path = Path(folder) / CLAIMS_DIR / "folder.lock"
    deadline = time.monotonic() + timeout_s
    while True:
        claim = try_claim(path)
        if claim is not None:
            break
        if time.monotonic() > deadline:
            info = read_claim(path) or {}
            raise TimeoutError(f"{path} is held by pid {info.get('pid')} on {info.get('host')} for more than "
                               f"{timeout_s:.0f} s; delete it if no allinone run uses {folder}")
        time.sleep(0.05)
    try:
        yield
    finally:
        claim.release()


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete temporary files (``.tmp-*``) and claims left in `folder` by dead processes; returns them."""
    folder = Path(folder)
    removed = remove_stale_tmp(folder)
    for path in sorted((folder / CLAIMS_DIR).glob("*.claim")):
        info = read_claim(path)
        if info is not None and not info["live"]:
            _remove_dead(path, info)
            removed.append(path)
    for path in sorted((folder / CLAIMS_DIR).glob("*.dead-*")):  # a take-over cut short
        with contextlib.suppress(FileNotFoundError):
            if time.time() - path.stat().st_mtime > STALE_AFTER_S:
                path.unlink()
                removed.append(path)
    return removed

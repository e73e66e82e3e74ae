"""Files written atomically, with the permissions a plain write would give, and their leftovers.

`atomic_write` writes into a temporary ``.tmp-<host>-<pid>-*`` file next to the target and renames it
into place, so a reader (or a resumed run) never sees a half-written file under the final name. The
temporary file is created 0600 by `tempfile.mkstemp`; it is given ``0666 & ~umask`` before the
rename, as ``open(path, "w")`` would. A process killed mid-write (``kill -9``) leaves its temporary
file behind: `remove_stale_tmp` deletes those whose writer is gone, at the next start. The host in
the name keeps that clean-up from deleting another machine's file on shared storage (sharded runs).
"""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable, Union

TMP_PREFIX = ".tmp-"
# a temporary file (or a claim) not touched for this long counts as stale when its writer's liveness
# cannot be checked (another host, or a name without the writer's pid)
STALE_AFTER_S = 600.0
HOST = socket.gethostname()


def file_mode() -> int:
    """``0666 & ~umask``: the mode ``open(path, "w")`` gives a new file."""
    try:  # Linux: read it without changing it (os.umask is process-wide and not thread-safe)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Union[str, Path], writer: Callable[[Path], None]) -> Path:
    """Write `path` through ``writer(tmp_path)`` and rename it into place; returns `path`.

    The temporary file is ``.tmp-<host>-<pid>-*<suffix>`` in the same folder (same file system, so
    the rename is atomic) and is removed if `writer` fails or the process is interrupted.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{HOST}-{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, file_mode())  # mkstemp makes 0600 (so does safetensors' save_file), after the write
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def holder_alive(host: object, pid: object, mtime: float) -> bool:
    """Whether the process `pid` on `host` that last touched a file at `mtime` may still be using it:
    not once the file is `STALE_AFTER_S` old; on this host, while the pid runs; elsewhere, trusted."""
    from .processes import pid_alive

    if time.time() - mtime > STALE_AFTER_S:
        return False
    if host == HOST and isinstance(pid, int):
        return pid_alive(pid)
    return True


def _writer_alive(path: Path) -> bool:
    from .processes import pid_alive

    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return True  # gone already: nothing to do
    rest = path.name[len(TMP_PREFIX):]
    head, _, _ = rest.rpartition("-")  # "<host>-<pid>-<random><suffix>" (mkstemp's random part has no "-")
    host, _, pid_text = head.rpartition("-")
    if host and pid_text.isdigit():
        return holder_alive(host, int(pid_text), mtime)
    first = rest.split("-", 1)[0]
    if first.isdigit():  # an older name, ".tmp-<pid>-*": this host's
        return pid_alive(int(first))
    return time.time() - mtime <= STALE_AFTER_S  # a name without the writer's pid: judged by its age


def remove_stale_tmp(folder: Union[str, Path]) -> list[Path]:
    """Delete the ``.tmp-*`` files in `folder` whose writing process is gone; returns them."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.glob(f"{TMP_PREFIX}*")):
        if path.is_file() and not _writer_alive(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed

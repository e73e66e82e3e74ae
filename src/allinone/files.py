"""Files written atomically, with the permissions a plain write would give, and their leftovers.

`atomic_write` writes into a temporary ``.tmp-<pid>-*`` file next to the target and renames it into
place, so a reader (or a resumed run) never sees a half-written file under the final name. The
temporary file is created 0600 by `tempfile.mkstemp`; it is given ``0666 & ~umask`` before the
rename, as ``open(path, "w")`` would. A process killed mid-write (``kill -9``) leaves its temporary
file behind: `remove_stale_tmp` deletes those whose writer is gone, at the next start.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Union

TMP_PREFIX = ".tmp-"
# a temporary file without a (live) writer's pid in its name counts as stale after this long
STALE_AFTER_S = 600.0


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

    The temporary file is ``.tmp-<pid>-*<suffix>`` in the same folder (same file system, so the
    rename is atomic) and is removed if `writer` fails or the process is interrupted.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, file_mode())  # mkstemp makes 0600 (so does safetensors' save_file), after the write
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _writer_alive(path: Path) -> bool:
    from .processes import pid_alive

    head = path.name[len(TMP_PREFIX):].split("-", 1)[0]
    if head.isdigit():
        return pid_alive(int(head))
    try:  # an older name without the writer's pid: judged by its age
        return time.time() - path.stat().st_mtime <= STALE_AFTER_S
    except FileNotFoundError:
        return True


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

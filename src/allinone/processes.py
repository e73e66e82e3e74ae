"""Signals and child processes: a stop request ends a run cleanly, and no child outlives its run.

- `stop_on_sigterm`: SIGTERM (``kill``, a scheduler's time limit, ``docker stop``) raises
  `KeyboardInterrupt` in the main thread, as Ctrl-C does, so the same clean-up runs (results of
  finished sequences kept, ``boxes.json`` and a playable video written, checkpoints consistent).
- `exit_with_parent`: called in a worker process (a benchmark pool worker, a DataLoader worker), it
  ends the worker as soon as the run's main process is gone, even after ``kill -9``. A DataLoader
  worker's own check compares its parent pid, but under the ``forkserver`` start method its parent
  is the fork server, which stays alive while any worker does: without this, killed training runs
  leave the fork server, the resource tracker and every data worker running. (Polling, not
  ``prctl(PR_SET_PDEATHSIG)``: that fires when the *thread* that forked the worker ends, which a
  pool started from a short-lived thread, e.g. a web request's, would do while the run goes on.)
  It also keeps the worker quiet about the connection its tensor-sharing thread loses when the
  main process stops (`quiet_sharer_errors`): a stopped run must not print a traceback.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

POLL_S = 0.5


def _start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks (``/proc/<pid>/stat`` field 22); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def exit_with_parent(parent_pid: Optional[int], poll_s: float = POLL_S) -> None:
    """In a worker: exit (``os._exit``) once process `parent_pid` (the run's main process) is gone.

    A daemon thread polls every `poll_s` seconds; the process's start time is compared too, so a
    recycled pid is not mistaken for the parent. No-op when `parent_pid` is None or this process.
    """
    if parent_pid is None or parent_pid == os.getpid():
        return
    started = _start_time(parent_pid)
    if not pid_alive(parent_pid):
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if not pid_alive(parent_pid) or _start_time(parent_pid) != started:
                os._exit(1)

    threading.Thread(target=watch, name="allinone-exit-with-parent", daemon=True).start()
    quiet_sharer_errors(lambda: not pid_alive(parent_pid) or _start_time(parent_pid) != started)


def quiet_sharer_errors(parent_gone: Callable[[], bool]) -> None:
    """In a worker: silence the errors of multiprocessing's resource-sharer thread (which hands the
    main process the file descriptors of shared tensors) that a stopping main process causes.

    That thread reports its errors through ``sys.excepthook``. When the main process stops (Ctrl-C,
    SIGTERM) it closes its end mid-transfer: the thread's broken connection (OSError, EOFError), or
    any error of it once `parent_gone()`, is dropped. Everything else still reaches the previous hook.
    Calling it again (another training run in the same process) replaces the hook instead of
    stacking one more.
    """
    previous = getattr(sys.excepthook, "_allinone_previous", sys.excepthook)

    def hook(exc_type: type, exc: BaseException, tb: Any) -> None:
        from_sharer = any(f.f_code.co_filename.endswith("resource_sharer.py") for f, _ in traceback.walk_tb(tb))
        if from_sharer and (issubclass(exc_type, (OSError, EOFError)) or parent_gone()):
            return
        previous(exc_type, exc, tb)

    hook._allinone_previous = previous  # type: ignore[attr-defined]
    sys.excepthook = hook


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)  # KeyboardInterrupt("SIGTERM")


def stop_on_sigterm() -> Any:
    """Make SIGTERM raise ``KeyboardInterrupt("SIGTERM")`` in the main thread; returns the previous
    handler (for `restore_sigterm`), or None outside the main thread, where nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


@contextmanager
def deferred_stop() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM until the block ends, then deliver it to the handler that was in place.

    For writes that belong together (one frame's line in boxes.txt and its frame in the video): a
    stop request arriving in between would leave them disagreeing. Outside the main thread (where
    signal handlers cannot be set and signals are not delivered anyway) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        signal.raise_signal(caught[0])


def restore_sigterm(previous: Any) -> None:
    """Put back the SIGTERM handler `stop_on_sigterm` replaced (None: nothing to do)."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def worker_signals() -> None:
    """In a pool worker: leave Ctrl-C to the main process (which stops the workers) and let SIGTERM
    end the worker at once (a handler inherited through fork would raise inside its work)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

"""Signals and children: SIGTERM stops `track`, `test` and `train` as Ctrl-C does (work kept, files
consistent); killing a run, even with SIGKILL, leaves no worker, fork server or resource tracker
behind; temporary files of a killed checkpoint save are removed at the next start."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from allinone.files import remove_stale_tmp
from allinone.processes import pid_alive

TINY = ["model.embed_dim=64", "model.depth=2", "model.num_heads=2", "model.ce_locations=[1]",
        "model.head_channels=32", "model.align_dim=32", "model.vocab_size=2048", "train.samples_per_epoch=64",
        "train.epochs=1000", "train.warmup_steps=0", "train.lr=0.001"]


def _cli(*args):
    return [sys.executable, "-m", "allinone.cli", *args]


def _start(args, **kw):
    return subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _descendants(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _all_gone(pids, timeout: float = 20.0) -> None:
    _wait_for(lambda: not [p for p in pids if pid_alive(p)], timeout, f"processes {pids} to exit")


@pytest.fixture(scope="module")
def long_synth(tmp_path_factory):
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    root = tmp_path_factory.mktemp("procs") / "synth"
    generate_synthvl(root, 4, seed=2, split="test", config=SynthConfig(width=96, height=72, min_frames=300,
                                                                        max_frames=300), progress=False)
    return root


def test_exit_with_parent_ends_the_worker_when_the_parent_dies():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    code = (f"from allinone.processes import exit_with_parent; exit_with_parent({parent.pid}, poll_s=0.1); "
            "import time; time.sleep(120)")
    worker = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(2.0)
        assert worker.poll() is None  # the parent lives: the worker goes on
        parent.kill()  # a zombie until reaped below: counts as gone
        assert worker.wait(timeout=20) == 1
    finally:
        parent.kill()
        parent.wait()
        worker.kill()


def test_sigterm_stops_track_with_boxes_json_and_a_playable_video(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2000):
        img = np.full((72, 96, 3), 40, np.uint8)
        cv2.rectangle(img, (10 + i % 50, 20), (30 + i % 50, 40), (200, 40, 40), -1)
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), img)
    out = tmp_path / "out"
    proc = _start(["track", str(frames), "--bbox", "10,20,20,20", "--out", str(out), "--no-progress"])
    _wait_for(lambda: (out / "boxes.txt").exists() and len((out / "boxes.txt").read_text().splitlines()) >= 20,
              180, "tracking to start")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted (SIGTERM)" in err and "Traceback" not in err
    summary = json.loads((out / "boxes.json").read_text())
    n = len(summary["frames"])
    assert 20 <= n < 2000 and n == len((out / "boxes.txt").read_text().splitlines())
    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    played = 0
    while video.read()[0]:
        played += 1
    assert played == n


def test_sigterm_and_sigkill_stop_test_without_leaving_workers(long_synth, tmp_path):
    out = tmp_path / "res"
    proc = _start(["test", "--dataset", "synthvl", "--root", str(long_synth), "--out", str(out), "--workers", "2",
                   "--no-progress"])
    _wait_for(lambda: len(_descendants(proc.pid)) >= 2, 120, "the pool workers")
    time.sleep(3.0)  # the workers load the model and start tracking
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # not after every queued sequence
    assert proc.returncode == 143 and "Traceback" not in err, err
    _all_gone(workers)
    for f in out.glob("*.txt"):  # whatever was written is complete
        assert f.name.endswith("_time.txt") or len(f.read_text().splitlines()) == 300

    proc = _start(["test", "--dataset", "synthvl", "--root", str(long_synth), "--out", str(tmp_path / "res2"),
                   "--workers", "2", "--no-progress"])
    _wait_for(lambda: len(_descendants(proc.pid)) >= 2, 120, "the pool workers")
    workers = _descendants(proc.pid)
    proc.kill()  # kill -9: no chance to clean up
    proc.wait()
    _all_gone(workers)


def _train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--config", "cpu-tiny", "--data", f"synthvl={data}", "--out", str(out), "--workers", "2",
            "--batch-size", "4", "--steps", "100000", "--checkpoint-every", "3", "--keep-last", "2",
            "--no-progress", "--set", *TINY, *extra]


def test_sigterm_stops_train_with_consistent_checkpoints(long_synth, tmp_path):
    import allinone
    from allinone.train.run_state import checkpoint_steps, load_training_state

    run = tmp_path / "run"
    proc = _start(_train_args(long_synth, run))
    _wait_for(lambda: checkpoint_steps(run), 300, "the first checkpoint")
    helpers = _descendants(proc.pid)  # fork server, resource tracker, data workers
    assert len(helpers) >= 3
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "interrupted (SIGTERM)" in err and "Traceback" not in err, err
    _all_gone(helpers)
    steps = checkpoint_steps(run)
    assert steps and not list((run / "checkpoints").glob(".tmp-*"))
    assert load_training_state(run, steps[-1])["step"] == steps[-1]
    allinone.load_model(run)


def test_sigkill_of_train_leaves_nothing_and_resume_cleans_temporary_files(long_synth, tmp_path):
    from allinone.train.run_state import checkpoint_steps

    run = tmp_path / "run"
    proc = _start(_train_args(long_synth, run))
    _wait_for(lambda: checkpoint_steps(run), 300, "the first checkpoint")
    helpers = _descendants(proc.pid)
    assert len(helpers) >= 3
    proc.kill()
    proc.wait()
    _all_gone(helpers)  # before: the fork server, the resource tracker and both workers ran on for good
    dead = run / "checkpoints" / ".tmp-999999999-x.safetensors"  # a save cut short by kill -9
    dead.write_bytes(b"partial")
    step = checkpoint_steps(run)[-1]
    args = _train_args(long_synth, run, "--resume")
    args[args.index("100000")] = str(step + 1)
    r = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not dead.exists() and checkpoint_steps(run)[-1] == step + 1


def test_remove_stale_tmp_keeps_files_of_live_writers(tmp_path):
    live = tmp_path / f".tmp-{os.getpid()}-abc.pt"
    dead = tmp_path / ".tmp-999999999-abc.pt"
    old = tmp_path / ".tmp-oldstyle.pt"
    for p in (live, dead, old):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sorted(remove_stale_tmp(tmp_path)) == sorted([dead, old])
    assert live.exists()


def test_worker_hook_drops_only_the_resource_sharers_shutdown_errors(monkeypatch):
    import sys

    from allinone.processes import quiet_sharer_errors

    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info[0]))
    gone = {"parent": False}
    quiet_sharer_errors(lambda: gone["parent"])

    def raised_in(filename: str, error: BaseException):
        code = compile("def serve(e):\n    raise e\n", filename, "exec")
        space: dict = {}
        exec(code, space)
        try:
            space["serve"](error)
        except BaseException:  # noqa: BLE001
            return sys.exc_info()

    sharer = "/usr/lib/python3/multiprocessing/resource_sharer.py"
    sys.excepthook(*raised_in(sharer, ConnectionResetError("peer gone")))  # the main process closed its end
    sys.excepthook(*raised_in(sharer, EOFError()))
    assert seen == []
    sys.excepthook(*raised_in(sharer, KeyError("fd")))  # another error while the parent lives: shown
    sys.excepthook(*raised_in("work.py", ConnectionResetError()))  # not the sharer's: shown
    assert seen == [KeyError, ConnectionResetError]
    gone["parent"] = True
    sys.excepthook(*raised_in(sharer, KeyError("fd")))  # the parent is gone: nobody to tell
    assert seen == [KeyError, ConnectionResetError]
    hook = sys.excepthook
    quiet_sharer_errors(lambda: False)  # a second training run in this process: replaced, not stacked
    assert sys.excepthook is not hook and sys.excepthook._allinone_previous is hook._allinone_previous
    sys.excepthook(*raised_in(sharer, KeyError("fd")))  # the new callback decides: the parent lives
    assert seen == [KeyError, ConnectionResetError, KeyError]


def test_deferred_stop_finishes_the_block_then_delivers_the_signal():
    import os

    from allinone.processes import deferred_stop, restore_sigterm, stop_on_sigterm

    previous = stop_on_sigterm()  # SIGTERM → KeyboardInterrupt("SIGTERM"), as under the CLI
    done = []
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            with deferred_stop():
                os.kill(os.getpid(), signal.SIGTERM)  # arrives between two writes that belong together
                done.append("first")
                done.append("second")
        assert done == ["first", "second"]
        with pytest.raises(KeyboardInterrupt):
            with deferred_stop():
                os.kill(os.getpid(), signal.SIGINT)
                done.append("third")
        assert done[-1] == "third"
        with deferred_stop():  # no signal: nothing raised, handlers put back
            done.append("fourth")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        restore_sigterm(previous)

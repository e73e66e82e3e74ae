"""One results folder, many runs: shards, claims, the manifest against stale results, leftovers."""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import allinone
from allinone.data import open_dataset
from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.evaluation import claims
from allinone.evaluation.analysis import analyze
from allinone.evaluation.claims import claim_path, remove_leftovers, try_claim
from allinone.evaluation.manifest import MANIFEST_NAME
from allinone.evaluation.runner import plan_run, run_benchmark
from allinone.evaluation.shards import balanced_shards, parse_shard, shard_names
from allinone.text import default_tokenizer

CLI = [sys.executable, "-m", "allinone.cli"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    generate_synthvl(root / "data", 5, seed=1, split="test",
                     config=SynthConfig(width=96, height=72, min_frames=6, max_frames=16), progress=False)
    ckpts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = allinone.build_model("cpu-tiny", with_alignment=False)
        ckpts.append(allinone.save_model(model, root / f"tiny{seed}.safetensors", tokenizer=default_tokenizer()))
    return root / "data", [str(c) for c in ckpts]


def _run(data, ckpt, out, **kw):
    return run_benchmark("synthvl", str(data), ckpt, str(out), progress=False, **kw)


def _names(data):
    return open_dataset("synthvl", data).sequence_names()


# --------------------------------------------------------------------------- shards


def test_shard_argument_and_balanced_split():
    assert parse_shard("2/8") == (2, 8) and parse_shard(" 1/1 ") == (1, 1)
    for bad in ("0/4", "5/4", "a/b", "3", "1/0", "-1/2"):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)
    # longest first, each to the lightest shard (ties: lowest number), order of the input kept
    counts = {"e": 1, "a": 10, "b": 9, "c": 8, "d": 7}
    assert balanced_shards(counts, 2) == [["e", "a", "d"], ["b", "c"]]
    assert shard_names(counts, 2, 2) == ["b", "c"]
    rng = np.random.default_rng(0)
    counts = {f"seq-{i}": int(n) for i, n in enumerate(rng.integers(100, 3000, 280))}
    shards = balanced_shards(counts, 8)
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(counts)  # every sequence exactly once
    totals = [sum(counts[n] for n in s) for s in shards]
    assert max(totals) - min(totals) <= max(counts.values())  # the greedy rule's bound
    assert max(totals) / (sum(totals) / 8) < 1.02
    assert balanced_shards(dict(reversed(counts.items())), 8)[3] == list(reversed(shards[3]))  # same split


def test_plan_counts_frames_without_loading_sequences(bench):
    data, _ = bench
    ds = open_dataset("synthvl", data)
    plan = plan_run(ds, shard="2/3")
    assert ds._cache == {}  # nothing parsed: line counts only
    assert plan.frame_counts == {n: len(open_dataset("synthvl", data)[n]) for n in ds.sequence_names()}
    assert plan.names == shard_names(plan.frame_counts, 2, 3)


def test_sharded_cli_runs_merge_to_the_unsharded_results(bench, tmp_path):
    data, (ckpt, _) = bench
    whole, merged = tmp_path / "whole" / "tiny", tmp_path / "merged" / "tiny"
    _run(data, ckpt, whole)
    procs = [subprocess.Popen(CLI + ["test", "--dataset", "synthvl", "--root", str(data), "--checkpoint", ckpt,
                                     "--out", str(merged), "--shard", f"{k}/2", "--no-progress"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    tracked = [int(re.search(r"tracked (\d+) sequence", o[0]).group(1)) for o in outs]
    assert sum(tracked) == 5 and all(t >= 1 for t in tracked)  # disjoint shards covering everything
    for name in _names(data):
        assert (merged / f"{name}.txt").read_bytes() == (whole / f"{name}.txt").read_bytes()
    sequences = open_dataset("synthvl", data).sequences()
    a = analyze(sequences, [whole], print_table=False)["tiny"]
    b = analyze(sequences, [merged], print_table=False)["tiny"]
    assert a == b
    m1, m2 = (json.loads((d / MANIFEST_NAME).read_text())["produced_by"] for d in (whole, merged))
    assert m1 == m2
    assert not list(merged.glob(".tmp-*")) and not list((merged / ".claims").glob("*.claim"))


# --------------------------------------------------------------------------- stale results


def test_results_of_another_checkpoint_or_setting_are_refused(bench, tmp_path):
    data, (ckpt0, ckpt1) = bench
    out = tmp_path / "tracker"
    names = _names(data)
    _run(data, ckpt0, out, sequences=names[:2])
    with pytest.raises(ValueError, match=r"checkpoint_sha256 \w{12} there, \w{12} now.*new --out.*--overwrite"):
        _run(data, ckpt1, out)
    with pytest.raises(ValueError, match="text on there, off now"):
        _run(data, ckpt0, out, use_text=False)
    with pytest.raises(ValueError, match='precision "fp32" there, "bf16" now'):
        _run(data, ckpt0, out, precision="bf16")
    with pytest.raises(ValueError, match="backend"):
        _run(data, ckpt0, out, backend="onnx")
    assert sorted(p.stem for p in out.glob("*.txt") if not p.stem.endswith("_time")) == sorted(names[:2])

    held = try_claim(claim_path(out, names[4]))  # another run is writing there right now
    with pytest.raises(ValueError, match="in use by another run"):
        _run(data, ckpt1, out, overwrite=True)
    held.release()
    # --overwrite: the old results go, the new run equals a fresh one
    done = _run(data, ckpt1, out, sequences=names[1:3], overwrite=True)
    assert sorted(done) == sorted(names[1:3])
    assert not (out / f"{names[0]}.txt").exists() and not (out / f"{names[0]}_time.txt").exists()
    fresh = tmp_path / "fresh"
    _run(data, ckpt1, fresh, sequences=names[1:3])
    for name in names[1:3]:
        assert (out / f"{name}.txt").read_bytes() == (fresh / f"{name}.txt").read_bytes()
    assert _run(data, ckpt1, out, sequences=names[1:3], overwrite=True) == []  # same run: nothing deleted


def test_results_without_manifest_are_refused_and_cli_says_so_in_one_line(bench, tmp_path):
    data, (ckpt, _) = bench
    out = tmp_path / "old"
    out.mkdir()
    name = _names(data)[0]
    (out / f"{name}.txt").write_text("1\t2\t3\t4\n")
    with pytest.raises(ValueError, match="no manifest.json"):
        _run(data, ckpt, out)
    res = subprocess.run(CLI + ["test", "--dataset", "synthvl", "--root", str(data), "--checkpoint", ckpt,
                                "--out", str(out), "--no-progress"], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "--overwrite" in res.stderr


def test_dry_run_lists_the_shard_and_writes_nothing(bench, tmp_path):
    data, (ckpt, _) = bench
    out = tmp_path / "dry"
    ds = open_dataset("synthvl", data)
    expected = plan_run(ds, shard="1/2").names
    assert _run(data, ckpt, out, shard=(1, 2), dry_run=True) == expected
    assert not out.exists()


# --------------------------------------------------------------------------- claims and leftovers


def _dead_pid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def _fake_claim(path, host, pid, age_s=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "token": "x"}))
    if age_s:
        t = time.time() - age_s
        os.utime(path, (t, t))


def test_claimed_sequences_are_skipped_only_while_their_holder_lives(bench, tmp_path):
    data, (ckpt, _) = bench
    out = tmp_path / "claims"
    names = _names(data)
    held = try_claim(claim_path(out, names[0]))  # this (live) process tracks names[0]
    assert held is not None and try_claim(claim_path(out, names[0])) is None
    _fake_claim(claim_path(out, names[1]), claims.HOST, _dead_pid())  # a kill -9'ed run on this host
    _fake_claim(claim_path(out, names[2]), "other-node", 12345)  # alive on another host
    _fake_claim(claim_path(out, names[3]), "gone-node", 12345, age_s=claims.STALE_AFTER_S + 5)  # not refreshed
    leftover = out / f".tmp-{claims.HOST}-{_dead_pid()}-x1y2z3w4.txt"  # a killed run's half-written file
    leftover.write_text("1\t2\n")
    done = _run(data, ckpt, out)
    assert sorted(done) == sorted(names[1:2] + names[3:])
    assert not leftover.exists()
    held.release()
    assert not claim_path(out, names[0]).exists()
    assert _run(data, ckpt, out) == [names[0]]  # free now; names[2] still held by the other node
    claim_path(out, names[2]).unlink()
    assert _run(data, ckpt, out) == [names[2]]


def test_claim_of_a_killed_process_is_free(tmp_path):
    path = tmp_path / ".claims" / "seq-1.claim"
    code = ("import sys, time; from pathlib import Path; from allinone.evaluation.claims import try_claim; "
            f"c = try_claim(Path({str(path)!r})); print(c is not None, flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "True"
        assert try_claim(path) is None  # its holder runs
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    mine = try_claim(path)
    assert mine is not None and json.loads(path.read_text())["pid"] == os.getpid()
    mine.release()


def test_leftover_temporary_files_of_dead_processes_are_removed(tmp_path):
    host, dead = claims.HOST, _dead_pid()
    files = {
        "dead": tmp_path / f".tmp-{host}-{dead}-abcd1234.txt",
        "live": tmp_path / f".tmp-{host}-{os.getpid()}-abcd1234.txt",
        "other_host_fresh": tmp_path / ".tmp-node-7-1234-abcd1234.txt",
        "old_style_fresh": tmp_path / ".tmp-k2j3h4g5.txt",
        "old_style_old": tmp_path / ".tmp-q9w8e7r6.txt",
        "result": tmp_path / "seq-1.txt",
    }
    for p in files.values():
        p.write_text("1\n")
    old = time.time() - claims.STALE_AFTER_S - 5
    os.utime(files["old_style_old"], (old, old))
    _fake_claim(claim_path(tmp_path, "seq-1"), host, dead)
    removed = remove_leftovers(tmp_path)
    assert sorted(removed) == sorted([files["dead"], files["old_style_old"], claim_path(tmp_path, "seq-1")])
    assert all(files[k].exists() for k in ("live", "other_host_fresh", "old_style_fresh", "result"))


def test_results_get_the_umask_permissions(bench, tmp_path):
    data, (ckpt, _) = bench
    out = tmp_path / "perm"
    _run(data, ckpt, out, sequences=_names(data)[:1])
    mask = os.umask(0)
    os.umask(mask)
    files = [p for p in out.iterdir() if p.is_file()]
    assert len(files) == 3  # result, times, manifest
    for p in files:
        assert p.stat().st_mode & 0o777 == 0o666 & ~mask, p  # as a plain open() would make it, not 0600


def test_two_concurrent_runs_do_not_track_a_sequence_twice(bench, tmp_path):
    data, (ckpt, _) = bench
    out = tmp_path / "both"
    cmd = CLI + ["test", "--dataset", "synthvl", "--root", str(data), "--checkpoint", ckpt, "--out", str(out),
                 "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    tracked = [int(re.search(r"tracked (\d+) sequence", o[0]).group(1)) for o in outs]
    assert sum(tracked) == 5
    assert all((out / f"{n}.txt").exists() for n in _names(data))

"""Benchmark runs: results independent of the number of workers, one bad sequence does not abort the
others, sequences without ground truth fail or are skipped (said), the split applied is printed."""
import multiprocessing
import shutil

import numpy as np
import pytest
import torch

from allinone.data import DatasetError
from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.evaluation import runner
from allinone.evaluation.runner import BenchmarkError, run_benchmark
from allinone.track.tracker import default_checkpoint

CKPT = str(default_checkpoint())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel") / "synth"
    generate_synthvl(root, 3, seed=5, split="test", config=SynthConfig(width=96, height=72, min_frames=12,
                                                                        max_frames=14), progress=False)
    return root


def _results(folder):
    return {p.name: p.read_text() for p in sorted(folder.glob("*.txt")) if not p.name.endswith("_time.txt")}


def test_results_do_not_depend_on_the_number_of_workers(data, tmp_path, monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 8)  # many cores: 8 // workers used to differ
    for workers in (1, 2, 3):  # 2 and 3: worker processes from a clean forkserver
        run_benchmark("synthvl", str(data), CKPT, str(tmp_path / f"w{workers}"), workers=workers, progress=False)
    assert _results(tmp_path / "w1") == _results(tmp_path / "w2") == _results(tmp_path / "w3")
    assert len(_results(tmp_path / "w1")) == 3


def test_every_worker_runs_one_thread_by_default(data, tmp_path):
    torch.set_num_threads(2)
    try:
        runner._init_worker(CKPT, "cpu", "fp32", 1, dataset=("synthvl", str(data), None), out_dir=str(tmp_path))
        assert torch.get_num_threads() == 1  # whatever the process had, and however many workers there are
    finally:
        torch.set_num_threads(2)


def test_a_bad_first_box_names_its_sequence_and_the_others_finish(data, tmp_path):
    root = tmp_path / "d"
    shutil.copytree(data, root)
    bad = sorted(root.glob("*/*"))[0]
    lines = (bad / "groundtruth.txt").read_text().splitlines()
    (bad / "groundtruth.txt").write_text("\n".join(["3,3,0,0"] + lines[1:]) + "\n")
    for workers in (1, 2):
        out = tmp_path / f"r{workers}"
        with pytest.raises(BenchmarkError, match=rf"1 sequence\(s\) could not be tracked \(2 tracked.*sequence "
                                                 rf"{bad.name}: cannot start from its first ground-truth box"):
            run_benchmark("synthvl", str(root), CKPT, str(out), workers=workers, progress=False)
        assert sorted(_results(out)) == sorted(f"{p.name}.txt" for p in root.glob("*/*") if p != bad)


def test_missing_ground_truth_fails_the_run_or_is_skipped_and_said(data, tmp_path, capsys):
    root = tmp_path / "d"
    shutil.copytree(data, root)
    gone = sorted(root.glob("*/*"))[1]
    (gone / "groundtruth.txt").unlink()
    with pytest.raises(DatasetError, match=rf"{gone.name}: no .*groundtruth.txt.*--skip-missing"):
        run_benchmark("synthvl", str(root), CKPT, str(tmp_path / "a"), progress=False)
    assert not (tmp_path / "a").exists()  # nothing tracked
    with pytest.warns(UserWarning, match=rf"skipping 1 sequence.*{gone.name}"):
        done = run_benchmark("synthvl", str(root), CKPT, str(tmp_path / "b"), skip_missing=True, workers=2,
                             progress=True)
    assert len(done) == 2 and gone.name not in done
    assert "synthvl at" in capsys.readouterr().out  # the dataset line: root, split, count, skipped


def test_the_split_applied_is_printed(tmp_path, capsys):
    root = tmp_path / "lasot"
    generate_synthvl(root, 1, seed=1, split="test", config=SynthConfig(width=64, height=48, min_frames=4,
                                                                        max_frames=4), progress=False)
    with pytest.raises(DatasetError, match="--split all"):  # SynthVL names are not LaSOT's test names
        run_benchmark("lasot", str(root), CKPT, str(tmp_path / "r"), progress=False)
    run_benchmark("lasot", str(root), CKPT, str(tmp_path / "r"), split="all", progress=True)
    assert "split 'all': 1 sequence(s)" in capsys.readouterr().out

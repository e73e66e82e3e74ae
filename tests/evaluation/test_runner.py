"""Benchmark runs, the analyze command, and the VOT / got10k plug-ins on a generated sequence."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import allinone
from allinone.data import open_dataset
from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.evaluation.integrations import GOT10kTracker, find_sequence_text
from allinone.evaluation.runner import run_benchmark
from allinone.text import default_tokenizer


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    generate_synthvl(root / "data", 3, seed=0, split="test",
                     config=SynthConfig(width=96, height=72, min_frames=8, max_frames=10), progress=False)
    torch.manual_seed(0)
    ckpt = allinone.save_model(allinone.build_model("cpu-tiny", with_alignment=False), root / "tiny.safetensors",
                               tokenizer=default_tokenizer())
    return root, ckpt


def test_run_is_resumable_and_pytracking_formatted(setup, tmp_path):
    root, ckpt = setup
    out = tmp_path / "mytracker"
    names = open_dataset("synthvl", root / "data").sequence_names()
    done = run_benchmark("synthvl", str(root / "data"), str(ckpt), str(out), sequences=names[:1], progress=False)
    assert done == names[:1]
    first = (out / f"{names[0]}.txt").read_text()
    assert "\t" in first.splitlines()[0]
    n = len(open_dataset("synthvl", root / "data")[names[0]])
    assert len(first.splitlines()) == n and len((out / f"{names[0]}_time.txt").read_text().splitlines()) == n
    done = run_benchmark("synthvl", str(root / "data"), str(ckpt), str(out), workers=2, progress=False)
    assert sorted(done) == sorted(names[1:])  # the finished one is skipped
    assert (out / f"{names[0]}.txt").read_text() == first
    with pytest.raises(ValueError, match="unknown sequence"):
        run_benchmark("synthvl", str(root / "data"), str(ckpt), str(out), sequences=["nope-1"], progress=False)


def test_cli_test_then_analyze_json_and_plots(setup, tmp_path):
    root, ckpt = setup
    res = tmp_path / "results" / "allinone-tiny"
    cli = [sys.executable, "-m", "allinone.cli"]
    subprocess.run(cli + ["test", "--dataset", "synthvl", "--root", str(root / "data"), "--checkpoint", str(ckpt),
                          "--out", str(res), "--no-progress"], check=True, capture_output=True)
    out = subprocess.run(cli + ["analyze", "--dataset", "synthvl", "--root", str(root / "data"), "--results",
                                str(res), "--json", str(tmp_path / "s.json"), "--plots", str(tmp_path / "plots")],
                         check=True, capture_output=True, text=True)
    assert "allinone-tiny" in out.stdout
    report = json.loads((tmp_path / "s.json").read_text())
    r = report["allinone-tiny"]
    assert set(r) == {"auc", "precision", "norm_precision", "per_sequence"}
    assert 0 <= r["auc"] <= 100 and len(r["per_sequence"]) == 3
    for png in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png"):
        assert (tmp_path / "plots" / png).stat().st_size > 1000
    bad = subprocess.run(cli + ["analyze", "--dataset", "synthvl", "--root", str(root / "data"), "--results",
                                str(tmp_path / "empty")], capture_output=True, text=True)
    assert bad.returncode == 2 and "result file missing" in bad.stderr


def test_got10k_adapter_tracks_through_the_toolkit_loop(setup):
    root, ckpt = setup
    from PIL import Image  # noqa: F401  (got10k reads frames with PIL)

    seq = open_dataset("synthvl", root / "data")[0]
    tracker = GOT10kTracker(str(ckpt), text=seq.text)
    assert tracker.is_deterministic
    boxes, times = tracker.track(seq.frames, seq.boxes[0])
    assert boxes.shape == (len(seq), 4) and np.isfinite(boxes).all() and len(times) == len(seq)


def test_sequence_text_is_found_next_to_frames(setup):
    root, _ = setup
    seq = open_dataset("synthvl", root / "data")[0]
    assert find_sequence_text(seq.frames[0]) == seq.text


def test_vot_trax_server_answers_a_client(setup, tmp_path):
    trax = pytest.importorskip("trax")
    from trax.client import Client

    root, ckpt = setup
    seq = open_dataset("synthvl", root / "data")[0]
    env = dict(os.environ, ALLINONE_CHECKPOINT=str(ckpt))
    # the toolkit's pipe mode: TraX messages on the tracker's stdin / stdout
    proc = subprocess.Popen([sys.executable, "-m", "allinone.cli", "vot"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client = Client((proc.stdin.fileno(), proc.stdout.fileno()), timeout=60, log=lambda *args: None)
        image = {"color": trax.FileImage.create(seq.frames[0])}
        x, y, w, h = (float(v) for v in seq.boxes[0])
        objects, _ = client.initialize(image, [(trax.Rectangle.create(x, y, w, h), {})], {})
        assert objects[0][0].bounds() == pytest.approx((x, y, w, h), abs=1e-3)
        for frame in seq.frames[1:4]:
            objects, _ = client.frame({"color": trax.FileImage.create(frame)}, {}, [])
            bx, by, bw, bh = objects[0][0].bounds()
            assert bw > 0 and bh > 0 and 0.0 <= float(objects[0][1]["confidence"]) <= 1.0
        client.quit()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_got10k_adapter_reads_each_sequence_description_unless_text_is_given(setup):
    root, ckpt = setup
    seqs = list(open_dataset("synthvl", root / "data"))[:2]
    assert seqs[0].text and seqs[0].text != seqs[1].text
    tracker = GOT10kTracker(str(ckpt))
    seen = []
    initialize = tracker.tracker.initialize

    def spy(frame, bbox=None, text=None):
        seen.append(text)
        return initialize(frame, bbox=bbox, text=text)

    tracker.tracker.initialize = spy
    auto = [tracker.track(seq.frames, seq.boxes[0])[0] for seq in seqs]  # got10k's Tracker.track loop
    assert seen == [seqs[0].text, seqs[1].text]
    # the same boxes as with the description passed explicitly; not those of box-only tracking
    explicit, _ = GOT10kTracker(str(ckpt), text=seqs[0].text).track(seqs[0].frames, seqs[0].boxes[0])
    box_only, _ = GOT10kTracker(str(ckpt), text="").track(seqs[0].frames, seqs[0].boxes[0])
    np.testing.assert_array_equal(auto[0], explicit)
    assert not np.array_equal(auto[0], box_only)
    # an explicit text overrides the files, for every sequence
    seen.clear()
    tracker.text = "the blue star"
    tracker.track(seqs[1].frames, seqs[1].boxes[0])
    assert seen == ["the blue star"]


def test_text_started_run_writes_the_located_box_first_and_keeps_its_own_folder(setup, tmp_path):
    root, ckpt = setup
    ds = open_dataset("synthvl", root / "data")
    name = ds.sequence_names()[0]
    out = tmp_path / "text-start"
    run_benchmark("synthvl", str(root / "data"), str(ckpt), str(out), sequences=[name], progress=False, start="text")
    boxes = np.loadtxt(out / f"{name}.txt", delimiter="\t")
    seq = ds[name]
    tracker = allinone.Tracker.from_checkpoint(str(ckpt), threads=1)
    tracker.initialize(seq.read_frame(0), text=seq.text)
    # the located box (written truncated to integers, as pytracking writes results), not the truth
    np.testing.assert_array_equal(boxes[0], np.trunc(tracker.state.box_xywh))
    assert not np.allclose(boxes[0], seq.boxes[0])
    assert len(boxes) == len(seq)
    assert json.loads((out / "manifest.json").read_text())["produced_by"]["start"] == "text"
    with pytest.raises(ValueError, match="another|differ|mix"):  # box-started results never mix in
        run_benchmark("synthvl", str(root / "data"), str(ckpt), str(out), sequences=[name], progress=False)
    with pytest.raises(ValueError, match="--no-text"):
        run_benchmark("synthvl", str(root / "data"), str(ckpt), str(tmp_path / "x"), progress=False,
                      start="text", use_text=False)

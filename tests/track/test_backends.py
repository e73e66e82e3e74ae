"""Tracker backends: ONNX export (dynamic batch), ONNX Runtime parity with torch fp32 on SynthVL,
int8 (torch.ao and ONNX Runtime), threads, and the CLI's export / --backend / --threads."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
import onnx  # noqa: E402

import allinone  # noqa: E402
from allinone.cli import main  # noqa: E402
from allinone.data import open_dataset  # noqa: E402
from allinone.data.synthetic import SynthConfig, generate_synthvl  # noqa: E402
from allinone.evaluation.runner import track_sequence  # noqa: E402
from allinone.model.allinone import TemplateFeatures  # noqa: E402
from allinone.track import Tracker  # noqa: E402
from allinone.track.backends import (OnnxRuntimeModel, available_cores, default_threads,  # noqa: E402
                                     quantize_linear_int8)
from allinone.track.onnx_export import export_onnx  # noqa: E402
from allinone.track.tracker import default_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def bundled():
    return allinone.load_model(default_checkpoint())


@pytest.fixture(scope="module")
def export_dir(bundled, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    export_onnx(bundled, out)
    return out


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_synthvl(root, 3, seed=3, split="test", config=SynthConfig(min_frames=14, max_frames=18), progress=False)
    ds = open_dataset("synthvl", str(root))
    return root, [ds[n] for n in ds.sequence_names()]


def _inputs(model, batch):
    m = model.config.model
    g = torch.Generator().manual_seed(batch)
    template = torch.randn(batch, 3, m.template_size, m.template_size, generator=g)
    ids = torch.zeros(batch, m.max_text_len, dtype=torch.long)
    ids[:, :4] = torch.tensor([2, 40, 41, 3])
    ids[-1, 2:4] = torch.tensor([3, 0])  # rows of different lengths
    search = torch.randn(batch, 3, m.search_size, m.search_size, generator=g)
    return template, ids, (ids > 0).long(), search


def test_export_writes_graphs_with_dynamic_batch(bundled, export_dir):
    names = sorted(p.name for p in export_dir.iterdir())
    assert names == ["config.yaml", "search.int8.onnx", "search.onnx", "template.onnx", "tokenizer.json"]
    for graph in ("template.onnx", "search.onnx"):
        model = onnx.load(str(export_dir / graph))
        onnx.checker.check_model(model)
        for value in list(model.graph.input) + list(model.graph.output):
            assert value.type.tensor_type.shape.dim[0].dim_param == "batch", (graph, value.name)
    assert not bundled.training  # export must leave the model in eval mode
    runner = OnnxRuntimeModel(export_dir, "fp32")
    for batch in (1, 3):
        template, ids, mask, search = _inputs(bundled, batch)
        with torch.no_grad():
            ref_f = bundled.encode_template(template, ids, mask)
            ref = bundled.track_search(ref_f, search)
        f = runner.encode_template(template, ids, mask)
        torch.testing.assert_close(f.z_tokens, ref_f.z_tokens, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(f.lang, ref_f.lang, atol=1e-5, rtol=1e-5)
        out = runner.track_search(TemplateFeatures(ref_f.z_tokens, ref_f.lang), search)
        for a, b in ((out.score_map, ref.score_map), (out.size_map, ref.size_map), (out.offset_map, ref.offset_map)):
            assert a.shape == b.shape and a.shape[0] == batch
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(out.boxes, ref.boxes, atol=1e-4, rtol=1e-4)


def test_int8_graph_quantises_the_matmul_weights(export_dir):
    fp32, int8 = (onnx.load(str(export_dir / g)) for g in ("search.onnx", "search.int8.onnx"))
    ops = [n.op_type for n in int8.graph.node]
    n_linear = sum(1 for init in fp32.graph.initializer if len(init.dims) == 2)
    assert ops.count("MatMulInteger") >= n_linear - 1 > 10  # every Linear of the backbone
    size = lambda p: p.stat().st_size  # noqa: E731
    assert size(export_dir / "search.int8.onnx") < 0.45 * size(export_dir / "search.onnx")


def _run(tracker, sequences):
    return [track_sequence(tracker, s)[0] for s in sequences]


def test_onnxruntime_boxes_equal_torch_fp32_on_synthvl(bundled, export_dir, synth):
    _, sequences = synth
    ref = _run(Tracker(bundled, threads=1), sequences)
    for tracker in (Tracker.from_checkpoint(export_dir, backend="onnxruntime", threads=1),
                    Tracker(bundled, backend="onnxruntime", threads=2)):  # an export folder; on the fly
        for a, b in zip(_run(tracker, sequences), ref):
            assert np.abs(a - b).max() <= 0.5, "ONNX Runtime fp32 must give torch fp32's boxes within 0.5 px"


def _iou(a, b):
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_int8_maps_close_to_fp32(bundled, export_dir, synth, backend):
    """Same crops in, maps and boxes close to fp32's (not bit-equal: the activations are 8 bit)."""
    _, sequences = synth
    fp32 = Tracker(bundled, threads=1)
    int8 = (Tracker(bundled, precision="int8", threads=1) if backend == "torch"
            else Tracker.from_checkpoint(export_dir, backend="onnxruntime", precision="int8", threads=1))
    seq = sequences[0]
    fp32.initialize(seq.read_frame(0), bbox=seq.boxes[0], text=seq.text)
    int8.initialize(seq.read_frame(0), bbox=seq.boxes[0], text=seq.text)
    torch.testing.assert_close(int8.state.features.z_tokens, fp32.state.features.z_tokens, atol=0.05, rtol=0.05)
    score_err, boxes = [], []
    with torch.inference_mode():
        for i in range(1, len(seq)):
            search, _ = fp32._crop(seq.read_frame(i), seq.boxes[i - 1], fp32.config.data.search_factor,
                                   fp32.config.model.search_size)
            a = fp32.model.track_search(fp32.state.features, search)
            b = int8.model.track_search(fp32.state.features, search)
            score_err.append(float((a.score_map - b.score_map).abs().max()))
            boxes.append((a.boxes[0].numpy(), b.boxes[0].numpy()))
    assert np.mean(score_err) < 0.1 and max(score_err) < 0.3
    a, b = (np.stack(v) for v in zip(*boxes))
    iou = _iou(np.c_[a[:, :2] - a[:, 2:] / 2, a[:, 2:]], np.c_[b[:, :2] - b[:, 2:] / 2, b[:, 2:]])
    assert np.median(iou) > 0.9


def test_torch_int8_replaces_linear_layers(bundled):
    q = quantize_linear_int8(bundled)
    linear = [m for m in q.modules() if type(m).__name__ == "Linear"]
    assert len(linear) == sum(isinstance(m, torch.nn.Linear) for m in bundled.modules()) > 10
    assert all(".quantized.dynamic" in type(m).__module__ for m in linear)  # none left in fp32
    assert all(type(m) is torch.nn.Linear for m in bundled.modules() if type(m).__name__ == "Linear")  # a copy
    assert q.config is bundled.config


def test_threads_argument(bundled):
    before = torch.get_num_threads()
    try:
        Tracker(bundled, threads=1)
        assert torch.get_num_threads() == 1
        t = Tracker(bundled, threads=2)
        assert t.threads == 2 and torch.get_num_threads() == 2
        assert Tracker(bundled).threads == default_threads("torch", bundled.config)
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match="threads"):
                Tracker(bundled, threads=bad)
    finally:
        torch.set_num_threads(before)


def test_default_threads_follow_the_wait_policy_and_model_size(monkeypatch):
    tiny, paper = allinone.load_config("cpu-tiny"), allinone.load_config("paper-vitb256")
    cores = available_cores()
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert default_threads("torch", paper) == default_threads("torch") == cores >= 1
    assert default_threads("torch", allinone.load_config("cpu-small")) == cores
    assert default_threads("torch", tiny) == 1  # small ops: waking a second thread costs more under load
    for policy in ("ACTIVE", ""):
        monkeypatch.setenv("OMP_WAIT_POLICY", policy)
        assert default_threads("torch", paper) == 1  # spin-waiting threads collapse under load
        assert default_threads("onnxruntime", tiny) == cores  # its threads never spin


def test_onnxruntime_sessions_get_the_threads(export_dir):
    before = torch.get_num_threads()
    try:
        t = Tracker.from_checkpoint(export_dir, backend="onnxruntime", threads=2)
        assert t.threads == t.model.threads == 2
        assert t.model._search.get_session_options().intra_op_num_threads == 2
        assert torch.get_num_threads() == 1  # torch only crops: no thread of its own to wake or spin
        assert OnnxRuntimeModel(export_dir).threads == available_cores()
    finally:
        torch.set_num_threads(before)


def test_import_sets_passive_waiting_unless_torch_came_first():
    code = "import {0}, {1}, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = lambda first, second: subprocess.run([sys.executable, "-c", code.format(first, second)], env=env,  # noqa: E731
                                               capture_output=True, text=True, check=True).stdout.strip()
    assert run("allinone", "torch") == "PASSIVE"
    assert run("torch", "allinone") == "None"  # too late for libgomp: left alone (default threads 1)
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert run("allinone", "torch") == "ACTIVE"


def test_bad_backend_and_precision_combinations(bundled, export_dir):
    with pytest.raises(ValueError, match="backend must be one of"):
        Tracker(bundled, backend="tensorrt")
    with pytest.raises(ValueError, match="onnxruntime backend runs precision fp32, int8"):
        Tracker(bundled, backend="onnxruntime", precision="bf16")
    with pytest.raises(ValueError, match="precision"):
        Tracker(bundled, precision="int4")
    with pytest.raises(ValueError, match="--backend onnxruntime"):
        Tracker.from_checkpoint(export_dir)  # an export folder with the torch backend
    (export_dir / "search.int8.onnx").rename(export_dir / "moved.onnx")
    try:
        with pytest.raises(FileNotFoundError, match="search.int8.onnx is missing"):
            Tracker.from_checkpoint(export_dir, backend="onnxruntime", precision="int8")
    finally:
        (export_dir / "moved.onnx").rename(export_dir / "search.int8.onnx")


def test_cli_export_then_track_with_onnxruntime_int8(tmp_path, synth, capsys):
    root, sequences = synth
    out = tmp_path / "onnx"
    assert main(["export", "--format", "onnx", "--out", str(out)]) == 0
    assert (out / "search.int8.onnx").exists()
    assert main(["export", "--format", "onnx", "--out", str(out), "--no-int8"]) == 0  # over the first
    assert "search.onnx" in capsys.readouterr().out and not (out / "search.int8.onnx").exists()
    frames = Path(sequences[0].frames[0]).parent
    x, y, w, h = sequences[0].boxes[0]
    args = ["track", str(frames), "--bbox", f"{x},{y},{w},{h}", "--text", sequences[0].text, "--no-progress",
            "--backend", "onnxruntime", "--threads", "1"]
    assert main(args + ["--checkpoint", str(out), "--out", str(tmp_path / "t32")]) == 0
    assert main(args + ["--precision", "int8", "--out", str(tmp_path / "t8")]) == 0  # exported on the fly
    for run in ("t32", "t8"):
        boxes = json.loads((tmp_path / run / "boxes.json").read_text())["frames"]
        assert len(boxes) == len(sequences[0])
    assert main(["track", str(frames), "--bbox", "1,1,5,5", "--out", str(tmp_path / "x"), "--backend",
                 "onnxruntime", "--precision", "bf16"]) == 2
    assert "fp32, int8" in capsys.readouterr().err

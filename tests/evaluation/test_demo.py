"""The embedded default: the bundled model tracks SynthVL, and `allinone demo` runs end to end."""
import json

import numpy as np
import pytest

from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.evaluation.demo import run_demo
from allinone.evaluation.analysis import analyze
from allinone.evaluation.results import write_results
from allinone.evaluation.runner import run_benchmark
from allinone.data import open_dataset
from allinone.track.tracker import default_checkpoint


@pytest.fixture(scope="module")
def bundled():
    try:
        return default_checkpoint()
    except FileNotFoundError:
        pytest.skip("no bundled checkpoint in this checkout")


def test_bundled_model_tracks_synthvl_far_better_than_chance(bundled, tmp_path):
    generate_synthvl(tmp_path / "data", 4, seed=123, split="test", config=SynthConfig(min_frames=40, max_frames=60),
                     progress=False)
    run_benchmark("synthvl", str(tmp_path / "data"), str(bundled), str(tmp_path / "bundled"), progress=False)
    sequences = open_dataset("synthvl", tmp_path / "data").sequences()
    static = tmp_path / "static"  # a "tracker" that never moves from the first box
    static.mkdir()
    for seq in sequences:
        write_results(static / f"{seq.name}.txt", np.repeat(seq.boxes[:1], len(seq), axis=0))
    report = analyze(sequences, [tmp_path / "bundled", static])
    assert report["bundled"]["auc"] > report["static"]["auc"] + 15, report


def test_demo_end_to_end(bundled, tmp_path):
    import allinone

    preset = allinone.load_model(bundled).config.name
    run_demo(tmp_path / "demo", sequences=2)
    scores = json.loads((tmp_path / "demo" / "scores.json").read_text())
    assert set(scores) == {f"allinone-{preset}", f"allinone-{preset}-box-only"}
    assert (tmp_path / "demo" / "plots" / "success_plot.png").exists()
    assert (tmp_path / "demo" / "video" / "annotated.mp4").stat().st_size > 0
    # a rerun with another model of the same preset must not report the bundled model's old scores
    model = allinone.load_model(bundled)
    other = allinone.build_model(model.config, with_alignment=False)
    other = allinone.save_model(other, tmp_path / "other.safetensors", tokenizer=model.tokenizer)
    with pytest.raises(ValueError, match="checkpoint_sha256.*--overwrite"):
        run_demo(tmp_path / "demo", sequences=2, checkpoint=str(other))
    manifest = json.loads((tmp_path / "demo" / "results" / f"allinone-{preset}-box-only" / "manifest.json").read_text())
    assert manifest["produced_by"]["text"] is False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return
    # the fastest CPU mode: ONNX Runtime int8 on an export made once
    assert manifest["produced_by"]["backend"] == "onnxruntime" and manifest["produced_by"]["precision"] == "int8"
    assert len(list((tmp_path / "demo").glob("onnx-*"))) == 2  # the bundled model's and the other's

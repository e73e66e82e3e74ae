"""`allinone track` / `allinone test` given a reference training checkpoint (.pth.tar) directly."""
import cv2
import numpy as np
import pytest
import torch

import allinone
from allinone import build_model, load_config
from allinone.cli import main
from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.model.checkpoint import is_reference_checkpoint
from reference_oracle import reference_layout

# a small model with the paper's block layout (CE at blocks 3, 6, 9), so the importer's default
# config (paper-vitb256) fits it once the shapes are read from the weights; 160 words hold the
# importer's BERT-special-token tokenizer (140 entries)
REF_TINY = ["model.text_pooling=cls", "model.vocab_size=160", "model.embed_dim=64", "model.depth=10",
            "model.num_heads=1", "model.ce_locations=[3,6,9]", "model.head_channels=32"]


@pytest.fixture(scope="module")
def reference_ckpt(tmp_path_factory):
    torch.manual_seed(5)
    model = build_model(load_config("cpu-tiny", REF_TINY)).eval()
    path = tmp_path_factory.mktemp("ref") / "AllInOne_ep0300.pth.tar"
    torch.save({"net": reference_layout(model), "epoch": 300}, path)
    return path


def test_reference_checkpoint_is_told_apart_by_content(reference_ckpt, tmp_path):
    assert is_reference_checkpoint(reference_ckpt)
    ours = allinone.save_model(build_model("cpu-tiny", with_alignment=False), tmp_path / "ours.pth")
    assert not is_reference_checkpoint(ours)  # our format under a .pth name
    assert not is_reference_checkpoint(tmp_path / "absent.pth.tar")


def test_track_takes_a_reference_checkpoint_and_notes_the_import(reference_ckpt, tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        cv2.imwrite(str(frames / f"{i:03d}.png"), rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    code = main(["track", str(frames), "--bbox", "30,20,16,12", "--checkpoint", str(reference_ckpt),
                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "allinone import-reference" in notes[0] and "AllInOne_ep0300.pth.tar" in notes[0]
    lines = (tmp_path / "out" / "boxes.txt").read_text().splitlines()
    assert len(lines) == 5 and lines[0] == "30.00,20.00,16.00,12.00"
    # the boxes are the imported model's: the same as tracking with the converted checkpoint
    converted = tmp_path / "converted.safetensors"
    assert main(["import-reference", str(reference_ckpt), "--out", str(converted), "--inference-only"]) == 0
    assert main(["track", str(frames), "--bbox", "30,20,16,12", "--checkpoint", str(converted),
                 "--out", str(tmp_path / "out2"), "--no-progress"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert (tmp_path / "out2" / "boxes.txt").read_text().splitlines() == lines


def test_test_command_takes_a_reference_checkpoint(reference_ckpt, tmp_path, capsys):
    data = tmp_path / "synthvl"
    generate_synthvl(data, 1, seed=0, split="test",
                     config=SynthConfig(width=96, height=72, min_frames=6, max_frames=6), progress=False)
    out = tmp_path / "results" / "ref"
    assert main(["test", "--dataset", "synthvl", "--root", str(data), "--checkpoint", str(reference_ckpt),
                 "--out", str(out), "--no-progress"]) == 0
    assert "import-reference" in capsys.readouterr().err
    (result,) = [p for p in out.glob("*.txt") if not p.name.endswith("_time.txt")]
    assert len(result.read_text().splitlines()) == 6

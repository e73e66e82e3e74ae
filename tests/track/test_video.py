"""Frame sources and the track loop's outputs."""
import json

import cv2
import numpy as np
import pytest
import torch

import allinone
from allinone.text import default_tokenizer
from allinone.track.video import draw_box, open_source, track_video


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    return allinone.save_model(allinone.build_model("cpu-tiny", with_alignment=False), path,
                               tokenizer=default_tokenizer())


def _write_frames(folder, n=6):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((48, 64, 3), 30 * i % 255, np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), img)


def test_folder_natural_order(tmp_path):
    _write_frames(tmp_path / "f", n=12)
    frames = list(open_source(tmp_path / "f"))
    assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
    assert [int(f[0, 0, 0]) for f in frames] == [30 * i % 255 for i in range(12)]  # 2 before 10


def test_video_file_and_errors(tmp_path):
    path = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(5):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8))
    w.release()
    assert len(list(open_source(path))) == 5
    with pytest.raises(FileNotFoundError, match="not found"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no frames"):
        open_source(tmp_path / "empty")
    (tmp_path / "bad.mp4").write_bytes(b"nope")
    with pytest.raises(ValueError, match="cannot open"):
        open_source(tmp_path / "bad.mp4")


def test_track_video_writes_outputs(tmp_path, ckpt):
    _write_frames(tmp_path / "f", n=6)
    summary = track_video(tmp_path / "f", out_dir=tmp_path / "out", checkpoint=str(ckpt), text="the grey frame",
                          bbox=(10, 10, 20, 15), progress=False)
    lines = (tmp_path / "out" / "boxes.txt").read_text().splitlines()
    assert len(lines) == 6 and lines[0] == "10.00,10.00,20.00,15.00"
    data = json.loads((tmp_path / "out" / "boxes.json").read_text())
    assert len(data["frames"]) == 6 and data["text"] == "the grey frame" and data["fps"] > 0
    assert summary["frames"][3]["score"] >= 0
    cap = cv2.VideoCapture(str(tmp_path / "out" / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_draw_box_marks_pixels():
    img = np.zeros((40, 40, 3), np.uint8)
    out = draw_box(img, (5, 5, 10, 10), 0.5, "caption")
    assert out[5, 10, 1] == 255 and img.sum() == 0

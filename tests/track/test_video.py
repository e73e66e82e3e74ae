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


def _write_video(path, n, fps, size=(96, 72)):
    """A clip whose frame i is filled with grey level 20 * i (frame identity readable after decoding)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(n):
        frame = np.full((h, w, 3), 20 * i, np.uint8)
        cv2.rectangle(frame, (30, 20), (50, 40), (0, 0, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def test_track_keeps_the_frame_rate_and_tracks_the_frame_range(tmp_path, ckpt):
    from allinone.cli import main

    video = _write_video(tmp_path / "clip.mp4", n=12, fps=10)
    out = tmp_path / "out"
    assert main(["track", str(video), "--bbox", "30,20,20,20", "--checkpoint", str(ckpt), "--out", str(out),
                 "--start-frame", "3", "--end-frame", "9", "--no-progress"]) == 0
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)  # not 30: plays at the source's speed
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6  # frames 3 .. 8
    cap.release()
    lines = (out / "boxes.txt").read_text().splitlines()
    assert len(lines) == 6 and lines[0] == "30.00,20.00,20.00,20.00"
    data = json.loads((out / "boxes.json").read_text())
    assert [r["frame"] for r in data["frames"]] == list(range(3, 9)) and data["video_fps"] == pytest.approx(10.0)
    # to the end of the clip, and the whole clip by default
    assert len(track_video(video, out_dir=tmp_path / "tail", checkpoint=str(ckpt), bbox=(30, 20, 20, 20),
                           start_frame=8, progress=False)["frames"]) == 4
    assert len(track_video(video, out_dir=tmp_path / "all", checkpoint=str(ckpt), bbox=(30, 20, 20, 20),
                           progress=False)["frames"]) == 12


def test_frame_range_reads_the_right_frames_and_rejects_bad_ranges(tmp_path):
    video = _write_video(tmp_path / "clip.mp4", n=8, fps=10)
    levels = [int(np.median(f[:, :10, 1])) for f in open_source(video, start=2, end=5)]
    assert len(levels) == 3 and all(abs(a - b) <= 3 for a, b in zip(levels, (40, 60, 80)))
    _write_frames(tmp_path / "f", n=6)
    assert [int(f[0, 0, 0]) for f in open_source(tmp_path / "f", start=4)] == [120, 150]
    with pytest.raises(ValueError, match="must be greater than --start-frame"):
        open_source(video, start=5, end=5)
    with pytest.raises(ValueError, match="--start-frame 6 is past the end"):
        open_source(tmp_path / "f", start=6)
    with pytest.raises(ValueError, match=r"--start-frame 20 is past the end .*\(8 frames\)"):
        list(open_source(video, start=20))


def test_frame_folder_gets_30_fps_and_a_video_its_own(tmp_path):
    from allinone.track.video import source_fps

    assert source_fps(_write_video(tmp_path / "a.mp4", n=3, fps=12.5)) == pytest.approx(12.5)
    _write_frames(tmp_path / "f", n=2)
    assert source_fps(tmp_path / "f") is None and source_fps("0") is None


def _text_rows(img, region):
    """Rows of `region` (a slice of img) holding white caption pixels."""
    rows = np.nonzero((img[region] > 200).all(axis=2).any(axis=1))[0]
    return rows.max() - rows.min() + 1 if len(rows) else 0


def test_caption_and_score_scale_with_the_frame():
    caption = "the black dog running on the grass"
    small = draw_box(np.zeros((360, 640, 3), np.uint8), (100, 100, 80, 60), 0.87, caption)
    large = draw_box(np.zeros((1080, 1920, 3), np.uint8), (300, 300, 240, 180), 0.87, caption)
    h_small, h_large = _text_rows(small, np.s_[-60:]), _text_rows(large, np.s_[-180:])
    assert h_small >= 8 and h_large / h_small == pytest.approx(3.0, rel=0.2)  # 3x the frame, 3x the text
    # the score's green text above the box grows the same way
    g_small = _green_rows(small, np.s_[60:100, 100:200])
    g_large = _green_rows(large, np.s_[180:300, 300:600])
    assert g_small >= 6 and g_large / g_small == pytest.approx(3.0, rel=0.25)
    # a caption longer than the frame is cut to fit, not drawn off the edge
    narrow = draw_box(np.zeros((200, 200, 3), np.uint8), (10, 10, 20, 20), None, caption * 3)
    cols = np.nonzero((narrow[-40:] > 200).all(axis=2).any(axis=0))[0]
    assert cols.max() < 200 - 2


def _green_rows(img, region):
    patch = img[region]
    rows = np.nonzero(((patch[..., 1] > 150) & (patch[..., 0] < 100)).any(axis=1))[0]
    return rows.max() - rows.min() + 1 if len(rows) else 0

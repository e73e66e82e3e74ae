"""SynthVL: LaSOT layout, determinism, splits, descriptions, the dark-start design, aspect ratios,
tight boxes, attribute labels, camera shake and motion blur."""
import numpy as np
import pytest

from allinone.data import open_dataset
from allinone.data.synthetic import (ATTRIBUTES, COLOURS, SHAPES, SQUARE_SHAPES, SynthConfig, _motion_blur, _Object,
                                     _paste, _shake_path, generate_synthvl, read_attributes)

SMALL = dict(width=96, height=72, min_frames=12, max_frames=16)


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_line_counts_and_reader(tmp_path):
    names = generate_synthvl(tmp_path, 4, seed=1, config=SynthConfig(**SMALL), progress=False)
    for name in names:
        cls = name.rsplit("-", 1)[0]
        assert cls in SHAPES
        seq_dir = tmp_path / cls / name
        n = len(list((seq_dir / "img").glob("*.jpg")))
        assert (seq_dir / "img" / "00000001.jpg").exists() and 12 <= n <= 16
        gt = (seq_dir / "groundtruth.txt").read_text().splitlines()
        assert len(gt) == n and all(len(line.split(",")) == 4 for line in gt)
        for flags in ("full_occlusion.txt", "out_of_view.txt"):
            lines = (seq_dir / flags).read_text().splitlines()
            assert len(lines) == 1 and len(lines[0].split(",")) == n and set(lines[0].split(",")) <= {"0", "1"}
        text = (seq_dir / "nlp.txt").read_text().strip()
        assert any(c in text for c in COLOURS) and cls in text
        assert set(read_attributes(seq_dir)) == set(ATTRIBUTES)
    ds = open_dataset("synthvl", tmp_path)
    assert sorted(ds.sequence_names()) == sorted(names)
    seq = ds[names[0]]
    frame = seq.read_frame(0)
    assert frame.shape == (72, 96, 3) and frame.dtype == np.uint8
    b = seq.boxes
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
    assert (b[:, 0] + b[:, 2] <= 96).all() and (b[:, 1] + b[:, 3] <= 72).all()


def test_target_colour_is_rendered_in_its_box(tmp_path):
    cfg = SynthConfig(**SMALL, textures=False, p_ambiguous=0.0, p_illumination=0.0, p_occlusion=0.0,
                      max_distractors=1, p_same_shape_distractor=0.0, p_motion_blur=0.0)
    generate_synthvl(tmp_path, 3, seed=2, config=cfg, progress=False)
    for seq in open_dataset("synthvl", tmp_path).sequences():
        colour = next(c for c in COLOURS if f" {c} " in f" {seq.text} ")
        x, y, w, h = seq.boxes[0].astype(int)
        patch = seq.read_frame(0)[y:y + h, x:x + w].reshape(-1, 3).astype(float)
        dist = np.abs(patch - np.array(COLOURS[colour])).sum(1)  # a star fills ~35 % of its box
        assert (dist < 60).mean() > 0.2, f"{seq.name}: '{colour}' not dominant in the target box"


def test_deterministic_and_splits_differ(tmp_path):
    cfg = SynthConfig(**SMALL)
    generate_synthvl(tmp_path / "a", 3, seed=5, config=cfg, progress=False)
    generate_synthvl(tmp_path / "b", 3, seed=5, config=cfg, progress=False)
    generate_synthvl(tmp_path / "c", 3, seed=5, split="test", config=cfg, progress=False)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_dark_start_hides_the_first_frame(tmp_path):
    cfg = SynthConfig(**SMALL, p_ambiguous=1.0, p_illumination=0.0)
    generate_synthvl(tmp_path, 2, seed=3, config=cfg, progress=False)
    for seq in open_dataset("synthvl", tmp_path).sequences():
        first, later = seq.read_frame(0).mean(), seq.read_frame(len(seq) - 1).mean()
        assert first < 0.3 * later


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        generate_synthvl("/tmp/x", 1, split="dev")
    with pytest.raises(ValueError, match="positive"):
        generate_synthvl("/tmp/x", 0)
    with pytest.raises(ValueError, match="min_aspect"):
        generate_synthvl("/tmp/x", 1, config=SynthConfig(min_aspect=1.5))


def test_square_only_setting_gives_square_boxes(tmp_path):
    cfg = SynthConfig(width=160, height=120, min_frames=2, max_frames=2, min_aspect=1.0, max_aspect=1.0)
    generate_synthvl(tmp_path, 12, seed=2, config=cfg, progress=False)
    found = _first_boxes(tmp_path, cfg)
    assert len(found) >= 8 and all(abs(b[2] - b[3]) <= 1 for _, b in found)


def _first_boxes(root, cfg):
    """First-frame boxes of targets lying wholly inside the frame, with their sequences."""
    out = []
    for seq in open_dataset("synthvl", root).sequences():
        x, y, w, h = seq.boxes[0]
        if x > 0 and y > 0 and x + w < cfg.width and y + h < cfg.height:
            out.append((seq, seq.boxes[0]))
    return out


def test_aspect_ratios_vary_tall_and_wide(tmp_path):
    cfg = SynthConfig(width=160, height=120, min_frames=2, max_frames=3)
    generate_synthvl(tmp_path, 60, seed=4, config=cfg, progress=False)
    found = _first_boxes(tmp_path, cfg)
    assert len(found) >= 40
    ratio = np.array([b[2] / b[3] for _, b in found])
    assert (ratio < 0.75).mean() > 0.15 and (ratio > 1.33).mean() > 0.15, np.round(ratio, 2)
    assert ratio.min() < 0.5 and ratio.max() > 2.0
    for seq, (x, y, w, h) in found:
        cls, folder = seq.class_name, tmp_path / seq.class_name / seq.name
        if cls in SQUARE_SHAPES:  # circles and squares keep square boxes
            assert abs(w - h) <= 1, (seq.name, w, h)
        elif cls in ("rectangle", "ellipse"):
            assert not 0.75 <= w / h <= 1.33, (seq.name, w, h)
        r = w / h
        if min(w, h) >= 10 and not (0.68 < r < 0.82 or 1.22 < r < 1.47):  # clear of rounding at the threshold
            assert read_attributes(folder)["non_square"] == (not 0.75 <= r <= 1.33), (seq.name, r)


def test_boxes_are_tight_around_every_shape():
    for shape in SHAPES:
        for aspect in (1 / 3, 0.6, 1.0, 1.8, 3.0):
            obj = _Object(shape, "red", "medium", 30.0, aspect, np.array([50.0, 40.0]), np.zeros(2), 0.0, None)
            frame = np.zeros((80, 100, 3), np.uint8)
            box, area = _paste(frame, obj, np.array([3, -2]))
            ys, xs = np.nonzero(frame[..., 0])
            drawn = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert list(box) == drawn and area == len(xs), (shape, aspect)
            w, h = obj.wh
            assert abs(box[2] - w) <= 1 and abs(box[3] - h) <= 1, (shape, aspect, box, obj.wh)
    obj = _Object("star", "red", "medium", 30.0, 2.0, np.array([2.0, 40.0]), np.zeros(2), 0.0, None)
    frame = np.zeros((80, 100, 3), np.uint8)
    box, _ = _paste(frame, obj, np.zeros(2, int))  # half outside: the box is clipped to what is drawn
    ys, xs = np.nonzero(frame[..., 0])
    assert box[0] == 0 and box[2] == xs.max() + 1 and box[1] == ys.min()


def test_target_box_matches_its_pixels_in_the_frames(tmp_path):
    cfg = SynthConfig(min_frames=2, max_frames=2, textures=False, max_distractors=1, p_ambiguous=0.0,
                      p_occlusion=0.0, p_illumination=0.0, p_motion_blur=0.0, jpeg_quality=100)
    generate_synthvl(tmp_path, 12, seed=8, config=cfg, progress=False)
    checked = 0
    for seq, (x, y, w, h) in _first_boxes(tmp_path, cfg):
        if min(w, h) < 16:  # JPEG chroma subsampling blurs the colour of tiny shapes
            continue
        colour = next(c for c in COLOURS if f" {c} " in f" {seq.text} ")
        hit = np.abs(seq.read_frame(0).astype(float) - np.array(COLOURS[colour])).sum(2) < 90
        x, y, w, h = int(x), int(y), int(w), int(h)
        near = np.zeros_like(hit)
        near[max(0, y - 4):y + h + 4, max(0, x - 4):x + w + 4] = hit[max(0, y - 4):y + h + 4, max(0, x - 4):x + w + 4]
        ring = near.sum() - near[max(0, y - 1):y + h + 1, max(0, x - 1):x + w + 1].sum()
        if ring > 0.1 * (2 * w + 2 * h):  # the background around it has the target's colour
            continue
        ys, xs = np.nonzero(near)  # the target's pixels around its box (JPEG blurs thin tips: 3 px slack)
        assert np.allclose([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], [x, y, x + w, y + h], atol=3), seq.name
        checked += 1
    assert checked >= 6


def test_attributes_file_matches_the_sequence(tmp_path):
    cfg = SynthConfig(**SMALL, p_ambiguous=1.0, p_camera_shake=1.0, p_motion_blur=0.0, p_occlusion=1.0)
    names = generate_synthvl(tmp_path, 4, seed=6, config=cfg, progress=False)
    for name in names:
        folder = tmp_path / name.rsplit("-", 1)[0] / name
        line = (folder / "attributes.txt").read_text()
        assert line.endswith("\n") and len(line.strip().split(",")) == len(ATTRIBUTES)
        attrs = read_attributes(folder)
        assert attrs["dark_start"] and attrs["camera_shake"] and attrs["distractor"] and not attrs["motion_blur"]
        if "1" in (folder / "full_occlusion.txt").read_text():
            assert attrs["occlusion"]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "attributes.txt").write_text("1,0\n")
    with pytest.raises(ValueError, match="attributes.txt"):
        read_attributes(tmp_path / "bad")


def test_camera_shake_path_and_motion_blur():
    cfg = SynthConfig()
    rng = np.random.default_rng(0)
    assert not _shake_path(50, rng, cfg, on=False).any()
    path = _shake_path(200, rng, cfg, on=True)
    assert path.dtype.kind == "i" and np.abs(path).max() <= 16 and path.std() > 1.0
    frame = np.zeros((31, 31, 3), np.uint8)
    frame[:, 15] = 255  # a vertical line: horizontal motion smears it sideways, vertical motion does not
    assert (_motion_blur(frame, np.array([0.0, 0.0]), 1.0) == frame).all()
    sideways = _motion_blur(frame, np.array([6.0, 0.0]), 1.0)
    assert sideways[15, 15, 0] < 100 and sideways[15, 12, 0] > 20 and sideways[15, 18, 0] > 20
    along = _motion_blur(frame, np.array([0.0, 6.0]), 1.0)
    assert along[15, 15, 0] > 200 and along[15, 12, 0] == 0

"""SynthVL: LaSOT layout, determinism, splits, descriptions, the dark-start design."""
import numpy as np
import pytest

from allinone.data import open_dataset
from allinone.data.synthetic import COLOURS, SHAPES, SynthConfig, generate_synthvl

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
                      max_distractors=1, p_same_shape_distractor=0.0)
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

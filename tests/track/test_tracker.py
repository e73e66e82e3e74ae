"""Tracker API behaviour: order of calls, input checks, borders, sizes, mapping exactness."""
import numpy as np
import pytest
import torch

import allinone
from allinone.model.allinone import ModelOutput
from allinone.text import default_tokenizer
from allinone.track.tracker import Tracker, clip_box, hann_window
from allinone.model.head import decode_boxes

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = allinone.build_model("cpu-tiny", with_alignment=False)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    return allinone.save_model(model, path, tokenizer=default_tokenizer())


@pytest.fixture
def tracker(ckpt):
    return Tracker.from_checkpoint(ckpt)


def _frame(h=120, w=160, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_track_before_initialize_raises(tracker):
    with pytest.raises(RuntimeError, match="initialize"):
        tracker.track(_frame())


def test_boxes_finite_and_inside(tracker):
    tracker.initialize(_frame(), bbox=(40, 30, 30, 20), text="the red square on the left")
    for i in range(5):
        box, score = tracker.track(_frame(seed=i + 1))
        assert box.shape == (4,) and np.isfinite(box).all() and 0 <= score <= 1
        x, y, w, h = box
        assert x >= 0 and y >= 0 and x + w <= 160 + 1e-6 and y + h <= 120 + 1e-6
        assert w >= 10 and h >= 10 and x <= 150 and y <= 110  # at least 10 px inside


@pytest.mark.parametrize("bbox", [(0, 0, 5, 5), (150, 110, 20, 20), (-10, -10, 30, 30), (70, 50, 1, 1),
                                  (-100, -100, 400, 400)])
def test_border_tiny_and_huge_boxes(tracker, bbox):
    tracker.initialize(_frame(), bbox=bbox)
    for i in range(3):
        box, _ = tracker.track(_frame(seed=i))
        assert np.isfinite(box).all()


def test_frame_size_change(tracker):
    tracker.initialize(_frame(120, 160), bbox=(40, 30, 30, 20), text="a dog")
    box, _ = tracker.track(_frame(60, 80))
    assert box[0] + box[2] <= 80 + 1e-6 and box[1] + box[3] <= 60 + 1e-6
    tracker.track(_frame(240, 320))


def test_bad_inputs(tracker):
    with pytest.raises(ValueError, match="uint8"):
        tracker.initialize(np.zeros((10, 10, 3), np.float32), bbox=(1, 1, 2, 2))
    with pytest.raises(ValueError, match="numpy array"):
        tracker.initialize([[0]], bbox=(1, 1, 2, 2))
    with pytest.raises(ValueError, match="non-positive"):
        tracker.initialize(_frame(), bbox=(1, 1, 0, 2))
    with pytest.raises(ValueError, match="outside"):
        tracker.initialize(_frame(), bbox=(500, 500, 10, 10))
    with pytest.raises(ValueError, match="finite"):
        tracker.initialize(_frame(), bbox=(np.nan, 1, 2, 2))
    with pytest.raises(ValueError, match="bbox"):
        tracker.initialize(_frame())


def test_text_and_box_only_and_language_init(tracker):
    tracker.initialize(_frame(), bbox=(40, 30, 30, 20), text="")
    assert tracker.state.text == ""
    tracker.track(_frame(seed=3))
    with pytest.warns(UserWarning, match="truncated"):
        tracker.initialize(_frame(), bbox=(40, 30, 30, 20), text="red " * 100)
    tracker.initialize(_frame(), text="the red square")  # language only (experimental)
    assert np.isfinite(tracker.state.box_xywh).all()
    tracker.track(_frame(seed=4))
    tracker.reset()
    with pytest.raises(RuntimeError):
        tracker.track(_frame())


def test_hann_window_breaks_ties_towards_the_centre():
    score = torch.zeros(1, 1, 8, 8)
    score[0, 0, 0, 0] = 0.9  # same raw score at a corner and near the centre
    score[0, 0, 4, 4] = 0.9
    size, offset = torch.full((1, 2, 8, 8), 0.2), torch.zeros(1, 2, 8, 8)
    win = torch.from_numpy(hann_window(8)).float()
    box = decode_boxes(score * win, size, offset)[0]
    assert box[0].item() == pytest.approx(4 / 8) and box[1].item() == pytest.approx(4 / 8)
    assert hann_window(8).min() > 0 and hann_window(8).max() <= 1


def test_crop_mapping_is_exact(tracker):
    """A model that answers 'the target is where it was' must leave the box unchanged."""
    def still(features, search, keep_ratio=None):
        s = tracker.config.model.search_grid
        score = torch.full((1, 1, s, s), 1e-4)
        score[0, 0, s // 2, s // 2] = 0.9
        size = torch.full((1, 2, s, s), 0.25)  # search factor 4: the box is 1/4 of the crop
        offset = torch.zeros(1, 2, s, s)
        return ModelOutput(score, size, offset, decode_boxes(score, size, offset), torch.zeros(1, 1))
    tracker.initialize(_frame(), bbox=(50, 40, 30, 30))
    tracker.model.track_search = still
    try:
        for _ in range(3):
            box, _ = tracker.track(_frame())
            np.testing.assert_allclose(box, [50, 40, 30, 30], atol=1e-6)
    finally:
        del tracker.model.track_search


def test_clip_box_keeps_margin():
    np.testing.assert_allclose(clip_box(np.array([-50.0, -50, 20, 20]), 100, 80, 10), [0, 0, 10, 10])
    np.testing.assert_allclose(clip_box(np.array([95.0, 75, 20, 20]), 100, 80, 10), [90, 70, 10, 10])

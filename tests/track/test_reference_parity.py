"""The Tracker follows the reference tracker step for step (SPEC §2, §6).

The reference's loop is restated in `reference_oracle` (its crop, Hann window, argmax decoding,
map-back and clipping) and run beside `Tracker` with the same network (full forward per frame, as
the reference does, against the Tracker's cached template side). Boxes must agree to 1e-4 px over
a sequence whose target reaches the image borders.
"""
import numpy as np
import pytest
import torch

import reference_oracle
from allinone.data.processing import normalize_image
from allinone.model.checkpoint import load_model
from allinone.model.head import decode_boxes
from allinone.track.tracker import Tracker, default_checkpoint


def _frames(n=24, height=150, width=200):
    """A textured scene panned by a shaking camera, with a bright object drifting to the right border."""
    skimage_data = pytest.importorskip("skimage.data")
    scene = skimage_data.astronaut()  # 512x512 RGB, public domain (NASA)
    rng = np.random.default_rng(0)
    frames, x = [], 40.0
    for t in range(n):
        dx, dy = 100 + int(rng.integers(-6, 7)), 120 + int(rng.integers(-6, 7))
        frame = scene[dy:dy + height, dx:dx + width].copy()
        x = min(x + 7.5, width - 12)
        frame[60:90, int(x):int(x) + 26] = (230, 200, 40)
        frames.append(frame)
    return frames


def _reference_track(model, frames, box, text):
    cfg = model.config
    m, d = cfg.model, cfg.data
    ids, mask = model.tokenizer.encode(text)
    z, _ = reference_oracle.sample_target(frames[0], box, d.template_factor, m.template_size)
    template = normalize_image(z, d.mean, d.std)[None]
    window = torch.from_numpy(reference_oracle.hann2d(m.search_grid)).float()
    state, boxes = list(box), []
    for frame in frames[1:]:
        x, resize_factor = reference_oracle.sample_target(frame, state, d.search_factor, m.search_size)
        with torch.inference_mode():
            out = model(template, normalize_image(x, d.mean, d.std)[None], ids, mask)
        pred = decode_boxes(out.score_map * window, out.size_map, out.offset_map)[0].tolist()
        back = reference_oracle.map_box_back(state, pred, m.search_size, resize_factor)
        state = reference_oracle.clip_box(back, frame.shape[0], frame.shape[1], cfg.track.min_inside_px)
        boxes.append(state)
    return np.array(boxes)


def test_tracker_boxes_equal_the_reference_loop():
    torch.set_num_threads(1)
    model = load_model(default_checkpoint())
    frames, box, text = _frames(), [40.0, 58.0, 28.0, 34.0], "the yellow block moving right"
    expected = _reference_track(model, frames, box, text)
    tracker = Tracker(model)
    tracker.initialize(frames[0], bbox=box, text=text)
    got = np.array([tracker.track(f)[0] for f in frames[1:]])
    touches = (got[:, 0] < 1) | (got[:, 1] < 1) | (got[:, 0] + got[:, 2] > 199) | (got[:, 1] + got[:, 3] > 149)
    assert touches.any()  # search squares left the image, so padding and the border quirk were exercised
    np.testing.assert_allclose(got, expected, atol=1e-4)

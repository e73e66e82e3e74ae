"""Augmentations (allinone.data.augment): jitter statistics, flips of image/box/text, colour."""
import math

import numpy as np
import pytest

from allinone.data import augment

BOX = (100.0, 50.0, 40.0, 10.0)  # sqrt(w·h) = 20


def _offsets_and_sizes(center_jitter, scale_jitter, n=20000, seed=0):
    rng = np.random.default_rng(seed)
    boxes = np.array([augment.jitter_box(BOX, center_jitter, scale_jitter, rng) for _ in range(n)])
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    offsets = centre - np.array([120.0, 55.0])
    return offsets, boxes[:, 2:]


@pytest.mark.parametrize("center_jitter", [3.0, 1.5])
def test_centre_jitter_is_uniform_zero_mean_and_scales(center_jitter):
    offsets, sizes = _offsets_and_sizes(center_jitter, 0.0)
    np.testing.assert_allclose(sizes, np.broadcast_to([40.0, 10.0], sizes.shape))
    rel = offsets / 20.0  # in units of sqrt(w·h)
    half = 0.5 * center_jitter  # OSTrack: uniform in ±0.5·center_jitter·sqrt(w'·h')
    assert np.abs(rel.mean(axis=0)).max() < 0.03 * half
    np.testing.assert_allclose(rel.std(axis=0), 2 * half / math.sqrt(12), rtol=0.03)
    assert np.abs(rel).max() <= half and np.abs(rel).max() > 0.99 * half
    assert abs(np.corrcoef(rel.T)[0, 1]) < 0.03  # independent axes


def test_scale_jitter_log_std_and_offset_follow_the_jittered_size():
    offsets, sizes = _offsets_and_sizes(3.0, 0.25)
    log_ratio = np.log(sizes / np.array([40.0, 10.0]))
    assert np.abs(log_ratio.mean(axis=0)).max() < 0.01
    np.testing.assert_allclose(log_ratio.std(axis=0), 0.25, rtol=0.03)
    # the offset bound scales with the jittered box: |offset| ≤ 1.5·sqrt(w'·h')
    assert (np.abs(offsets) <= 1.5 * np.sqrt(sizes.prod(axis=1, keepdims=True)) + 1e-9).all()


def test_zero_jitter_is_identity_and_consumes_no_randomness():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    np.testing.assert_allclose(augment.jitter_box(BOX, 0.0, 0.0, rng), BOX)
    assert rng.bit_generator.state == state


def test_hflip_box_mirrors_and_is_an_involution():
    box = np.array([10.0, 20.0, 30.0, 5.0])
    flipped = augment.hflip_box(box, 100)
    np.testing.assert_allclose(flipped, [100 - 10 - 30, 20, 30, 5])
    np.testing.assert_allclose(augment.hflip_box(flipped, 100), box)


def test_hflip_image_moves_content_with_the_box():
    image = np.zeros((40, 64, 3), dtype=np.uint8)
    x, y, w, h = 5, 10, 12, 7
    image[y:y + h, x:x + w] = (255, 0, 0)
    flipped = augment.hflip_image(image)
    fx, fy, fw, fh = augment.hflip_box((x, y, w, h), 64).astype(int)
    assert (flipped[fy:fy + fh, fx:fx + fw] == (255, 0, 0)).all()
    assert flipped[..., 0].sum() == image[..., 0].sum() and flipped.flags.c_contiguous


@pytest.mark.parametrize("text,expected", [
    ("the dog on the left", "the dog on the right"),
    ("the dog on the right", "the dog on the left"),
    ("Left dog, RIGHT cat", "Right dog, LEFT cat"),
    ("leftover food to the left-hand side", "leftover food to the right-hand side"),
    ("the rightmost car, turning leftwards", "the leftmost car, turning rightwards"),
    ("brightly lit", "brightly lit"),
    ("", ""),
    (None, None),
])
def test_hflip_text_swaps_whole_words_keeping_case(text, expected):
    assert augment.hflip_text(text) == expected
    if text:
        assert augment.hflip_text(augment.hflip_text(text)) == text


def test_grayscale_and_brightness():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
    gray = augment.to_grayscale(image)
    assert gray.shape == image.shape and gray.dtype == np.uint8
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    expected = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    assert np.abs(gray[..., 0] - expected).max() <= 1.0

    factors = np.array([augment.brightness_factor(rng, 0.2) for _ in range(5000)])
    assert factors.min() >= 0.8 and factors.max() <= 1.2 and abs(factors.mean() - 1.0) < 0.01
    assert augment.brightness_factor(rng, 0.0) == 1.0
    bright = augment.adjust_brightness(image, 1.2)
    assert bright.dtype == np.float32 and bright.max() <= 255.0
    np.testing.assert_allclose(bright, np.minimum(image * 1.2, 255.0), rtol=1e-6)

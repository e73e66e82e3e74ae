"""Crop geometry (allinone.data.processing): round trips, exact pixels, mean padding, normalisation."""
import math

import numpy as np
import pytest
import torch

from allinone.data.processing import (box_from_crop, box_to_crop, crop_square, crop_window,
                                      normalize_image)


def _rectangle_image(box_xywh, shape=(120, 160)):
    """Black image with a white axis-aligned rectangle covering exactly the integer box."""
    image = np.zeros(shape + (3,), dtype=np.uint8)
    x, y, w, h = box_xywh
    image[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = 255
    return image


def _found_box(crop):
    """x, y, w, h (crop pixels) of the region brighter than half, at sub-pixel precision.

    Bilinear resampling spreads each edge over about one crop pixel; the half-intensity level is
    where the edge lies, so summed coverage along a row/column measures the extent.
    """
    cover = crop[..., 0].astype(np.float64) / 255.0
    cols, rows = cover.max(axis=0), cover.max(axis=1)
    xs, ys = np.flatnonzero(cols > 0.5), np.flatnonzero(rows > 0.5)
    w = cover[int(ys.mean())].sum()
    h = cover[:, int(xs.mean())].sum()
    x = (cover[int(ys.mean())] * (np.arange(crop.shape[1]) + 0.5)).sum() / w - 0.5 * w
    y = (cover[:, int(xs.mean())] * (np.arange(crop.shape[0]) + 0.5)).sum() / h - 0.5 * h
    return np.array([x, y, w, h])


@pytest.mark.parametrize("box", [(10.0, 20.0, 30.0, 40.0), (0.3, 0.7, 5.5, 80.2), (-12.0, 5.0, 20.0, 20.0),
                                 (150.0, 110.0, 30.0, 25.0), (3.0, 4.0, 0.5, 0.5)])
@pytest.mark.parametrize("factor,out_size", [(2.0, 128), (4.0, 256), (4.0, 37)])
def test_box_round_trip_is_exact(box, factor, out_size):
    window = crop_window(box, factor, out_size)
    back = box_from_crop(box_to_crop(box, window), window)
    np.testing.assert_allclose(back, box, atol=1e-9)


@pytest.mark.parametrize("factor,out_size", [(2.0, 64), (2.0, 128), (4.0, 256)])
def test_box_is_centred_in_its_crop(factor, out_size):
    box = (17.0, 33.0, 21.0, 9.0)
    window = crop_window(box, factor, out_size)
    assert window.side == math.ceil(math.sqrt(21.0 * 9.0) * factor)
    x, y, w, h = box_to_crop(box, window)
    assert (x + w / 2, y + h / 2) == pytest.approx((out_size / 2, out_size / 2))


@pytest.mark.parametrize("box", [(40, 30, 24, 16),     # inside
                                 (0, 0, 20, 30),        # touching the top-left corner
                                 (140, 100, 20, 20),    # touching the bottom-right corner
                                 (150, 50, 10, 24)])    # at the right border, crop far outside
@pytest.mark.parametrize("factor,out_size", [(2.0, 128), (4.0, 256), (4.0, 96)])
def test_pixels_round_trip_within_one_pixel(box, factor, out_size):
    """A drawn rectangle, cropped, found in the crop and mapped back, lands on its box (≤ 1 px)."""
    image = _rectangle_image(box)
    window = crop_window(box, factor, out_size)
    crop = crop_square(image, window, out_size, fill=(0, 0, 0))
    found = box_from_crop(_found_box(crop), window)
    np.testing.assert_allclose(found, box, atol=1.0)
    np.testing.assert_allclose(_found_box(crop), box_to_crop(box, window), atol=1.0 * window.scale + 0.5)


def test_box_over_the_border_maps_to_its_visible_part():
    box = (-10, 40, 30, 20)  # 10 px outside the left border
    image = _rectangle_image(box)
    window = crop_window(box, 4.0, 128)
    crop = crop_square(image, window, 128, fill=(0, 0, 0))
    found = box_from_crop(_found_box(crop), window)
    np.testing.assert_allclose(found, (0, 40, 20, 20), atol=1.0)


def test_unit_scale_crop_equals_the_image_pixels():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    box = (20, 10, 8, 8)  # side ceil(8·2) = 16, centre (24, 14) → window from (16, 6)
    window = crop_window(box, 2.0, 16)
    assert (window.x0, window.y0, window.side, window.scale) == (16.0, 6.0, 16.0, 1.0)
    np.testing.assert_array_equal(crop_square(image, window, 16), image[6:22, 16:32])


def test_mean_padding_outside_the_image():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    mean = image.reshape(-1, 3).mean(axis=0)
    window = crop_window((0, 0, 8, 8), 2.0, 16)  # window from (-4, -4), side 16, scale 1
    crop = crop_square(image, window, 16)
    np.testing.assert_array_equal(crop[4:, 4:], image[:12, :12])
    padding = np.concatenate([crop[:4].reshape(-1, 3), crop[:, :4].reshape(-1, 3)])
    np.testing.assert_allclose(padding, np.broadcast_to(mean, padding.shape), atol=0.5)
    explicit = crop_square(image, window, 16, fill=(1, 2, 3))
    assert (explicit[:4, :4] == (1, 2, 3)).all()


def test_crop_entirely_outside_is_all_fill():
    image = np.full((30, 30, 3), 200, dtype=np.uint8)
    window = crop_window((100, 100, 10, 10), 2.0, 32)
    crop = crop_square(image, window, 32, fill=(7, 8, 9))
    assert (crop == (7, 8, 9)).all() and crop.shape == (32, 32, 3) and crop.dtype == np.uint8


def test_normalize_image():
    crop = np.zeros((4, 5, 3), dtype=np.uint8)
    crop[..., 0], crop[..., 1], crop[..., 2] = 0, 128, 255
    t = normalize_image(crop)
    assert t.shape == (3, 4, 5) and t.dtype == torch.float32
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for c, v in enumerate((0, 128, 255)):
        assert torch.allclose(t[c], torch.full((4, 5), (v / 255 - mean[c]) / std[c]), atol=1e-5)
    # float input (a brightness-adjusted crop) is accepted and not re-quantised
    t2 = normalize_image(crop.astype(np.float32) * 0.5)
    assert torch.allclose(t2[1], torch.full((4, 5), (64 / 255 - mean[1]) / std[1]), atol=1e-5)

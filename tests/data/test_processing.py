"""Crop geometry (allinone.data.processing): the reference's crop pixel for pixel, box mapping, normalisation."""
import math

import cv2
import numpy as np
import pytest
import torch

import reference_oracle
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
def test_box_round_trip_moves_by_the_reference_half_pixel(box, factor, out_size):
    """Training targets sit half a crop pixel up-left of exact (transform_image_to_crop); the
    tracker maps back without that shift (map_box_back), exactly as the reference does."""
    window = crop_window(box, factor, out_size)
    back = box_from_crop(box_to_crop(box, window), window)
    shift = 0.5 / window.scale
    np.testing.assert_allclose(back, np.asarray(box) - [shift, shift, 0, 0], atol=1e-9)


@pytest.mark.parametrize("factor,out_size", [(2.0, 64), (2.0, 128), (4.0, 256)])
def test_box_centre_is_the_reference_crop_centre(factor, out_size):
    box = (17.0, 33.0, 21.0, 9.0)
    window = crop_window(box, factor, out_size)
    assert window.side == math.ceil(math.sqrt(21.0 * 9.0) * factor) and isinstance(window.side, int)
    x, y, w, h = box_to_crop(box, window)
    assert (x + w / 2, y + h / 2) == pytest.approx(((out_size - 1) / 2, (out_size - 1) / 2))
    assert (w, h) == pytest.approx((21.0 * window.scale, 9.0 * window.scale))


@pytest.mark.parametrize("box", [(40, 30, 24, 16),     # inside
                                 (0, 0, 20, 30),        # touching the top-left corner
                                 (140, 100, 20, 20),    # touching the bottom-right corner
                                 (150, 50, 10, 24)])    # at the right border, crop far outside
@pytest.mark.parametrize("factor,out_size", [(2.0, 128), (4.0, 256), (4.0, 96)])
def test_pixels_round_trip_within_one_pixel(box, factor, out_size):
    """A drawn rectangle, cropped, found in the crop and mapped back, lands on its box (≤ 1 px)."""
    image = _rectangle_image(box)
    window = crop_window(box, factor, out_size)
    crop = crop_square(image, window, out_size)
    found = box_from_crop(_found_box(crop), window)
    np.testing.assert_allclose(found, box, atol=1.0 + 0.5 / window.scale)


def test_box_over_the_border_maps_to_its_visible_part():
    box = (-10, 40, 30, 20)  # 10 px outside the left border
    image = _rectangle_image(box)
    window = crop_window(box, 4.0, 128)
    crop = crop_square(image, window, 128)
    found = box_from_crop(_found_box(crop), window)
    np.testing.assert_allclose(found, (0, 40, 20, 20), atol=1.0)


# --------------------------------------------------------------------------- hand-computed pixels


def _random_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(1, 256, size=(height, width, 3), dtype=np.uint8)


def test_crop_inside_the_image_is_the_image_pixels():
    image = _random_image(60, 80)
    box = (20, 10, 8, 8)  # side ceil(8·2) = 16, centre (24, 14) → corner (16, 6)
    window = crop_window(box, 2.0, 16)
    assert (window.x0, window.y0, window.side, window.scale) == (16.0, 6.0, 16, 1.0)
    np.testing.assert_array_equal(crop_square(image, window, 16), image[6:22, 16:32])


def test_crop_leaving_the_top_left_is_zero_padded():
    image = _random_image(40, 50)
    window = crop_window((0, 0, 8, 8), 2.0, 16)  # corner (-4, -4), side 16
    crop = crop_square(image, window, 16)
    np.testing.assert_array_equal(crop[4:, 4:], image[:12, :12])
    assert (crop[:4] == 0).all() and (crop[:, :4] == 0).all()


def test_crop_reaching_the_right_bottom_border_blackens_the_last_column_and_row():
    image = _random_image(40, 50)  # H = 40, W = 50
    window = crop_window((44, 34, 4, 4), 2.0, 8)  # side 8, corner (42, 32): the square ends at x = 50 = W
    crop = crop_square(image, window, 8)
    np.testing.assert_array_equal(crop[:7, :7], image[32:39, 42:49])
    assert (crop[7] == 0).all() and (crop[:, 7] == 0).all()  # image row 39 / column 49 turned black


def test_crop_one_pixel_short_of_the_border_keeps_every_pixel():
    image = _random_image(40, 50)
    window = crop_window((43, 33, 4, 4), 2.0, 8)  # corner (41, 31), ends at x = 49 = W - 1
    np.testing.assert_array_equal(crop_square(image, window, 8), image[31:39, 41:49])


def test_crop_leaving_the_right_side():
    image = _random_image(40, 50)
    window = crop_window((46, 10, 4, 4), 2.0, 8)  # corner (44, 8), ends at x = 52 > W
    crop = crop_square(image, window, 8)
    np.testing.assert_array_equal(crop[:, :5], image[8:16, 44:49])
    assert (crop[:, 5:] == 0).all()


def test_crop_leaving_the_bottom():
    image = _random_image(40, 50)
    window = crop_window((10, 37, 4, 4), 2.0, 8)  # corner (8, 35), ends at y = 43 > H
    crop = crop_square(image, window, 8)
    np.testing.assert_array_equal(crop[:4], image[35:39, 8:16])
    assert (crop[4:] == 0).all()


@pytest.mark.parametrize("x,expected_left", [(6.5, 4), (7.5, 6), (6.4, 4), (6.6, 5)])
def test_corner_is_rounded_half_to_even_like_python_round(x, expected_left):
    # side 8, corner x0 = x + 2 − 4 = x − 2: 4.5 → 4, 5.5 → 6 (banker's rounding), 4.4 → 4, 4.6 → 5
    image = _random_image(30, 30)
    window = crop_window((x, 10, 4, 4), 2.0, 8)
    assert window.left == expected_left and window.x0 == pytest.approx(x - 2)
    np.testing.assert_array_equal(crop_square(image, window, 8), image[8:16, expected_left:expected_left + 8])


def test_resize_is_cv2_bilinear_of_the_padded_square():
    image = _random_image(40, 50)
    window = crop_window((-3, 30, 10, 7), 4.0, 32)  # side ceil(sqrt(70)·4) = 34, leaves left and bottom
    # centre (2, 33.5): corner (-15, 16.5) → (-15, 16) (16.5 rounds to even); the square ends at
    # y = 50 ≥ H, so image rows 16..38 are kept (row 39 turns black) and columns 0..18
    assert (window.left, window.top, window.side) == (-15, 16, 34)
    padded = np.zeros((34, 34, 3), dtype=np.uint8)
    padded[0:23, 15:34] = image[16:39, 0:19]
    expected = cv2.resize(padded, (32, 32), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(crop_square(image, window, 32), expected)


def test_crop_equals_the_reference_crop_on_random_boxes():
    rng = np.random.default_rng(3)
    image = _random_image(120, 160, seed=4)
    for _ in range(300):
        w, h = rng.uniform(2, 90, size=2)
        x, y = rng.uniform(-w / 2, 160 - w / 2), rng.uniform(-h / 2, 120 - h / 2)
        factor, out_size = [(2.0, 128), (4.0, 256), (4.0, 128), (2.0, 64)][rng.integers(4)]
        window = crop_window((x, y, w, h), factor, out_size)
        np.testing.assert_array_equal(crop_square(image, window, out_size),
                                      reference_oracle.sample_target(image, (x, y, w, h), factor, out_size)[0])


def test_crop_entirely_outside_is_black():
    image = np.full((30, 30, 3), 200, dtype=np.uint8)
    window = crop_window((100, 100, 10, 10), 2.0, 32)
    crop = crop_square(image, window, 32)
    assert (crop == 0).all() and crop.shape == (32, 32, 3) and crop.dtype == np.uint8


def test_huge_crops_are_resampled_without_a_giant_buffer(monkeypatch):
    import allinone.data.processing as processing

    image = _random_image(120, 160)
    window = crop_window((-20, 30, 60, 50), 4.0, 64)
    exact = crop_square(image, window, 64)
    monkeypatch.setattr(processing, "MAX_PADDED_SIDE", 16)  # force the warpAffine path
    approx = crop_square(image, window, 64)
    assert approx.shape == exact.shape
    assert np.abs(approx.astype(int) - exact.astype(int)).mean() < 2.0


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

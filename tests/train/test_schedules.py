"""Learning-rate and keep-ratio schedules against the paper's recipe."""
import math

import pytest

from allinone import load_config
from allinone.train.schedules import keep_ratio, lr_factor


def test_step_schedule_drops_tenfold_at_epoch_240_of_300():
    t = load_config("paper-vitb256").train
    total = 3000  # 10 steps per epoch
    assert lr_factor(0, total, t) == 1.0
    assert lr_factor(2399, total, t) == 1.0
    assert lr_factor(2400, total, t) == pytest.approx(0.1)
    assert lr_factor(2999, total, t) == pytest.approx(0.1)


def test_warmup_then_cosine():
    t = load_config("paper-vitb256", ["train.lr_schedule=cosine", "train.warmup_steps=10"]).train
    assert lr_factor(0, 110, t) == pytest.approx(0.1)
    assert lr_factor(9, 110, t) == pytest.approx(1.0)
    assert lr_factor(60, 110, t) == pytest.approx(0.5)  # half-way through the cosine
    assert lr_factor(110, 110, t) == pytest.approx(0.0, abs=1e-12)


def test_keep_ratio_ramp_matches_paper():
    t = load_config("paper-vitb256").train  # 1.0 until epoch 20, cosine to 0.7 at epoch 100
    total = 300
    assert keep_ratio(0, total, t, 0.7) == 1.0
    assert keep_ratio(19, total, t, 0.7) == 1.0
    assert keep_ratio(20, total, t, 0.7) == pytest.approx(1.0)
    assert keep_ratio(60, total, t, 0.7) == pytest.approx(0.85)  # cosine midpoint
    expected = 0.7 + 0.3 * 0.5 * (1 + math.cos(math.pi * 0.25))
    assert keep_ratio(40, total, t, 0.7) == pytest.approx(expected)
    assert keep_ratio(100, total, t, 0.7) == pytest.approx(0.7)
    assert keep_ratio(299, total, t, 0.7) == pytest.approx(0.7)
    ratios = [keep_ratio(s, total, t, 0.7) for s in range(total)]
    assert all(a >= b for a, b in zip(ratios, ratios[1:]))  # never increases

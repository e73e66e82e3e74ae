"""Loss terms against hand computations."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from allinone.config import LossConfig
from allinone.model.alignment import nt_xent
from allinone.train.losses import AllInOneLoss, focal_loss, gaussian_heatmap, gaussian_radius


def test_gaussian_radius_by_hand():
    h, w, o = 4.0, 6.0, 0.7
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    r1 = (b1 + math.sqrt(b1 * b1 - 4 * c1)) / 2
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    r2 = (b2 + math.sqrt(b2 * b2 - 16 * c2)) / 2
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    r3 = (b3 + math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2
    assert gaussian_radius(h, w, o) == pytest.approx(min(r1, r2, r3))


def test_heatmap_peak_and_symmetry():
    box = torch.tensor([[0.53, 0.47, 0.5, 0.5]])  # centre cell (8, 7) on a 16x16 map
    heat = gaussian_heatmap(box, 16)[0]
    assert heat[7, 8] == 1.0 and (heat == 1.0).sum() == 1
    r = int(gaussian_radius(8, 8, 0.7))
    assert r >= 1
    torch.testing.assert_close(heat[7, 8 - 1], heat[7, 8 + 1])
    torch.testing.assert_close(heat[7 - 1, 8], heat[7, 8 - 1])
    assert heat[7, 8 + r + 1] == 0  # outside the radius window


def test_focal_loss_matches_numpy():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.05, 0.95, (2, 3, 3))
    gt = rng.uniform(0, 0.9, (2, 3, 3))
    gt[0, 1, 1] = 1.0
    gt[1, 2, 0] = 1.0
    pos = gt == 1
    pos_l = np.sum(np.log(pred[pos]) * (1 - pred[pos]) ** 2)
    neg_l = np.sum(np.log(1 - pred[~pos]) * pred[~pos] ** 2 * (1 - gt[~pos]) ** 4)
    expected = -(pos_l + neg_l) / 2
    got = focal_loss(torch.tensor(pred), torch.tensor(gt))
    assert got.item() == pytest.approx(expected, rel=1e-9)
    gt_nopos = np.minimum(gt, 0.5)
    expected0 = -np.sum(np.log(1 - pred) * pred ** 2 * (1 - gt_nopos) ** 4)
    assert focal_loss(torch.tensor(pred), torch.tensor(gt_nopos)).item() == pytest.approx(expected0, rel=1e-9)


def _nt_xent_brute(a, b, t):
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=-1)
    n = a.shape[0]
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = [math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k != i]
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / sum(sims))
    return total / (2 * n)


def test_nt_xent_equals_brute_force_and_prefers_aligned_pairs():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    assert nt_xent(a, b, 0.5).item() == pytest.approx(_nt_xent_brute(a, b, 0.5), rel=1e-5)
    aligned = nt_xent(a, a, 0.5).item()
    assert aligned < nt_xent(a, b, 0.5).item()
    assert aligned < nt_xent(a, a[torch.tensor([1, 2, 3, 4, 0])], 0.5).item()
    assert nt_xent(a[:1], b[:1]).item() == pytest.approx(0.0, abs=1e-7)  # N=1: no negatives
    x = a.clone().requires_grad_()
    nt_xent(x, b).backward()
    assert x.grad.abs().sum() > 0


def _out(b=4, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    score = torch.rand(b, 1, 8, 8, generator=g).clamp(1e-4, 1 - 1e-4)
    boxes = torch.rand(b, 4, generator=g) * 0.5 + 0.25
    v = [torch.nn.functional.normalize(torch.randn(b, d, generator=g), dim=-1) for _ in range(3)]
    return SimpleNamespace(score_map=score, boxes=boxes, v_x=v[0], v_z=v[1], v_l=v[2])


def test_total_is_weighted_sum_and_no_text_samples_are_ignored():
    crit = AllInOneLoss(LossConfig())
    out = _out()
    gt = torch.tensor([[0.5, 0.5, 0.3, 0.4]] * 4)
    has_text = torch.tensor([True, True, True, False])
    total, s = crit(out, gt, has_text)
    assert total.item() == pytest.approx(s["focal"] + 2 * s["giou"] + 5 * s["l1"] + s["cma"] + s["ima"], rel=1e-6)
    expected_cma = 0.25 * (nt_xent(out.v_x[:3], out.v_l[:3], 0.5) + nt_xent(out.v_z[:3], out.v_l[:3], 0.5))
    assert s["cma"] == pytest.approx(expected_cma.item(), rel=1e-6)
    out.v_l[3] = -out.v_l[3]  # the text vector of the sample without text has no effect
    assert crit(out, gt, has_text)[0].item() == pytest.approx(total.item(), rel=1e-7)
    out.v_l[0] = -out.v_l[0]
    assert crit(out, gt, has_text)[0].item() != pytest.approx(total.item(), rel=1e-7)


def test_without_alignment_vectors_only_box_terms():
    out = _out()
    out.v_x = out.v_z = out.v_l = None
    gt = out.boxes.clone()  # perfect boxes: GIoU and L1 vanish
    total, s = AllInOneLoss(LossConfig())(out, gt, torch.ones(4, dtype=torch.bool))
    assert "cma" not in s and "ima" not in s
    assert s["giou"] == pytest.approx(0.0, abs=1e-6) and s["l1"] == 0.0 and s["iou"] == pytest.approx(1.0)
    assert total.item() == pytest.approx(s["focal"], rel=1e-6)

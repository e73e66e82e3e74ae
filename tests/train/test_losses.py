"""Loss terms against hand computations."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from allinone.config import LossConfig
from allinone.model.alignment import nt_xent
from allinone.train.losses import (
    AllInOneLoss, focal_loss, gaussian_heatmap, gaussian_radius, giou_loss, l1_loss)

# ----------------------------------------------------------------------------- heat map


def test_gaussian_radius_by_hand():
    h, w, o = 4.0, 6.0, 0.7
    # r1: a=1, b=10, c=24·0.3/1.7; r2: a=4, b=20, c=7.2; r3: a=2.8, b=−14, c=−7.2 (each (b+√(b²−4ac))/2)
    r1 = (10 + math.sqrt(100 - 4 * 24 * 0.3 / 1.7)) / 2
    r2 = (20 + math.sqrt(400 - 16 * 7.2)) / 2
    r3 = (-14 + math.sqrt(196 - 4 * 2.8 * -7.2)) / 2
    assert r3 < r1 and r3 < r2
    assert gaussian_radius(h, w, o) == pytest.approx(r3, rel=1e-12)
    assert gaussian_radius(h, w, o) == pytest.approx(1.316249, abs=1e-6)
    # the tensor form agrees and is symmetric in h, w
    t = gaussian_radius(torch.tensor([h, w], dtype=torch.float64), torch.tensor([w, h], dtype=torch.float64), o)
    torch.testing.assert_close(t, torch.tensor([r3, r3], dtype=torch.float64))


def _draw_umich_gaussian(box, s, min_overlap=0.7):
    """Brute-force reference: CenterNet's draw_umich_gaussian into an empty s×s map."""
    cx, cy, w, h = box
    r = max(0, int(gaussian_radius(h * s, w * s, min_overlap)))
    sigma = (2 * r + 1) / 6
    x0, y0 = min(max(int(cx * s), 0), s - 1), min(max(int(cy * s), 0), s - 1)
    heat = np.zeros((s, s))
    for y in range(max(0, y0 - r), min(s, y0 + r + 1)):
        for x in range(max(0, x0 - r), min(s, x0 + r + 1)):
            g = math.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma * sigma))
            heat[y, x] = max(heat[y, x], g)
    return heat


def test_heatmap_peak_symmetry_and_window():
    box = torch.tensor([[0.53, 0.47, 0.5, 0.5]])  # centre cell x=8, y=7 on a 16x16 map
    heat = gaussian_heatmap(box, 16)[0]
    r = int(gaussian_radius(8, 8, 0.7))  # r3 = (−22.4 + √716.8) / 2 ≈ 2.19
    assert r == 2
    assert heat[7, 8] == 1.0 and (heat == 1.0).sum() == 1
    assert heat.max() == 1.0 and (heat[heat != 1.0] < 1.0).all()
    win = heat[7 - r:7 + r + 1, 8 - r:8 + r + 1]  # (2r+1)² window around the peak
    torch.testing.assert_close(win, win.flip(0))
    torch.testing.assert_close(win, win.flip(1))
    torch.testing.assert_close(win, win.t())
    sigma = (2 * r + 1) / 6
    assert heat[7, 9].item() == pytest.approx(math.exp(-1 / (2 * sigma ** 2)), rel=1e-6)
    assert heat[7, 8 + r + 1] == 0 and heat[7 - r - 1, 8] == 0  # nothing outside the window
    assert heat.sum() == pytest.approx(win.sum().item())


def test_heatmap_matches_brute_force_incl_edges_and_tiny_boxes():
    boxes = torch.tensor([
        [0.53, 0.47, 0.5, 0.5],
        [1.0, 0.0, 0.3, 0.2],      # centre on the border: clamped into the map, window cut
        [-0.2, 1.3, 0.1, 0.1],     # centre outside the crop: clamped
        [0.5, 0.5, 0.01, 0.01],    # radius 0: only the peak
        [0.31, 0.74, 0.9, 0.25],   # elongated
    ])
    heat = gaussian_heatmap(boxes, 16)
    assert heat.shape == (5, 16, 16) and heat.dtype == torch.float32
    for i, b in enumerate(boxes.tolist()):
        np.testing.assert_allclose(heat[i].numpy(), _draw_umich_gaussian(b, 16), rtol=1e-6, atol=1e-7)
        assert (heat[i] == 1.0).sum() == 1
    assert heat[1, 0, 15] == 1.0 and heat[2, 15, 0] == 1.0
    assert heat[3].sum() == 1.0


# ----------------------------------------------------------------------------- focal, GIoU, L1


def _focal_numpy(pred, gt):
    pos = gt == 1
    pos_l = np.sum(np.log(pred[pos]) * (1 - pred[pos]) ** 2)
    neg_l = np.sum(np.log(1 - pred[~pos]) * pred[~pos] ** 2 * (1 - gt[~pos]) ** 4)
    n = pos.sum()
    return -neg_l if n == 0 else -(pos_l + neg_l) / n


def test_focal_loss_matches_numpy():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.05, 0.95, (2, 3, 3))
    gt = rng.uniform(0, 0.9, (2, 3, 3))
    gt[0, 1, 1] = 1.0
    gt[1, 2, 0] = 1.0
    got = focal_loss(torch.tensor(pred), torch.tensor(gt))
    assert got.item() == pytest.approx(_focal_numpy(pred, gt), rel=1e-12)
    # one entry by hand: a positive with p = 0.5 contributes log(0.5)·0.25
    p1, g1 = np.full((1, 1, 1), 0.5), np.ones((1, 1, 1))
    assert focal_loss(torch.tensor(p1), torch.tensor(g1)).item() == pytest.approx(-math.log(0.5) * 0.25)


def test_focal_loss_without_positives_is_the_negative_term():
    rng = np.random.default_rng(1)
    pred = rng.uniform(0.05, 0.95, (2, 3, 3))
    gt = rng.uniform(0, 0.5, (2, 3, 3))
    expected = -np.sum(np.log(1 - pred) * pred ** 2 * (1 - gt) ** 4)
    got = focal_loss(torch.tensor(pred), torch.tensor(gt))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    assert got.item() == pytest.approx(_focal_numpy(pred, gt), rel=1e-12)


def test_giou_and_l1_loss_by_hand():
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    gt = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0]])
    loss, iou = giou_loss(pred, gt)
    # GIoU: 1/7 − 2/9 and −1/3 (see test_box_ops); IoU 1/7 and 0
    assert loss.item() == pytest.approx(((1 - (1 / 7 - 2 / 9)) + (1 + 1 / 3)) / 2, rel=1e-6)
    assert iou.item() == pytest.approx(1 / 14, rel=1e-6)
    # |Δ| = (1,1,1,1) and (2,0,2,0): 8 over 8 coordinates
    assert l1_loss(pred, gt).item() == pytest.approx(8 / 8)
    assert l1_loss(pred, pred + torch.tensor([0.1, 0.0, -0.3, 0.0])).item() == pytest.approx(0.4 / 4)


def test_giou_loss_finite_for_degenerate_prediction():
    pred = torch.tensor([[0.5, 0.5, 0.5, 0.5]], requires_grad=True)
    gt = torch.tensor([[0.2, 0.2, 0.6, 0.6]])
    loss, iou = giou_loss(pred, gt)
    loss.backward()
    assert torch.isfinite(loss) and iou.item() == 0.0 and torch.isfinite(pred.grad).all()


# ----------------------------------------------------------------------------- NT-Xent


def _nt_xent_brute(a, b, t):
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=-1).double()
    n = a.shape[0]
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        denominator = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("n,t", [(5, 0.5), (3, 0.1), (2, 1.0)])
def test_nt_xent_equals_brute_force(n, t):
    g = torch.Generator().manual_seed(n)
    a, b = torch.randn(n, 8, generator=g), 3 * torch.randn(n, 8, generator=g)  # b not unit length
    assert nt_xent(a, b, t).item() == pytest.approx(_nt_xent_brute(a, b, t), rel=1e-5)
    assert nt_xent(b, a, t).item() == pytest.approx(nt_xent(a, b, t).item(), rel=1e-6)


def test_nt_xent_prefers_aligned_pairs_and_has_gradients():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    aligned = nt_xent(a, a, 0.5).item()
    assert aligned < nt_xent(a, b, 0.5).item()
    assert aligned < nt_xent(a, a[torch.tensor([1, 2, 3, 4, 5, 0])], 0.5).item()
    x = a.clone().requires_grad_()
    nt_xent(x, b).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_nt_xent_small_batches():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 8, generator=g), torch.randn(1, 8, generator=g)
    assert nt_xent(a, b).item() == pytest.approx(0.0, abs=1e-7)  # N=1: only the positive, log 1 = 0
    empty = torch.zeros(0, 8, requires_grad=True)
    zero = nt_xent(empty, torch.zeros(0, 8))
    assert zero.shape == () and zero.item() == 0.0 and zero.dtype == empty.dtype
    zero.backward()  # attached to the graph: callers need no special case
    with pytest.raises(ValueError, match="one shape"):
        nt_xent(torch.zeros(3, 8), torch.zeros(2, 8))


# ----------------------------------------------------------------------------- the whole objective


def _out(b=4, d=6, s=8, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    score = torch.rand(b, 1, s, s, generator=g).clamp(1e-4, 1 - 1e-4)
    boxes = torch.rand(b, 4, generator=g) * 0.5 + 0.25
    v = [torch.nn.functional.normalize(torch.randn(b, d, generator=g), dim=-1).requires_grad_(grad)
         for _ in range(3)]
    return SimpleNamespace(score_map=score, boxes=boxes, v_x=v[0], v_z=v[1], v_l=v[2])


CFG = LossConfig(focal_weight=0.7, giou_weight=1.5, l1_weight=3.0, cma_weight=0.2, ima_weight=0.6,
                 temperature=0.3)


def test_total_is_the_weighted_sum_of_the_reported_terms():
    out = _out()
    gt = torch.tensor([[0.5, 0.5, 0.3, 0.4], [0.4, 0.6, 0.2, 0.2], [0.55, 0.45, 0.5, 0.3], [0.3, 0.3, 0.1, 0.4]])
    has_text = torch.tensor([True, True, True, False])
    total, s = AllInOneLoss(CFG)(out, gt, has_text)
    assert set(s) == {"loss", "focal", "giou", "l1", "cma", "ima", "iou"}
    assert all(isinstance(v, float) for v in s.values())
    assert s["loss"] == pytest.approx(total.item())
    assert total.item() == pytest.approx(
        0.7 * s["focal"] + 1.5 * s["giou"] + 3.0 * s["l1"] + s["cma"] + s["ima"], rel=1e-6)
    # each term against its definition
    focal = focal_loss(out.score_map[:, 0], gaussian_heatmap(gt, 8))
    pred_xyxy = torch.cat([out.boxes[:, :2] - out.boxes[:, 2:] / 2, out.boxes[:, :2] + out.boxes[:, 2:] / 2], 1)
    gt_xyxy = torch.cat([gt[:, :2] - gt[:, 2:] / 2, gt[:, :2] + gt[:, 2:] / 2], 1)
    giou, iou = giou_loss(pred_xyxy, gt_xyxy)
    t = has_text
    cma = 0.2 * (nt_xent(out.v_x[t], out.v_l[t], 0.3) + nt_xent(out.v_z[t], out.v_l[t], 0.3))
    ima = 0.6 * nt_xent(out.v_x, out.v_z, 0.3)
    for key, ref in [("focal", focal), ("giou", giou), ("iou", iou), ("cma", cma), ("ima", ima),
                     ("l1", (pred_xyxy - gt_xyxy).abs().mean())]:
        assert s[key] == pytest.approx(ref.item(), rel=1e-6), key


def test_samples_without_text_do_not_change_the_cross_modal_term():
    crit = AllInOneLoss(LossConfig())
    out = _out()
    gt = out.boxes.clone()
    has_text = torch.tensor([True, False, True, True])
    total, s = crit(out, gt, has_text)
    out.v_l[1] = -out.v_l[1]  # the text vector of the sample without text has no effect
    total2, s2 = crit(out, gt, has_text)
    assert total2.item() == total.item() and s2["cma"] == s["cma"]
    out.v_l[0] = -out.v_l[0]  # that of a described sample does
    assert crit(out, gt, has_text)[1]["cma"] != pytest.approx(s["cma"], rel=1e-6)


def test_fewer_than_two_described_samples_give_a_connected_zero():
    out = _out(grad=True)
    total, s = AllInOneLoss(LossConfig())(out, out.boxes.clone(), torch.tensor([False, True, False, False]))
    assert s["cma"] == 0.0 and s["ima"] > 0
    total.backward()
    # every projection still receives a (zero) gradient, as DistributedDataParallel requires
    assert out.v_l.grad is not None and (out.v_l.grad == 0).all()
    assert out.v_x.grad is not None and out.v_x.grad.abs().sum() > 0


def test_without_alignment_vectors_only_box_terms():
    out = _out()
    out.v_x = out.v_z = out.v_l = None
    gt = out.boxes.clone()  # perfect boxes: GIoU and L1 vanish
    total, s = AllInOneLoss(LossConfig())(out, gt, torch.ones(4, dtype=torch.bool))
    assert "cma" not in s and "ima" not in s
    assert s["giou"] == pytest.approx(0.0, abs=1e-6) and s["l1"] == 0.0 and s["iou"] == pytest.approx(1.0)
    assert total.item() == pytest.approx(s["focal"], rel=1e-6)

"""Metrics against hand-computed values, pytracking and got10k conventions."""
import json

import numpy as np
import pytest

from allinone.data.sequence import Sequence
from allinone.evaluation.analysis import analyze
from allinone.evaluation.metrics import (
    center_error_pytracking, iou_pytracking, sequence_curves, sequence_errors, summarize)
from allinone.evaluation.results import read_results, write_results


def test_iou_uses_inclusive_pixels():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 5.0, 10.0, 10.0]])
    # intersection: x 5..9, y 5..9 → 5x5 = 25; union 100 + 100 − 25
    assert iou_pytracking(a, b)[0] == pytest.approx(25 / 175)
    # centres with the −1 convention: (4.5, 4.5) vs (9.5, 9.5)
    assert center_error_pytracking(a, b)[0] == pytest.approx(np.sqrt(50))
    assert center_error_pytracking(a, b, normalized=True)[0] == pytest.approx(np.sqrt(0.5))


def test_four_frame_sequence_by_hand():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = np.array([[50, 50, 5, 5],     # frame 0: replaced by the ground truth → IoU 1, error 0
                     [0, 0, 10, 10],     # IoU 1
                     [5, 0, 10, 10],     # inter 5x10=50, union 150 → 1/3; centre error 5 px
                     [0, 0, 0, 0]], float)  # zero size → previous prediction → 1/3, 5 px
    overlap, center, norm = sequence_errors(pred, gt, None, "otb")
    np.testing.assert_allclose(overlap, [1, 1, 1 / 3, 1 / 3])
    np.testing.assert_allclose(center, [0, 0, 5, 5])
    np.testing.assert_allclose(norm, [0, 0, 0.5, 0.5])
    c = sequence_curves(pred, gt, None, "otb")
    # success: t < 1/3 → 4/4, 1/3 ≤ t < 1 → 2/4, t = 1 → 0 (strict >)
    # thresholds 0, .05, ..., .30 (7 values) → 1; .35 ... .95 (13 values) → .5; 1.0 → 0
    np.testing.assert_allclose(c.success[:7], 1.0)
    np.testing.assert_allclose(c.success[7:20], 0.5)
    assert c.success[20] == 0.0
    assert c.auc == pytest.approx((7 * 1.0 + 13 * 0.5 + 0.0) / 21 * 100)
    assert c.precision[4] == 0.5 and c.precision[5] == 1.0 and c.precision[20] == 1.0  # ≤ t
    assert c.norm_precision[20] == 0.5 and c.norm_precision[50] == 1.0


def test_absent_frames_are_misses_for_lasot():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = gt.copy()
    visible = np.array([True, True, False, True])
    lasot = sequence_curves(pred, gt, visible, "lasot")
    assert lasot.success[10] == 0.75 and lasot.precision[20] == 0.75 and lasot.norm_precision[20] == 0.75
    # other datasets with flags: normalised error −1 → still a hit (pytracking's quirk)
    other = sequence_curves(pred, gt, visible, "lasot_ext")
    assert other.success[10] == 0.75 and other.precision[20] == 0.75 and other.norm_precision[20] == 1.0


def test_degenerate_ground_truth_is_miss_for_success_hit_for_norm_precision():
    gt = np.array([[0, 0, 10, 10], [0, 0, 0, 10], [0, 0, 10, 10]], float)
    pred = np.array([[0, 0, 10, 10]] * 3, float)
    c = sequence_curves(pred, gt, None, "tnl2k")
    assert c.success[0] == pytest.approx(2 / 3) and c.precision[20] == pytest.approx(2 / 3)
    assert c.norm_precision[0] == 1.0


def test_got10k_mode_differs_where_documented():
    gt = np.array([[0, 0, 10, 10]] * 3, float)
    pred = np.array([[40, 40, 10, 10], [0, 0, 0, 0], [0, 0, 10, 10]], float)
    py = sequence_curves(pred, gt, np.array([True, False, True]), "lasot")
    g = sequence_curves(pred, gt, np.array([True, False, True]), "lasot", mode="got10k")
    assert py.success[0] == pytest.approx(2 / 3)  # first frame replaced; absent frame a miss
    assert g.success[0] == pytest.approx(1 / 3)  # no replacement; zero-size kept (IoU 0)
    s_py, s_g = summarize([py]), summarize([g], mode="got10k")
    assert s_g["norm_precision"] == pytest.approx(g.norm_precision.mean() * 100)
    assert s_py["norm_precision"] == pytest.approx(py.norm_precision[20] * 100)


def test_results_round_trip_and_separators(tmp_path):
    boxes = np.array([[1.7, 2.2, 30.9, 40.0], [5, 6, 7, 8]])
    write_results(tmp_path / "a.txt", boxes)
    assert (tmp_path / "a.txt").read_text().splitlines()[0] == "1\t2\t30\t40"
    (tmp_path / "b.txt").write_text("1,2,30,40\n5,6,7,8\n")
    np.testing.assert_array_equal(read_results(tmp_path / "a.txt"), read_results(tmp_path / "b.txt"))
    (tmp_path / "c.txt").write_text("1,2,30,40\n5,6,7\n")
    with pytest.raises(ValueError, match=r"c.txt:2"):
        read_results(tmp_path / "c.txt")


def test_analyze_report_structure_and_mean_over_sequences(tmp_path):
    gt = np.array([[0, 0, 10, 10]] * 2, float)
    seqs = [Sequence(f"s{i}", ["a", "b"], gt, [True, True], dataset="otb99l") for i in range(2)]
    res = tmp_path / "mytracker"
    res.mkdir()
    write_results(res / "s0.txt", gt)
    write_results(res / "s1.txt", np.array([[0, 0, 10, 10], [100, 100, 10, 10]]))
    report, curves = analyze(seqs, [res])
    r = report["mytracker"]
    assert r["per_sequence"]["s0"]["auc"] == pytest.approx(20 / 21 * 100)
    assert r["per_sequence"]["s1"]["auc"] == pytest.approx(10 / 21 * 100)
    assert r["auc"] == pytest.approx(15 / 21 * 100)
    assert r["precision"] == pytest.approx(75.0)
    json.dumps(report)
    with pytest.raises(ValueError, match="2 frames"):
        write_results(res / "s1.txt", gt[:1])
        analyze(seqs, [res])

"""Metrics and result files against values computed by hand (pytracking and got10k conventions)."""
import types

import numpy as np
import pytest

from allinone.evaluation.metrics import (
    CENTER_THRESHOLDS, NORM_CENTER_THRESHOLDS, SUCCESS_THRESHOLDS, absence_policy, center_distance,
    center_errors, fill_zero_size, iou_inclusive, mean_curves, normalized_center_errors, overlaps,
    sequence_curves, sequence_errors, summarize)
from allinone.evaluation.results import (
    ResultsFormatError, read_results, read_times, write_results, write_times)

GT = np.array([[10, 10, 20, 20]] * 4, float)  # pixels x 10..29, y 10..29; centre (19.5, 19.5)

# A result file as pytracking writes it (tab-separated integers).
RESULT_TXT = "0\t0\t5\t5\n10\t10\t20\t20\n35\t10\t20\t20\n15\t13\t20\t20\n"


def test_thresholds_are_the_toolkits():
    assert len(SUCCESS_THRESHOLDS) == 21 and SUCCESS_THRESHOLDS[0] == 0 and SUCCESS_THRESHOLDS[-1] == 1
    assert len(CENTER_THRESHOLDS) == 51 and CENTER_THRESHOLDS[20] == 20 and CENTER_THRESHOLDS[-1] == 50
    assert len(NORM_CENTER_THRESHOLDS) == 51 and NORM_CENTER_THRESHOLDS[20] == 0.2
    assert NORM_CENTER_THRESHOLDS[-1] == 0.5


def test_iou_and_centres_with_the_inclusive_pixel_convention():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])  # pixels 0..9
    b = np.array([[5.0, 5.0, 10.0, 10.0]])  # pixels 5..14
    # x2 = x + w - 1: overlap 5..9 → (9 - 5 + 1) = 5 px per axis → 25; union 100 + 100 - 25 = 175
    assert iou_inclusive(a, b)[0] == pytest.approx(25 / 175)
    # touching boxes: a ends at pixel 9, c starts at pixel 10 → 9 - 10 + 1 = 0 → IoU 0
    assert iou_inclusive(a, np.array([[10.0, 0.0, 10.0, 10.0]]))[0] == 0.0
    # one shared pixel column: 9 - 9 + 1 = 1 → inter 1 x 10 = 10; union 190
    assert iou_inclusive(a, np.array([[9.0, 0.0, 10.0, 10.0]]))[0] == pytest.approx(10 / 190)
    # centres x + (w - 1) / 2: (4.5, 4.5) and (9.5, 9.5) → sqrt(5² + 5²)
    assert center_distance(a, b)[0] == pytest.approx(np.sqrt(50))
    # normalised: both centres divided by b's size 10: (0.45, 0.45) vs (0.95, 0.95) → sqrt(0.5)
    assert center_distance(a, b, normalized=True)[0] == pytest.approx(np.sqrt(0.5))
    # wider prediction: centre (9.5, 4.5) vs ground truth (4.5, 4.5) → 5 px, 5 / 10 = 0.5
    wide = np.array([[0.0, 0.0, 20.0, 10.0]])
    assert center_distance(wide, a)[0] == 5.0
    assert center_distance(wide, a, normalized=True)[0] == pytest.approx(0.5)


def test_four_frame_sequence_from_a_result_file_by_hand(tmp_path):
    (tmp_path / "seq.txt").write_text(RESULT_TXT)
    pred = read_results(tmp_path / "seq.txt")
    e = sequence_errors(pred, GT)
    # frame 1: replaced by the ground truth → IoU 1, errors 0
    # frame 2: exact → IoU 1, errors 0
    # frame 3: x 35..54 vs 10..29 → no overlap → IoU 0; centre (44.5, 19.5) → 25 px; 25 / 20 = 1.25
    # frame 4: x 15..29 (15 px), y 13..29 (17 px) → 255; union 400 + 400 - 255 = 545 → 0.4679;
    #          offset (5, 3) → sqrt(34) = 5.83 px; normalised sqrt(34) / 20 = 0.2915
    np.testing.assert_allclose(e.overlap, [1, 1, 0, 255 / 545])
    np.testing.assert_allclose(e.center, [0, 0, 25, np.sqrt(34)])
    np.testing.assert_allclose(e.norm_center, [0, 0, 1.25, np.sqrt(34) / 20])
    c = sequence_curves(pred, GT)
    # success (IoU > t): IoU 1 passes t = 0 .. 0.95 but not 1.0 (strict); IoU 0 never; 0.4679 passes
    # t = 0 .. 0.45 (10 thresholds). → 3/4 for i = 0..9, 2/4 for i = 10..19, 0 at t = 1
    np.testing.assert_allclose(c.success, [0.75] * 10 + [0.5] * 10 + [0.0])
    # AUC = mean of the 21 points = (10 × 0.75 + 10 × 0.5 + 0) / 21 = 12.5 / 21 = 59.52 %
    assert c.auc == pytest.approx(12.5 / 21 * 100)
    # precision (error ≤ t): 0, 0, 25, 5.83 → 2/4 up to 5 px, 3/4 from 6 px, 4/4 from 25 px (≤)
    assert c.precision[5] == 0.5 and c.precision[6] == 0.75 and c.precision[24] == 0.75
    assert c.precision[25] == 1.0
    # normalised (≤ t): 0, 0, 1.25, 0.2915 → 2/4 below 0.30, 3/4 from 0.30; 1.25 never (> 0.5)
    assert c.norm_precision[29] == 0.5 and c.norm_precision[30] == 0.75 and c.norm_precision[50] == 0.75
    s = c.scores()
    assert s["auc"] == pytest.approx(59.5238095)
    assert s["precision"] == pytest.approx(75.0)  # P@20: 0, 0, 5.83 ≤ 20; 25 > 20 → 3/4
    assert s["norm_precision"] == pytest.approx(50.0)  # NP@0.20: 0, 0 → 2/4


def test_first_frame_prediction_is_replaced_by_the_ground_truth():
    pred = GT.copy()
    pred[0] = [300, 300, 5, 5]
    assert overlaps(pred, GT)[0] == 1.0 and center_errors(pred, GT)[0] == 0.0


def test_zero_size_prediction_takes_the_previous_one():
    pred = np.array([[10, 10, 20, 20], [20, 10, 20, 20], [5, 5, 0, 7], [0, 0, 10, 0]], float)
    # frame 2: x 20..29 (10 px) × 20 = 200; union 600 → 1/3. Frames 3, 4 (zero w, zero h) → frame 2's box
    np.testing.assert_allclose(overlaps(pred, GT), [1, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(center_errors(pred, GT), [0, 10, 10, 10])
    # the filling happens before frame 1 is replaced: a zero-size frame 2 copies frame 1's raw box
    raw = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [10, 10, 20, 20], [10, 10, 20, 20]], float)
    np.testing.assert_array_equal(fill_zero_size(raw, GT)[1], [0, 0, 0, 0])
    np.testing.assert_allclose(overlaps(raw, GT), [1, 0, 1, 1])


def test_absent_frames_are_misses_in_all_three_measures_for_lasot():
    visible = np.array([True, True, False, True])
    lasot = absence_policy("lasot")
    c = sequence_curves(GT, GT, visible, absent_is_miss=lasot.absent_is_miss)
    # 3 of 4 frames hit, the absent one is a miss even though the prediction is perfect
    assert c.success[10] == 0.75 and c.precision[20] == 0.75 and c.norm_precision[20] == 0.75
    # LaSOT_ext uses the flags but not the 'lasot'-only rule: normalised error −1 → a hit
    ext = absence_policy("lasot_ext")
    assert ext.use_flags and not ext.absent_is_miss
    c = sequence_curves(GT, GT, visible, absent_is_miss=ext.absent_is_miss)
    assert c.success[10] == 0.75 and c.precision[20] == 0.75 and c.norm_precision[20] == 1.0
    # datasets without flags in pytracking (TNL2K, OTB, ...): no target_visible → all frames hit
    assert not absence_policy("tnl2k").use_flags
    assert sequence_curves(GT, GT, None).success[10] == 1.0


def test_degenerate_ground_truth_is_a_miss_except_for_normalised_precision():
    gt = np.array([[10, 10, 20, 20], [10, 10, 0, 20], [10, 10, 20, 20]], float)  # frame 2: w = 0
    pred = np.array([[10, 10, 20, 20]] * 3, float)
    e = sequence_errors(pred, gt)
    assert e.overlap[1] == -1.0 and e.center[1] == np.inf and e.norm_center[1] == -1.0
    c = sequence_curves(pred, gt)
    assert c.success[0] == pytest.approx(2 / 3)  # −1 > 0 fails: a miss, still in the denominator
    assert c.precision[20] == pytest.approx(2 / 3)  # inf ≤ 20 fails
    assert c.norm_precision[0] == 1.0  # −1 ≤ 0 holds: a hit, pytracking's quirk


def test_scores_are_the_mean_over_sequences():
    perfect = sequence_curves(GT, GT)  # success 1 for t < 1, 0 at t = 1 → AUC 20/21
    far = GT.copy()
    far[1:] = [100, 100, 20, 20]  # frames 2-4 lost; only the replaced frame 1 hits → 1/4
    lost = sequence_curves(far, GT)
    assert perfect.auc == pytest.approx(20 / 21 * 100) and lost.auc == pytest.approx(5 / 21 * 100)
    s = summarize([perfect, lost])
    assert s["auc"] == pytest.approx((20 / 21 + 5 / 21) / 2 * 100)
    assert s["precision"] == pytest.approx((1.0 + 0.25) / 2 * 100)
    np.testing.assert_allclose(mean_curves([perfect, lost]).success[0], (1 + 0.25) / 2)


def test_got10k_mode_differs_where_documented():
    visible = np.array([True, False, True, True])
    # absence flags ignored: the absent frame is scored on its box (a hit here)
    assert sequence_curves(GT, GT, visible, absent_is_miss=True, mode="got10k").success[10] == 1.0
    # zero-size predictions kept: IoU 0 instead of the previous box
    pred = GT.copy()
    pred[2] = [10, 10, 0, 0]
    assert overlaps(pred, GT, mode="got10k")[2] == 0.0 and overlaps(pred, GT)[2] == 1.0
    # normalised error divides by max(1, size): a 0.5-px ground truth, prediction 0.2 px off
    gt = np.array([[10, 10, 0.5, 0.5]] * 2)
    off = gt + [0.2, 0, 0, 0]
    assert normalized_center_errors(off, gt)[1] == pytest.approx(0.2 / 0.5)
    assert normalized_center_errors(off, gt, mode="got10k")[1] == pytest.approx(0.2 / 1.0)
    # degenerate ground truth has no special case: IoU 0, centre error computed (a hit here)
    gt = np.array([[10, 10, 20, 20], [10, 10, 0, 20]], float)
    e = sequence_errors(np.array([[10, 10, 20, 20]] * 2, float), gt, mode="got10k")
    assert e.overlap[1] == 0.0 and e.center[1] == pytest.approx(10.0)
    # normalised precision score = mean of the curve over 0..0.5, not the value at 0.20:
    # errors 0, 0, 1.25, 0.2915 → 2/4 at t = 0 .. 0.29 (30 points), 3/4 at 0.30 .. 0.50 (21 points)
    pred = np.array([[0, 0, 5, 5], [10, 10, 20, 20], [35, 10, 20, 20], [15, 13, 20, 20]], float)
    g = sequence_curves(pred, GT, mode="got10k").scores()
    assert g["norm_precision"] == pytest.approx((30 * 0.5 + 21 * 0.75) / 51 * 100)
    assert sequence_curves(pred, GT).scores()["norm_precision"] == pytest.approx(50.0)
    # NaN ground truth: got10k drops the frame (out of the denominator); pytracking counts a miss
    gt = GT.copy()
    gt[3] = np.nan
    assert sequence_curves(GT, gt, mode="got10k").success[10] == 1.0
    assert sequence_curves(GT, gt).success[10] == 0.75


def test_got10k_mode_matches_the_installed_toolkit():
    metrics = pytest.importorskip("got10k.utils.metrics")
    otb = pytest.importorskip("got10k.experiments.otb")
    rng = np.random.default_rng(0)
    gt = np.c_[rng.uniform(0, 100, (200, 2)), rng.uniform(1, 60, (200, 2))].round()
    pred = gt + rng.normal(0, 8, gt.shape).round()
    pred[:, 2:] = np.abs(pred[:, 2:])
    pred[::17, 2] = 0  # some zero-size boxes, which got10k keeps
    ours = sequence_curves(pred, gt, mode="got10k")
    boxes = pred.copy()
    boxes[0] = gt[0]
    toolkit = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    succ, prec = otb.ExperimentOTB._calc_curves(toolkit, metrics.rect_iou(boxes, gt),
                                                  metrics.center_error(boxes, gt))
    np.testing.assert_array_equal(ours.success, succ)
    np.testing.assert_array_equal(ours.precision, prec)


def test_invalid_predictions_are_rejected_in_pytracking_mode():
    pred = GT.copy()
    pred[2] = [np.nan, 1, 2, 3]
    with pytest.raises(ValueError, match="frame 3"):
        sequence_curves(pred, GT)
    # got10k: a NaN box is simply a miss
    assert sequence_curves(pred, GT, mode="got10k").success[0] == 0.75
    with pytest.raises(ValueError, match="3 predicted boxes for 4"):
        sequence_curves(GT[:3], GT)
    with pytest.raises(ValueError, match="mode"):
        sequence_curves(GT, GT, mode="vot")


def test_length_rules_truncate_and_pad_after_the_zero_size_rule():
    longer = np.vstack([GT, [[1, 1, 0, 0]]])
    np.testing.assert_array_equal(sequence_errors(longer, GT, lengths="truncate").overlap, overlaps(GT, GT))
    with pytest.raises(ValueError, match="3 predicted boxes for 4"):
        sequence_errors(GT[:3], GT, lengths="truncate")
    short = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [0, 0, 0, 20]], float)
    # frame 3 (zero width) takes frame 2's box; the padded frame 4 stays (0, 0, 0, 0): IoU 0
    np.testing.assert_array_equal(sequence_errors(short, GT, lengths="truncate_or_pad").overlap, [1, 1, 1, 0])
    np.testing.assert_allclose(sequence_errors(short, GT, lengths="truncate_or_pad").center[3], 20 * np.sqrt(2))
    with pytest.raises(ValueError, match="no predicted boxes"):
        sequence_errors(np.zeros((0, 4)), GT, lengths="truncate_or_pad")
    with pytest.raises(ValueError, match="lengths must be one of"):
        sequence_errors(GT, GT, lengths="pad")


def test_tab_comma_and_space_result_files_read_identically(tmp_path):
    (tmp_path / "tab.txt").write_text(RESULT_TXT)
    (tmp_path / "comma.txt").write_text(RESULT_TXT.replace("\t", ","))
    (tmp_path / "space.txt").write_text(RESULT_TXT.replace("\t", "  ") + "\n\n")  # trailing blank lines
    tab = read_results(tmp_path / "tab.txt")
    assert tab.shape == (4, 4) and tab.dtype == np.float64
    np.testing.assert_array_equal(tab, read_results(tmp_path / "comma.txt"))
    np.testing.assert_array_equal(tab, read_results(tmp_path / "space.txt"))
    (tmp_path / "nan.txt").write_text("1.5,2,3,4\nnan,NaN,nan,nan\n")
    nan = read_results(tmp_path / "nan.txt")
    assert nan[0, 0] == 1.5 and np.isnan(nan[1]).all()


def test_malformed_result_lines_name_file_and_line(tmp_path):
    (tmp_path / "bad.txt").write_text("1,2,3,4\n5,6,7\n")
    with pytest.raises(ResultsFormatError, match=r"bad\.txt:2: expected 4 numbers"):
        read_results(tmp_path / "bad.txt")
    (tmp_path / "word.txt").write_text("1,2,3,4\n1,2,3,4\n1,x,3,4\n")
    with pytest.raises(ValueError, match=r"word\.txt:3"):
        read_results(tmp_path / "word.txt")
    with pytest.raises(FileNotFoundError, match="result file missing"):
        read_results(tmp_path / "none.txt")


def test_results_are_written_as_pytracking_writes_them(tmp_path):
    boxes = np.array([[1.7, 2.2, 30.9, 40.0], [-1.7, 6, 7, 8]])
    write_results(tmp_path / "a.txt", boxes)
    # np.savetxt(boxes.astype(int), delimiter='\t', fmt='%d'): truncation toward zero
    assert (tmp_path / "a.txt").read_text() == "1\t2\t30\t40\n-1\t6\t7\t8\n"
    write_results(tmp_path / "b.txt", boxes, decimals=2)
    np.testing.assert_allclose(read_results(tmp_path / "b.txt"), boxes)
    with pytest.raises(ValueError, match="frame 2"):
        write_results(tmp_path / "c.txt", np.array([[1, 2, 3, 4], [np.nan, 2, 3, 4]]))
    write_times(tmp_path / "a_time.txt", [0.5, 0.025])
    assert (tmp_path / "a_time.txt").read_text() == "0.500000\n0.025000\n"
    np.testing.assert_allclose(read_times(tmp_path / "a_time.txt"), [0.5, 0.025])

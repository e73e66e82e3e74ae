"""`analyze` / `analyze_command`: report structure, units, errors, skipping, plots."""
import json

import numpy as np
import pytest

from allinone.data.sequence import Sequence
from allinone.evaluation.analysis import analyze, analyze_command
from allinone.evaluation.plots import write_plots
from allinone.evaluation.results import write_results

GT = np.array([[10, 10, 20, 20]] * 4, float)
LOST = np.array([[10, 10, 20, 20]] + [[100, 100, 20, 20]] * 3, float)  # only the replaced frame 1 hits


def _seq(name, dataset="otb99l", visible=(True,) * 4, boxes=GT):
    return Sequence(name, [f"{name}/{i}.jpg" for i in range(len(boxes))], boxes, list(visible), dataset=dataset)


def _results(folder, **boxes_by_seq):
    folder.mkdir(parents=True, exist_ok=True)
    for name, boxes in boxes_by_seq.items():
        write_results(folder / f"{name}.txt", boxes)
    return folder


def test_report_structure_percent_and_mean_over_sequences(tmp_path, capsys):
    seqs = [_seq("s0"), _seq("s1")]
    good = _results(tmp_path / "good", s0=GT, s1=LOST)
    bad = _results(tmp_path / "bad", s0=LOST, s1=LOST)
    report = analyze(seqs, [good, bad])
    assert json.loads(json.dumps(report)) == report  # exactly what --json writes, nothing else
    assert set(report) == {"good", "bad"}
    r = report["good"]
    assert set(r) == {"auc", "precision", "norm_precision", "per_sequence"}
    assert r["per_sequence"] == {"s0": {"auc": pytest.approx(20 / 21 * 100)},
                                 "s1": {"auc": pytest.approx(5 / 21 * 100)}}
    # mean over sequences, in percent: AUC (20/21 + 5/21) / 2, P@20 and NP@0.20 (4/4 + 1/4) / 2
    assert r["auc"] == pytest.approx(25 / 42 * 100)
    assert r["precision"] == pytest.approx(62.5) and r["norm_precision"] == pytest.approx(62.5)
    assert report["bad"]["auc"] == pytest.approx(5 / 21 * 100)
    # curves for plots ride along outside the JSON
    np.testing.assert_allclose(report.curves["good"].success[0], 0.625)
    assert set(report.sequence_curves["bad"]) == {"s0", "s1"}
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["tracker", "AUC", "P@20", "NP@0.20", "#seqs"]
    assert table[1].split() == ["good", "59.52", "62.50", "62.50", "2"]  # best AUC first
    assert table[2].split()[0] == "bad"


def test_lasot_absent_frames_are_misses_through_the_sequence_flags(tmp_path):
    visible = (True, True, False, True)
    res = _results(tmp_path / "t", a=GT)
    lasot = analyze([_seq("a", "lasot", visible)], [res], print_table=False)["t"]
    assert lasot["precision"] == pytest.approx(75.0) and lasot["norm_precision"] == pytest.approx(75.0)
    # TNL2K carries no flags in pytracking: the same visibility array is ignored
    tnl2k = analyze([_seq("a", "tnl2k", visible)], [res], print_table=False)["t"]
    assert tnl2k["precision"] == pytest.approx(100.0)


def test_got10k_mode_reports_the_mean_of_the_normalised_curve(tmp_path, capsys):
    pred = np.array([[0, 0, 5, 5], [10, 10, 20, 20], [35, 10, 20, 20], [15, 13, 20, 20]], float)
    res = _results(tmp_path / "t", a=pred)
    # normalised errors 0, 0, 25/20 = 1.25, sqrt(5² + 3²)/20 = 0.2915 (max(1, 20) = 20 here)
    py = analyze([_seq("a")], [res], print_table=False)["t"]
    assert py["norm_precision"] == pytest.approx(50.0)  # at 0.20: 2/4
    g = analyze([_seq("a")], [res], mode="got10k")["t"]
    # curve: 2/4 at 0 .. 0.29 (30 points), 3/4 at 0.30 .. 0.50 (21 points) → mean 30.75 / 51
    assert g["norm_precision"] == pytest.approx(30.75 / 51 * 100)
    assert g["auc"] == pytest.approx(py["auc"]) and g["precision"] == pytest.approx(py["precision"])
    assert "NP(mean)" in capsys.readouterr().out


def test_missing_result_file_is_named_or_skipped_for_every_tracker(tmp_path):
    seqs = [_seq("s0"), _seq("s1")]
    full = _results(tmp_path / "full", s0=GT, s1=GT)
    partial = _results(tmp_path / "partial", s0=GT)
    with pytest.raises(FileNotFoundError, match=r"result file missing: .*partial[/\\]s1\.txt"):
        analyze(seqs, [full, partial], print_table=False)
    with pytest.warns(UserWarning, match="partial: no result for s1"):
        report = analyze(seqs, [full, partial], skip_missing=True, print_table=False)
    assert set(report["full"]["per_sequence"]) == {"s0"}  # dropped for all trackers, as pytracking does
    with pytest.raises(FileNotFoundError, match="does not exist"):
        analyze(seqs, [tmp_path / "nowhere"], print_table=False)


def test_wrong_line_count_and_invalid_boxes_name_the_file(tmp_path):
    res = _results(tmp_path / "t", a=GT[:3])
    with pytest.raises(ValueError, match=r"a\.txt: 3 result lines but sequence 'a' has 4 frames"):
        analyze([_seq("a", "lasot")], [res], print_table=False)
    with pytest.raises(ValueError, match=r"a\.txt: 3 result lines but sequence 'a' has 4 frames"):
        analyze([_seq("a")], [res], mode="got10k", print_table=False)
    (res / "a.txt").write_text("10\t10\t20\t20\n" * 3 + "nan\tnan\tnan\tnan\n")
    with pytest.raises(ValueError, match=r"a\.txt: invalid prediction at frame 4"):
        analyze([_seq("a")], [res], print_table=False)
    with pytest.raises(ValueError, match="several results folders are named t"):
        analyze([_seq("a")], [res, tmp_path / "other" / "t"], print_table=False)


def test_plots_are_written_as_png(tmp_path):
    seqs = [_seq("s0"), _seq("s1")]
    runs = [_results(tmp_path / "A", s0=GT, s1=LOST), _results(tmp_path / "B", s0=LOST, s1=LOST)]
    report = analyze(seqs, runs, print_table=False)
    paths = write_plots(report, tmp_path / "plots", dataset="OTB99-L")
    assert set(paths) == {"success", "precision", "norm_precision"}
    for name in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


def test_analyze_command_reads_a_lasot_layout_and_writes_json(tmp_path, capsys):
    seq_dir = tmp_path / "lasot" / "airplane" / "airplane-1"  # a test-split sequence
    seq_dir.mkdir(parents=True)
    np.savetxt(seq_dir / "groundtruth.txt", GT, fmt="%d", delimiter=",")
    (seq_dir / "full_occlusion.txt").write_text("0,0,1,0\n")
    (seq_dir / "out_of_view.txt").write_text("0,0,0,0\n")
    (seq_dir / "nlp.txt").write_text("white airplane\n")
    res = _results(tmp_path / "results" / "mine", **{"airplane-1": GT})
    out = tmp_path / "out" / "scores.json"
    report = analyze_command("lasot", tmp_path / "lasot", [res], json_out=out, plot_dir=tmp_path / "plots")
    scores = json.loads(out.read_text())
    assert scores == report and list(scores) == ["mine"]
    # the occluded frame 3 is a miss in all three measures: 3/4
    assert scores["mine"]["precision"] == pytest.approx(75.0)
    assert scores["mine"]["norm_precision"] == pytest.approx(75.0)
    assert scores["mine"]["auc"] == pytest.approx(0.75 * 20 / 21 * 100)
    assert "mine" in capsys.readouterr().out
    assert (tmp_path / "plots" / "success_plot.png").stat().st_size > 1000


# --------------------------------------------------------------------------- pytracking's length rules


def test_over_long_result_files_are_truncated_as_pytracking_does(tmp_path):
    exact = _results(tmp_path / "exact", a=GT)
    longer = _results(tmp_path / "longer", a=np.vstack([GT, [[500, 500, 0, 7]]]))  # one line too many
    for dataset in ("lasot", "otb99l"):
        want = analyze([_seq("a", dataset)], [exact], print_table=False)["exact"]
        with pytest.warns(UserWarning, match=r"5 result lines but sequence 'a' has 4 frames; the extra lines"):
            got = analyze([_seq("a", dataset)], [longer], print_table=False)["longer"]
        assert got == want


def test_short_result_files_fail_for_lasot_and_are_zero_padded_elsewhere(tmp_path):
    # frame 3 has zero size: pytracking replaces it by frame 2's box *before* padding, so it hits,
    # while the padded frame 4 stays a zero box (a miss) - not the previous box
    short = _results(tmp_path / "short", a=np.array([[10, 10, 20, 20], [10, 10, 20, 20], [3, 4, 0, 0]], float))
    with pytest.raises(ValueError, match=r"3 result lines but sequence 'a' has 4 frames; pytracking's analysis "
                                         r"accepts a short file only for datasets other than lasot"):
        analyze([_seq("a", "lasot")], [short], print_table=False)
    with pytest.warns(UserWarning, match="the missing frames count as zero boxes"):
        r = analyze([_seq("a", "tnl2k")], [short], print_table=False)["short"]
    assert r["auc"] == pytest.approx(3 / 4 * 20 / 21 * 100)  # IoU 1 on 3 frames, IoU 0 on the padded one
    # padded box (0, 0, 0, 0): centre (-0.5, -0.5), 28.3 px (normalised 1.41) from the ground truth's
    assert r["precision"] == pytest.approx(75.0) and r["norm_precision"] == pytest.approx(75.0)
    # a zero box written in the file is different: it takes the previous box, a hit
    written = _results(tmp_path / "written", a=np.vstack([GT[:3], [[0, 0, 0, 0]]]))
    assert analyze([_seq("a", "tnl2k")], [written], print_table=False)["written"]["auc"] == pytest.approx(20 / 21 * 100)
    (short / "a.txt").write_text("")
    with pytest.raises(ValueError, match="0 result lines"):
        analyze([_seq("a", "tnl2k")], [short], print_table=False)


def test_got10k_toolkit_layout_is_read(tmp_path):
    pytracking = _results(tmp_path / "mine", s0=LOST)
    got = tmp_path / "got" / "mine"
    (got / "s0").mkdir(parents=True)
    np.savetxt(got / "s0" / "s0_001.txt", LOST, fmt="%.3f", delimiter=",")  # what ExperimentGOT10k writes
    np.savetxt(got / "s0" / "s0_time.txt", np.ones(4), fmt="%.8f")
    a = analyze([_seq("s0")], [pytracking], print_table=False)
    b = analyze([_seq("s0")], [got], print_table=False)
    assert b["mine"] == a["mine"] and b["mine"]["auc"] == pytest.approx(5 / 21 * 100)
    with pytest.raises(FileNotFoundError, match=r"s1\.txt .*nor .*s1[/\\]s1_001\.txt.*--skip-missing"):
        analyze([_seq("s0"), _seq("s1")], [got], print_table=False)


def test_cli_skip_missing_flag(tmp_path, capsys):
    from allinone.cli import main

    for name in ("airplane-1", "airplane-9"):  # both in LaSOT's test split
        seq_dir = tmp_path / "lasot" / "airplane" / name
        seq_dir.mkdir(parents=True)
        np.savetxt(seq_dir / "groundtruth.txt", GT, fmt="%d", delimiter=",")
        (seq_dir / "full_occlusion.txt").write_text("0,0,0,0\n")
        (seq_dir / "out_of_view.txt").write_text("0,0,0,0\n")
        (seq_dir / "img").mkdir()
        for i in range(1, 5):
            (seq_dir / "img" / f"{i:08d}.jpg").write_bytes(b"")  # listed, never read by analyze
    res = _results(tmp_path / "results" / "mine", **{"airplane-1": GT})
    args = ["analyze", "--dataset", "lasot", "--root", str(tmp_path / "lasot"), "--results", str(res),
            "--json", str(tmp_path / "s.json")]
    assert main(args) == 2
    assert "airplane-9.txt" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="mine: no result for airplane-9"):
        assert main(args + ["--skip-missing"]) == 0
    assert list(json.loads((tmp_path / "s.json").read_text())["mine"]["per_sequence"]) == ["airplane-1"]

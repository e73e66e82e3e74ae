"""Per-attribute analysis: the LaSOT toolkit's and TNL2K's attribute files, subset scores, the
< 2 rule, and `allinone analyze --attributes` end to end on SynthVL."""
import json
import shutil

import numpy as np
import pytest

from allinone.cli import main
from allinone.data import open_dataset
from allinone.data.sequence import Sequence
from allinone.evaluation.analysis import analyze, analyze_command
from allinone.evaluation.attributes import (LASOT_ATTRIBUTES, TNL2K_ATTRIBUTES, attribute_report,
                                            dataset_attributes, format_attribute_table, read_attribute_file,
                                            sequence_attributes)
from allinone.evaluation.results import write_results

LASOT_KEYS = [k for k, _ in LASOT_ATTRIBUTES]
TNL2K_KEYS = [k for k, _ in TNL2K_ATTRIBUTES]
N = 6
GT = np.array([[10, 10, 20, 20]] * N, float)


def _pred(hits, n=N):
    """`hits` exact frames of `n`, then misses far away: AUC hits/n * 20/21, P@20 = NP@0.20 = hits/n
    (frame 1 is replaced by the ground truth, so hits >= 1)."""
    p = GT[:1].repeat(n, axis=0)
    p[hits:] = [100, 100, 20, 20]
    return p


def _expected(hits, lengths=None):
    """Independent mean over a hand-picked subset, every sequence weighing the same whatever its
    length (not every frame): (AUC, P@20, NP@0.20) in percent."""
    lengths = lengths or [N] * len(hits)
    frac = np.mean([h / n for h, n in zip(hits, lengths)])
    return frac * 20 / 21 * 100, frac * 100, frac * 100


def _flags(keys, present, sep=","):
    return sep.join("1" if k in present else "0" for k in keys) + "\n"


def _results(folder, hits_by_seq, lengths=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, hits in hits_by_seq.items():
        write_results(folder / f"{name}.txt", _pred(hits, (lengths or {}).get(name, N)))
    return folder


# ---------------------------------------------------------------------------- LaSOT miniature

LASOT_ATTS = {  # airplane-1: the toolkit's real annos/att/airplane-1.txt (0,1,0,0,0,1,0,0,1,0,0,0,1,0)
    "airplane-1": {"POC", "ROT", "SV", "LR"},
    "airplane-9": {"POC", "SV", "FM"},
    "airplane-13": {"SV", "FM", "IV"},
    "airplane-15": {"SV", "ARC"},
}
LENGTHS = {"airplane-1": 6, "airplane-9": 3, "airplane-13": 8, "airplane-15": 5}  # frames
HITS_A = {"airplane-1": 6, "airplane-9": 3, "airplane-13": 1, "airplane-15": 4}
HITS_B = {"airplane-1": 2, "airplane-9": 3, "airplane-13": 5, "airplane-15": 2}


def _lasot(tmp_path):
    """A LaSOT root (4 test-split sequences, annotations only), the toolkit's annos/att folder
    outside it (the dataset ships none; comma- and whitespace-separated files), two trackers."""
    root = tmp_path / "LaSOT"
    att = tmp_path / "LaSOT_Evaluation_Toolkit" / "annos" / "att"
    att.mkdir(parents=True)
    for i, (name, present) in enumerate(LASOT_ATTS.items()):
        seq = root / "airplane" / name
        seq.mkdir(parents=True)
        n = LENGTHS[name]
        np.savetxt(seq / "groundtruth.txt", GT[:1].repeat(n, axis=0), fmt="%d", delimiter=",")
        (seq / "full_occlusion.txt").write_text(",".join("0" * n) + "\n")
        (seq / "out_of_view.txt").write_text(",".join("0" * n) + "\n")
        (seq / "nlp.txt").write_text("white airplane\n")
        (att / f"{name}.txt").write_text(_flags(LASOT_KEYS, present, sep="," if i % 2 == 0 else " "))
    runs = [_results(tmp_path / "results" / "A", HITS_A, LENGTHS),
            _results(tmp_path / "results" / "B", HITS_B, LENGTHS)]
    return root, att, runs


def test_toolkit_files_parse_comma_and_whitespace():
    assert dataset_attributes("lasot")[1] == ("POC", "Partial Occlusion") and len(LASOT_KEYS) == 14
    assert dataset_attributes("lasot_ext") == dataset_attributes("lasot")
    assert TNL2K_KEYS[:4] == ["CM", "ROT", "DEF", "FOC"] and TNL2K_KEYS[-3:] == ["AS", "TC", "MS"]
    assert [k for k, _ in dataset_attributes("synthvl")][:3] == ["distractor", "dark_start", "occlusion"]


@pytest.mark.parametrize("text", ["0,1,0,0,0,1,0,0,1,0,0,0,1,0\n", "0 1 0 0 0 1 0 0 1 0 0 0 1 0",
                                  "0\t1\t0\t0\t0\t1\t0\t0\t1\t0\t0\t0\t1\t0\r\n",
                                  "0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0"])
def test_lasot_attribute_line_parses(tmp_path, text):
    path = tmp_path / "airplane-1.txt"
    path.write_text(text)
    flags = read_attribute_file(path, LASOT_KEYS)
    assert [k for k, v in flags.items() if v] == ["POC", "ROT", "SV", "LR"]


def test_tnl2k_attribute_line_parses_both_separators(tmp_path):
    for sep in (",", " "):
        path = tmp_path / f"x{sep.strip()}_attribute.txt"
        path.write_text(_flags(TNL2K_KEYS, {"CM", "IV", "AS", "MS"}, sep))
        flags = read_attribute_file(path, TNL2K_KEYS)
        assert [k for k, v in flags.items() if v] == ["CM", "IV", "AS", "MS"]


def test_malformed_files_name_the_file_count_and_names(tmp_path):
    path = tmp_path / "airplane-1.txt"
    path.write_text("0,1,0,0,0,1,0,0,1,0,0,0,1\n")  # 13 of 14
    with pytest.raises(ValueError, match=r"airplane-1\.txt: 13 value\(s\).*expected 14 .*\(IV, POC, DEF"):
        read_attribute_file(path, LASOT_KEYS)
    path.write_text(_flags(LASOT_KEYS, set()))
    with pytest.raises(ValueError, match=r"14 value\(s\).*expected 17 .*\(CM, ROT,"):
        read_attribute_file(path, TNL2K_KEYS)
    path.write_text("0,1,yes" + ",0" * 11)
    with pytest.raises(ValueError, match=r"airplane-1\.txt: 'yes' is not a number; expected 14"):
        read_attribute_file(path, LASOT_KEYS)
    with pytest.raises(ValueError, match="'otb99l' has no per-sequence attribute labels.*synthvl, lasot"):
        dataset_attributes("otb99l")


def test_lasot_missing_files_say_where_and_how_to_pass_the_folder(tmp_path, capsys):
    root, att, runs = _lasot(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no attribute file for sequence airplane-1 \(looked for .*"
                                                r"airplane-1[/\\]attributes\.txt, .*LaSOT[/\\]annos[/\\]att[/\\]"
                                                r"airplane-1\.txt.*evaluation toolkit.*--attributes DIR"):
        analyze_command("lasot", root, runs, attributes=True)
    (att / "airplane-13.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"sequence airplane-13 \(looked for .*att[/\\]airplane-13\.txt"):
        analyze_command("lasot", root, runs, attributes=att)
    with pytest.raises(FileNotFoundError, match="attribute folder not found: .*nowhere"):
        analyze_command("lasot", root, runs, attributes=tmp_path / "nowhere")
    # through the CLI: one line, exit code 2
    assert main(["analyze", "--dataset", "lasot", "--root", str(root), "--results", *map(str, runs),
                 "--attributes", str(att)]) == 2
    assert "airplane-13" in capsys.readouterr().err
    # a dataset without labels fails before scoring anything
    assert main(["analyze", "--dataset", "otb99l", "--root", str(root), "--results", str(runs[0]),
                 "--attributes"]) == 2
    captured = capsys.readouterr()
    assert "'otb99l' has no per-sequence attribute labels" in captured.err and "AUC" not in captured.out


def test_lasot_per_attribute_scores_equal_the_hand_picked_subsets(tmp_path, capsys):
    root, att, runs = _lasot(tmp_path)
    out = tmp_path / "scores.json"
    assert main(["analyze", "--dataset", "lasot", "--root", str(root), "--results", *map(str, runs),
                 "--attributes", str(att), "--json", str(out)]) == 0
    scores = json.loads(out.read_text())
    for tracker, hits in (("A", HITS_A), ("B", HITS_B)):
        attrs = scores[tracker]["attributes"]
        # POC 2, FM 2, SV 4 sequences; ROT, LR, IV, ARC on one and the rest on none: left out
        assert list(attrs) == ["POC", "SV", "FM"]
        assert scores[tracker]["attributes_left_out"] == {k: (1 if k in ("IV", "ROT", "LR", "ARC") else 0)
                                                          for k in LASOT_KEYS if k not in attrs}
        for key in attrs:
            subset = [s for s, present in LASOT_ATTS.items() if key in present]
            auc, prec, norm = _expected([hits[s] for s in subset], [LENGTHS[s] for s in subset])
            assert attrs[key]["sequences"] == len(subset)
            assert attrs[key]["auc"] == pytest.approx(auc) and attrs[key]["precision"] == pytest.approx(prec)
            assert attrs[key]["norm_precision"] == pytest.approx(norm)
        # SV is on every sequence: exactly the overall scores
        assert {k: attrs["SV"][k] for k in ("auc", "precision", "norm_precision")} == \
            {k: scores[tracker][k] for k in ("auc", "precision", "norm_precision")}
    text = capsys.readouterr().out
    table = text[text.index("attribute [#seqs]"):].splitlines()
    assert table[0].split() == ["attribute", "[#seqs]", "A", "B", "(AUC)"]  # best overall first
    assert table[1].split()[:3] == ["all", "[4]", f"{_expected(list(HITS_A.values()), list(LENGTHS.values()))[0]:.2f}"]
    assert table[2].split()[:4] == ["POC", "Partial", "Occlusion", "[2]"]
    assert table[-1].startswith("left out, on fewer than 2 sequences (as the LaSOT toolkit does): IV (1), DEF (0)")
    # the toolkit folder inside the root is found without naming it
    shutil.copytree(att, root / "annos" / "att")
    report = analyze_command("lasot", root, runs, attributes=True)
    assert report["A"]["attributes"] == scores["A"]["attributes"]


def test_all_sequences_subset_is_the_overall_score_and_the_min_count(tmp_path):
    seqs = [Sequence(f"s{i}", [f"s{i}/img/{j}.jpg" for j in range(N)], GT, [True] * N, dataset="otb99l")
            for i in range(3)]
    run = tmp_path / "t"
    run.mkdir()
    for i, s in enumerate(seqs):  # partial overlaps, not just hits and misses
        write_results(run / f"{s.name}.txt", GT + [[3 * i + k, k, 0, 2 * k] for k in range(N)])
    report = analyze(seqs, [run], print_table=False)
    flags = {"s0": {"all": True, "two": True, "one": True}, "s1": {"all": True, "two": True, "one": False},
             "s2": {"all": True, "two": False, "one": False}}
    attr = attribute_report(report, flags, {"all": "all", "two": "two", "one": "one"})
    assert {k: attr["t"]["all"][k] for k in ("auc", "precision", "norm_precision")} == \
        {k: report["t"][k] for k in ("auc", "precision", "norm_precision")}
    two = analyze(seqs[:2], [run], print_table=False)["t"]
    assert attr["t"]["two"] == {"auc": pytest.approx(two["auc"]), "precision": pytest.approx(two["precision"]),
                                "norm_precision": pytest.approx(two["norm_precision"]), "sequences": 2}
    assert "one" not in attr["t"] and attr.left_out == {"one": 1}
    # with the minimum at 1 the single sequence's own score appears
    one = attribute_report(report, flags, {"one": "one"}, min_sequences=1)
    assert one["t"]["one"]["auc"] == pytest.approx(report["t"]["per_sequence"]["s0"]["auc"])
    assert "left out, on fewer than 2" in format_attribute_table(attr)
    with pytest.raises(ValueError, match="no attribute labels for scored sequence.*s2"):
        attribute_report(report, {"s0": flags["s0"], "s1": flags["s1"]})


# ---------------------------------------------------------------------------- TNL2K miniature

TNL2K_ATTS = {"advSamp_Baseball_game_002-Done": {"CM", "ROT"}, "Assassin_video_1-Done": {"CM", "AS"},
              "test_015_Sord_video_Q01_done": {"CM", "ROT", "MS"}}  # the last one nested <seq>/<seq>/
HITS_T = {"advSamp_Baseball_game_002-Done": 5, "Assassin_video_1-Done": 2, "test_015_Sord_video_Q01_done": 3}


def test_tnl2k_sequence_files_and_toolkit_folder_agree(tmp_path):
    toolkit = tmp_path / "TNL2K_toolkit" / "annos" / "att"
    toolkit.mkdir(parents=True)
    for i, (name, present) in enumerate(TNL2K_ATTS.items()):
        seq = tmp_path / "TNL2K" / "test" / name
        seq = seq / name if name.startswith("test_015") else seq
        (seq / "imgs").mkdir(parents=True)
        for k in range(1, N + 1):
            (seq / "imgs" / f"{k:05d}.jpg").write_bytes(b"")  # listed, never read by analyze
        np.savetxt(seq / "groundtruth.txt", GT, fmt="%d", delimiter=",")
        (seq / "language.txt").write_text("the player\n")
        (seq / "attributes.txt").write_text(_flags(TNL2K_KEYS, present, sep=" " if i == 1 else ","))
        (toolkit / f"{name}_attribute.txt").write_text(_flags(TNL2K_KEYS, present))
    runs = [_results(tmp_path / "results" / "T", HITS_T)]
    ds = open_dataset("tnl2k", tmp_path / "TNL2K")
    flags = sequence_attributes(ds.sequences(), "tnl2k")
    assert {s: {k for k, v in f.items() if v} for s, f in flags.items()} == TNL2K_ATTS
    nested = tmp_path / "TNL2K" / "test" / "test_015_Sord_video_Q01_done"
    (nested / "test_015_Sord_video_Q01_done" / "attributes.txt").rename(nested / "attributes.txt")  # outer folder
    assert sequence_attributes(ds.sequences(), "tnl2k") == flags
    own = analyze_command("tnl2k", tmp_path / "TNL2K", runs, attributes=True)["T"]
    assert list(own["attributes"]) == ["CM", "ROT"] and own["attributes_left_out"]["AS"] == 1
    rot = [s for s, p in TNL2K_ATTS.items() if "ROT" in p]
    assert own["attributes"]["ROT"]["auc"] == pytest.approx(_expected([HITS_T[s] for s in rot])[0])
    assert own["attributes"]["CM"]["auc"] == own["auc"]
    via_toolkit = analyze_command("tnl2k", tmp_path / "TNL2K", runs, attributes=toolkit)["T"]
    assert via_toolkit["attributes"] == own["attributes"]
    (tmp_path / "TNL2K" / "test" / "Assassin_video_1-Done" / "attributes.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"Assassin_video_1-Done \(looked for .*attributes\.txt.*"
                                                r"<seq>_attribute\.txt with --attributes DIR"):
        analyze_command("tnl2k", tmp_path / "TNL2K", runs, attributes=True)


# ---------------------------------------------------------------------------- SynthVL, end to end


def test_cli_synthvl_attributes_json_and_plot(tmp_path, capsys):
    from allinone.data.synthetic import SynthConfig, generate_synthvl, read_attributes

    root = tmp_path / "synthvl"
    cfg = SynthConfig(width=96, height=72, min_frames=8, max_frames=10, textures=False)
    names = generate_synthvl(root, 4, seed=3, split="test", config=cfg, progress=False)
    folders = {n: root / n.rsplit("-", 1)[0] / n for n in names}
    rng = np.random.default_rng(0)
    runs = []
    for tracker, noise in (("good", 1.0), ("poor", 6.0)):
        run = tmp_path / "results" / tracker
        run.mkdir(parents=True)
        for n, folder in folders.items():
            gt = np.loadtxt(folder / "groundtruth.txt", delimiter=",", ndmin=2)
            write_results(run / f"{n}.txt", np.abs(gt + rng.normal(0, noise, gt.shape)) + [0, 0, 1, 1])
        runs.append(run)
    out, plots = tmp_path / "scores.json", tmp_path / "plots"
    assert main(["analyze", "--dataset", "synthvl", "--root", str(root), "--results", *map(str, runs),
                 "--attributes", "--json", str(out), "--plots", str(plots)]) == 0
    scores = json.loads(out.read_text())
    flags = {n: read_attributes(f) for n, f in folders.items()}
    for tracker in ("good", "poor"):
        per_seq = scores[tracker]["per_sequence"]
        got = scores[tracker]["attributes"]
        counted = {a: [n for n in names if flags[n][a]] for a in flags[names[0]]}
        assert set(got) == {a for a, members in counted.items() if len(members) >= 2} and got
        assert set(scores[tracker]["attributes_left_out"]) == {a for a, m in counted.items() if len(m) < 2}
        for a, r in got.items():
            assert r["sequences"] == len(counted[a])
            assert r["auc"] == pytest.approx(np.mean([per_seq[n]["auc"] for n in counted[a]]))
    printed = capsys.readouterr().out
    assert "attribute [#seqs]" in printed and "attributes_auc.png" in printed
    png = (plots / "attributes_auc.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert (plots / "success_plot.png").exists()

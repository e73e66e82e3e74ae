"""Readers never drop or shorten anything silently: split named, missing / empty ground truth,
ground truth shorter than the frames, one name under two classes, TIFF / WebP frames, mixed sizes."""
import warnings

import cv2
import numpy as np
import pytest

from allinone.data import AnnotationError, DatasetError, FrameReadError, open_dataset
from allinone.data.datasets.base import sorted_frames


def make_seq(root, cls, name, frames=4, gt_lines=None, size=(16, 16), ext=".jpg"):
    d = root / cls / name
    (d / "img").mkdir(parents=True)
    for i in range(1, frames + 1):
        cv2.imwrite(str(d / "img" / f"{i:08d}{ext}"), np.full((size[1], size[0], 3), 60, np.uint8))
    n = frames if gt_lines is None else gt_lines
    (d / "groundtruth.txt").write_text("".join(f"{i},{i},5,6\n" for i in range(n)))
    (d / "nlp.txt").write_text(f"the {cls}\n")
    return d


def test_split_selecting_nothing_fails_naming_split_all(tmp_path):
    make_seq(tmp_path, "ball", "ball-1")  # not one of LaSOT's official names
    make_seq(tmp_path, "ball", "ball-2")
    with pytest.raises(DatasetError, match=r"split 'test'.*none of the 2 sequence.*--split all"):
        open_dataset("lasot", tmp_path)
    ds = open_dataset("lasot", tmp_path, split="all")
    assert ds.sequence_names() == ["ball-1", "ball-2"]
    assert ds.describe().endswith("split 'all': 2 sequence(s)")


def test_missing_ground_truth_fails_or_is_skipped_with_a_warning(tmp_path):
    make_seq(tmp_path, "ball", "ball-1")
    (make_seq(tmp_path, "ball", "ball-2") / "groundtruth.txt").unlink()
    with pytest.raises(DatasetError, match=r"ball-2: no .*groundtruth.txt.*--skip-missing"):
        open_dataset("lasot", tmp_path, split="all")
    with pytest.warns(UserWarning, match=r"skipping 1 sequence.*ball-2"):
        ds = open_dataset("lasot", tmp_path, split="all", skip_missing=True)
    assert ds.sequence_names() == ["ball-1"] and list(ds.skipped) == ["ball-2"]
    assert "1 skipped without ground truth" in ds.describe()


def test_empty_ground_truth_is_missing_ground_truth(tmp_path):
    make_seq(tmp_path, "ball", "ball-1")
    (make_seq(tmp_path, "ball", "ball-2") / "groundtruth.txt").write_text("")
    with pytest.raises(DatasetError, match=r"ball-2: empty .*groundtruth.txt"):
        open_dataset("lasot", tmp_path, split="all")
    (tmp_path / "ball" / "ball-2" / "groundtruth.txt").write_text("\n\n")  # blank lines only: no box
    with pytest.raises(AnnotationError, match="no boxes"):
        open_dataset("lasot", tmp_path, split="all")["ball-2"]


def test_ground_truth_shorter_than_frames_is_said(tmp_path):
    make_seq(tmp_path, "ball", "ball-1", frames=6, gt_lines=4)
    ds = open_dataset("lasot", tmp_path, split="all")
    with pytest.warns(UserWarning, match=r"ball-1: 2 frame\(s\) .* after the last of its 4 ground-truth boxes"):
        seq = ds["ball-1"]
    assert len(seq) == 4 and ds.frame_count("ball-1") == 4


def test_ground_truth_longer_than_frames_fails_naming_the_frame(tmp_path):
    make_seq(tmp_path, "ball", "ball-1", frames=3, gt_lines=5)
    with pytest.raises(FrameReadError, match=r"2 of its 5 annotated frames are missing, first .*00000004.jpg"):
        open_dataset("lasot", tmp_path, split="all")["ball-1"]


def test_annotations_only_copy_still_opens(tmp_path):
    """Scoring needs no frames: a copy without img/ folders loads (reading a frame then fails)."""
    d = tmp_path / "ball" / "ball-1"
    d.mkdir(parents=True)
    (d / "groundtruth.txt").write_text("1,2,3,4\n2,3,4,5\n")
    seq = open_dataset("lasot", tmp_path, split="all")["ball-1"]
    assert len(seq) == 2
    with pytest.raises(FrameReadError, match="00000001.jpg"):
        seq.read_frame(0)


def test_same_name_under_two_classes_is_an_error(tmp_path):
    make_seq(tmp_path, "ball", "ball-1")
    make_seq(tmp_path, "cup", "ball-1")
    with pytest.raises(DatasetError, match=r"ball-1 is in two class folders.*ball/ball-1.*cup/ball-1"):
        open_dataset("lasot", tmp_path, split="all")


def test_sequence_under_another_class_folder_loads_its_own_folder(tmp_path):
    make_seq(tmp_path, "cup", "ball-7", frames=2)  # class folder and name disagree
    ds = open_dataset("lasot", tmp_path, split="all")
    seq = ds["ball-7"]
    assert seq.frames[0].endswith("cup/ball-7/img/00000001.jpg") and seq.class_name == "cup"
    assert ds.texts() == ["the cup"]


def test_tif_and_webp_frames_are_listed(tmp_path):
    for i, ext in enumerate((".jpg", ".tif", ".webp", ".tiff", ".png")):
        cv2.imwrite(str(tmp_path / f"{i}{ext}"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    assert [p.rsplit("/", 1)[1] for p in sorted_frames(tmp_path)] == ["0.jpg", "1.tif", "2.webp", "3.tiff", "4.png"]


def test_tnl2k_webp_sequence_and_extra_frames(tmp_path):
    d = tmp_path / "test" / "seqA"
    (d / "imgs").mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(d / "imgs" / f"{i:05d}.webp"), np.zeros((8, 8, 3), np.uint8))
    (d / "groundtruth.txt").write_text("1,1,3,3\n" * 4)
    with pytest.warns(UserWarning, match=r"seqA: 1 frame\(s\)"):
        seq = open_dataset("tnl2k", tmp_path)["seqA"]
    assert len(seq) == 4 and seq.frames[0].endswith("00000.webp")
    assert seq.read_frame(3).shape == (8, 8, 3)


def test_tnl2k_sequence_without_ground_truth_is_not_dropped(tmp_path):
    for name in ("seqA", "seqB"):
        (tmp_path / "test" / name / "imgs").mkdir(parents=True)
    (tmp_path / "test" / "seqA" / "groundtruth.txt").write_text("1,1,3,3\n")
    with pytest.raises(DatasetError, match=r"seqB: no .*groundtruth.txt"):
        open_dataset("tnl2k", tmp_path)
    with pytest.warns(UserWarning, match="seqB"):
        assert open_dataset("tnl2k", tmp_path, skip_missing=True).sequence_names() == ["seqA"]


def test_frames_of_different_sizes_are_reported(tmp_path):
    d = make_seq(tmp_path, "ball", "ball-1", frames=3)
    cv2.imwrite(str(d / "img" / "00000003.jpg"), np.zeros((20, 30, 3), np.uint8))
    seq = open_dataset("lasot", tmp_path, split="all")["ball-1"]
    seq.read_frame(0)
    seq.read_frame(1)
    with pytest.warns(UserWarning, match=r"frame 2 is 30x20 but earlier frames are 16x16"):
        seq.read_frame(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per sequence, not on every frame
        seq.read_frame(2)


def test_got10k_frames_are_checked_against_the_folder(tmp_path):
    d = tmp_path / "train" / "GOT-10k_Train_000001"
    d.mkdir(parents=True)
    for i in range(1, 4):
        cv2.imwrite(str(d / f"{i:08d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    (d / "groundtruth.txt").write_text("1,1,3,3\n")  # GOT-10k test style: only the first box
    with pytest.warns(UserWarning, match=r"2 frame\(s\) .* after the last of its 1 ground-truth boxes"):
        assert len(open_dataset("got10k", tmp_path)["GOT-10k_Train_000001"]) == 1

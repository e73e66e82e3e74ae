"""LaSOT-layout reader: official split, absence flags, separators and quirks, clear errors."""
import cv2
import numpy as np
import pytest

from allinone.data import AnnotationError, DatasetError, FrameReadError, open_dataset
from allinone.data.datasets.lasot import lasot_test_sequences


def make_lasot(root, names=("airplane-1", "airplane-2", "dog-19"), frames=3):
    for name in names:
        d = root / name.rsplit("-", 1)[0] / name
        (d / "img").mkdir(parents=True)
        for i in range(1, frames + 1):
            img = np.zeros((16, 16, 3), np.uint8)
            img[..., 2] = 255  # BGR red
            cv2.imwrite(str(d / "img" / f"{i:08d}.jpg"), img)
        (d / "groundtruth.txt").write_text("\n".join(f"{i},{i + 1},5,6" for i in range(frames)) + "\n\n")
        (d / "full_occlusion.txt").write_text("0,1" + ",0" * (frames - 2) + "\n")
        (d / "out_of_view.txt").write_text("0," * (frames - 1) + "1\n")
        (d / "nlp.txt").write_text("\ufeffwhite airplane flying in the sky\n")
    return root


def test_split_flags_text_and_frames(tmp_path):
    make_lasot(tmp_path)
    test = open_dataset("lasot", tmp_path)  # default: the protocol-II test split
    assert test.sequence_names() == ["airplane-1", "dog-19"]
    assert open_dataset("lasot", tmp_path, split="train").sequence_names() == ["airplane-2"]
    seq = test["airplane-1"]
    assert seq.text == "white airplane flying in the sky"
    np.testing.assert_array_equal(seq.boxes, [[0, 1, 5, 6], [1, 2, 5, 6], [2, 3, 5, 6]])
    np.testing.assert_array_equal(seq.visible, [True, False, False])
    assert seq.frames[0].endswith("airplane/airplane-1/img/00000001.jpg")
    rgb = seq.read_frame(0)
    assert rgb[..., 0].mean() > 200 and rgb[..., 2].mean() < 50  # converted to RGB once


def test_official_test_list():
    names = lasot_test_sequences()
    assert len(names) == 280 == len(set(names))
    assert {"airplane-1", "airplane-9", "airplane-13", "airplane-15", "volleyball-19"} <= set(names)
    assert "airplane-10" not in names


def test_malformed_line_names_file_and_line(tmp_path):
    make_lasot(tmp_path, names=("dog-19",))
    gt = tmp_path / "dog" / "dog-19" / "groundtruth.txt"
    gt.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(AnnotationError, match=r"groundtruth.txt:2"):
        open_dataset("lasot", tmp_path)["dog-19"]


def test_tab_and_space_separators(tmp_path):
    make_lasot(tmp_path, names=("dog-19",))
    (tmp_path / "dog" / "dog-19" / "groundtruth.txt").write_text("0\t1\t5\t6\n1 2 5 6\n2,3,5,6\n")
    assert open_dataset("lasot", tmp_path)["dog-19"].boxes[1].tolist() == [1, 2, 5, 6]


def test_missing_root_and_missing_frame(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        open_dataset("lasot", tmp_path / "nope")
    make_lasot(tmp_path, names=("dog-19",))
    (tmp_path / "dog" / "dog-19" / "img" / "00000002.jpg").unlink()
    with pytest.raises(FrameReadError, match="00000002.jpg"):
        open_dataset("lasot", tmp_path)["dog-19"].read_frame(1)
    with pytest.raises(DatasetError, match="unknown dataset"):
        open_dataset("imagenet", tmp_path)


def test_lasot_ext_under_its_subset_folder(tmp_path):
    make_lasot(tmp_path / "LaSOT_extension_subset", names=("atv-1", "atv-10"))
    ds = open_dataset("lasot_ext", tmp_path)
    assert ds.sequence_names() == ["atv-1", "atv-10"]  # every sequence is a test sequence
    assert ds["atv-10"].dataset == "lasot_ext"


def test_training_opens_lasot_on_its_training_split(tmp_path):
    from allinone.data.sampler import build_datasets

    make_lasot(tmp_path)
    (ds, weight), = build_datasets({"lasot": str(tmp_path)}, {"lasot": 2.0})
    assert ds.sequence_names() == ["airplane-2"] and weight == 2.0


def test_texts_without_parsing_annotations(tmp_path):
    make_lasot(tmp_path, names=("dog-19",))
    (tmp_path / "dog" / "dog-19" / "groundtruth.txt").write_text("broken\n")  # not read for texts
    assert open_dataset("lasot", tmp_path).texts() == ["white airplane flying in the sky"]

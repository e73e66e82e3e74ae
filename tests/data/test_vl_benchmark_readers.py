"""TNL2K, OTB99-L and WebUAV-3M readers on miniature copies with the real quirks."""
import cv2
import numpy as np
import pytest

from allinone.data import AnnotationError, DatasetError, open_dataset


def _img(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((16, 16, 3), value, np.uint8))


def _gt(path, n, sep=","):
    path.write_text("".join(sep.join(str(v) for v in (i, i, 4, 5)) + "\n" for i in range(n)))


def test_tnl2k_nested_sorted_png_and_empty_text(tmp_path):
    a = tmp_path / "test" / "advSamp_Baseball_game_002-Done"
    for i in (9, 10, 11):  # start index varies; natural sort: 9 before 10
        _img(a / "imgs" / f"{i}.png")
    _gt(a / "groundtruth.txt", 3)
    (a / "language.txt").write_text("the player in white\n")
    nested = tmp_path / "test" / "test_015_Sord_video_Q01_done" / "test_015_Sord_video_Q01_done"
    for i in range(1, 3):
        _img(nested / "imgs" / f"{i:05d}.jpg")
    _gt(nested / "groundtruth.txt", 2)
    (nested / "language.txt").write_text("")
    ds = open_dataset("tnl2k", tmp_path)
    assert ds.sequence_names() == ["advSamp_Baseball_game_002-Done", "test_015_Sord_video_Q01_done"]
    s = ds["advSamp_Baseball_game_002-Done"]
    assert [p.rsplit("/", 1)[1] for p in s.frames] == ["9.png", "10.png", "11.png"]
    assert s.text == "the player in white" and s.boxes[2].tolist() == [2, 2, 4, 5]
    n = ds["test_015_Sord_video_Q01_done"]
    assert n.text == "" and len(n) == 2
    assert open_dataset("tnl2k", tmp_path / "test").sequence_names() == ds.sequence_names()  # split folder as root


def test_otb99l_start_frames_board_padding_and_query_split(tmp_path):
    videos = tmp_path / "OTB_videos"
    for i in range(245, 251):
        _img(videos / "BlurCar1" / "img" / f"{i:04d}.jpg")
    _gt(videos / "BlurCar1" / "groundtruth_rect.txt", 4, sep="\t")
    for i in range(1, 4):
        _img(videos / "Board" / "img" / f"{i:05d}.jpg")
    _gt(videos / "Board" / "groundtruth_rect.txt", 3, sep=" ")
    for i in range(1, 3):
        _img(videos / "Jogging" / "img" / f"{i:04d}.jpg")
    _gt(videos / "Jogging" / "groundtruth_rect.2.txt", 2)
    q = tmp_path / "OTB_query_test"
    q.mkdir()
    (q / "BlurCar1.txt").write_text("a black car moving on the road\n")
    (q / "Board.txt").write_text("\ufeffthe board\n")
    (q / "Jogging-2.txt").write_text("the woman in white\n")
    (tmp_path / "OTB_query_train").mkdir()
    ds = open_dataset("otb99l", tmp_path)
    assert ds.sequence_names() == ["BlurCar1", "Board", "Jogging-2"]
    car = ds["BlurCar1"]
    assert car.frames[0].endswith("BlurCar1/img/0247.jpg") and len(car) == 4
    assert car.text == "a black car moving on the road"
    assert ds["Board"].frames[-1].endswith("00003.jpg") and ds["Board"].text == "the board"
    assert ds["Jogging-2"].boxes.shape == (2, 4)


def test_otb99l_restructured_layout(tmp_path):
    d = tmp_path / "test" / "Biker"
    for i in range(1, 3):
        _img(d / "img" / f"{i:04d}.jpg")
    _gt(d / "groundtruth_rect.txt", 2)
    (d / "nlp.txt").write_text("a man riding a bike\n")
    s = open_dataset("otb99l", tmp_path)["Biker"]
    assert s.text == "a man riding a bike" and len(s) == 2


def test_webuav3m_class_split_and_errors(tmp_path):
    d = tmp_path / "Test" / "bicycle_rider_017"
    for i in range(1, 4):
        _img(d / "img" / f"{i:06d}.jpg")
    _gt(d / "groundtruth_rect.txt", 3)
    (d / "language.txt").write_text("a person riding a bicycle\n")
    s = open_dataset("webuav3m", tmp_path)["bicycle_rider_017"]
    assert s.class_name == "bicycle_rider" and s.text == "a person riding a bicycle" and len(s) == 3
    (d / "groundtruth_rect.txt").write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(AnnotationError, match=r"groundtruth_rect.txt:2"):
        open_dataset("webuav3m", tmp_path)["bicycle_rider_017"]
    _gt(d / "groundtruth_rect.txt", 5)
    with pytest.raises(DatasetError, match="3 frames"):
        open_dataset("webuav3m", tmp_path)["bicycle_rider_017"]


def test_benchmark_formats_feed_the_sampler_and_report_image_size(tmp_path):
    from allinone import load_config
    from allinone.data.pairs import PairDataset
    from allinone.data.sampler import PairSampler
    from allinone.text import default_tokenizer

    d = tmp_path / "Test" / "car_001"
    for i in range(1, 6):
        _img(d / "img" / f"{i:06d}.jpg", value=40 * i)
    (d / "groundtruth_rect.txt").write_text("".join(f"{i},{i},6,5\n" for i in range(5)))
    (d / "language.txt").write_text("a car\n")
    ds = open_dataset("webuav3m", tmp_path)
    assert ds[0].get_image_size() == (16, 16)
    cfg = load_config("cpu-tiny")
    pairs = PairDataset(PairSampler([(ds, 1.0)], 200), cfg.model, cfg.data, default_tokenizer(), 3, seed=0)
    assert all(pairs[i]["has_text"] for i in range(3))

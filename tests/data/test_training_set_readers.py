"""GOT-10k, TrackingNet, COCO, RefCOCOg and Visual Genome readers, and every format feeding the sampler."""
import json
import pickle

import cv2
import numpy as np
import pytest

from allinone import load_config
from allinone.data import DatasetError, open_dataset
from allinone.data.pairs import PairDataset
from allinone.data.sampler import PairSampler
from allinone.text import default_tokenizer


def _img(path, h=64, w=80):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8))


def make_got10k(root, n=4):
    d = root / "train" / "GOT-10k_Train_000001"
    for i in range(1, n + 1):
        _img(d / f"{i:08d}.jpg")
    (d / "groundtruth.txt").write_text("".join(f"{10 + i},{12 + i},20,18\n" for i in range(n)))
    (d / "absence.label").write_text("0\n1\n0\n0\n")
    (d / "cover.label").write_text("8\n0\n0\n5\n")
    (d / "meta_info.ini").write_text("[METAINFO]\nurl: x\nobject_class: giant panda\nmotion_class: walking\n")
    (root / "train" / "list.txt").write_text("GOT-10k_Train_000001\n")
    return root


def make_trackingnet(root):
    d = root / "TRAIN_0"
    for i in range(12):
        _img(d / "frames" / "vid_a" / f"{i}.jpg")
    (d / "anno").mkdir(parents=True)
    (d / "anno" / "vid_a.txt").write_text("".join(f"{i}.0,5.0,20.0,20.0\n" for i in range(12)))
    return root


def make_coco(root):
    _img(root / "images" / "train2017" / "000000000009.jpg")
    ann = {"images": [{"id": 9, "file_name": "000000000009.jpg", "width": 80, "height": 64}],
           "categories": [{"id": 1, "name": "person", "supercategory": "person"},
                          {"id": 2, "name": "dog", "supercategory": "animal"}],
           "annotations": [{"id": 1, "image_id": 9, "category_id": 2, "bbox": [10, 10, 30, 20], "iscrowd": 0},
                           {"id": 2, "image_id": 9, "category_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1}]}
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(ann))
    return root


def make_refcocog(root, refs=None):
    _img(root / "images" / "train2014" / "COCO_train2014_000000000009.jpg")
    d = root / "refcocog"
    d.mkdir(parents=True)
    inst = {"images": [{"id": 9, "file_name": "COCO_train2014_000000000009.jpg", "width": 80, "height": 64}],
            "annotations": [{"id": 5, "image_id": 9, "bbox": [12, 8, 30, 25], "category_id": 2}]}
    (d / "instances.json").write_text(json.dumps(inst))
    refs = refs if refs is not None else [
        {"ref_id": 1, "ann_id": 5, "image_id": 9, "split": "train", "category_id": 2,
         "sentences": [{"raw": "the brown dog on the left", "sent": "the brown dog on the left"},
                       {"raw": "A dog.", "sent": "a dog"}]},
        {"ref_id": 2, "ann_id": 5, "image_id": 9, "split": "val", "category_id": 2,
         "sentences": [{"raw": "val sentence", "sent": "val sentence"}]}]
    (d / "refs(umd).p").write_bytes(pickle.dumps(refs, protocol=2))
    return root


def make_visual_genome(root):
    _img(root / "images" / "VG_100K" / "1.jpg")
    _img(root / "images" / "VG_100K_2" / "2.jpg")
    data = [{"id": 1, "regions": [{"region_id": 11, "image_id": 1, "x": 5, "y": 6, "width": 30, "height": 20,
                                   "phrase": "a red kite "}]},
            {"id": 2, "regions": [{"region_id": 21, "image_id": 2, "x": 1, "y": 2, "width": 40, "height": 30,
                                   "phrase": "white clouds"}]},
            {"id": 3, "regions": [{"region_id": 31, "image_id": 3, "x": 1, "y": 2, "width": 4, "height": 3,
                                   "phrase": "not on disk"}]}]
    (root / "region_descriptions.json").write_text(json.dumps(data))
    return root


def test_got10k_absence_and_cover(tmp_path):
    s = open_dataset("got10k", make_got10k(tmp_path))["GOT-10k_Train_000001"]
    np.testing.assert_array_equal(s.visible, [True, False, False, True])
    assert s.text == "" and s.class_name == "giant panda"
    assert open_dataset("got10k", tmp_path, pseudo_text=True)[0].text == "giant panda"
    assert s.frames[0].endswith("GOT-10k_Train_000001/00000001.jpg")


def test_trackingnet_unpadded_numeric_frames(tmp_path):
    s = open_dataset("trackingnet", make_trackingnet(tmp_path))["TRAIN_0/vid_a"]
    assert [f.rsplit("/", 1)[1] for f in s.frames[9:12]] == ["9.jpg", "10.jpg", "11.jpg"]
    assert s.boxes[11].tolist() == [11, 5, 20, 20] and s.text == ""


def test_coco_skips_crowd_and_names_category(tmp_path):
    ds = open_dataset("coco", make_coco(tmp_path))
    assert len(ds) == 1 and not ds.is_video
    s = ds[0]
    assert s.text == "dog, animal" and s.boxes.tolist() == [[10, 10, 30, 20]] and s.image_size == (80, 64)


def test_refcocog_one_sample_per_sentence_and_restricted_pickle(tmp_path):
    ds = open_dataset("refcocog", make_refcocog(tmp_path / "ok"))
    assert sorted(s.text for s in ds.sequences()) == ["A dog.", "the brown dog on the left"]
    assert open_dataset("refcocog", tmp_path / "ok", split="val")[0].text == "val sentence"

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    make_refcocog(tmp_path / "evil", refs=[Evil()])
    with pytest.raises(DatasetError, match=r"refused to unpickle global (__builtin__|builtins)\.print"):
        open_dataset("refcocog", tmp_path / "evil")


def test_visual_genome_reads_both_image_folders(tmp_path):
    ds = open_dataset("visual_genome", make_visual_genome(tmp_path))
    assert sorted(ds.sequence_names()) == ["vg-11", "vg-21"]
    assert ds["vg-21"].frames[0].endswith("VG_100K_2/2.jpg") and ds["vg-11"].text == "a red kite"


def test_missing_roots_and_files(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        open_dataset("coco", tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="instances_train2017.json"):
        open_dataset("coco", tmp_path / "empty")


@pytest.mark.parametrize("name, maker", [("got10k", make_got10k), ("trackingnet", make_trackingnet),
                                         ("coco", make_coco), ("refcocog", make_refcocog),
                                         ("visual_genome", make_visual_genome)])
def test_every_training_format_feeds_the_sampler(tmp_path, name, maker):
    cfg = load_config("cpu-tiny")
    ds = open_dataset(name, maker(tmp_path))
    pairs = PairDataset(PairSampler([(ds, 1.0)], 200), cfg.model, cfg.data, default_tokenizer(), 4, seed=0)
    for i in range(4):
        item = pairs[i]
        assert item["search"].shape == (3, 128, 128) and (item["search_box"] >= 0).all()

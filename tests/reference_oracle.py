"""The reference tracker's geometry restated from its description (OSTrack's ``sample_target``,
``map_box_back`` and ``clip_box``), as an independent oracle for parity tests."""
import math

import cv2
import numpy as np


def sample_target(image, box, factor, out_size):
    """Slice the square, pad it with black by copyMakeBorder, resize; returns (crop, resize factor)."""
    x, y, w, h = box
    side = math.ceil(math.sqrt(w * h) * factor)
    x1, y1 = round(x + 0.5 * w - side * 0.5), round(y + 0.5 * h - side * 0.5)
    x2, y2 = x1 + side, y1 + side
    left, top = max(0, -x1), max(0, -y1)
    right, bottom = max(x2 - image.shape[1] + 1, 0), max(y2 - image.shape[0] + 1, 0)
    patch = image[y1 + top:y2 - bottom, x1 + left:x2 - right]
    patch = cv2.copyMakeBorder(patch, top, bottom, left, right, cv2.BORDER_CONSTANT)
    return cv2.resize(patch, (out_size, out_size)), out_size / side


def map_box_back(prev_box, box_cxcywh_norm, search_size, resize_factor):
    """Predicted (cx, cy, w, h) in [0, 1] of the search crop → image x, y, w, h."""
    side = search_size / resize_factor
    cx, cy, w, h = (v * side for v in box_cxcywh_norm)
    cx_prev, cy_prev = prev_box[0] + 0.5 * prev_box[2], prev_box[1] + 0.5 * prev_box[3]
    cx_real, cy_real = cx + cx_prev - 0.5 * side, cy + cy_prev - 0.5 * side
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def clip_box(box, height, width, margin):
    x1, y1, w, h = box
    x2, y2 = x1 + w, y1 + h
    x1, x2 = min(max(0, x1), width - margin), min(max(margin, x2), width)
    y1, y2 = min(max(0, y1), height - margin), min(max(margin, y2), height)
    return [x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)]


def hann2d(size):
    n = np.arange(1, size + 1)
    w = 0.5 * (1 - np.cos(2 * math.pi * n / (size + 1)))
    return np.outer(w, w)


def reference_layout(model):
    """Our weights under the reference implementation's key names, with its extra entries."""
    import torch

    net = {}
    for k, v in model.state_dict().items():
        if k.startswith("alignment."):
            k = "backbone." + k[len("alignment."):]
        elif k.startswith("language_proj."):
            k = "backbone." + k
        net[k] = v.clone()
    c = model.config.model
    net["backbone.pos_embed"] = torch.zeros(1, 1 + c.pretrain_grid ** 2, c.embed_dim)
    net["backbone.cls_token"] = torch.zeros(1, 1, c.embed_dim)
    net["language_embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    return net

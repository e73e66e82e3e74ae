"""Training pairs as tensors (SPEC §2, §5): crops, augmentation, targets, batching.

One sample is a template crop (no jitter), a search crop (jittered centre and scale), the text's
token ids and mask, the target box in each crop (``cx, cy, w, h`` normalised to the crop, clipped
to it) and the template's centre-token mask. Order of operations, as in OSTrack's processing:

    crop (mean padding) → grayscale (p=0.05, both crops) → horizontal flip (p=0.5, both crops and
    the text's "left"/"right") → brightness (one factor per crop, ±0.2) → normalisation.

The flip and grayscale act on the crops, not the whole frames: a mirrored crop equals the crop of
the mirrored frame around the mirrored (symmetrically distributed) jitter, and crops are smaller.
With ``train=False`` there is no grayscale, flip or brightness; the box jitter stays, so that a
validation loss measures the same task.

A pair is **invalid** when a frame's box (clipped to its image) is narrower or lower than 1 px,
when a crop window misses the image, or when the target's centre falls outside a crop or its part
inside the crop is narrower or lower than 1 crop pixel. Invalid pairs are re-drawn (new frames and
jitter from the same sequence a few times, then a new sequence), never returned.

Sample ``i`` of epoch ``e`` uses ``numpy.random.default_rng([seed, e, i])`` and nothing else: it is
the same in any worker, with any number of workers, and a ``DistributedSampler`` over the indices
gives every rank different samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Optional, Union

import cv2
import numpy as np
import torch

from ..config import DataConfig, ModelConfig
from . import augment
from .processing import CropWindow, box_to_crop, crop_square, crop_window, normalize_image
from .sampler import PairSampler

GRAYSCALE_PROBABILITY = 0.05
FLIP_PROBABILITY = 0.5
BRIGHTNESS_JITTER = 0.2
TRIES_PER_SEQUENCE = 10  # frame + jitter draws on one sequence before drawing another
MAX_SEQUENCES = 100  # sequences tried for one sample before giving up with an error
MIN_SIDE_PX = 1.0


class PairError(RuntimeError):
    """No valid training pair could be built (every draw was invalid)."""


@dataclass
class PairBatch:
    """A batch of training pairs (B samples); boxes are ``cx, cy, w, h`` normalised to their crop.

    template (B, 3, H_z, W_z) and search (B, 3, H_x, W_x): normalised RGB, float32.
    text_ids, text_mask (B, L): long (all zero without text). has_text (B,): bool.
    search_box, template_box (B, 4): float32 in [0, 1]. template_mask (B, L_z): bool, the template
    grid cell holding the target's centre (what candidate elimination queries).
    """

    template: torch.Tensor
    search: torch.Tensor
    text_ids: torch.Tensor
    text_mask: torch.Tensor
    has_text: torch.Tensor
    search_box: torch.Tensor
    template_box: torch.Tensor
    template_mask: torch.Tensor

    def __len__(self) -> int:
        return self.template.shape[0]

    def to(self, device: Union[str, torch.device], non_blocking: bool = False) -> "PairBatch":
        """A copy with every tensor on `device`."""
        return PairBatch(**{f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
                            for f in fields(self)})

    def pin_memory(self) -> "PairBatch":
        """Page-locked copy (``DataLoader(pin_memory=True)`` calls this)."""
        return PairBatch(**{f.name: getattr(self, f.name).pin_memory() for f in fields(self)})


def collate_pairs(samples: list[dict[str, torch.Tensor]]) -> PairBatch:
    """Stack `PairDataset` samples into a `PairBatch` (the DataLoader's ``collate_fn``).

    Samples arrive already tokenised: one text costs ~10 µs to encode, nothing next to decoding two
    frames, and a per-sample call keeps ``tokenizers`` from starting its thread pool inside forked
    workers (a batched call would, and warns when the parent used it first).
    """
    if not samples:
        raise ValueError("collate_pairs needs at least one sample")
    return PairBatch(**{f.name: torch.stack([s[f.name] for s in samples]) for f in fields(PairBatch)})


def worker_init_fn(worker_id: int, parent_pid: Optional[int] = None) -> None:
    """DataLoader worker set-up: one OpenCV and one torch thread per worker (workers are the
    parallelism; nested thread pools only oversubscribe the cores). With `parent_pid` (bind it with
    ``functools.partial(worker_init_fn, parent_pid=os.getpid())``) the worker exits as soon as that
    process is gone, so a killed training run leaves no worker (nor fork server) behind."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    if parent_pid is not None:
        from ..processes import exit_with_parent

        exit_with_parent(parent_pid)


# --------------------------------------------------------------------------- geometry helpers


def _clipped_size(box_xywh: np.ndarray, width: float, height: float) -> tuple[float, float]:
    """Width and height of the part of `box_xywh` inside ``[0, width] x [0, height]``."""
    x, y, w, h = box_xywh
    return (min(x + w, width) - max(x, 0.0), min(y + h, height) - max(y, 0.0))


def _window_hits_image(window: CropWindow, width: int, height: int) -> bool:
    cw = min(window.x0 + window.side, width) - max(window.x0, 0.0)
    ch = min(window.y0 + window.side, height) - max(window.y0, 0.0)
    return cw >= MIN_SIDE_PX and ch >= MIN_SIDE_PX


def _target_in_crop(box_crop: np.ndarray, size: int) -> bool:
    """Centre inside the crop and the part inside at least 1 px wide and high."""
    cx, cy = box_crop[0] + 0.5 * box_crop[2], box_crop[1] + 0.5 * box_crop[3]
    if not (0.0 <= cx < size and 0.0 <= cy < size):
        return False
    return min(_clipped_size(box_crop, size, size)) >= MIN_SIDE_PX


def box_crop_to_cxcywh_norm(box_crop: np.ndarray, size: int) -> np.ndarray:
    """Crop-pixel ``x, y, w, h`` → ``cx, cy, w, h`` in [0, 1], the box clipped to the crop first."""
    x1, y1 = np.clip(box_crop[:2], 0.0, size)
    x2, y2 = np.clip(box_crop[:2] + box_crop[2:], 0.0, size)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float32) / size


def centre_cell_mask(box_crop: np.ndarray, size: int, patch_size: int) -> torch.Tensor:
    """(L_z,) bool: the grid cell of a `size` crop with `patch_size` cells holding the box centre.

    A centre exactly on a cell border belongs to the cell above / to the left, so the centre of an
    unjittered template (the crop's middle) is cell ``((g-1)//2, (g-1)//2)``: (3, 3) on the 8x8
    grid, as in the reference and the model's default centre token.
    """
    grid = size // patch_size
    cx, cy = box_crop[0] + 0.5 * box_crop[2], box_crop[1] + 0.5 * box_crop[3]
    col, row = (min(max(math.ceil(c / patch_size - 1e-6) - 1, 0), grid - 1) for c in (cx, cy))
    mask = torch.zeros(grid * grid, dtype=torch.bool)
    mask[row * grid + col] = True
    return mask


def _crop(image: np.ndarray, box_xywh: np.ndarray, factor: float, size: int, center_jitter: float,
          scale_jitter: float, rng: np.random.Generator) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Jittered crop of `image` around `box_xywh` and the box in crop pixels; None when invalid."""
    height, width = image.shape[:2]
    if min(_clipped_size(box_xywh, width, height)) < MIN_SIDE_PX:
        return None
    jittered = augment.jitter_box(box_xywh, center_jitter, scale_jitter, rng)
    window = crop_window(jittered, factor, size)
    box_crop = box_to_crop(box_xywh, window)
    if not _window_hits_image(window, width, height) or not _target_in_crop(box_crop, size):
        return None
    return crop_square(image, window, size), box_crop


# --------------------------------------------------------------------------- one pair


def make_pair(template_image: np.ndarray, template_box_xywh: np.ndarray, search_image: np.ndarray,
              search_box_xywh: np.ndarray, text: Optional[str], model_cfg: ModelConfig,
              data_cfg: DataConfig, rng: np.random.Generator, train: bool = True
              ) -> Optional[dict[str, Any]]:
    """Crops, augmentation and targets of one pair; None when the draw is invalid.

    Images are RGB uint8 (H, W, 3); boxes ``x, y, w, h`` in image pixels. Returns the sample's
    tensors (as `PairBatch` fields without the batch dimension, text not yet tokenised: key
    ``text``), all randomness taken from `rng`.
    """
    zs, xs = model_cfg.template_size, model_cfg.search_size
    z = _crop(template_image, np.asarray(template_box_xywh, dtype=np.float64), data_cfg.template_factor,
              zs, data_cfg.template_center_jitter, data_cfg.template_scale_jitter, rng)
    if z is None:
        return None
    x = _crop(search_image, np.asarray(search_box_xywh, dtype=np.float64), data_cfg.search_factor,
              xs, data_cfg.search_center_jitter, data_cfg.search_scale_jitter, rng)
    if x is None:
        return None
    (z_img, z_box), (x_img, x_box) = z, x
    z_gain = x_gain = 1.0
    if train:
        if rng.random() < GRAYSCALE_PROBABILITY:
            z_img, x_img = augment.to_grayscale(z_img), augment.to_grayscale(x_img)
        if rng.random() < FLIP_PROBABILITY:
            z_img, z_box = augment.hflip_image(z_img), augment.hflip_box(z_box, zs)
            x_img, x_box = augment.hflip_image(x_img), augment.hflip_box(x_box, xs)
            text = augment.hflip_text(text)
        z_gain = augment.brightness_factor(rng, BRIGHTNESS_JITTER)
        x_gain = augment.brightness_factor(rng, BRIGHTNESS_JITTER)
    return {
        "template": normalize_image(augment.adjust_brightness(z_img, z_gain), data_cfg.mean, data_cfg.std),
        "search": normalize_image(augment.adjust_brightness(x_img, x_gain), data_cfg.mean, data_cfg.std),
        "search_box": torch.from_numpy(box_crop_to_cxcywh_norm(x_box, xs)),
        "template_box": torch.from_numpy(box_crop_to_cxcywh_norm(z_box, zs)),
        "template_mask": centre_cell_mask(z_box, zs, model_cfg.patch_size),
        "text": text,
    }


# --------------------------------------------------------------------------- the dataset


class PairDataset(torch.utils.data.Dataset):
    """`samples_per_epoch` training pairs drawn by `sampler`, re-drawn each epoch (`set_epoch`).

    Args:
        sampler: chooses sequence and frames (`PairSampler`).
        model_cfg: crop sizes and patch size; data_cfg: crop factors, jitter, normalisation.
        tokenizer: a `TextTokenizer` whose ``max_len`` is ``model_cfg.max_text_len``.
        samples_per_epoch: the dataset's length; seed: the run's seed.
        train: augment (grayscale, flip, brightness); False keeps only the box jitter.

    Items are dicts of tensors; batch them with `collate_pairs` and start workers with
    `worker_init_fn`. The epoch lives in shared memory, so `set_epoch` reaches workers even with
    ``persistent_workers=True`` (call it before iterating the epoch's DataLoader).
    """

    def __init__(self, sampler: PairSampler, model_cfg: ModelConfig, data_cfg: DataConfig, tokenizer: Any,
                 samples_per_epoch: int, seed: int, train: bool = True):
        if samples_per_epoch <= 0:
            raise ValueError(f"samples_per_epoch={samples_per_epoch}: must be positive")
        if seed < 0:
            raise ValueError(f"seed={seed}: must be >= 0")
        if tokenizer.max_len != model_cfg.max_text_len:
            raise ValueError(f"tokenizer rows have {tokenizer.max_len} tokens but "
                             f"model.max_text_len={model_cfg.max_text_len}; build the tokenizer with "
                             f"max_len={model_cfg.max_text_len}")
        self.sampler = sampler
        self.model_cfg = model_cfg
        self.data_cfg = data_cfg
        self.tokenizer = tokenizer
        self.samples_per_epoch = int(samples_per_epoch)
        self.seed = int(seed)
        self.train = train
        self._epoch = torch.zeros((), dtype=torch.long).share_memory_()

    def __len__(self) -> int:
        return self.samples_per_epoch

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch `epoch`'s pairs from now on (seen by already started workers too)."""
        self._epoch.fill_(int(epoch))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(f"pair index {index} out of range [0, {self.samples_per_epoch})")
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        sample = self._draw(rng)
        text = sample.pop("text")
        drop = self.data_cfg.text_drop_prob
        if drop > 0 and (drop >= 1 or rng.random() < drop):
            text = None
        ids, mask = self.tokenizer.encode(text)
        sample["text_ids"], sample["text_mask"] = ids[0], mask[0]
        sample["has_text"] = mask[0].any()
        return sample

    def _draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """A valid pair: a few frame/jitter draws per sequence, then another sequence."""
        for _ in range(MAX_SEQUENCES):
            sequence, t, s = self.sampler.sample(rng)
            frames: dict[int, np.ndarray] = {}  # the decoded pair, reused when a retry redraws it
            for attempt in range(TRIES_PER_SEQUENCE):
                if attempt:
                    t, s = self.sampler.sample_frames(sequence, rng)
                frames = {i: frames[i] if i in frames else sequence.read_frame(i) for i in (t, s)}
                pair = make_pair(frames[t], sequence.boxes[t], frames[s], sequence.boxes[s],
                                 sequence.text, self.model_cfg, self.data_cfg, rng, self.train)
                if pair is not None:
                    return pair
        raise PairError(f"no valid training pair in {MAX_SEQUENCES} sequences x {TRIES_PER_SEQUENCE} "
                        f"draws; the targets are too small, invisible or outside their images")

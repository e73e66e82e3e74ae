"""SynthVL: a synthetic vision-language tracking benchmark, written in the LaSOT layout.

Each sequence shows several moving shapes of varied aspect ratios (tall and wide boxes as well as
square ones), colours and sizes, some textured with patches of real photographs (scikit-image's
sample photos when it is installed, procedural noise otherwise), over a photographic or noise
background, with occluders, scale changes, fast motion, motion blur, camera shake, same-shape
distractors and illumination changes including near-dark stretches. The target's description is
generated from its attributes ("the small red triangle near the top", "a tall blue rectangle
moving right"); each sequence also gets `attributes.txt`, flags in the order of `ATTRIBUTES`.

Language matters by design: in a share of sequences (`SynthConfig.p_ambiguous`) a distractor of
the same shape and size but another colour starts next to the target and the first frames are
nearly dark, so the first-frame box alone hardly tells the two apart while the text names the
colour. The generator is deterministic from (seed, split, sequence index). See docs/synthvl.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

SHAPES = ("circle", "square", "rectangle", "ellipse", "triangle", "star", "hexagon", "cross", "diamond")
SQUARE_SHAPES = ("circle", "square")  # their box is square by definition
ELONGATED_SHAPES = ("rectangle", "ellipse")  # never close to square (w/h <= 0.7 or >= 1.43)
COLOURS = {  # name → RGB
    "red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (235, 220, 40),
    "orange": (245, 140, 20), "purple": (140, 40, 180), "white": (240, 240, 240), "cyan": (40, 210, 220),
    "pink": (245, 120, 190), "black": (25, 25, 25),
}
SIZES = {"small": (0.07, 0.10), "medium": (0.12, 0.16), "large": (0.19, 0.24)}  # sqrt(w*h) / image height
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
# attributes.txt: one line of 0/1 flags in this order (see docs/synthvl.md for their definitions)
ATTRIBUTES = ("distractor", "dark_start", "occlusion", "fast_motion", "scale_change", "illumination",
              "motion_blur", "camera_shake", "non_square")
_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel")
_SHAKE_MARGIN = 16  # pixels of background kept around the frame for camera shake


@dataclass
class SynthConfig:
    """Knobs of the generator (probabilities are per sequence)."""

    width: int = 320
    height: int = 240
    min_frames: int = 60
    max_frames: int = 150
    max_distractors: int = 3
    p_ambiguous: float = 0.3  # dark start + same-shape, same-size distractor of another colour
    p_same_shape_distractor: float = 0.5
    p_occlusion: float = 0.4
    p_fast_motion: float = 0.2
    p_scale_change: float = 0.4
    p_illumination: float = 0.4
    p_motion_blur: float = 0.3  # blur along the target's apparent motion
    p_camera_shake: float = 0.3  # the whole frame jitters (global translation)
    shake_px: float = 4.0  # typical camera-shake amplitude (pixels)
    min_aspect: float = 1 / 3  # w/h range of shapes that are not circles or squares
    max_aspect: float = 3.0
    dark_gain: float = 0.12  # brightness multiplier in near-dark stretches
    textures: bool = True
    jpeg_quality: int = 90


@dataclass
class _Object:
    shape: str
    colour: str
    size_word: str
    side: float  # sqrt(w * h) in pixels
    aspect: float  # w / h
    pos: np.ndarray  # centre (x, y) in scene coordinates
    vel: np.ndarray
    scale_rate: float
    texture: Optional[np.ndarray]

    @property
    def wh(self) -> tuple[int, int]:
        r = math.sqrt(self.aspect)
        return max(2, int(round(self.side * r))), max(2, int(round(self.side / r)))


# --------------------------------------------------------------------------- textures and backgrounds


@lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    """scikit-image's bundled photographs as RGB uint8 (empty without scikit-image)."""
    try:
        from skimage import data as skdata
    except ImportError:
        return ()
    photos = []
    for name in _PHOTOS:
        img = np.asarray(getattr(skdata, name)())
        photos.append(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if img.ndim == 2 else img[..., :3].copy())
    return tuple(photos)


@lru_cache(maxsize=1)
def _textures() -> tuple[np.ndarray, ...]:
    """Grey-level 64x64 patches cut from the photographs (empty without scikit-image)."""
    patches = []
    for img in _photos():
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        for y in range(0, h - 128, 128):
            for x in range(0, w - 128, 128):
                patches.append(cv2.resize(grey[y:y + 128, x:x + 128], (64, 64), interpolation=cv2.INTER_AREA))
    return tuple(patches)


def _noise(rng: np.random.Generator, h: int, w: int, channels: int) -> np.ndarray:
    """Multi-octave value noise in [0, 255] (float32, HxWxC)."""
    out = np.zeros((h, w, channels), np.float32)
    for k, amp in ((3, 1.0), (6, 0.5), (12, 0.25), (24, 0.125)):
        grid = rng.uniform(-1, 1, (k, max(2, k * w // h), channels)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    return (127.5 + 80.0 * out / 1.875).clip(0, 255)


def _procedural_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    return _noise(rng, size, size, 1)[..., 0].astype(np.uint8)


def _background(rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    """A canvas larger than the frame by the shake margin: a photograph crop (or procedural noise)
    blended with a smooth colour field (uint8 RGB)."""
    h, w = cfg.height + 2 * _SHAKE_MARGIN, cfg.width + 2 * _SHAKE_MARGIN
    field = cv2.resize(rng.uniform(60, 200, (4, 5, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    if not cfg.textures:
        return field.clip(0, 255).astype(np.uint8)
    photos = _photos()
    if photos:
        img = photos[int(rng.integers(len(photos)))]
        ph, pw = img.shape[:2]
        scale = rng.uniform(0.4, 1.0) * min(ph / h, pw / w)  # crop of the frame's aspect
        ch, cw = max(8, int(h * scale)), max(8, int(w * scale))
        y, x = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
        tex = cv2.resize(img[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        mix = rng.uniform(0.55, 0.85)
    else:
        tex, mix = _noise(rng, h, w, 3), rng.uniform(0.3, 0.6)
    return (mix * tex + (1 - mix) * field).clip(0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- shapes


@lru_cache(maxsize=4096)
def _shape_mask(shape: str, w: int, h: int) -> np.ndarray:
    """Boolean mask (h x w) of a shape that touches all four sides of its box (the box is tight)."""
    if shape in ("square", "rectangle"):
        return np.ones((h, w), bool)
    m = np.zeros((h, w), np.uint8)
    if shape in ("circle", "ellipse"):
        s = 16  # 4 bits of sub-pixel precision
        cv2.ellipse(m, (int((w - 1) * s / 2), int((h - 1) * s / 2)), (int((w - 1) * s / 2), int((h - 1) * s / 2)),
                    0, 0, 360, 1, -1, cv2.LINE_8, 4)
    else:
        pts = _polygon(shape)
        pts = (pts - pts.min(0)) / (pts.max(0) - pts.min(0))  # fill the unit box in both directions
        cv2.fillPoly(m, [np.round(pts * [w - 1, h - 1]).astype(np.int32)], 1)
    return m.astype(bool)


def _polygon(shape: str) -> np.ndarray:
    if shape == "triangle":
        return np.array([[0.0, -1], [1, 1], [-1, 1]])
    if shape == "diamond":
        return np.array([[0.0, -1], [1, 0], [0, 1], [-1, 0]])
    if shape == "hexagon":
        a = np.arange(6) * math.pi / 3
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "star":
        a = np.arange(10) * math.pi / 5 - math.pi / 2
        rad = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return np.stack([rad * np.cos(a), rad * np.sin(a)], 1)
    t = 1 / 3  # cross
    return np.array([[-t, -1], [t, -1], [t, -t], [1, -t], [1, t], [t, t], [t, 1], [-t, 1], [-t, t], [-1, t],
                     [-1, -t], [-t, -t]])


def _paste(frame: np.ndarray, obj: _Object, offset: np.ndarray, coverage: Optional[np.ndarray] = None,
           erase: Optional[np.ndarray] = None) -> tuple[np.ndarray, float]:
    """Draw `obj` into `frame` (uint8 RGB) shifted by the camera `offset`; return its tight box
    (x, y, w, h, clipped to the frame) and the number of its pixels inside the frame.

    coverage: a mask set True where the object is drawn; erase: a mask set False there (the parts
    of the target that this object hides)."""
    w, h = obj.wh
    x0 = int(round(obj.pos[0] + offset[0] - w / 2))
    y0 = int(round(obj.pos[1] + offset[1] - h / 2))
    fh, fw = frame.shape[:2]
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(fw, x0 + w), min(fh, y0 + h)
    if xb <= xa or yb <= ya:
        return np.array([x0, y0, w, h], float), 0.0
    mask = _shape_mask(obj.shape, w, h)[ya - y0:yb - y0, xa - x0:xb - x0]
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return np.array([x0, y0, w, h], float), 0.0
    colour = np.array(COLOURS[obj.colour], np.float32)
    region = frame[ya:yb, xa:xb]
    if obj.texture is not None:
        tex = cv2.resize(obj.texture, (w, h))[ya - y0:yb - y0, xa - x0:xb - x0].astype(np.float32)
        shade = 0.7 + 0.6 * (tex / 255.0 - 0.5)
        region[mask] = (colour[None, None, :] * shade[..., None])[mask].clip(0, 255).astype(np.uint8)
    else:
        region[mask] = colour.astype(np.uint8)
    if coverage is not None:
        coverage[ya:yb, xa:xb][mask] = True
    if erase is not None:
        erase[ya:yb, xa:xb][mask] = False
    box = [xa + cols[0], ya + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
    return np.array(box, float), float(mask.sum())


def _aspect(rng: np.random.Generator, cfg: SynthConfig, shape: str) -> float:
    if shape in SQUARE_SHAPES:
        return 1.0
    lo, hi = math.log(cfg.min_aspect), math.log(cfg.max_aspect)
    if shape in ELONGATED_SHAPES:  # one side at least 1.43x the other (unless the range forbids it)
        mag = math.log(1.43) + rng.random() * max(0.0, max(hi, -lo) - math.log(1.43))
        return float(math.exp(float(np.clip(mag if rng.random() < 0.5 else -mag, lo, hi))))
    return float(math.exp(rng.uniform(lo, hi)))


def _new_object(rng: np.random.Generator, cfg: SynthConfig, shape: str, colour: str, size_word: str,
                fast: bool, scale_change: bool) -> _Object:
    lo, hi = SIZES[size_word]
    side = float(rng.uniform(lo, hi) * cfg.height)
    aspect = _aspect(rng, cfg, shape)
    half = np.array([side * math.sqrt(aspect), side / math.sqrt(aspect)]) / 2
    limits = np.array([cfg.width, cfg.height], float)
    pos = rng.uniform(np.minimum(half, limits / 2), np.maximum(limits - half, limits / 2))
    speed = rng.uniform(4.0, 8.0) if fast else rng.uniform(0.5, 2.5)
    angle = rng.uniform(0, 2 * math.pi)
    tex = None
    if cfg.textures and rng.random() < 0.5:
        patches = _textures()
        tex = patches[int(rng.integers(len(patches)))] if patches else _procedural_texture(rng)
    rate = rng.uniform(-0.01, 0.01) if scale_change else 0.0
    return _Object(shape, colour, size_word, side, aspect, pos, speed * np.array([math.cos(angle), math.sin(angle)]),
                   rate, tex)


def _step(obj: _Object, cfg: SynthConfig, rng: np.random.Generator) -> None:
    obj.vel = obj.vel + rng.normal(0, 0.15, 2)
    obj.pos = obj.pos + obj.vel
    w, h = obj.wh
    for d, limit, half in ((0, cfg.width, w / 2), (1, cfg.height, h / 2)):
        if obj.pos[d] < half or obj.pos[d] > limit - half:  # bounce off the borders
            obj.vel[d] = -obj.vel[d]
            obj.pos[d] = float(np.clip(obj.pos[d], min(half, limit / 2), max(limit - half, limit / 2)))
    if obj.scale_rate:
        obj.side = float(np.clip(obj.side * (1 + obj.scale_rate), 0.05 * cfg.height, 0.35 * cfg.height))


# --------------------------------------------------------------------------- descriptions


def _position_words(pos: np.ndarray, cfg: SynthConfig) -> str:
    fx, fy = pos[0] / cfg.width, pos[1] / cfg.height
    horiz = "left" if fx < 0.35 else "right" if fx > 0.65 else ""
    vert = "top" if fy < 0.35 else "bottom" if fy > 0.65 else ""
    if horiz and vert:
        return f"in the {'upper' if vert == 'top' else 'lower'} {horiz}"
    if vert:
        return f"near the {vert}"
    if horiz:
        return f"on the {horiz} side"
    return "in the middle"


def _motion_word(vel: np.ndarray) -> str:
    if abs(vel[0]) >= abs(vel[1]):
        return "right" if vel[0] > 0 else "left"
    return "down" if vel[1] > 0 else "up"


def _aspect_word(aspect: float) -> str:
    return "tall" if aspect < 0.6 else "wide" if aspect > 1 / 0.6 else ""


def describe(obj: _Object, first_pos: np.ndarray, mean_vel: np.ndarray, cfg: SynthConfig,
             rng: np.random.Generator) -> str:
    """An English description of the target from its attributes, with varied phrasing.

    Clearly tall or wide targets (w/h < 0.6 or > 1.67) are sometimes called so ("the tall red
    rectangle") in place of their size word."""
    where, move = _position_words(first_pos, cfg), _motion_word(mean_vel)
    s, c, sz = obj.shape, obj.colour, obj.size_word
    adj = _aspect_word(obj.aspect) or sz
    article = "an" if c[0] in "aeiou" else "a"
    templates = (f"the {sz} {c} {s} {where}", f"{article} {c} {s} moving {move}", f"the {c} {s} {where}, moving {move}",
                 f"{adj} {c} {s} that moves {move}", f"the {c} {s}", f"track the {adj} {c} {s} {where}")
    return templates[int(rng.integers(len(templates)))]


# --------------------------------------------------------------------------- rendering


def _gain_curve(n: int, rng: np.random.Generator, cfg: SynthConfig, dark_start: bool, varying: bool) -> np.ndarray:
    gain = np.ones(n)
    if varying:
        for _ in range(int(rng.integers(1, 3))):
            start, length = int(rng.integers(0, n)), int(rng.integers(5, 25))
            level = cfg.dark_gain if rng.random() < 0.5 else rng.uniform(0.4, 1.4)
            gain[start:start + length] = level
    if dark_start:
        ramp = min(n, 15)
        gain[:ramp] = np.linspace(cfg.dark_gain, 1.0, ramp)
    return gain


def _shake_path(n: int, rng: np.random.Generator, cfg: SynthConfig, on: bool) -> np.ndarray:
    """Per-frame integer camera offsets (n, 2): an AR(1) jitter, zero without shake."""
    if not on:
        return np.zeros((n, 2), int)
    amp = rng.uniform(0.5, 1.5) * cfg.shake_px
    path, o = np.zeros((n, 2)), np.zeros(2)
    for i in range(n):
        o = 0.6 * o + rng.normal(0, amp, 2)
        path[i] = o
    return np.round(path.clip(-_SHAKE_MARGIN, _SHAKE_MARGIN)).astype(int)


@lru_cache(maxsize=512)
def _blur_kernel(length: int, angle_deg: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c, a = (length - 1) / 2, math.radians(angle_deg)
    dx, dy = (length - 1) / 2 * math.cos(a), (length - 1) / 2 * math.sin(a)
    cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
    return k / k.sum()


def _motion_blur(frame: np.ndarray, velocity: np.ndarray, exposure: float) -> np.ndarray:
    """Linear blur along `velocity` (pixels/frame) over `exposure` frames."""
    length = int(min(15, round(float(np.hypot(*velocity)) * exposure)))
    if length < 2:
        return frame
    angle = int(round(math.degrees(math.atan2(velocity[1], velocity[0])) / 15) * 15)
    return cv2.filter2D(frame, -1, _blur_kernel(length | 1, angle), borderType=cv2.BORDER_REFLECT)


def _scene(rng: np.random.Generator, cfg: SynthConfig):
    """The target, distractors (behind first), occluder and per-sequence switches."""
    flags = {"ambiguous": rng.random() < cfg.p_ambiguous}
    shape, colour = SHAPES[int(rng.integers(len(SHAPES)))], list(COLOURS)[int(rng.integers(len(COLOURS)))]
    size_word = list(SIZES)[int(rng.integers(len(SIZES)))]
    flags["fast"], flags["scale"] = rng.random() < cfg.p_fast_motion, rng.random() < cfg.p_scale_change
    target = _new_object(rng, cfg, shape, colour, size_word, flags["fast"], flags["scale"])
    others = []
    for k in range(int(rng.integers(1, cfg.max_distractors + 1))):
        twin = flags["ambiguous"] and k == 0
        same = twin or rng.random() < cfg.p_same_shape_distractor
        other_colour = [c for c in COLOURS if c != colour][int(rng.integers(len(COLOURS) - 1))]
        d = _new_object(rng, cfg, shape if same else SHAPES[int(rng.integers(len(SHAPES)))], other_colour,
                        size_word if twin else list(SIZES)[int(rng.integers(len(SIZES)))],
                        rng.random() < cfg.p_fast_motion, rng.random() < cfg.p_scale_change)
        if twin:  # same box shape, starting right beside the target
            d.side, d.aspect = target.side, target.aspect
            tw, th = target.wh
            offset = np.array([rng.choice([-1, 1]) * 1.4 * tw, rng.uniform(-0.3, 0.3) * th])
            lo = np.array([tw, th]) / 2
            d.pos = np.clip(target.pos + offset, lo, np.maximum(lo, [cfg.width - tw / 2, cfg.height - th / 2]))
        others.append(d)
    occluder = None
    if rng.random() < cfg.p_occlusion:
        occluder = {"w": rng.uniform(0.15, 0.3) * cfg.width, "x": -0.3 * cfg.width,
                    "v": rng.uniform(1.0, 3.0) * cfg.width / 100.0, "colour": rng.uniform(40, 120, 3).astype(np.uint8)}
    flags["illumination"] = rng.random() < cfg.p_illumination
    flags["blur"], flags["shake"] = rng.random() < cfg.p_motion_blur, rng.random() < cfg.p_camera_shake
    flags["distractor"] = any(d.shape == shape for d in others)
    return target, others, occluder, flags


def _render_sequence(rng: np.random.Generator, cfg: SynthConfig):
    """Frames (uint8 RGB), boxes, full-occlusion and out-of-view flags, text, class and the
    attribute flags (dict over `ATTRIBUTES`) of one sequence."""
    n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    target, others, occluder, flags = _scene(rng, cfg)
    bg = _background(rng, cfg)
    gain = _gain_curve(n, rng, cfg, dark_start=flags["ambiguous"], varying=flags["illumination"])
    shake = _shake_path(n, rng, cfg, flags["shake"])
    exposure = rng.uniform(0.8, 1.6)
    behind, front = others[: len(others) // 2], others[len(others) // 2:]
    frames, boxes, occl, oov = [], [], [], []
    first_pos, vel_sum, min_visible = target.pos.copy(), np.zeros(2), 1.0
    M = _SHAKE_MARGIN
    for i in range(n):
        off = shake[i]
        frame = bg[M - off[1]:M - off[1] + cfg.height, M - off[0]:M - off[0] + cfg.width].copy()
        for d in behind:  # some distractors pass behind the target
            _paste(frame, d, off)
        cover = np.zeros((cfg.height, cfg.width), bool)
        box, area = _paste(frame, target, off, cover)
        for d in front:  # the others pass in front of it
            _paste(frame, d, off, erase=cover)
        if occluder is not None:
            xa = int(np.clip(occluder["x"] + off[0], 0, cfg.width))
            xb = int(np.clip(occluder["x"] + occluder["w"] + off[0], 0, cfg.width))
            frame[:, xa:xb] = occluder["colour"]
            cover[:, xa:xb] = False
            occluder["x"] += occluder["v"]
        if flags["blur"]:
            frame = _motion_blur(frame, target.vel + (off - shake[i - 1] if i else 0), exposure)
        visible_px = float(cover.sum())
        shape_px = max(1.0, float(_shape_mask(target.shape, *target.wh).sum()))
        frames.append(cv2.convertScaleAbs(frame, alpha=float(gain[i])))  # scale, round, saturate to uint8
        boxes.append(box)
        oov.append(area < 0.05 * shape_px)
        occl.append(not oov[-1] and visible_px < 0.05 * shape_px)
        if area > 0:
            min_visible = min(min_visible, visible_px / area)
        vel_sum += target.vel
        _step(target, cfg, rng)
        for d in others:
            _step(d, cfg, rng)
    text = describe(target, first_pos, vel_sum / n, cfg, rng)
    attrs = {"distractor": flags["distractor"], "dark_start": flags["ambiguous"], "occlusion": min_visible < 0.5,
             "fast_motion": flags["fast"], "scale_change": flags["scale"], "illumination": flags["illumination"],
             "motion_blur": flags["blur"], "camera_shake": flags["shake"],
             "non_square": not 0.75 <= target.aspect <= 1 / 0.75}
    return frames, np.array(boxes), np.array(occl), np.array(oov), text, target.shape, attrs


# --------------------------------------------------------------------------- files


def _write_sequence(folder: Path, frames, boxes, occl, oov, text: str, attrs: dict, quality: int) -> None:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames, start=1):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        (folder / "img" / f"{i:08d}.jpg").write_bytes(buf.tobytes())
    (folder / "groundtruth.txt").write_text("".join(f"{int(b[0])},{int(b[1])},{int(b[2])},{int(b[3])}\n" for b in boxes))
    (folder / "full_occlusion.txt").write_text(",".join(str(int(v)) for v in occl) + "\n")
    (folder / "out_of_view.txt").write_text(",".join(str(int(v)) for v in oov) + "\n")
    (folder / "nlp.txt").write_text(text + "\n")
    (folder / "attributes.txt").write_text(",".join(str(int(bool(attrs[a]))) for a in ATTRIBUTES) + "\n")


def read_attributes(sequence_dir: Union[str, Path]) -> dict[str, bool]:
    """A SynthVL sequence's ``attributes.txt`` as {attribute: flag} (names in `ATTRIBUTES` order)."""
    path = Path(sequence_dir) / "attributes.txt"
    values = path.read_text().strip().split(",")
    if len(values) != len(ATTRIBUTES) or set(values) - {"0", "1"}:
        raise ValueError(f"{path}: expected {len(ATTRIBUTES)} comma-separated 0/1 flags "
                         f"({', '.join(ATTRIBUTES)}); regenerate it with `allinone synth`")
    return {a: v == "1" for a, v in zip(ATTRIBUTES, values)}


def generate_synthvl(out: Union[str, Path], sequences: int, seed: int = 0, split: str = "train", *,
                     config: Optional[SynthConfig] = None, progress: bool = True) -> list[str]:
    """Write `sequences` SynthVL sequences into `out` (LaSOT layout); returns their names."""
    from tqdm import tqdm

    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_CODES)}, got {split!r}")
    if sequences <= 0:
        raise ValueError(f"--sequences must be positive, got {sequences}")
    cfg = config or SynthConfig()
    if not 0 < cfg.min_aspect <= 1 <= cfg.max_aspect:
        raise ValueError(f"SynthConfig needs 0 < min_aspect <= 1 <= max_aspect, got {cfg.min_aspect}, {cfg.max_aspect}")
    out = Path(out)
    counts: dict[str, int] = {}
    names = []
    for k in tqdm(range(sequences), desc=f"SynthVL {split}", disable=not progress, unit="seq"):
        rng = np.random.default_rng([seed, SPLIT_CODES[split], k])
        frames, boxes, occl, oov, text, cls, attrs = _render_sequence(rng, cfg)
        counts[cls] = counts.get(cls, 0) + 1
        name = f"{cls}-{counts[cls]}"
        _write_sequence(out / cls / name, frames, boxes, occl, oov, text, attrs, cfg.jpeg_quality)
        names.append(name)
    return names

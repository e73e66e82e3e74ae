"""SynthVL: a synthetic vision-language tracking benchmark, written in the LaSOT layout.

Each sequence shows several moving shapes (colours, sizes, textures cut from real photographs
shipped with scikit-image when it is installed, procedural ones otherwise) over a textured
background, with occluders, scale changes, fast motion, same-shape distractors and illumination
changes including near-dark stretches. The target's description is generated from its attributes
("the small red triangle near the top", "a blue star moving right").

Language matters by design: in a share of sequences (`SynthConfig.p_ambiguous`) a distractor of
the same shape and size but another colour starts next to the target and the first frames are
nearly dark, so the first-frame box alone hardly tells the two apart while the text names the
colour. The generator is deterministic from (seed, split, sequence index). See docs/synthvl.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "hexagon", "cross", "ellipse", "diamond")
COLOURS = {  # name → RGB
    "red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (235, 220, 40),
    "orange": (245, 140, 20), "purple": (140, 40, 180), "white": (240, 240, 240), "cyan": (40, 210, 220),
    "pink": (245, 120, 190), "black": (25, 25, 25),
}
SIZES = {"small": (0.07, 0.10), "medium": (0.12, 0.16), "large": (0.19, 0.24)}  # side / image height
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


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
    dark_gain: float = 0.12  # brightness multiplier in near-dark stretches
    textures: bool = True
    jpeg_quality: int = 90


@dataclass
class _Object:
    shape: str
    colour: str
    size_word: str
    side: float  # pixels
    pos: np.ndarray  # centre (x, y)
    vel: np.ndarray
    scale_rate: float
    texture: Optional[np.ndarray]


def _photo_textures() -> list[np.ndarray]:
    """Grey-level 64x64 patches cut from scikit-image's bundled photographs (empty without it)."""
    try:
        from skimage import data as skdata
    except ImportError:
        return []
    patches = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel"):
        img = np.asarray(getattr(skdata, name)())
        grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        for y in range(0, h - 128, 128):
            for x in range(0, w - 128, 128):
                patches.append(cv2.resize(grey[y:y + 128, x:x + 128], (64, 64), interpolation=cv2.INTER_AREA))
    return patches


_TEXTURES: Optional[list[np.ndarray]] = None


def _textures() -> list[np.ndarray]:
    global _TEXTURES
    if _TEXTURES is None:
        _TEXTURES = _photo_textures()
    return _TEXTURES


def _procedural_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    small = rng.uniform(0, 255, (6, 6)).astype(np.float32)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    """A smooth coloured noise field, mixed with a photo texture when available."""
    h, w = cfg.height, cfg.width
    base = rng.uniform(60, 200, (4, 5, 3)).astype(np.float32)
    bg = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    tex = _textures() if cfg.textures else []
    if tex:
        patch = tex[int(rng.integers(len(tex)))].astype(np.float32)
        patch = cv2.resize(patch, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        bg = 0.6 * bg + 0.4 * patch
    return bg.clip(0, 255)


def _shape_mask(shape: str, side: int) -> np.ndarray:
    """Binary mask (side x side) of a shape filling its box."""
    m = np.zeros((side, side), np.uint8)
    c, r = (side - 1) / 2.0, side / 2.0
    if shape == "circle":
        cv2.circle(m, (int(round(c)), int(round(c))), max(1, int(r)), 1, -1)
    elif shape == "ellipse":
        cv2.ellipse(m, (int(round(c)), int(round(c))), (max(1, int(r)), max(1, int(r * 0.6))), 0, 0, 360, 1, -1)
    elif shape == "square":
        m[:] = 1
    else:
        pts = _polygon(shape, c, r)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m


def _polygon(shape: str, c: float, r: float) -> np.ndarray:
    if shape == "triangle":
        return np.array([[c, c - r], [c + r, c + r], [c - r, c + r]])
    if shape == "diamond":
        return np.array([[c, c - r], [c + r, c], [c, c + r], [c - r, c]])
    if shape == "hexagon":
        a = np.arange(6) * math.pi / 3
        return np.stack([c + r * np.cos(a), c + r * np.sin(a)], 1)
    if shape == "star":
        a = np.arange(10) * math.pi / 5 - math.pi / 2
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        return np.stack([c + rad * np.cos(a), c + rad * np.sin(a)], 1)
    t = r / 3  # cross
    return np.array([[c - t, c - r], [c + t, c - r], [c + t, c - t], [c + r, c - t], [c + r, c + t], [c + t, c + t],
                     [c + t, c + r], [c - t, c + r], [c - t, c + t], [c - r, c + t], [c - r, c - t], [c - t, c - t]])


def _paste(frame: np.ndarray, obj: _Object, coverage: Optional[np.ndarray] = None,
           erase: Optional[np.ndarray] = None) -> tuple[np.ndarray, float]:
    """Draw `obj` into `frame` (float RGB); return its box (x, y, w, h, clipped) and drawn pixels.

    coverage: a mask set True where the object is drawn; erase: a mask set False there (the parts
    of the target that this object hides)."""
    side = max(2, int(round(obj.side)))
    x0, y0 = int(round(obj.pos[0] - side / 2)), int(round(obj.pos[1] - side / 2))
    h, w = frame.shape[:2]
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if xb <= xa or yb <= ya:
        return np.array([x0, y0, side, side], float), 0.0
    mask = _shape_mask(obj.shape, side)[ya - y0:yb - y0, xa - x0:xb - x0].astype(bool)
    colour = np.array(COLOURS[obj.colour], np.float32)
    if obj.texture is not None:
        tex = cv2.resize(obj.texture, (side, side))[ya - y0:yb - y0, xa - x0:xb - x0].astype(np.float32)
        shade = 0.75 + 0.5 * (tex / 255.0 - 0.5)
        pix = colour[None, None, :] * shade[..., None]
    else:
        pix = np.broadcast_to(colour, mask.shape + (3,))
    region = frame[ya:yb, xa:xb]
    region[mask] = pix[mask]
    if coverage is not None:
        coverage[ya:yb, xa:xb][mask] = True
    if erase is not None:
        erase[ya:yb, xa:xb][mask] = False
    return np.array([xa, ya, xb - xa, yb - ya], float), float(mask.sum())


def _new_object(rng: np.random.Generator, cfg: SynthConfig, shape: str, colour: str, size_word: str,
                fast: bool, scale_change: bool) -> _Object:
    lo, hi = SIZES[size_word]
    side = float(rng.uniform(lo, hi) * cfg.height)
    margin = side
    pos = np.array([rng.uniform(margin, cfg.width - margin), rng.uniform(margin, cfg.height - margin)])
    speed = rng.uniform(4.0, 8.0) if fast else rng.uniform(0.5, 2.5)
    angle = rng.uniform(0, 2 * math.pi)
    tex = None
    if cfg.textures and rng.random() < 0.5:
        photos = _textures()
        tex = photos[int(rng.integers(len(photos)))] if photos else _procedural_texture(rng)
    rate = rng.uniform(-0.01, 0.01) if scale_change else 0.0
    return _Object(shape, colour, size_word, side, pos, speed * np.array([math.cos(angle), math.sin(angle)]), rate, tex)


def _step(obj: _Object, cfg: SynthConfig, rng: np.random.Generator) -> None:
    obj.vel = obj.vel + rng.normal(0, 0.15, 2)
    obj.pos = obj.pos + obj.vel
    half = obj.side / 2
    for d, limit in ((0, cfg.width), (1, cfg.height)):
        if obj.pos[d] < half or obj.pos[d] > limit - half:  # bounce off the borders
            obj.vel[d] = -obj.vel[d]
            obj.pos[d] = float(np.clip(obj.pos[d], half, limit - half))
    if obj.scale_rate:
        obj.side = float(np.clip(obj.side * (1 + obj.scale_rate), 0.05 * cfg.height, 0.35 * cfg.height))


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


def describe(obj: _Object, first_pos: np.ndarray, mean_vel: np.ndarray, cfg: SynthConfig,
             rng: np.random.Generator) -> str:
    """An English description of the target from its attributes, with varied phrasing."""
    where, move = _position_words(first_pos, cfg), _motion_word(mean_vel)
    s, c, sz = obj.shape, obj.colour, obj.size_word
    templates = (f"the {sz} {c} {s} {where}", f"a {c} {s} moving {move}", f"the {c} {s} {where}, moving {move}",
                 f"{sz} {c} {s} that moves {move}", f"the {c} {s}", f"track the {sz} {c} {s} {where}")
    return templates[int(rng.integers(len(templates)))]


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


def _render_sequence(rng: np.random.Generator, cfg: SynthConfig):
    """Frames (uint8 RGB), boxes, full-occlusion and out-of-view flags, text, class for one sequence."""
    n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    ambiguous = rng.random() < cfg.p_ambiguous
    shape, colour = SHAPES[int(rng.integers(len(SHAPES)))], list(COLOURS)[int(rng.integers(len(COLOURS)))]
    size_word = list(SIZES)[int(rng.integers(len(SIZES)))]
    fast, scale = rng.random() < cfg.p_fast_motion, rng.random() < cfg.p_scale_change
    target = _new_object(rng, cfg, shape, colour, size_word, fast, scale)
    others = []
    n_dis = int(rng.integers(1, cfg.max_distractors + 1))
    for k in range(n_dis):
        same = ambiguous and k == 0 or rng.random() < cfg.p_same_shape_distractor
        other_colour = [c for c in COLOURS if c != colour][int(rng.integers(len(COLOURS) - 1))]
        d = _new_object(rng, cfg, shape if same else SHAPES[int(rng.integers(len(SHAPES)))], other_colour,
                        size_word if ambiguous and k == 0 else list(SIZES)[int(rng.integers(len(SIZES)))],
                        rng.random() < cfg.p_fast_motion, rng.random() < cfg.p_scale_change)
        if ambiguous and k == 0:  # start right beside the target
            d.side = target.side
            offset = np.array([rng.choice([-1, 1]) * 1.4 * target.side, rng.uniform(-0.3, 0.3) * target.side])
            d.pos = np.clip(target.pos + offset, d.side, [cfg.width - d.side, cfg.height - d.side])
        others.append(d)
    occluder = None
    if rng.random() < cfg.p_occlusion:
        occluder = {"w": rng.uniform(0.15, 0.3) * cfg.width, "x": -0.3 * cfg.width,
                    "v": rng.uniform(1.0, 3.0) * cfg.width / 100.0, "colour": rng.uniform(40, 120, 3)}
    bg = _background(rng, cfg)
    gain = _gain_curve(n, rng, cfg, dark_start=ambiguous, varying=rng.random() < cfg.p_illumination)
    frames, boxes, occl, oov = [], [], [], []
    first_pos, vel_sum = target.pos.copy(), np.zeros(2)
    for i in range(n):
        frame = bg.copy()
        for d in others[: n_dis // 2]:  # some distractors pass behind the target
            _paste(frame, d)
        cover = np.zeros((cfg.height, cfg.width), bool)
        box, area = _paste(frame, target, cover)
        for d in others[n_dis // 2:]:  # the others pass in front of it
            _paste(frame, d, erase=cover)
        if occluder is not None:
            xa, xb = max(0, int(occluder["x"])), max(0, int(occluder["x"] + occluder["w"]))
            frame[:, xa:xb] = occluder["colour"]
            cover[:, xa:xb] = False
            occluder["x"] += occluder["v"]
        visible_px = float(cover.sum())
        shape_px = max(1.0, _shape_mask(target.shape, max(2, int(round(target.side)))).sum())
        frames.append((frame * gain[i]).clip(0, 255).astype(np.uint8))
        boxes.append(box)
        oov.append(area < 0.05 * shape_px)
        occl.append(not oov[-1] and visible_px < 0.05 * shape_px)
        vel_sum += target.vel
        _step(target, cfg, rng)
        for d in others:
            _step(d, cfg, rng)
    text = describe(target, first_pos, vel_sum / n, cfg, rng)
    return frames, np.array(boxes), np.array(occl), np.array(oov), text, shape


def _write_sequence(folder: Path, frames, boxes, occl, oov, text: str, quality: int) -> None:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames, start=1):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        (folder / "img" / f"{i:08d}.jpg").write_bytes(buf.tobytes())
    (folder / "groundtruth.txt").write_text("".join(f"{int(b[0])},{int(b[1])},{int(b[2])},{int(b[3])}\n" for b in boxes))
    (folder / "full_occlusion.txt").write_text(",".join(str(int(v)) for v in occl) + "\n")
    (folder / "out_of_view.txt").write_text(",".join(str(int(v)) for v in oov) + "\n")
    (folder / "nlp.txt").write_text(text + "\n")


def generate_synthvl(out: Union[str, Path], sequences: int, seed: int = 0, split: str = "train", *,
                     config: Optional[SynthConfig] = None, progress: bool = True) -> list[str]:
    """Write `sequences` SynthVL sequences into `out` (LaSOT layout); returns their names."""
    from tqdm import tqdm

    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_CODES)}, got {split!r}")
    if sequences <= 0:
        raise ValueError(f"--sequences must be positive, got {sequences}")
    cfg = config or SynthConfig()
    out = Path(out)
    counts: dict[str, int] = {}
    names = []
    for k in tqdm(range(sequences), desc=f"SynthVL {split}", disable=not progress, unit="seq"):
        rng = np.random.default_rng([seed, SPLIT_CODES[split], k])
        frames, boxes, occl, oov, text, cls = _render_sequence(rng, cfg)
        counts[cls] = counts.get(cls, 0) + 1
        name = f"{cls}-{counts[cls]}"
        _write_sequence(out / cls / name, frames, boxes, occl, oov, text, cfg.jpeg_quality)
        names.append(name)
    return names

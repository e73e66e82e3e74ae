"""Typed configuration: dataclasses loaded from YAML presets, validated on load.

A config is a tree of dataclasses (`Config` → `ModelConfig`, `DataConfig`, ...). Presets live in
``allinone/presets/<name>.yaml`` and hold only the values that differ from the defaults below, which
are the paper's (SPEC §3–6). Unknown keys, wrong types and impossible combinations raise
`ConfigError` with the dotted key and the offending value.
"""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

PRESET_DIR = Path(__file__).parent / "presets"


class ConfigError(ValueError):
    """A config value is unknown, mistyped or inconsistent."""


@dataclass
class ModelConfig:
    """Network shape (SPEC §3). Defaults are `paper-vitb256`."""

    template_size: int = 128
    search_size: int = 256
    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_path_rate: float = 0.1
    # Grid of the pre-trained position embedding the template/search ones are interpolated from.
    pretrain_grid: int = 14
    # Candidate elimination: 0-based block indices and the keep ratio used at inference.
    ce_locations: list[int] = field(default_factory=lambda: [3, 6, 9])
    ce_keep_ratio: float = 0.7
    # LayerScale on every residual branch (DINOv2 backbones; initial value, e.g. 1e-5); 0 = none.
    layer_scale_init: float = 0.0
    # Language embedding (BERT embedding-layer shape).
    vocab_size: int = 30522
    max_text_len: int = 40
    type_vocab_size: int = 2
    text_dropout: float = 0.1
    text_pooling: str = "mean"  # "mean" (trainable) or "cls" (reference compatibility, frozen)
    # Center head: channels of the first conv; each next conv halves it (256→128→64→32).
    head_channels: int = 256
    # Multi-modal alignment projection size.
    align_dim: int = 256

    @property
    def template_grid(self) -> int:
        return self.template_size // self.patch_size

    @property
    def search_grid(self) -> int:
        return self.search_size // self.patch_size


@dataclass
class DataConfig:
    """Crops, jitter and normalisation (SPEC §2, §5)."""

    template_factor: float = 2.0
    search_factor: float = 4.0
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    search_center_jitter: float = 3.0
    search_scale_jitter: float = 0.25
    template_center_jitter: float = 0.0
    template_scale_jitter: float = 0.0
    max_gap: int = 200
    # Probability that a pair's description is dropped (the pair trains as box-only); 1.0 trains a
    # model without language (the ablation's "language off"), 0.0 keeps every description.
    text_drop_prob: float = 0.0
    # Dataset name → sampling weight (names as in `allinone.data.open_dataset`).
    datasets: dict[str, float] = field(
        default_factory=lambda: {
            "lasot": 1.0,
            "got10k": 1.0,
            "coco": 1.0,
            "trackingnet": 1.0,
            "visual_genome": 1.0,
            "refcocog": 1.0,
        }
    )


@dataclass
class LossConfig:
    """Weights of the objective's terms (SPEC §4)."""

    focal_weight: float = 1.0
    giou_weight: float = 2.0
    l1_weight: float = 5.0
    # L_cma = cma_weight·NTX(v_x, v_l) + cma_weight·NTX(v_z, v_l); L_ima = ima_weight·NTX(v_x, v_z).
    cma_weight: float = 0.25
    ima_weight: float = 0.5
    temperature: float = 0.5
    heatmap_min_overlap: float = 0.7


@dataclass
class TrainConfig:
    """Optimisation recipe (SPEC §5)."""

    lr: float = 4e-4
    weight_decay: float = 1e-4
    backbone_lr_mult: float = 0.1
    epochs: int = 300
    samples_per_epoch: int = 60000
    batch_size: int = 32
    lr_schedule: str = "step"  # "step" or "cosine"
    lr_drop_epoch: int = 240
    lr_drop_factor: float = 0.1
    warmup_steps: int = 0
    grad_clip: float = 0.1
    accumulate_steps: int = 1
    # Candidate-elimination keep ratio: 1.0 until ce_start_epoch, cosine down to
    # model.ce_keep_ratio at ce_end_epoch.
    ce_start_epoch: int = 20
    ce_end_epoch: int = 100
    num_workers: int = 4
    precision: str = "auto"  # "fp32", "bf16", "fp16" or "auto"
    seed: int = 42
    # Patch/position embeddings and the first N backbone blocks frozen and run without autograd
    # (fine-tuning a pretrained backbone on a CPU budget); 0 trains everything.
    frozen_blocks: int = 0


@dataclass
class TrackConfig:
    """Inference-time settings (SPEC §6)."""

    hann_window: bool = True
    min_inside_px: float = 10.0


@dataclass
class Config:
    """The whole configuration of a model, its training and its tracking."""

    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    track: TrackConfig = field(default_factory=TrackConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# --------------------------------------------------------------------------- parsing


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return _from_dict(tp, value, key + ".")
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key '{key}' has the wrong type: {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"config key '{key}' must be null, got {value!r}")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list, got {value!r}")
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return {_coerce(k, key_tp, key): _coerce(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is bool or tp is str:
        if isinstance(value, tp):
            return value
    else:  # pragma: no cover - a new annotation kind
        raise ConfigError(f"config key '{key}': unsupported type {tp!r}")
    raise ConfigError(
        f"config key '{key}' must be of type {_type_name(tp)}, got {value!r} ({type(value).__name__})"
    )


def _from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise ConfigError(
                f"unknown config key '{prefix}{k}' (known keys: {', '.join(sorted(names))})"
            )
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    return cls(**kwargs)


def validate(cfg: Config) -> Config:
    """Reject impossible combinations; return `cfg` unchanged when it is consistent."""
    m = cfg.model

    def bad(key: str, value: Any, why: str) -> ConfigError:
        return ConfigError(f"config key '{key}' = {value!r}: {why}")

    for key in ("template_size", "search_size", "patch_size", "embed_dim", "depth", "num_heads",
                "vocab_size", "max_text_len", "head_channels", "align_dim", "pretrain_grid"):
        if getattr(m, key) <= 0:
            raise bad(f"model.{key}", getattr(m, key), "must be positive")
    if m.search_size % m.patch_size:
        raise bad("model.search_size", m.search_size, f"must be a multiple of model.patch_size={m.patch_size}")
    if m.template_size % m.patch_size:
        raise bad("model.template_size", m.template_size, f"must be a multiple of model.patch_size={m.patch_size}")
    if m.embed_dim % m.num_heads:
        raise bad("model.num_heads", m.num_heads, f"must divide model.embed_dim={m.embed_dim}")
    if not (0.0 < m.ce_keep_ratio <= 1.0):
        raise bad("model.ce_keep_ratio", m.ce_keep_ratio, "must lie in (0, 1]")
    for i in m.ce_locations:
        if not 0 <= i < m.depth:
            raise bad("model.ce_locations", m.ce_locations, f"block indices must lie in [0, {m.depth})")
    if len(set(m.ce_locations)) != len(m.ce_locations):
        raise bad("model.ce_locations", m.ce_locations, "indices must be distinct")
    if m.text_pooling not in ("mean", "cls"):
        raise bad("model.text_pooling", m.text_pooling, "must be 'mean' or 'cls'")
    if m.layer_scale_init < 0:
        raise bad("model.layer_scale_init", m.layer_scale_init, "must be >= 0 (0 leaves LayerScale out)")
    if not 0.0 <= m.drop_path_rate < 1.0:
        raise bad("model.drop_path_rate", m.drop_path_rate, "must lie in [0, 1)")
    if not 0.0 <= m.text_dropout < 1.0:
        raise bad("model.text_dropout", m.text_dropout, "must lie in [0, 1)")
    if m.head_channels < 8 or m.head_channels % 8:
        raise bad("model.head_channels", m.head_channels, "must be a positive multiple of 8 (it is halved 3 times)")
    if m.mlp_ratio <= 0:
        raise bad("model.mlp_ratio", m.mlp_ratio, "must be positive")
    d = cfg.data
    for key in ("template_factor", "search_factor"):
        if getattr(d, key) <= 0:
            raise bad(f"data.{key}", getattr(d, key), "must be positive")
    if len(d.mean) != 3:
        raise bad("data.mean", d.mean, "needs 3 values (R, G, B)")
    if len(d.std) != 3 or min(d.std) <= 0:
        raise bad("data.std", d.std, "needs 3 values (R, G, B), each > 0")
    if not 0.0 <= d.text_drop_prob <= 1.0:
        raise bad("data.text_drop_prob", d.text_drop_prob, "must lie in [0, 1]")
    if any(w < 0 for w in d.datasets.values()):
        raise bad("data.datasets", d.datasets, "weights must be >= 0")
    t = cfg.train
    if t.lr_schedule not in ("step", "cosine"):
        raise bad("train.lr_schedule", t.lr_schedule, "must be 'step' or 'cosine'")
    if t.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise bad("train.precision", t.precision, "must be one of auto, fp32, bf16, fp16")
    for key in ("batch_size", "epochs", "samples_per_epoch", "accumulate_steps"):
        if getattr(t, key) <= 0:
            raise bad(f"train.{key}", getattr(t, key), "must be positive")
    if not 0 <= t.frozen_blocks <= cfg.model.depth:
        raise bad("train.frozen_blocks", t.frozen_blocks, f"must lie between 0 and model.depth={cfg.model.depth}")
    if t.ce_end_epoch < t.ce_start_epoch:
        raise bad("train.ce_end_epoch", t.ce_end_epoch, f"must be >= train.ce_start_epoch={t.ce_start_epoch}")
    if cfg.loss.temperature <= 0:
        raise bad("loss.temperature", cfg.loss.temperature, "must be positive")
    if not 0.0 < cfg.loss.heatmap_min_overlap < 1.0:
        raise bad("loss.heatmap_min_overlap", cfg.loss.heatmap_min_overlap, "must lie in (0, 1)")
    _check_ranges(cfg)
    _check_model_size(cfg.model)
    return cfg


# Sanity bounds, far above any real tracker (ViT-g has about 1.1 billion parameters): a value past
# them is a typo that would otherwise allocate (or try to allocate) hundreds of gigabytes.
MAX_PARAMETERS = 10_000_000_000
MAX_DEPTH = 1000
MAX_TOKENS = 16384
MAX_TEXT_LEN = 4096


def _check_ranges(cfg: Config) -> None:
    """Values that must not be negative (or zero) and that `validate`'s shape checks leave open."""
    at_least = {
        "train.lr": (cfg.train.lr, 0.0, False), "train.weight_decay": (cfg.train.weight_decay, 0.0, True),
        "train.backbone_lr_mult": (cfg.train.backbone_lr_mult, 0.0, True),
        "train.grad_clip": (cfg.train.grad_clip, 0.0, False),
        "train.lr_drop_factor": (cfg.train.lr_drop_factor, 0.0, False),
        "train.warmup_steps": (cfg.train.warmup_steps, 0, True), "train.num_workers": (cfg.train.num_workers, 0, True),
        "train.seed": (cfg.train.seed, 0, True), "train.lr_drop_epoch": (cfg.train.lr_drop_epoch, 0, True),
        "train.ce_start_epoch": (cfg.train.ce_start_epoch, 0, True), "data.max_gap": (cfg.data.max_gap, 0, True),
        "track.min_inside_px": (cfg.track.min_inside_px, 0.0, True),
    }
    for name in ("search_center_jitter", "search_scale_jitter", "template_center_jitter", "template_scale_jitter"):
        at_least[f"data.{name}"] = (getattr(cfg.data, name), 0.0, True)
    for name in ("focal_weight", "giou_weight", "l1_weight", "cma_weight", "ima_weight"):
        at_least[f"loss.{name}"] = (getattr(cfg.loss, name), 0.0, True)
    for key, (value, low, inclusive) in at_least.items():
        if value < low or (value == low and not inclusive):
            raise ConfigError(f"config key '{key}' = {value!r}: must be {'>=' if inclusive else '>'} {low}")


def estimated_parameters(m: ModelConfig) -> int:
    """Parameters of a model of shape `m` (the MMA projections included), to within a few percent."""
    c = m.embed_dim
    tokens = m.template_grid ** 2 + m.search_grid ** 2
    blocks = m.depth * int((4 + 2 * m.mlp_ratio) * c * c)
    embeddings = (m.vocab_size + m.max_text_len + m.type_vocab_size + tokens + 3 * m.patch_size ** 2) * c
    h = m.head_channels
    head = 3 * 9 * (c * h + h * h // 2 + h * h // 8 + h * h // 32)  # three branches of 3x3 convs
    alignment = (tokens + 1) * c * m.align_dim  # flattened tokens → align_dim (MMA projections)
    return blocks + embeddings + head + alignment + c * c  # + the language projection


def _check_model_size(m: ModelConfig) -> None:
    """Refuse shapes that could not be allocated, before anything is (see the MAX_* bounds)."""
    if m.depth > MAX_DEPTH:
        raise ConfigError(f"config key 'model.depth' = {m.depth}: at most {MAX_DEPTH} blocks")
    if m.max_text_len > MAX_TEXT_LEN:
        raise ConfigError(f"config key 'model.max_text_len' = {m.max_text_len}: at most {MAX_TEXT_LEN} tokens")
    tokens = m.template_grid ** 2 + m.search_grid ** 2
    if tokens > MAX_TOKENS:
        raise ConfigError(f"model.template_size={m.template_size} and model.search_size={m.search_size} with "
                          f"model.patch_size={m.patch_size} make {tokens} image tokens; at most {MAX_TOKENS}")
    n = estimated_parameters(m)
    if n > MAX_PARAMETERS:
        raise ConfigError(f"model.embed_dim={m.embed_dim}, model.depth={m.depth}, model.mlp_ratio={m.mlp_ratio}, "
                          f"model.vocab_size={m.vocab_size} make about {n / 1e9:.0f} billion parameters "
                          f"({4 * n / 2 ** 30:,.0f} GiB in fp32); at most {MAX_PARAMETERS / 1e9:.0f} billion")


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a `Config` from a (possibly partial) nested mapping."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping, got {type(data).__name__}")
    return validate(_from_dict(Config, data))


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_config(name_or_path: Union[str, Path, Config], overrides: Union[list[str], None] = None) -> Config:
    """Load a preset by name (``paper-vitb256``, ``paper-vitb384``, ``cpu-tiny``) or a YAML file.

    A YAML file may start from a preset with ``base: <preset>`` and override any key.
    ``overrides`` are dotted ``key=value`` strings (``model.search_size=384``), values parsed as YAML.
    """
    if isinstance(name_or_path, Config):
        data = name_or_path.to_dict()
    else:
        data = _read_config_mapping(str(name_or_path))
    for item in overrides or []:
        _apply_override(data, item)
    return config_from_dict(data)


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, plus YAML 1.2 floats without a dot (``1e-3``, ``5E+4``): PyYAML's YAML 1.1
    rules read those as strings, and ``train.lr: 1e-3`` must be the number it looks like."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text (safe, with `_YamlLoader`'s floats); a syntax error is a `ConfigError` naming `where`."""
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark and problem else str(exc)
        raise ConfigError(f"{where}: not valid YAML ({' '.join(detail.split())})") from None


def _config_path(name_or_path: str, relative_to: Optional[Path]) -> Path:
    """A preset's file, or the YAML file `name_or_path` (a relative ``base:`` is looked up next to
    the file naming it first, then from the working directory)."""
    path = Path(name_or_path)
    if not path.suffix and (PRESET_DIR / f"{name_or_path}.yaml").exists():
        return PRESET_DIR / f"{name_or_path}.yaml"
    candidates = [path]
    if relative_to is not None and not path.is_absolute():
        candidates.insert(0, relative_to.parent / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = f" (looked in {relative_to.parent} and the working directory)" if relative_to is not None else ""
    raise ConfigError(f"no config preset or file named '{name_or_path}'{where} (presets: {', '.join(preset_names())})")


def _read_config_mapping(name_or_path: str, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = _config_path(name_or_path, _seen[-1] if _seen else None)
    data = parse_yaml(path.read_text(), str(path))
    if data is None:
        raise ConfigError(f"{path}: the config file is empty; give at least 'base: <preset>' "
                          f"(presets: {', '.join(preset_names())}) or the keys to set")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping at the top level")
    base = data.pop("base", None)
    data.setdefault("name", path.stem)
    if base is not None:
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(f"{path}: 'base' must name a preset or a YAML file, got {base!r}")
        if _config_path(base, path).resolve() in {p.resolve() for p in _seen + (path,)}:
            raise ConfigError(f"{path}: 'base: {base}' forms a cycle")
        merged = _read_config_mapping(base, _seen + (path,))
        _deep_update(merged, data)
        data = merged
    return data


def _deep_update(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict) and k != "datasets":
            _deep_update(dst[k], v)
        else:
            dst[k] = v


def _apply_override(data: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"override '{item}' must look like section.key=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override '{item}': '{p}' is not a section")
    node[parts[-1]] = parse_yaml(raw, f"override '{item}'")


def save_config(cfg: Config, path: Union[str, Path]) -> None:
    Path(path).write_text(cfg.to_yaml())


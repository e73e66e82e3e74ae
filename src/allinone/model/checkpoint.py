"""Checkpoints: our own format, and importers for the reference implementation and MAE/timm ViTs.

Own format: one ``.safetensors`` file whose tensors are the model's state dict and whose metadata
holds the resolved config (YAML) and the tokenizer (``tokenizers`` JSON), so the file alone is
enough to track. A directory holding ``model.safetensors`` is accepted wherever a path is.

Nothing here executes code from a file: safetensors holds no code, and ``.pth`` files are read with
``torch.load(weights_only=True)``. Training checkpoints of the reference (pytracking-style) also
pickle helper objects (settings, namespaces); their classes are replaced by inert placeholders
before loading, so only tensors and plain data come out.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import Config, ConfigError, config_from_dict
from .allinone import AllInOne, build_model
from .vit import interpolate_pos_embed

FORMAT_NAME = "allinone"
FORMAT_VERSION = "1"
PathLike = Union[str, Path]


class CheckpointError(ValueError):
    """A checkpoint is missing, of the wrong kind, or does not match the model."""


# --------------------------------------------------------------------------- own format


def _resolve(path: PathLike) -> Path:
    """A file, a directory holding ``model.safetensors``, or a training run directory (its latest
    ``checkpoints/step-*.safetensors``)."""
    p = Path(path)
    if p.is_dir():
        steps = sorted(p.glob("checkpoints/step-*.safetensors"), key=lambda q: int(q.stem.split("-")[1]))
        p = steps[-1] if steps and not (p / "model.safetensors").exists() else p / "model.safetensors"
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    return p


def save_model(model: AllInOne, path: PathLike, tokenizer: Any = None, include_alignment: bool = True) -> Path:
    """Write `model` (weights, config, tokenizer) to one ``.safetensors`` file, atomically.

    tokenizer: a `TextTokenizer` (default: ``model.tokenizer`` when set). include_alignment=False
    leaves out the training-only MMA projections (a smaller file that can still track).
    """
    if model.config is None:
        raise CheckpointError("model has no config attached; build it with allinone.build_model")
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
             if include_alignment or not k.startswith("alignment.")}
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": model.config.to_yaml(),
            "tokenizer": tokenizer.to_json_str() if tokenizer is not None else ""}
    path = Path(path)
    if path.is_dir() or path.suffix != ".safetensors":
        path = path / "model.safetensors" if path.is_dir() else path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=path.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata=meta)
        os.replace(tmp, path)  # atomic: a reader never sees a half-written file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_checkpoint(path: PathLike) -> tuple[dict[str, torch.Tensor], Config, Optional[str]]:
    """Read an own-format checkpoint → (state dict, config, tokenizer JSON or None)."""
    p = _resolve(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{p}: not a readable safetensors file ({exc})") from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{p}: not an allinone checkpoint (no 'format: allinone' metadata); for reference "
            "checkpoints use allinone.model.checkpoint.import_reference_checkpoint")
    try:
        import yaml

        cfg = config_from_dict(yaml.safe_load(meta["config"]))
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"{p}: bad embedded config ({exc})") from None
    return state, cfg, meta.get("tokenizer") or None


def load_model(path: PathLike, device: Union[str, torch.device] = "cpu", with_alignment: bool = False) -> AllInOne:
    """Load a checkpoint written by `save_model` → model in eval mode with ``model.tokenizer`` set.

    Also accepts a reference ``.pth``/``.pth.tar`` training checkpoint (imported with
    `import_reference_checkpoint`). with_alignment=True also loads the MMA projections (to train on).
    """
    p = Path(path)
    if p.suffix in (".pth", ".tar", ".pt") and p.is_file():
        model = import_reference_checkpoint(p, with_alignment=with_alignment)
        return model.to(device).eval()
    state, cfg, tok_json = read_checkpoint(p)
    model = build_model(cfg, with_alignment=with_alignment)
    if not with_alignment:
        state = {k: v for k, v in state.items() if not k.startswith("alignment.")}
    load_state_strict(model, state, source=str(p))
    model.tokenizer = _tokenizer_from_json(tok_json, cfg) if tok_json else None
    return model.to(device).eval()


def _tokenizer_from_json(tok_json: str, cfg: Config) -> Any:
    from ..text import TextTokenizer

    tok = TextTokenizer.from_json_str(tok_json, max_len=cfg.model.max_text_len)
    if tok.vocab_size > cfg.model.vocab_size:
        raise CheckpointError(f"tokenizer has {tok.vocab_size} tokens but the model's vocab_size is "
                              f"{cfg.model.vocab_size}")
    return tok


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load `state` into `model`, failing with the lists of missing, unexpected and mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
            if items:
                shown = ", ".join(items[:12]) + (f", ... ({len(items)} in all)" if len(items) > 12 else "")
                parts.append(f"{title}: {shown}")
        raise CheckpointError(f"{source} does not match the model; " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


# --------------------------------------------------------------------------- torch.load, safely


class _Inert:
    """Placeholder for a class pickled into a checkpoint: records its state, runs nothing."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._args, self._kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        self._state = state


def safe_torch_load(path: PathLike) -> Any:
    """``torch.load(weights_only=True)``; pickled helper classes become inert placeholders."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except pickle.UnpicklingError:
        pass
    except (RuntimeError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    stubs = [(type(n.rsplit(".", 1)[-1], (_Inert,), {"__module__": __name__}), n) for n in names]
    with torch.serialization.safe_globals(stubs):
        return torch.load(path, map_location="cpu", weights_only=True)


# --------------------------------------------------------------------------- reference importer

_REF_BACKBONE_RENAMES = {
    "backbone.language_proj.": "language_proj.",
    "backbone.language_xz_proj.": "alignment.language_xz_proj.",
    "backbone.vision_x_proj.": "alignment.vision_x_proj.",
    "backbone.vision_z_proj.": "alignment.vision_z_proj.",
}
_REF_IGNORED = ("backbone.pos_embed", "backbone.cls_token", "language_embeddings.position_ids")


def convert_reference_state_dict(net: dict[str, torch.Tensor], max_text_len: int = 40) -> dict[str, torch.Tensor]:
    """Rename the reference implementation's ``net`` keys to ours."""
    out: dict[str, torch.Tensor] = {}
    for key, value in net.items():
        key = key.removeprefix("module.")
        if key in _REF_IGNORED:
            continue
        for old, new in _REF_BACKBONE_RENAMES.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        if key.startswith("language_embeddings."):
            key = key.replace("language_embeddings.embeddings.", "language_embeddings.")
            key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            if key.endswith("position_embeddings.weight") and value.shape[0] > max_text_len:
                value = value[:max_text_len]  # BERT tables hold 512 positions; 40 are ever used
        out[key] = value
    return out


def reference_config(net: dict[str, torch.Tensor], base: Union[str, Config] = "paper-vitb256") -> Config:
    """Infer the model shape of a reference checkpoint (width, depth, input sizes, vocab)."""
    from ..config import load_config

    cfg = load_config(base) if not isinstance(base, Config) else base
    data = cfg.to_dict()
    m = data["model"]
    try:
        patch = net["backbone.patch_embed.proj.weight"]
        m["embed_dim"], m["patch_size"] = int(patch.shape[0]), int(patch.shape[-1])
        m["depth"] = 1 + max(int(k.split(".")[2]) for k in net if k.startswith("backbone.blocks."))
        for side, key in (("template_size", "backbone.pos_embed_z"), ("search_size", "backbone.pos_embed_x")):
            m[side] = int(round(net[key].shape[1] ** 0.5)) * m["patch_size"]
        m["vocab_size"] = int(_find(net, "word_embeddings.weight").shape[0])
        m["head_channels"] = int(net["box_head.conv1_ctr.0.weight"].shape[0])
        m["mlp_ratio"] = net["backbone.blocks.0.mlp.fc1.weight"].shape[0] / m["embed_dim"]
        if "backbone.vision_x_proj.weight" in net:
            m["align_dim"] = int(net["backbone.vision_x_proj.weight"].shape[0])
    except KeyError as exc:
        raise CheckpointError(f"not a reference All-in-One state dict: key {exc} missing") from None
    if m["embed_dim"] % m["num_heads"]:
        m["num_heads"] = max(1, m["embed_dim"] // 64)
    m["text_pooling"] = "cls"  # the reference's language path: constant [CLS] vector, frozen
    data["name"] = "reference-import"
    return config_from_dict(data)


def _find(net: dict[str, torch.Tensor], suffix: str) -> torch.Tensor:
    for k, v in net.items():
        if k.startswith("language_embeddings.") and k.endswith(suffix):
            return v
    raise KeyError(f"language_embeddings.*{suffix}")


def bert_special_tokenizer(max_len: int = 40) -> Any:
    """A tokenizer whose special ids are BERT-base-uncased's ([PAD]=0, [UNK]=100, [CLS]=101,
    [SEP]=102, [MASK]=103). In ``cls`` pooling only the [CLS] id reaches the model, so this
    reproduces the reference exactly even without BERT's vocabulary file."""
    from ..text import TextTokenizer

    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.txt"
        path.write_text("\n".join(vocab) + "\n")
        return TextTokenizer.from_file(path, max_len=max_len)


def import_reference_checkpoint(path: PathLike, tokenizer: Any = None, with_alignment: bool = True,
                                config: Union[str, Config] = "paper-vitb256") -> AllInOne:
    """Load the reference implementation's training checkpoint (``{"net": state_dict}``).

    The model uses ``cls`` pooling with frozen language embeddings, as the reference does. Shapes
    (width, depth, input sizes, vocabulary, head width) are read from the weights; `config` gives
    what they cannot tell (heads, candidate-elimination blocks and ratio, tracking settings).
    tokenizer: a `TextTokenizer` or a vocab path (BERT's ``vocab.txt``); default: one with BERT's
    special-token ids (enough, since the reference's language vector ignores the words).
    """
    ckpt = safe_torch_load(path)
    net = ckpt.get("net") if isinstance(ckpt, dict) else None
    if not isinstance(net, dict):
        keys = list(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: expected a reference training checkpoint with a 'net' state dict, found {keys}")
    cfg = reference_config(net, config)
    state = convert_reference_state_dict(net, cfg.model.max_text_len)
    model = build_model(cfg, with_alignment=with_alignment)
    if not with_alignment:
        state = {k: v for k, v in state.items() if not k.startswith("alignment.")}
    load_state_strict(model, state, source=str(path))
    if tokenizer is None:
        tokenizer = bert_special_tokenizer(cfg.model.max_text_len)
    elif isinstance(tokenizer, (str, Path)):
        from ..text import TextTokenizer

        tokenizer = TextTokenizer.from_file(tokenizer, max_len=cfg.model.max_text_len)
    model.tokenizer = tokenizer
    return model


# --------------------------------------------------------------------------- MAE / timm ViT init

_VIT_SKIPPED_PREFIXES = ("cls_token", "mask_token", "decoder", "head", "fc_norm", "dist_token", "pos_embed")


def load_pretrained_backbone(model: AllInOne, path: PathLike) -> list[str]:
    """Initialise the backbone from MAE/timm ViT weights (``{"model": ...}`` or a bare state dict).

    The 14x14 (or any square) position-embedding grid is bicubically interpolated to the template
    and search grids. Returns the names of the backbone parameters that were loaded; fails naming
    the backbone parameters the file lacks or whose shapes differ.
    """
    ckpt = safe_torch_load(path)
    sd = ckpt.get("model", ckpt.get("state_dict", ckpt)) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or "patch_embed.proj.weight" not in {k.removeprefix("module.") for k in sd}:
        raise CheckpointError(f"{path}: not a ViT state dict (no 'patch_embed.proj.weight'); expected "
                              "MAE/timm weights, optionally under 'model'")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    backbone = model.backbone
    new = {k: v for k, v in sd.items() if not k.startswith(_VIT_SKIPPED_PREFIXES)}
    if "pos_embed" in sd:
        grid = sd["pos_embed"]
        n = grid.shape[1]
        if int(round(n ** 0.5)) ** 2 != n:
            grid = grid[:, 1:]  # drop the class-token position
        new["pos_embed_z"] = interpolate_pos_embed(grid, backbone.grid_z)
        new["pos_embed_x"] = interpolate_pos_embed(grid, backbone.grid_x)
    own = backbone.state_dict()
    required = [k for k in own if not k.startswith("norm.")]  # MAE fine-tuned files use fc_norm
    missing = [k for k in required if k not in new]
    shapes = [f"{k}: file {tuple(new[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in new and new[k].shape != own[k].shape]
    if missing or shapes:
        raise CheckpointError(f"{path} does not fit the backbone; missing: {missing[:12]}; wrong shape: {shapes[:12]}")
    loaded = {k: v for k, v in new.items() if k in own}
    backbone.load_state_dict({**own, **loaded}, strict=True)
    return sorted(loaded)

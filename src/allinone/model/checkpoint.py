"""Checkpoints: our own format (importers of other formats: `allinone.model.importers`).

Own format: one ``.safetensors`` file whose tensors are the model's state dict and whose metadata
holds the resolved config (YAML) and the tokenizer (``tokenizers`` JSON), so the file alone is
enough to track. A directory holding ``model.safetensors`` is accepted wherever a path is.

Nothing here executes code from a file: safetensors holds no code, and the importers read
``.pth`` files with ``torch.load(weights_only=True)`` (`allinone.model.importers.files`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import Config, ConfigError, config_from_dict, parse_yaml
from ..files import atomic_write
from .allinone import AllInOne, build_model
from .compact import pack_state, unpack_state

FORMAT_NAME = "allinone"
FORMAT_VERSION = "1"
PathLike = Union[str, Path]


class CheckpointError(ValueError):
    """A checkpoint is missing, of the wrong kind, or does not match the model."""


# --------------------------------------------------------------------------- own format


def _resolve(path: PathLike) -> Path:
    """A file, a directory holding ``model.safetensors``, or a training run directory (its latest
    ``checkpoints/step-*.safetensors``). A suffix-less path that does not exist falls back to
    ``<path>.safetensors`` (where earlier versions of `save_model` wrote it)."""
    p = Path(path)
    if p.is_dir():
        steps = sorted(p.glob("checkpoints/step-*.safetensors"), key=lambda q: int(q.stem.split("-")[1]))
        p = steps[-1] if steps and not (p / "model.safetensors").exists() else p / "model.safetensors"
    elif not p.exists() and p.suffix == "" and p.with_suffix(".safetensors").is_file():
        p = p.with_suffix(".safetensors")
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    return p


def _save_target(path: PathLike) -> Path:
    """Where `save_model` writes: the path itself, or ``model.safetensors`` inside a directory
    (an existing one, or a path written with a trailing slash)."""
    text = os.fspath(path)
    p = Path(text)
    if p.is_dir() or text.endswith(("/", os.sep)):
        return p / "model.safetensors"
    return p


def is_safetensors_file(path: PathLike) -> bool:
    """Whether `path` is a file in the safetensors layout (8-byte header length, then a JSON header),
    whatever its name."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(9)
        size = p.stat().st_size
    except OSError:
        return False
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 8 + n <= size


def save_model(model: AllInOne, path: PathLike, tokenizer: Any = None, include_alignment: bool = True,
               storage: str = "fp32") -> Path:
    """Write `model` (weights, config, tokenizer) to one safetensors file, atomically; returns its path.

    The file is written exactly at `path`, whatever its suffix (``model.v2``, ``ckpt/best`` and
    ``m.safetensors`` are kept as given), except for a directory (an existing one, or a path ending
    with ``/``): then ``<path>/model.safetensors``. ``load_model(path)`` reads back what
    ``save_model(model, path)`` wrote, for every such path.
    tokenizer: a `TextTokenizer` (default: ``model.tokenizer`` when set). include_alignment=False
    leaves out the training-only MMA projections (a smaller file that can still track).
    storage: ``fp32``, ``bf16`` or ``int8`` (weight matrices as int8 with per-row scales; see
    `allinone.model.compact`); loading always gives an fp32 model.
    """
    if model.config is None:
        raise CheckpointError("model has no config attached; build it with allinone.build_model")
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
             if include_alignment or not k.startswith("alignment.")}
    state = pack_state(state, storage)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": model.config.to_yaml(),
            "tokenizer": tokenizer.to_json_str() if tokenizer is not None else "", "storage": storage}
    path = _save_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # atomic (a reader never sees a half-written file), with the permissions a plain write gives
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=meta))
    return path


def read_checkpoint(path: PathLike) -> tuple[dict[str, torch.Tensor], Config, Optional[str]]:
    """Read an own-format checkpoint → (fp32 state dict, config, tokenizer JSON or None)."""
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
        cfg = config_from_dict(parse_yaml(meta["config"], "its 'config' metadata"))
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"{p}: bad embedded config ({exc})") from None
    try:
        state = unpack_state(state, meta.get("storage", "fp32"), source=str(p))
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    return state, cfg, meta.get("tokenizer") or None


def load_model(path: PathLike, device: Union[str, torch.device] = "cpu", with_alignment: bool = False) -> AllInOne:
    """Load a checkpoint written by `save_model` → model in eval mode with ``model.tokenizer`` set.

    path: whatever `save_model` was given (a file of any name, a directory, a training run
    directory). Also accepts a reference ``.pth``/``.pth.tar`` training checkpoint (imported with
    `import_reference_checkpoint`; see `is_reference_checkpoint`). with_alignment=True also loads
    the MMA projections (to train on).
    """
    p = Path(path)
    if is_reference_checkpoint(p):
        model = import_reference_checkpoint(p, with_alignment=with_alignment)
        return model.to(device).eval()
    state, cfg, tok_json = read_checkpoint(p)
    model = build_model(cfg, with_alignment=with_alignment)
    if not with_alignment:
        state = {k: v for k, v in state.items() if not k.startswith("alignment.")}
    load_state_strict(model, state, source=str(p))
    model.tokenizer = _tokenizer_from_json(tok_json, cfg) if tok_json else None
    return model.to(device).eval()


REFERENCE_SUFFIXES = (".pth", ".tar", ".pt")


def is_reference_checkpoint(path: PathLike) -> bool:
    """Whether `path` is a PyTorch file to import (a reference ``.pth``/``.pth.tar`` training
    checkpoint) rather than our own safetensors format: decided by content, the suffix only
    breaks the tie for files that are neither."""
    p = Path(path)
    if not p.is_file() or is_safetensors_file(p):
        return False
    with open(p, "rb") as f:
        head = f.read(4)
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" or p.suffix in REFERENCE_SUFFIXES


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


# --------------------------------------------------------------------------- importers
# Importers of other formats live in model/importers/ (one module per format); their names stay
# importable from here. Imported last: they build on the definitions above.
from .importers import (  # noqa: E402,F401  (re-exported)
    bert_special_tokenizer,
    convert_reference_state_dict,
    import_reference_checkpoint,
    load_bert_embeddings,
    load_pretrained_backbone,
    reference_config,
    safe_torch_load,
)

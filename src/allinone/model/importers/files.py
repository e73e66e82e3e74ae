"""Reading foreign weight files without executing code: ``.pth``/``.bin`` and ``.safetensors``.

``.pth`` files go through ``torch.load(weights_only=True)``. Training checkpoints of the reference
(pytracking-style) also pickle helper objects (settings, namespaces); their classes are replaced by
inert placeholders before loading, so only tensors and plain data come out.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Union

import torch

from ..checkpoint import CheckpointError, is_safetensors_file

PathLike = Union[str, Path]
# Where training scripts nest the weights: MAE/timm {"model": ...}, Lightning {"state_dict": ...},
# DINOv2 training checkpoints {"teacher": ...}.
_NESTED_KEYS = ("model", "state_dict", "teacher")


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
    except pickle.UnpicklingError as exc:
        first = exc
    except (RuntimeError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:  # a legacy (non-zip) file: its globals cannot be listed without unpickling it
        raise CheckpointError(_refusal(path, first)) from None
    stubs = [(type(n.rsplit(".", 1)[-1], (_Inert,), {"__module__": __name__}), n) for n in names]
    try:
        with torch.serialization.safe_globals(stubs):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # a function or a blocked module (os, subprocess, builtins.eval)
        raise CheckpointError(_refusal(path, exc)) from None


def _refusal(path: PathLike, exc: Exception) -> str:
    """One line saying that `path` asks to run code when loaded and is therefore refused."""
    fix = ("allinone reads only tensors and plain data from .pth files and never unpickles with "
           "weights_only=False. Re-save the weights where they were made (torch.save(model.state_dict(), ...) "
           "or safetensors)")
    found = re.search(r"GLOBAL ([\w.]+)", str(exc))
    if found:
        return f"{path}: refused: loading this file would run code (it names {found.group(1)}); {fix}"
    detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(exc))
    why = f" ({detail.group(1).strip()})" if detail else ""
    return f"{path}: refused: not a PyTorch checkpoint that can be read without running code{why}; {fix}"


def read_state_dict(path: PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a weight file (``.safetensors``, or a ``.pth``/``.bin`` read weights-only),
    unwrapped from a ``model`` / ``state_dict`` / ``teacher`` entry and a ``module.`` prefix."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"weight file not found: {p}")
    if is_safetensors_file(p):
        from safetensors.torch import load_file

        try:
            sd: Any = load_file(str(p))
        except Exception as exc:  # safetensors raises its own error types for corrupt headers
            raise CheckpointError(f"{p}: not a readable safetensors file ({exc})") from None
    else:
        sd = safe_torch_load(p)
    for key in _NESTED_KEYS:
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not any(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{p}: holds no state dict of tensors (found {type(sd).__name__})")
    return {k.removeprefix("module."): v for k, v in sd.items() if isinstance(v, torch.Tensor)}

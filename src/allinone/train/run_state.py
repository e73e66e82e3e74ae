"""A run directory's checkpoints: written atomically, the last K kept, resumable.

Layout::

    RUN_DIR/config.yaml                 the resolved config of the run
    RUN_DIR/tokenizer.json              the run's tokenizer
    RUN_DIR/metrics.jsonl               one JSON object per logged step / validation
    RUN_DIR/tb/                         TensorBoard events
    RUN_DIR/checkpoints/step-000100.safetensors   model (+config, tokenizer): allinone.load_model
    RUN_DIR/checkpoints/step-000100.state.pt      optimizer, scaler, RNG states, step (to resume)

The learning-rate and keep-ratio schedules are pure functions of the step, so the step is their
whole state. A checkpoint counts only once both files exist (the state file is written last).
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Optional

import torch

from ..files import atomic_write, remove_stale_tmp
from ..model.checkpoint import save_model
from .errors import TrainingError

_STEP_RE = re.compile(r"step-(\d+)\.state\.pt$")


def _atomic_torch_save(obj: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Delete the temporary files (``checkpoints/.tmp-*``) of a run killed while saving; returns them."""
    return remove_stale_tmp(Path(run_dir) / "checkpoints")


def checkpoint_steps(run_dir: Path) -> list[int]:
    """Steps with a complete checkpoint (model and state), ascending."""
    ckpt_dir = Path(run_dir) / "checkpoints"
    if not ckpt_dir.is_dir():
        return []
    steps = []
    for p in ckpt_dir.iterdir():
        m = _STEP_RE.search(p.name)
        if m and (ckpt_dir / f"step-{m.group(1)}.safetensors").exists():
            steps.append(int(m.group(1)))
    return sorted(steps)


def checkpoint_paths(run_dir: Path, step: int) -> tuple[Path, Path]:
    d = Path(run_dir) / "checkpoints"
    return d / f"step-{step:06d}.safetensors", d / f"step-{step:06d}.state.pt"


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, tokenizer: Any,
                    optimizer: torch.optim.Optimizer, scaler: Optional[Any], keep_last: int) -> Path:
    """Write the model and the training state for `step`; delete all but the last `keep_last`."""
    model_path, state_path = checkpoint_paths(run_dir, step)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, model_path, tokenizer=tokenizer)
    state = {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    _atomic_torch_save(state, state_path)
    for old in checkpoint_steps(run_dir)[:-keep_last] if keep_last > 0 else []:
        for p in checkpoint_paths(run_dir, old):
            p.unlink(missing_ok=True)
    return model_path


def load_training_state(run_dir: Path, step: int) -> dict[str, Any]:
    """The optimizer, scaler and RNG states saved with the checkpoint of `step` (read weights-only)."""
    _, state_path = checkpoint_paths(run_dir, step)
    try:
        return torch.load(state_path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(f"{state_path}: cannot be read as a training state ({first}); delete it and "
                            f"its .safetensors to resume from the checkpoint before") from None


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch_rng"])
    if torch.cuda.is_available() and state.get("cuda_rng"):
        torch.cuda.set_rng_state_all(state["cuda_rng"])

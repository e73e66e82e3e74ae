"""Learning-rate and candidate-elimination keep-ratio schedules (SPEC §3.7, §5).

Schedules are written in epochs as the paper states them; a run shorter or longer than the preset's
(``--steps``) keeps their shape by mapping its steps onto the configured number of epochs.
"""
from __future__ import annotations

import math

from ..config import TrainConfig


def lr_factor(step: int, total_steps: int, cfg: TrainConfig) -> float:
    """Multiplier of the base learning rates at optimizer step `step` (0-based)."""
    warm = 1.0
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        warm = (step + 1) / cfg.warmup_steps
    epoch = step / max(total_steps, 1) * cfg.epochs
    if cfg.lr_schedule == "step":
        decay = cfg.lr_drop_factor if epoch >= cfg.lr_drop_epoch else 1.0
    else:  # cosine to zero over the run, after the warm-up
        span = max(total_steps - cfg.warmup_steps, 1)
        t = min(max(step - cfg.warmup_steps, 0) / span, 1.0)
        decay = 0.5 * (1.0 + math.cos(math.pi * t))
    return warm * decay


def keep_ratio(step: int, total_steps: int, cfg: TrainConfig, final_ratio: float) -> float:
    """Candidate-elimination keep ratio: 1.0 until ``ce_start_epoch``, then a cosine from 1.0 down
    to `final_ratio` at ``ce_end_epoch``, constant after."""
    epoch = step / max(total_steps, 1) * cfg.epochs
    if epoch < cfg.ce_start_epoch:
        return 1.0
    if epoch >= cfg.ce_end_epoch or cfg.ce_end_epoch == cfg.ce_start_epoch:
        return final_ratio
    t = (epoch - cfg.ce_start_epoch) / (cfg.ce_end_epoch - cfg.ce_start_epoch)
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

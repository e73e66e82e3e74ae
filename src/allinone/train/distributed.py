"""torchrun / DistributedDataParallel helpers (one process or many, CPU or GPU).

`init_distributed` reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK; with none set, training runs
in one process. NCCL is used on GPUs, gloo on CPU. `gather_with_grad` lets the contrastive losses
see the vectors of the global batch: every rank computes NT-Xent over all ranks' vectors, and the
gradient flows back to each rank's own vectors (all_gather's backward sums the ranks'
contributions), so negatives come from the global batch as in the paper's 4-GPU recipe.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..devices import check_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Set up the process group when launched by torchrun; pick the device for this rank."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    checked = None if device == "auto" else check_device(device)  # unknown / unavailable: one clear error
    use_cuda = torch.cuda.is_available() if checked is None else checked.type == "cuda"
    if use_cuda:
        dev = torch.device("cuda", local) if checked is None or checked.index is None else checked
        torch.cuda.set_device(dev)
    else:
        dev = checked if checked is not None else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """Concatenate `t` (B, ...) from every rank along dim 0, differentiably (rank order)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(t.contiguous()), dim=0)


def gather_no_grad(t: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor that needs no gradient (e.g. flags) from every rank."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=0)


def all_reduce_mean(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar statistics over ranks (for logging)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))

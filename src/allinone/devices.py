"""Device names (``--device``): checked once, up front, with an error that says what to use instead."""
from __future__ import annotations

from typing import Union

import torch


class DeviceError(ValueError):
    """A device name is unknown, or names hardware this machine or this torch build does not have."""


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` (``mps`` on Apple silicon) → `torch.device`, checked to exist.

    Raises `DeviceError` for an unknown name, for CUDA without a CUDA build of torch or without a
    visible GPU, and for a GPU index past the last one.
    """
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(str(device).strip().lower())
        except (RuntimeError, ValueError):
            raise DeviceError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU is visible"
            raise DeviceError(f"device {device!r}: CUDA is not available ({why}; torch {torch.__version__}); "
                              "use --device cpu")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(f"device {device!r}: only {count} GPU(s) visible (cuda:0 to cuda:{count - 1})")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise DeviceError(f"device {device!r}: Apple's MPS is not available here; use --device cpu")
    elif dev.type != "cpu":
        raise DeviceError(f"device {device!r}: allinone runs on cpu, cuda, cuda:N or mps")
    return dev

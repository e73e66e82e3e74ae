"""allinone: the All-in-One unified vision-language tracker (ACM MM 2023) as a library.

Public API::

    import allinone
    cfg = allinone.load_config("cpu-tiny")          # presets: paper-vitb256, paper-vitb384, cpu-tiny
    model = allinone.build_model(cfg)               # random init, with the MMA projections
    allinone.save_model(model, "model.safetensors", tokenizer=tok)
    model = allinone.load_model("model.safetensors")  # inference-ready, tokenizer attached
    tracker = allinone.Tracker.from_checkpoint("model.safetensors")
    tracker.initialize(frame, bbox=(x, y, w, h), text="the red car")
    box_xywh, score = tracker.track(next_frame)
"""
import os as _os
import sys as _sys

# torch's OpenMP threads spin-wait between parallel regions, which collapses tracking speed as soon
# as other processes share the cores (README, Speed: with two busy processes on 2 cores, 2 threads
# ran paper-vitb256 4x and cpu-tiny 19x slower than 1 thread). Passive waiting (sleep at once)
# avoids the collapse. libgomp reads this when torch loads, so it is set only if torch is not loaded
# yet and the user has not chosen; `allinone.track.backends.default_threads` checks what is in effect.
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .config import Config, ConfigError, load_config  # noqa: E402
from .model import build_model, load_model, save_model  # noqa: E402
from .track import Tracker  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Tracker", "Config", "ConfigError", "load_config", "build_model", "load_model", "save_model", "__version__"]

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
from .config import Config, ConfigError, load_config
from .model import build_model, load_model, save_model
from .track import Tracker

__version__ = "0.1.0"
__all__ = ["Tracker", "Config", "ConfigError", "load_config", "build_model", "load_model", "save_model", "__version__"]

"""Tracking: the `Tracker` API and video helpers."""
from .tracker import Tracker, TrackerState, default_checkpoint

__all__ = ["Tracker", "TrackerState", "default_checkpoint"]

"""Pseudo-labelled real footage written by ``allinone pseudo-tracks`` (`allinone.data.pseudo_tracks`):
the LaSOT layout, one root per split, every sequence found under the root used. Unlike ``lasot``
no name is held out: names such as ``person-1`` here are not LaSOT's test sequences."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .lasot import LaSOT


class PseudoTracks(LaSOT):
    """Pseudo tracks (``allinone pseudo-tracks``): LaSOT layout, one root per split, all sequences used."""

    name = "pseudo_tracks"
    default_split = "all"

    def __init__(self, root: str | Path, split: Optional[str] = None, **kwargs):
        super().__init__(root, "all", **kwargs)

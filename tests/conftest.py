"""Shared test set-up: make tests/ importable so test modules can share oracles (reference_oracle)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

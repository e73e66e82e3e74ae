"""Run logging: TensorBoard scalars and a ``metrics.jsonl`` line per logged step (rank 0 only)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional


class RunLogger:
    """Writes scalars to ``RUN_DIR/tb`` (TensorBoard) and ``RUN_DIR/metrics.jsonl``.

    A logger with ``enabled=False`` (ranks other than 0) accepts every call and writes nothing.
    """

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self._tb = None
        self._jsonl = None
        if enabled:
            from tensorboardX import SummaryWriter

            run_dir.mkdir(parents=True, exist_ok=True)
            self._tb = SummaryWriter(logdir=str(run_dir / "tb"), flush_secs=10)
            self._jsonl = open(run_dir / "metrics.jsonl", "a", buffering=1)

    def log(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        if not self.enabled:
            return
        for key, value in values.items():
            self._tb.add_scalar(f"{prefix}/{key}", value, step)
        record = {"step": step, "split": prefix, "time": round(time.time(), 3)}
        record.update({k: float(v) for k, v in values.items()})
        self._jsonl.write(json.dumps(record) + "\n")

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._jsonl is not None:
            self._jsonl.close()


def read_metrics(run_dir: Path, split: Optional[str] = None) -> list[dict]:
    """The records of ``metrics.jsonl`` (optionally of one split: ``train`` or ``val``)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if split is None or r.get("split") == split]

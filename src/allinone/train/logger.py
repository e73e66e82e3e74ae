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


def plot_metrics(run_dir: Path, out_png: Path) -> Path:
    """Training loss and validation IoU against steps, from ``metrics.jsonl``, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, val = read_metrics(run_dir, "train"), read_metrics(run_dir, "val")
    if not train:
        raise ValueError(f"no training records in {Path(run_dir) / 'metrics.jsonl'}")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    a.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    if val:
        a.plot([r["step"] for r in val], [r["loss"] for r in val], "o-", label="val loss")
    a.set(xlabel="step", ylabel="loss", title="loss")
    a.legend()
    b.plot([r["step"] for r in train], [r["iou"] for r in train], label="train IoU")
    if val:
        b.plot([r["step"] for r in val], [r["iou"] for r in val], "o-", label="val IoU")
    b.set(xlabel="step", ylabel="IoU", title="box IoU at the predicted peak", ylim=(0, 1))
    b.legend()
    for ax in (a, b):
        ax.grid(True, linestyle=":")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png

"""What the speed benchmarks share: the machine's description, a background load, the inference modes.

Imported by speed.py and track.py (run as ``python benchmarks/<name>.py``, so this folder is on the path).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

# mode label → (Tracker backend, precision)
MODES = {"fp32": ("torch", "fp32"), "bf16": ("torch", "bf16"), "int8": ("torch", "int8"),
         "ort-fp32": ("onnxruntime", "fp32"), "ort-int8": ("onnxruntime", "int8")}


def cpu_model() -> str:
    """The CPU's model name and its int8/bf16-relevant instruction sets."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = [f for f in ("avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16") if f in flags]
    return f"{name} ({os.cpu_count()} logical CPUs{'; ' + ', '.join(isa) if isa else ''})"


def load_average() -> str:
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "n/a"


@contextmanager
def background_load(processes: int) -> Iterator[None]:
    """Run `processes` busy-looping Python processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def header(threads: list[int], load: int) -> str:
    """Lines naming the machine, the thread settings and the load (printed before the figures)."""
    import onnxruntime
    import torch

    from allinone import load_config
    from allinone.track.backends import default_threads

    tiny = default_threads("torch", load_config("cpu-tiny"))
    return (f"# CPU: {cpu_model()}\n"
            f"# torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; threads {threads} (defaults "
            f"here: torch {default_threads('torch')}, cpu-tiny on torch {tiny}, onnxruntime "
            f"{default_threads('onnxruntime')}); OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}\n"
            f"# background load: {load} busy process(es) started by this run; load average before: {load_average()}")


def export_folder(model) -> tempfile.TemporaryDirectory:
    """The model exported to ONNX (fp32 and int8 tracking steps) in a temporary folder."""
    from allinone.track.onnx_export import export_to_temp

    return export_to_temp(model, int8=True)

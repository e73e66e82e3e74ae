"""Inference backends behind the `Tracker`: the predictor API does not change with the backend.

A backend is an object with the inference half of `AllInOne`'s interface:
``encode_template(template, text_ids, text_mask) -> TemplateFeatures`` and
``track_search(features, search) -> ModelOutput``. The Tracker's crops, Hann window, box decoding
and clipping are the same code for every backend.

- ``torch``: the model itself in ``fp32``, ``bf16`` / ``fp16`` (autocast), or ``int8``: dynamic
  quantisation of every ``nn.Linear`` with ``torch.ao`` (weights int8 per output channel, activations
  quantised per call, fbgemm/VNNI kernels).
- ``onnxruntime``: the template side and the tracking step exported to ONNX (`onnx_export`) and run
  by ONNX Runtime in ``fp32`` or ``int8`` (MatMul weights int8 per channel, ONNX Runtime's dynamic
  quantiser). The fastest CPU mode; needs ``pip install 'allinone[onnx]'``.

Threads: ``threads`` sets torch's intra-op threads (process-wide: torch has one pool) and ONNX
Runtime's per session; `default_threads` gives the default and why.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from torch import nn

from ..model.allinone import AllInOne, ModelOutput, TemplateFeatures
from ..model.head import decode_boxes

BACKENDS = ("torch", "onnxruntime")
PRECISIONS = {"torch": ("fp32", "bf16", "fp16", "int8"), "onnxruntime": ("fp32", "int8")}


def check_backend(backend: str, precision: str, device: Union[str, torch.device]) -> None:
    """Raise a ValueError naming the fix when `backend` cannot run `precision` on `device`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if precision not in PRECISIONS[backend]:
        raise ValueError(f"the {backend} backend runs precision {', '.join(PRECISIONS[backend])}, "
                         f"not {precision!r}")
    dev = torch.device(device)
    if precision == "fp16" and dev.type != "cuda":
        raise ValueError("fp16 inference needs a CUDA device; use bf16 or fp32 on CPU")
    if precision == "int8" and dev.type != "cpu":
        raise ValueError(f"int8 inference runs on the CPU (device cpu), not {dev}; use fp16/bf16 on a GPU")
    if backend == "onnxruntime" and dev.type != "cpu":
        raise ValueError(f"the onnxruntime backend runs on the CPU (device cpu), not {dev}")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def passive_waiting() -> bool:
    """Whether torch's OpenMP threads sleep while idle (``OMP_WAIT_POLICY=PASSIVE``, which
    ``import allinone`` sets unless torch was imported first or the variable is set)."""
    return os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"


# Multiply-adds of one (tokens x C) @ (C x C) product below which a torch step runs one thread:
# cpu-tiny (80 tokens, C = 192: 2.9 M) runs so many small ops that waking a second thread for each
# costs more under load than the core gives; cpu-small (39 M) and the paper presets (189 M) gain.
PARALLEL_MIN_WORK = 10_000_000


def default_threads(backend: str = "torch", config: Any = None) -> int:
    """The default thread count for `backend` and a model of `config` (a `Config`, or None).

    Measured on a 2-core machine under a background load of two busy processes (README, Speed):
    spin-waiting torch threads collapse (2 threads: cpu-tiny 19x, paper-vitb256 fp32 4x slower than
    1); with passive waiting 2 threads match or beat 1 for cpu-small and paper-vitb256 but still lose
    up to 70 % for cpu-tiny. ONNX Runtime's threads never spin (see `_session`) and 2 matched or beat
    1 for both. Hence: all cores for onnxruntime; for torch, all cores when its threads wait
    passively and the model is above `PARALLEL_MIN_WORK`, else 1.
    """
    if backend == "onnxruntime":
        return available_cores()
    if not passive_waiting():
        return 1
    if config is not None:
        m = config.model
        if (m.template_grid ** 2 + m.search_grid ** 2) * m.embed_dim ** 2 < PARALLEL_MIN_WORK:
            return 1
    return available_cores()


def resolve_threads(threads: Optional[int], backend: str = "torch", config: Any = None) -> int:
    """`threads`, or `default_threads` when None; checked to be a positive integer."""
    n = default_threads(backend, config) if threads is None else threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer (e.g. 1 or {available_cores()}), got {threads!r}")
    return n


def quantize_linear_int8(model: AllInOne) -> AllInOne:
    """A copy of `model` whose ``nn.Linear`` layers run int8 (torch.ao dynamic quantisation).

    Weights are quantised once per output channel; activations per call. Convolutions (the patch
    embedding, the head: < 10 % of a step) stay fp32: torch.ao has no dynamic int8 convolution, and
    ONNX Runtime's (ConvInteger) made the paper model's step 1.8x slower, not faster.
    """
    quant = getattr(getattr(torch, "ao", None), "quantization", None)
    if quant is None or not hasattr(quant, "quantize_dynamic"):
        raise ValueError(f"torch {torch.__version__} has no torch.ao.quantization; "
                         "use --backend onnxruntime --precision int8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao quantisation is deprecated (torchao)
        warnings.simplefilter("ignore", UserWarning)
        qconfig = {nn.Linear: quant.per_channel_dynamic_qconfig}
        qmodel = quant.quantize_dynamic(model.cpu().eval(), qconfig, dtype=torch.qint8)
    qmodel.config = model.config
    qmodel.tokenizer = getattr(model, "tokenizer", None)
    return qmodel


class OnnxRuntimeModel:
    """The template side and the tracking step as ONNX Runtime sessions, behind `AllInOne`'s
    inference interface (``encode_template`` / ``track_search``).

    Args:
        export_dir: a folder written by `allinone.track.onnx_export.export_onnx`.
        precision: ``fp32`` or ``int8`` (which tracking-step graph to run).
        threads: intra-op threads of each session (default: all cores, see `default_threads`).
    """

    def __init__(self, export_dir: Union[str, Path], precision: str = "fp32", threads: Optional[int] = None):
        from .onnx_export import TEMPLATE_GRAPH, read_export, require_onnx, search_graph_path

        require_onnx()
        self.config, self.tokenizer = read_export(export_dir)
        self.precision = precision
        self.threads = resolve_threads(threads, "onnxruntime")
        self._template = _session(Path(export_dir) / TEMPLATE_GRAPH, self.threads)
        self._search = _session(search_graph_path(export_dir, precision), self.threads)

    @classmethod
    def from_model(cls, model: AllInOne, precision: str = "fp32",
                   threads: Optional[int] = None) -> "OnnxRuntimeModel":
        """Export `model` to a temporary folder, open it, and delete the folder (the sessions hold
        the graphs in memory)."""
        from .onnx_export import export_to_temp

        tmp = export_to_temp(model, int8=precision == "int8")
        try:
            return cls(tmp.name, precision, threads)
        finally:
            tmp.cleanup()

    def encode_template(self, template: torch.Tensor, text_ids: torch.Tensor,
                        text_mask: torch.Tensor) -> TemplateFeatures:
        """template (B, 3, H_z, W_z) normalised image, text (B, L) → cached template features."""
        z, lang = self._template.run(None, {"template": _np(template, np.float32),
                                             "text_ids": _np(text_ids, np.int64),
                                             "text_mask": _np(text_mask, np.int64)})
        return TemplateFeatures(torch.from_numpy(z), torch.from_numpy(lang))

    def track_search(self, features: TemplateFeatures, search: torch.Tensor,
                     keep_ratio: Optional[float] = None) -> ModelOutput:
        """Search (B, 3, H_x, W_x) against cached features → maps and decoded boxes (no kept_index)."""
        if keep_ratio is not None and keep_ratio != self.config.model.ce_keep_ratio:
            raise ValueError(f"an ONNX export runs keep_ratio={self.config.model.ce_keep_ratio} "
                             f"(fixed at export), not {keep_ratio}")
        score, size, offset = (torch.from_numpy(a) for a in self._search.run(None, {
            "z_tokens": _np(features.z_tokens, np.float32), "lang": _np(features.lang, np.float32),
            "search": _np(search, np.float32)}))
        kept = torch.zeros(score.shape[0], 0, dtype=torch.long)  # not an output of the graph
        return ModelOutput(score, size, offset, decode_boxes(score, size, offset), kept)


def _np(t: torch.Tensor, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=dtype)


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads that spin-wait between ops fight any other load on the cores (README, Speed).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def build_backend(model: Union[AllInOne, OnnxRuntimeModel], backend: str, precision: str,
                  device: torch.device, threads: int) -> Any:
    """The object the Tracker runs: `model` itself (torch fp32/bf16/fp16), an int8 copy, or ONNX
    Runtime sessions (exported on the fly from a torch model when not already an export)."""
    if isinstance(model, OnnxRuntimeModel):
        if backend != "onnxruntime":
            raise ValueError("an ONNX export runs with backend='onnxruntime' (--backend onnxruntime)")
        if model.precision != precision:
            raise ValueError(f"this ONNX model was opened for {model.precision}, not {precision}")
        return model
    if backend == "onnxruntime":
        return OnnxRuntimeModel.from_model(model, precision, threads)
    if precision == "int8":
        return quantize_linear_int8(model)
    return model.to(device).eval()

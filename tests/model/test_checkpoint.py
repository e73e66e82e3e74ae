"""Checkpoints: own format round trip, strict loading, reference and MAE importers."""
import pytest
import torch

import allinone
from reference_oracle import reference_layout
from allinone import build_model, load_config
from allinone.model.checkpoint import (
    CheckpointError,
    import_reference_checkpoint,
    load_pretrained_backbone,
    read_checkpoint,
)
from allinone.model.vit import interpolate_pos_embed
from allinone.text import build_vocab

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def tokenizer():
    return build_vocab(["the small red triangle near the top", "a blue star moving right"], vocab_size=200)


def _inputs(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = model.config.model
    z = torch.randn(1, 3, m.template_size, m.template_size, generator=g)
    x = torch.randn(1, 3, m.search_size, m.search_size, generator=g)
    return z, x


def _perturb_bn(model):
    """Give BatchNorm running statistics non-default values so buffers are part of the test."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)


def test_save_load_round_trip_identical_outputs(tmp_path, tokenizer):
    torch.manual_seed(0)
    model = build_model("cpu-tiny").eval()
    _perturb_bn(model)
    path = allinone.save_model(model, tmp_path / "tiny.safetensors", tokenizer=tokenizer)
    loaded = allinone.load_model(path)
    assert not loaded.training and loaded.alignment is None
    assert loaded.config == model.config
    ids, mask = loaded.tokenizer.encode("the red triangle")
    torch.testing.assert_close(ids, tokenizer.encode("the red triangle")[0])
    z, x = _inputs(model)
    with torch.no_grad():
        a, b = model(z, x, ids, mask), loaded(z, x, ids, mask)
    assert torch.equal(a.score_map, b.score_map) and torch.equal(a.boxes, b.boxes)
    # with the MMA projections, training outputs survive the round trip too
    full = allinone.load_model(path, with_alignment=True)
    with torch.no_grad():
        va, vb = model(z, x, ids, mask, return_alignment=True), full(z, x, ids, mask, return_alignment=True)
    assert torch.equal(va.v_x, vb.v_x) and torch.equal(va.v_l, vb.v_l)
    # a directory holding model.safetensors loads the same
    (tmp_path / "d").mkdir()
    allinone.save_model(model, tmp_path / "d", tokenizer=tokenizer)
    assert torch.equal(allinone.load_model(tmp_path / "d").box_head.conv5_ctr.weight, model.box_head.conv5_ctr.weight)


def test_inference_only_checkpoint_is_smaller_and_loads(tmp_path, tokenizer):
    model = build_model("cpu-tiny")
    full = allinone.save_model(model, tmp_path / "full.safetensors", tokenizer=tokenizer)
    small = allinone.save_model(model, tmp_path / "small.safetensors", tokenizer=tokenizer, include_alignment=False)
    assert small.stat().st_size < full.stat().st_size
    state, _, _ = read_checkpoint(small)
    assert not any(k.startswith("alignment.") for k in state)
    allinone.load_model(small)  # inference needs no MMA weights
    with pytest.raises(CheckpointError, match="missing: alignment"):
        allinone.load_model(small, with_alignment=True)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, tokenizer):
    model = build_model("cpu-tiny")
    allinone.save_model(model, tmp_path / "m.safetensors", tokenizer=tokenizer)
    allinone.save_model(model, tmp_path / "m.safetensors", tokenizer=tokenizer)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_wrong_or_partial_checkpoints_fail_clearly(tmp_path, tokenizer):
    with pytest.raises(CheckpointError, match="not found"):
        allinone.load_model(tmp_path / "nope.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        allinone.load_model(junk)
    # a partial state dict names what is missing
    model = build_model("cpu-tiny")
    from safetensors.torch import save_file
    path = allinone.save_model(model, tmp_path / "ok.safetensors", tokenizer=tokenizer)
    state, cfg, tok = read_checkpoint(path)
    del state["box_head.conv5_size.weight"]
    meta = {"format": "allinone", "format_version": "1", "config": cfg.to_yaml(), "tokenizer": tok}
    save_file(state, str(tmp_path / "partial.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="missing: box_head.conv5_size.weight"):
        allinone.load_model(tmp_path / "partial.safetensors")
    # weights of another preset do not fit this config
    other = build_model("cpu-tiny").state_dict()
    big_cfg = load_config("cpu-tiny", ["model.embed_dim=96"])
    meta["config"] = big_cfg.to_yaml()
    save_file({k: v.contiguous() for k, v in other.items()}, str(tmp_path / "mismatch.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="wrong shape"):
        allinone.load_model(tmp_path / "mismatch.safetensors")


# --------------------------------------------------------------------------- reference importer


class Settings:  # stands for the helper objects pytracking-style trainers pickle into checkpoints
    def __init__(self):
        self.script_name = "allinone"


def _reference_state_dict(model):
    """Our tiny model's weights under the reference's key names, BERT's 512 text positions included."""
    net = reference_layout(model)
    pos = net["language_embeddings.position_embeddings.weight"]
    net["language_embeddings.position_embeddings.weight"] = torch.cat([pos, torch.randn(472, pos.shape[1])])
    return net


# A small model with the paper's block layout (CE at blocks 3, 6, 9), so the default import
# config fits it; one head since 64 channels do not split into the paper's 12.
REF_TINY = ["model.text_pooling=cls", "model.vocab_size=128", "model.embed_dim=64", "model.depth=10",
            "model.num_heads=1", "model.ce_locations=[3,6,9]", "model.head_channels=32"]


def test_reference_checkpoint_imports_without_unexpected_keys(tmp_path):
    cfg = load_config("cpu-tiny", REF_TINY)
    torch.manual_seed(3)
    ref_model = build_model(cfg).eval()
    _perturb_bn(ref_model)
    path = tmp_path / "AllInOne_ep0300.pth.tar"
    torch.save({"net": _reference_state_dict(ref_model), "settings": Settings(), "epoch": 300}, path)

    model = import_reference_checkpoint(path).eval()  # strict: raises on any mismatch
    assert model.config.model.text_pooling == "cls" and model.config.model.vocab_size == 128
    assert model.tokenizer.cls_id == 101  # BERT's [CLS] id, the only token cls pooling reads
    z, x = _inputs(model)
    ids, mask = model.tokenizer.encode("a dog")
    with torch.no_grad():
        a, b = ref_model(z, x, ids, mask, return_alignment=True), model(z, x, ids, mask, return_alignment=True)
    assert torch.equal(a.boxes, b.boxes) and torch.equal(a.v_x, b.v_x)
    # load_model recognises the reference file too, and builds it for inference
    inference = allinone.load_model(path)
    assert inference.alignment is None and not inference.training
    with torch.no_grad():
        assert torch.equal(inference(z, x, ids, mask).boxes, a.boxes)


def test_reference_checkpoint_missing_keys_are_listed(tmp_path):
    cfg = load_config("cpu-tiny", ["model.text_pooling=cls", "model.vocab_size=128"])
    net = _reference_state_dict(build_model(cfg))
    del net["backbone.blocks.1.mlp.fc1.weight"]
    path = tmp_path / "broken.pth.tar"
    torch.save({"net": net}, path)
    with pytest.raises(CheckpointError, match=r"missing: backbone\.blocks\.1\.mlp\.fc1\.weight"):
        import_reference_checkpoint(path, config="cpu-tiny")
    torch.save({"model": {}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="'net'"):
        import_reference_checkpoint(tmp_path / "other.pth", config="cpu-tiny")


# --------------------------------------------------------------------------- MAE / timm init


def _mae_state(model):
    c = model.config.model
    sd = {k: torch.randn_like(v) for k, v in model.backbone.state_dict().items() if not k.startswith("pos_embed")}
    sd["pos_embed"] = torch.randn(1, 1 + 14 * 14, c.embed_dim)
    sd["cls_token"] = torch.randn(1, 1, c.embed_dim)
    sd["mask_token"] = torch.randn(1, 1, c.embed_dim)
    sd["decoder_embed.weight"] = torch.randn(8, c.embed_dim)
    return sd


def test_mae_weights_initialise_backbone(tmp_path):
    model = build_model("cpu-tiny")
    sd = _mae_state(model)
    torch.save({"model": sd}, tmp_path / "mae_pretrain_vit_tiny.pth")
    loaded = load_pretrained_backbone(model, tmp_path / "mae_pretrain_vit_tiny.pth")
    assert "blocks.0.attn.qkv.weight" in loaded and "pos_embed_x" in loaded
    assert torch.equal(model.backbone.blocks[3].mlp.fc2.weight, sd["blocks.3.mlp.fc2.weight"])
    grid = sd["pos_embed"][:, 1:]
    torch.testing.assert_close(model.backbone.pos_embed_x.data, interpolate_pos_embed(grid, 8))
    torch.testing.assert_close(model.backbone.pos_embed_z.data, interpolate_pos_embed(grid, 4))


def test_mae_weights_that_do_not_fit_are_refused(tmp_path):
    model = build_model("cpu-tiny")
    sd = _mae_state(model)
    del sd["blocks.2.norm1.weight"]
    torch.save({"model": sd}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="blocks.2.norm1.weight"):
        load_pretrained_backbone(model, tmp_path / "bad.pth")
    torch.save({"model": {"foo": torch.zeros(1)}}, tmp_path / "notvit.pth")
    with pytest.raises(CheckpointError, match="patch_embed"):
        load_pretrained_backbone(model, tmp_path / "notvit.pth")


def test_interpolate_pos_embed_identity_and_shape():
    g = torch.randn(1, 196, 8)
    assert torch.equal(interpolate_pos_embed(g, 14), g)
    assert interpolate_pos_embed(g, 16).shape == (1, 256, 8)


@pytest.mark.parametrize("given, written", [
    ("ckpt/best", "ckpt/best"),                 # no suffix: kept as given
    ("model.v2", "model.v2"),                   # another suffix: not renamed to model.safetensors
    ("m.safetensors", "m.safetensors"),
    ("weights.pth", "weights.pth"),             # our format under a .pth name: recognised by content
    ("existing_dir", "existing_dir/model.safetensors"),
    ("new_dir/", "new_dir/model.safetensors"),  # a trailing slash asks for a directory
])
def test_save_then_load_the_same_path_round_trips(tmp_path, tokenizer, given, written):
    torch.manual_seed(1)
    model = build_model("cpu-tiny", with_alignment=False).eval()
    (tmp_path / "existing_dir").mkdir()
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    path = allinone.save_model(model, str(tmp_path) + "/" + given, tokenizer=tokenizer)
    assert path == tmp_path / written and path.is_file()
    created = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()} - before
    assert created == {path.relative_to(tmp_path)}  # exactly one file, where save_model says
    loaded = allinone.load_model(str(tmp_path) + "/" + given)
    assert torch.equal(loaded.box_head.conv5_ctr.weight, model.box_head.conv5_ctr.weight)
    assert loaded.tokenizer.encode("red")[0].tolist() == tokenizer.encode("red")[0].tolist()


def test_suffix_less_path_still_finds_a_file_older_versions_wrote(tmp_path, tokenizer):
    model = build_model("cpu-tiny", with_alignment=False)
    allinone.save_model(model, tmp_path / "best.safetensors", tokenizer=tokenizer)
    assert allinone.load_model(tmp_path / "best").config == model.config
    with pytest.raises(CheckpointError, match="not found"):
        allinone.load_model(tmp_path / "best.v2")  # only a suffix-less name falls back

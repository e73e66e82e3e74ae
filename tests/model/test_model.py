"""The network: shapes per preset, candidate elimination, language pooling, gradients."""
import math

import pytest
import torch

from allinone import build_model, load_config
from allinone.model.allinone import modal_mixup
from allinone.model.head import decode_boxes
from allinone.model.language import LanguageEmbedding
from allinone.model.vit import Block, keep_count

torch.set_num_threads(2)


def _inputs(cfg, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = cfg.model
    z = torch.randn(batch, 3, m.template_size, m.template_size, generator=g)
    x = torch.randn(batch, 3, m.search_size, m.search_size, generator=g)
    ids = torch.zeros(batch, m.max_text_len, dtype=torch.long)
    ids[:, :5] = torch.tensor([2, 11, 12, 13, 3])
    return z, x, ids, (ids > 0).long()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("cpu-tiny").eval()


@pytest.mark.parametrize("preset", ["cpu-tiny", "paper-vitb256", "paper-vitb384"])
def test_output_shapes_every_preset(preset):
    cfg = load_config(preset)
    model = build_model(cfg, with_alignment=False).eval()
    z, x, ids, mask = _inputs(cfg, batch=1)
    with torch.no_grad():
        out = model(z, x, ids, mask)
    s = cfg.model.search_grid
    assert out.score_map.shape == (1, 1, s, s)
    assert out.size_map.shape == (1, 2, s, s) and out.offset_map.shape == (1, 2, s, s)
    assert out.boxes.shape == (1, 4) and torch.isfinite(out.boxes).all()
    assert out.v_x is None and out.v_l is None
    assert out.score_map.min() >= 1e-4 and out.score_map.max() <= 1 - 1e-4
    n = s * s
    for _ in cfg.model.ce_locations:
        n = keep_count(cfg.model.ce_keep_ratio, n)
    assert out.kept_index.shape == (1, n)
    assert not any(k.startswith("alignment.") for k in model.state_dict())


def test_alignment_outputs_shapes(tiny):
    cfg = tiny.config
    z, x, ids, mask = _inputs(cfg)
    with torch.no_grad():
        out = tiny(z, x, ids, mask, return_alignment=True)
    for v in (out.v_x, out.v_z, out.v_l):
        assert v.shape == (2, cfg.model.align_dim)
        torch.testing.assert_close(v.norm(dim=-1), torch.ones(2))


def test_inference_model_refuses_alignment():
    model = build_model("cpu-tiny", with_alignment=False)
    z, x, ids, mask = _inputs(model.config)
    with pytest.raises(RuntimeError, match="with_alignment=True"):
        model(z, x, ids, mask, return_alignment=True)


def test_keep_count_is_ceil():
    assert keep_count(0.7, 256) == 180 == math.ceil(0.7 * 256)
    assert keep_count(0.7, 180) == 126 and keep_count(0.7, 126) == 89
    assert keep_count(0.7, 10) == 7  # exact product: no float round-up to 8
    assert keep_count(1.0, 64) == 64 and keep_count(0.01, 5) == 1


def _brute_force_keep(block, tokens, len_z, center, ratio):
    """Full attention map by hand, centre row averaged over heads, top-k of the search part."""
    h = block.norm1(tokens)
    b, n, c = h.shape
    nh = block.attn.num_heads
    qkv = block.attn.qkv(h).reshape(b, n, 3, nh, c // nh).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]
    attn = torch.softmax(q @ k.transpose(-2, -1) * (c // nh) ** -0.5, dim=-1)  # (B, H, N, N)
    row = attn[:, :, center, len_z:].mean(1)  # (B, L_s)
    n_keep = math.ceil(ratio * (n - len_z))
    return row.topk(n_keep, dim=1).indices, n_keep


@pytest.mark.parametrize("ratio", [0.7, 0.5, 0.33])
def test_candidate_elimination_matches_brute_force(ratio):
    torch.manual_seed(1)
    block = Block(48, 4, candidate_elimination=True).eval()
    len_z, len_s = 16, 64
    tokens = torch.randn(3, len_z + len_s, 48)
    index_x = torch.arange(len_s).expand(3, -1)
    center = torch.tensor([5]).expand(3, -1)
    with torch.no_grad():
        out, kept = block(tokens, len_z, index_x, ratio, center)
        expected, n_keep = _brute_force_keep(block, tokens, len_z, 5, ratio)
    assert kept.shape == (3, n_keep) and out.shape == (3, len_z + n_keep, 48)
    for bi in range(3):
        assert set(kept[bi].tolist()) == set(expected[bi].tolist())


def test_candidate_elimination_template_mask_weights_rows():
    torch.manual_seed(2)
    block = Block(32, 2, candidate_elimination=True).eval()
    tokens = torch.randn(1, 16 + 36, 32)
    index_x = torch.arange(36).expand(1, -1)
    mask = torch.zeros(1, 16)
    mask[0, 5] = 1.0  # a one-hot mask must select exactly what the index path selects
    with torch.no_grad():
        _, by_mask = block(tokens, 16, index_x, 0.5, mask)
        _, by_index = block(tokens, 16, index_x, 0.5, torch.tensor([[5]]))
    assert set(by_mask[0].tolist()) == set(by_index[0].tolist())


def test_no_elimination_when_keep_ratio_one(tiny):
    z, x, ids, mask = _inputs(tiny.config)
    with torch.no_grad():
        out = tiny(z, x, ids, mask, keep_ratio=1.0)
    assert out.kept_index.shape[1] == tiny.config.model.search_grid ** 2


def test_dropped_tokens_are_zero_after_recovery(tiny):
    z, x, ids, mask = _inputs(tiny.config)
    bb = tiny.backbone
    with torch.no_grad():
        zt = bb.patch_embed(z) + bb.pos_embed_z
        xt = bb.patch_embed(x) + bb.pos_embed_x
        feats, kept = bb(zt, xt, keep_ratio=0.5)
    n = feats.shape[1]
    for bi in range(feats.shape[0]):
        dropped = sorted(set(range(n)) - set(kept[bi].tolist()))
        assert len(dropped) == n - kept.shape[1] > 0
        assert torch.all(feats[bi, dropped] == 0)
        assert torch.all(feats[bi, kept[bi]].abs().sum(-1) > 0)


def test_mean_pooling_ignores_padding():
    torch.manual_seed(0)
    emb = LanguageEmbedding(vocab_size=50, dim=16, max_len=8, pooling="mean").eval()
    ids = torch.tensor([[2, 7, 9, 3, 0, 0, 0, 0]])
    mask = (ids > 0).long()
    other = ids.clone()
    other[0, 5:] = torch.tensor([4, 5, 6])  # garbage where the mask is 0
    torch.testing.assert_close(emb(ids, mask), emb(other, mask))
    manual = emb.embed(ids)[0, :4].mean(0)
    torch.testing.assert_close(emb(ids, mask)[0], manual)
    no_text = emb(torch.zeros_like(ids), torch.zeros_like(mask))
    assert torch.all(no_text == 0)


def _two_sentences(cfg):
    z, x, ids, mask = _inputs(cfg, batch=1)
    ids2 = ids.clone()
    ids2[0, 1:4] = torch.tensor([21, 22, 23])
    return z, x, ids, ids2, mask


def test_sentences_matter_with_mean_pooling(tiny):
    z, x, ids, ids2, mask = _two_sentences(tiny.config)
    with torch.no_grad():
        a, b = tiny(z, x, ids, mask), tiny(z, x, ids2, mask)
    assert not torch.allclose(a.score_map, b.score_map)


def test_sentences_do_not_matter_with_cls_pooling():
    cfg = load_config("cpu-tiny", ["model.text_pooling=cls"])
    model = build_model(cfg).eval()
    assert not any(p.requires_grad for p in model.language_embeddings.parameters())
    z, x, ids, ids2, mask = _two_sentences(cfg)
    with torch.no_grad():
        a, b = model(z, x, ids, mask), model(z, x, ids2, mask)
    torch.testing.assert_close(a.score_map, b.score_map)
    torch.testing.assert_close(a.boxes, b.boxes)


def test_gradients_reach_language_embedding_in_mean_mode(tiny):
    tiny.train()
    try:
        z, x, ids, mask = _inputs(tiny.config)
        out = tiny(z, x, ids, mask, keep_ratio=0.7, return_alignment=True)
        (out.score_map.sum() + out.v_l.sum() + out.v_x.sum()).backward()
        grad = tiny.language_embeddings.word_embeddings.weight.grad
        assert grad is not None and grad[11:14].abs().sum() > 0
        assert tiny.language_proj.weight.grad.abs().sum() > 0
        assert tiny.backbone.patch_embed.proj.weight.grad.abs().sum() > 0
    finally:
        tiny.zero_grad(set_to_none=True)
        tiny.eval()


def test_template_cache_path_equals_forward(tiny):
    z, x, ids, mask = _inputs(tiny.config)
    with torch.no_grad():
        full = tiny(z, x, ids, mask)
        cached = tiny.track_search(tiny.encode_template(z, ids, mask), x)
    torch.testing.assert_close(full.score_map, cached.score_map)
    torch.testing.assert_close(full.boxes, cached.boxes)


def test_modal_mixup_formula():
    t = torch.randn(2, 5, 4)
    lang = torch.randn(2, 4)
    torch.testing.assert_close(modal_mixup(t, lang), t * lang[:, None, :] + t)


def test_decode_boxes_reads_the_argmax_cell():
    score = torch.zeros(1, 1, 4, 4)
    score[0, 0, 2, 1] = 1.0  # row i=2, column j=1
    size = torch.full((1, 2, 4, 4), 0.1)
    size[0, :, 2, 1] = torch.tensor([0.3, 0.5])
    offset = torch.zeros(1, 2, 4, 4)
    offset[0, :, 2, 1] = torch.tensor([0.25, 0.75])
    box = decode_boxes(score, size, offset)
    torch.testing.assert_close(box, torch.tensor([[(1 + 0.25) / 4, (2 + 0.75) / 4, 0.3, 0.5]]))


def test_bf16_autocast_forward(tiny):
    z, x, ids, mask = _inputs(tiny.config)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = tiny(z, x, ids, mask)
    assert torch.isfinite(out.boxes.float()).all()

"""Compact checkpoints (allinone.model.compact): int8/bf16 storage that loads back as fp32, and a
vocabulary cut that keeps the kept tokens' embeddings exactly; `allinone export --format safetensors`."""
import pytest
import torch

from allinone import build_model, load_config
from allinone.cli import main
from allinone.model.checkpoint import CheckpointError, load_model, read_checkpoint, save_model
from allinone.model.compact import SCALE_SUFFIX, cut_vocabulary, frequent_tokens, pack_state, unpack_state
from allinone.text import TextTokenizer

torch.set_num_threads(2)
SMALL = ["model.template_size=32", "model.search_size=64", "model.embed_dim=64", "model.depth=2",
         "model.num_heads=2", "model.ce_locations=[1]", "model.head_channels=32", "model.align_dim=32",
         "model.drop_path_rate=0.0"]
# BERT-uncased's layout in miniature: specials and [unused], a character block, then words by frequency
CHARS = ["a", "b", "c", "s", "t", "é", "あ"]
WORDS = ["the", "of", "red", "car", "cat", "dog", "person", "##s", "##a", "##b", "##c", "##t", "##あ"]
VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused1]"] + CHARS + WORDS


def _model():
    torch.manual_seed(0)
    cfg = load_config("cpu-tiny", SMALL + [f"model.vocab_size={len(VOCAB)}"])
    model = build_model(cfg, with_alignment=False).eval()
    model.tokenizer = TextTokenizer({t: i for i, t in enumerate(VOCAB)}, max_len=cfg.model.max_text_len)
    return model


def _outputs(model, text):
    torch.manual_seed(1)
    z, x = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    ids, mask = model.tokenizer.encode([text])
    with torch.no_grad():
        return model(z, x, ids, mask)


def test_int8_pack_is_per_row_and_within_half_a_step():
    g = torch.Generator().manual_seed(0)
    state = {"blocks.0.fc.weight": torch.randn(96, 64, generator=g) * torch.linspace(0.01, 3, 96)[:, None],
             "head.conv.weight": torch.randn(32, 16, 3, 3, generator=g),
             "blocks.0.fc.bias": torch.randn(96, generator=g), "pos_embed_x": torch.randn(1, 64, 64, generator=g),
             "tiny.weight": torch.randn(8, 8, generator=g), "steps": torch.tensor([3])}
    packed = pack_state(state, "int8")
    assert packed["blocks.0.fc.weight"].dtype == torch.int8 and packed["head.conv.weight"].dtype == torch.int8
    assert packed["blocks.0.fc.weight" + SCALE_SUFFIX].shape == (96,)
    for keep in ("blocks.0.fc.bias", "pos_embed_x", "tiny.weight", "steps"):  # vectors, small and non-weights stay
        assert torch.equal(packed[keep], state[keep])
    back = unpack_state(packed, "int8")
    assert set(back) == set(state) and all(v.dtype == state[k].dtype for k, v in back.items())
    for name in ("blocks.0.fc.weight", "head.conv.weight"):
        w = state[name].reshape(state[name].shape[0], -1)
        step = w.abs().amax(dim=1) / 127
        err = (back[name].reshape(w.shape) - w).abs()
        assert (err <= step[:, None] / 2 + 1e-7).all()  # each row on its own scale
        assert err.max() > 0  # and it really was rounded
    bf = unpack_state(pack_state(state, "bf16"), "bf16")
    rel = ((bf["blocks.0.fc.weight"] - state["blocks.0.fc.weight"]).abs() / state["blocks.0.fc.weight"].abs())
    assert rel.max() <= 2 ** -8 and bf["blocks.0.fc.weight"].dtype == torch.float32
    with pytest.raises(ValueError, match="storage='int4'"):
        pack_state(state, "int4")


@pytest.mark.parametrize("storage,ratio", [("int8", 0.35), ("bf16", 0.55)])
def test_compact_storage_round_trip_tracks_like_fp32(tmp_path, storage, ratio):
    model = _model()
    full = save_model(model, tmp_path / "fp32.safetensors")
    small = save_model(model, tmp_path / f"{storage}.safetensors", storage=storage)
    assert small.stat().st_size < ratio * full.stat().st_size
    loaded = load_model(small)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    ref, out = _outputs(model, "the red car"), _outputs(loaded, "the red car")
    assert (out.score_map - ref.score_map).abs().max() < 0.02
    assert (out.boxes - ref.boxes).abs().max() < 0.02
    state, _, _ = read_checkpoint(small)
    assert not any(k.endswith(SCALE_SUFFIX) for k in state)


def test_unknown_storage_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    path = save_model(_model(), tmp_path / "m.safetensors", storage="int8")
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
    save_file(load_file(str(path)), str(tmp_path / "odd.safetensors"), metadata={**meta, "storage": "int4"})
    with pytest.raises(CheckpointError, match="unknown weight storage 'int4'.*upgrade allinone"):
        load_model(tmp_path / "odd.safetensors")
    state = load_file(str(path))
    del state["language_proj.weight" + SCALE_SUFFIX]
    save_file(state, str(tmp_path / "cut.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=r"language_proj\.weight has no matching"):
        load_model(tmp_path / "cut.safetensors")


def test_frequent_tokens_follow_bert_order_and_keep_given_texts():
    tok = TextTokenizer({t: i for i, t in enumerate(VOCAB)})
    kept = frequent_tokens(tok, top=2, texts=["A dog", "", "cats"])
    assert kept[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] and "[MASK]" in kept
    assert not {"[unused0]", "[unused1]", "あ", "##あ"} & set(kept)  # unused slots and non-Latin characters go
    assert {"a", "é", "##s", "##t", "the", "of"} <= set(kept)  # Latin characters, the 2 most frequent words
    assert {"dog", "cat"} <= set(kept) and not {"red", "car", "person"} & set(kept)  # text tokens; not others
    assert kept == [t for t in VOCAB if t in kept]  # vocabulary order


def test_cut_vocabulary_keeps_kept_embeddings_and_round_trips(tmp_path):
    model = _model()
    ref = _outputs(model, "the red car")
    old_rows = {t: model.language_embeddings.word_embeddings.weight[i].clone() for t, i in
                model.tokenizer.get_vocab().items()}
    tok = cut_vocabulary(model, ["the", "red", "car", "a", "##s", "nonexistent"])
    assert tok is model.tokenizer and tok.vocab_size == 9 == model.config.model.vocab_size
    assert tok.get_vocab() == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "the": 5, "red": 6, "car": 7,
                               "##s": 8}
    for t, i in tok.get_vocab().items():
        assert torch.equal(model.language_embeddings.word_embeddings.weight[i], old_rows[t])
    out = _outputs(model, "the red car")
    torch.testing.assert_close(out.score_map, ref.score_map)  # same text, same network output
    assert tok.tokenize("the dog") == ["the", "[UNK]"]  # dropped words become [UNK], not an error
    path = save_model(model, tmp_path / "cut.safetensors", storage="int8")
    again = load_model(path)
    assert again.tokenizer.get_vocab() == tok.get_vocab() and again.config.model.vocab_size == 9


def test_export_safetensors_command(tmp_path, capsys):
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    model = _model()
    src = save_model(model, tmp_path / "full.safetensors")
    data = tmp_path / "synth"
    generate_synthvl(data, 2, seed=3, config=SynthConfig(width=64, height=48, min_frames=3, max_frames=3),
                     progress=False)
    out = tmp_path / "small.safetensors"
    assert main(["export", "--format", "safetensors", "--checkpoint", str(src), "--out", str(out),
                 "--storage", "int8", "--vocab-top", "1", "--vocab-data", f"synthvl={data}"]) == 0
    printed = capsys.readouterr().out
    assert f"vocabulary: {len(VOCAB)} →" in printed and "int8 storage" in printed
    small = load_model(out)
    assert small.config.model.vocab_size < len(VOCAB) and "alignment" not in str(small.state_dict().keys())
    assert main(["export", "--checkpoint", str(src), "--out", str(tmp_path / "onnx"), "--storage", "int8"]) == 2
    assert "apply to --format safetensors" in capsys.readouterr().err

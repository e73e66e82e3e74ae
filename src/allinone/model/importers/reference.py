"""The reference implementation's training checkpoints (``{"net": state_dict}``, pytracking-style).

Its keys are ours except for a few renames (the language projection and the MMA projections sat in
its backbone; BERT's embedding layer sat under ``embeddings.``); shapes (width, depth, input sizes,
vocabulary, head width) are read from the weights.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Union

import torch

from ...config import Config, config_from_dict, load_config
from ..allinone import AllInOne, build_model
from ..checkpoint import CheckpointError, load_state_strict
from .files import PathLike, safe_torch_load

_REF_BACKBONE_RENAMES = {
    "backbone.language_proj.": "language_proj.",
    "backbone.language_xz_proj.": "alignment.language_xz_proj.",
    "backbone.vision_x_proj.": "alignment.vision_x_proj.",
    "backbone.vision_z_proj.": "alignment.vision_z_proj.",
}
_REF_IGNORED = ("backbone.pos_embed", "backbone.cls_token", "language_embeddings.position_ids")


def convert_reference_state_dict(net: dict[str, torch.Tensor], max_text_len: int = 40) -> dict[str, torch.Tensor]:
    """Rename the reference implementation's ``net`` keys to ours."""
    out: dict[str, torch.Tensor] = {}
    for key, value in net.items():
        key = key.removeprefix("module.")
        if key in _REF_IGNORED:
            continue
        for old, new in _REF_BACKBONE_RENAMES.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        if key.startswith("language_embeddings."):
            key = key.replace("language_embeddings.embeddings.", "language_embeddings.")
            key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            if key.endswith("position_embeddings.weight") and value.shape[0] > max_text_len:
                value = value[:max_text_len]  # BERT tables hold 512 positions; 40 are ever used
        out[key] = value
    return out


def reference_config(net: dict[str, torch.Tensor], base: Union[str, Config] = "paper-vitb256") -> Config:
    """Infer the model shape of a reference checkpoint (width, depth, input sizes, vocab)."""
    cfg = load_config(base) if not isinstance(base, Config) else base
    data = cfg.to_dict()
    m = data["model"]
    try:
        patch = net["backbone.patch_embed.proj.weight"]
        m["embed_dim"], m["patch_size"] = int(patch.shape[0]), int(patch.shape[-1])
        m["depth"] = 1 + max(int(k.split(".")[2]) for k in net if k.startswith("backbone.blocks."))
        for side, key in (("template_size", "backbone.pos_embed_z"), ("search_size", "backbone.pos_embed_x")):
            m[side] = int(round(net[key].shape[1] ** 0.5)) * m["patch_size"]
        m["vocab_size"] = int(_find(net, "word_embeddings.weight").shape[0])
        m["head_channels"] = int(net["box_head.conv1_ctr.0.weight"].shape[0])
        m["mlp_ratio"] = net["backbone.blocks.0.mlp.fc1.weight"].shape[0] / m["embed_dim"]
        if "backbone.vision_x_proj.weight" in net:
            m["align_dim"] = int(net["backbone.vision_x_proj.weight"].shape[0])
    except KeyError as exc:
        raise CheckpointError(f"not a reference All-in-One state dict: key {exc} missing") from None
    if m["embed_dim"] % m["num_heads"]:
        m["num_heads"] = max(1, m["embed_dim"] // 64)
    m["text_pooling"] = "cls"  # the reference's language path: constant [CLS] vector, frozen
    data["name"] = "reference-import"
    return config_from_dict(data)


def _find(net: dict[str, torch.Tensor], suffix: str) -> torch.Tensor:
    for k, v in net.items():
        if k.startswith("language_embeddings.") and k.endswith(suffix):
            return v
    raise KeyError(f"language_embeddings.*{suffix}")


def bert_special_tokenizer(max_len: int = 40) -> Any:
    """A tokenizer whose special ids are BERT-base-uncased's ([PAD]=0, [UNK]=100, [CLS]=101,
    [SEP]=102, [MASK]=103). In ``cls`` pooling only the [CLS] id reaches the model, so this
    reproduces the reference exactly even without BERT's vocabulary file."""
    from ...text import TextTokenizer

    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.txt"
        path.write_text("\n".join(vocab) + "\n")
        return TextTokenizer.from_file(path, max_len=max_len)


def import_reference_checkpoint(path: PathLike, tokenizer: Any = None, with_alignment: bool = True,
                                config: Union[str, Config] = "paper-vitb256") -> AllInOne:
    """Load the reference implementation's training checkpoint (``{"net": state_dict}``).

    The model uses ``cls`` pooling with frozen language embeddings, as the reference does. Shapes
    (width, depth, input sizes, vocabulary, head width) are read from the weights; `config` gives
    what they cannot tell (heads, candidate-elimination blocks and ratio, tracking settings).
    tokenizer: a `TextTokenizer` or a vocab path (BERT's ``vocab.txt``); default: one with BERT's
    special-token ids (enough, since the reference's language vector ignores the words).
    """
    ckpt = safe_torch_load(path)
    net = ckpt.get("net") if isinstance(ckpt, dict) else None
    if not isinstance(net, dict):
        keys = list(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: expected a reference training checkpoint with a 'net' state dict, found {keys}")
    cfg = reference_config(net, config)
    state = convert_reference_state_dict(net, cfg.model.max_text_len)
    model = build_model(cfg, with_alignment=with_alignment)
    if not with_alignment:
        state = {k: v for k, v in state.items() if not k.startswith("alignment.")}
    load_state_strict(model, state, source=str(path))
    if tokenizer is None:
        tokenizer = bert_special_tokenizer(cfg.model.max_text_len)
    elif isinstance(tokenizer, (str, Path)):
        from ...text import TextTokenizer

        tokenizer = TextTokenizer.from_file(tokenizer, max_len=cfg.model.max_text_len)
    model.tokenizer = tokenizer
    return model

"""The All-in-One tracker network (SPEC §3): language embedding, modal mixup, ViT-CE, center head."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config, ModelConfig, load_config
from .alignment import AlignmentProjections
from .head import CenterHead, decode_boxes
from .language import LanguageEmbedding
from .vit import VisionTransformerCE


@dataclass
class ModelOutput:
    """What a forward pass returns. Maps are (B, ·, S, S) over the search grid; boxes are
    ``cx, cy, w, h`` normalised to the search crop. ``v_*`` are the MMA vectors (B, align_dim),
    present only when asked for with ``return_alignment=True``."""

    score_map: torch.Tensor
    size_map: torch.Tensor
    offset_map: torch.Tensor
    boxes: torch.Tensor
    kept_index: torch.Tensor
    v_x: Optional[torch.Tensor] = None
    v_z: Optional[torch.Tensor] = None
    v_l: Optional[torch.Tensor] = None


@dataclass
class TemplateFeatures:
    """The template side of a forward pass, computed once per video when tracking."""

    z_tokens: torch.Tensor  # (B, L_z, C) mixed-up template tokens with position embedding
    lang: torch.Tensor  # (B, C) l' = normalize(W_l l + b_l)


def modal_mixup(tokens: torch.Tensor, lang: torch.Tensor) -> torch.Tensor:
    """Language-injected vision tokens: ``t ⊙ l' + t`` with l' (B, C) broadcast over tokens."""
    return tokens * lang.unsqueeze(1) + tokens


class AllInOne(nn.Module):
    """Unified vision-language tracker: one ViT over language-injected template and search tokens.

    Args:
        backbone: the ViT with candidate elimination.
        language_embeddings: the BERT-style embedding layer with pooling.
        box_head: the center head.
        alignment: the MMA projections, or None for an inference-only model.
        ce_keep_ratio: candidate-elimination keep ratio used when `forward` is given none.
    """

    def __init__(self, *, backbone: VisionTransformerCE, language_embeddings: LanguageEmbedding,
                 box_head: CenterHead, alignment: Optional[AlignmentProjections] = None,
                 ce_keep_ratio: float = 0.7):
        super().__init__()
        dim = backbone.embed_dim
        self.backbone = backbone
        self.language_embeddings = language_embeddings
        self.language_proj = nn.Linear(dim, dim)
        self.box_head = box_head
        self.alignment = alignment
        self.ce_keep_ratio = ce_keep_ratio
        self.config: Optional[Config] = None  # set by build_model; saved with checkpoints

    @property
    def has_alignment(self) -> bool:
        return self.alignment is not None

    def language_vector(self, text_ids: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """ids, mask (B, L) → l' (B, C), the normalised projected sentence vector."""
        return F.normalize(self.language_proj(self.language_embeddings(text_ids, text_mask)), dim=-1)

    def encode_template(self, template: torch.Tensor, text_ids: torch.Tensor,
                        text_mask: torch.Tensor) -> TemplateFeatures:
        """template (B, 3, H_z, W_z) normalised image, text (B, L) → cached template features."""
        lang = self.language_vector(text_ids, text_mask)
        z = self.backbone.patch_embed(template)  # (B, L_z, C)
        return TemplateFeatures(modal_mixup(z, lang) + self.backbone.pos_embed_z, lang)

    def track_search(self, features: TemplateFeatures, search: torch.Tensor,
                     keep_ratio: Optional[float] = None) -> ModelOutput:
        """Inference step: search (B, 3, H_x, W_x) against cached template features."""
        x = self.backbone.patch_embed(search)
        x = modal_mixup(x, features.lang) + self.backbone.pos_embed_x
        return self._decode(features.z_tokens, x, keep_ratio, None)

    def forward(self, template: torch.Tensor, search: torch.Tensor, text_ids: torch.Tensor,
                text_mask: torch.Tensor, *, keep_ratio: Optional[float] = None,
                template_mask: Optional[torch.Tensor] = None,
                return_alignment: bool = False) -> ModelOutput:
        """template (B,3,H_z,W_z), search (B,3,H_x,W_x) normalised RGB; text ids/mask (B, L).

        keep_ratio: candidate-elimination keep ratio for this call (training ramps it; default the
        configured one). template_mask (B, L_z): template tokens whose attention drives elimination
        (default: the centre token). return_alignment: also compute v_x, v_z, v_l (training only).
        """
        lang = self.language_vector(text_ids, text_mask)
        z = self.backbone.patch_embed(template)  # (B, L_z, C)
        x = self.backbone.patch_embed(search)  # (B, L_x, C)
        aligned = (None, None, None)
        if return_alignment:
            if self.alignment is None:
                raise RuntimeError("this model was built for inference without the MMA projections; "
                                   "build it with with_alignment=True to get alignment outputs")
            aligned = self.alignment(x, z, lang)  # from the patch tokens before mixup
        z = modal_mixup(z, lang) + self.backbone.pos_embed_z
        x = modal_mixup(x, lang) + self.backbone.pos_embed_x
        out = self._decode(z, x, keep_ratio, template_mask)
        out.v_x, out.v_z, out.v_l = aligned
        return out

    def _decode(self, z: torch.Tensor, x: torch.Tensor, keep_ratio: Optional[float],
                template_mask: Optional[torch.Tensor]) -> ModelOutput:
        ratio = self.ce_keep_ratio if keep_ratio is None else keep_ratio
        feats, kept = self.backbone(z, x, ratio, template_mask)  # (B, L_x, C)
        g = self.backbone.grid_x
        feat_map = feats.transpose(1, 2).reshape(feats.shape[0], -1, g, g)  # (B, C, S, S)
        score, size, offset = self.box_head(feat_map)
        return ModelOutput(score, size, offset, decode_boxes(score, size, offset), kept)


def build_model(name_or_config: Union[str, Config, ModelConfig] = "cpu-tiny",
                with_alignment: bool = True) -> AllInOne:
    """Build a randomly initialised model from a preset name, YAML path or config object.

    with_alignment=False leaves out the MMA projections (inference only; saves ≈63 M parameters
    at ViT-B).
    """
    cfg = name_or_config if isinstance(name_or_config, (Config, ModelConfig)) else load_config(name_or_config)
    if isinstance(cfg, ModelConfig):
        cfg = Config(model=cfg)
    m = cfg.model
    backbone = VisionTransformerCE(
        template_size=m.template_size, search_size=m.search_size, patch_size=m.patch_size,
        embed_dim=m.embed_dim, depth=m.depth, num_heads=m.num_heads, mlp_ratio=m.mlp_ratio,
        qkv_bias=m.qkv_bias, drop_path_rate=m.drop_path_rate, pretrain_grid=m.pretrain_grid,
        ce_locations=tuple(m.ce_locations), layer_scale_init=m.layer_scale_init,
    )
    language = LanguageEmbedding(vocab_size=m.vocab_size, dim=m.embed_dim, max_len=m.max_text_len,
                                 type_vocab_size=m.type_vocab_size, dropout=m.text_dropout,
                                 pooling=m.text_pooling)
    head = CenterHead(m.embed_dim, m.head_channels, m.search_grid)
    alignment = None
    if with_alignment:
        alignment = AlignmentProjections(m.embed_dim, m.search_grid ** 2, m.template_grid ** 2, m.align_dim)
    model = AllInOne(backbone=backbone, language_embeddings=language, box_head=head,
                     alignment=alignment, ce_keep_ratio=m.ce_keep_ratio)
    model.config = cfg
    return model

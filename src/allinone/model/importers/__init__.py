"""Weight importers, one module per source format, each mapping that format's keys to ours.

- `reference`: the reference implementation's training checkpoints (the whole tracker);
- `mae`, `dinov2`: pretrained ViTs for the backbone (MAE/timm, official DINOv2), loaded through
  `backbone.load_pretrained_backbone`, which detects the layout;
- `bert`: BERT checkpoints for the language embedding and their ``vocab.txt`` for the tokenizer;
- `files`: reading ``.pth``/``.bin`` (weights only) and ``.safetensors`` files.

Our own format lives in `allinone.model.checkpoint`, which re-exports the importers' public names.
"""
from .. import checkpoint as _checkpoint  # noqa: F401  # defines what the importers build on, first
from .backbone import describe_vit, load_pretrained_backbone, vit_depth
from .bert import bert_files, bert_to_language, bert_tokenizer, load_bert_embeddings
from .dinov2 import dinov2_to_backbone, is_dinov2
from .files import read_state_dict, safe_torch_load
from .mae import mae_to_backbone
from .reference import (
    bert_special_tokenizer,
    convert_reference_state_dict,
    import_reference_checkpoint,
    reference_config,
)

__all__ = [
    "describe_vit", "load_pretrained_backbone", "vit_depth", "bert_files", "bert_to_language", "bert_tokenizer",
    "load_bert_embeddings", "dinov2_to_backbone", "is_dinov2", "read_state_dict", "safe_torch_load",
    "mae_to_backbone", "bert_special_tokenizer", "convert_reference_state_dict",
    "import_reference_checkpoint", "reference_config",
]

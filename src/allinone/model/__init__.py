"""The All-in-One network: backbone, language embedding, center head, MMA, checkpoints, importers."""
from .allinone import AllInOne, ModelOutput, TemplateFeatures, build_model, modal_mixup
from .checkpoint import (
    CheckpointError,
    import_reference_checkpoint,
    load_bert_embeddings,
    load_model,
    load_pretrained_backbone,
    save_model,
)

__all__ = [
    "AllInOne", "ModelOutput", "TemplateFeatures", "build_model", "modal_mixup", "CheckpointError",
    "import_reference_checkpoint", "load_bert_embeddings", "load_model", "load_pretrained_backbone",
    "save_model",
]

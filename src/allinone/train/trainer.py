"""The training loop (SPEC §4–5), readable in one file: one process or many (torchrun / DDP).

`train(TrainOptions(...))` is what ``allinone train`` runs. One optimizer step = `accumulate_steps`
micro-batches of `batch_size` pairs per process. An "epoch" is `samples_per_epoch` pairs of the
global batch stream; `--steps N` shortens or lengthens the run while the schedules (learning-rate
drop, keep-ratio ramp) keep their shape in epochs. Every pair depends only on (seed, epoch, index)
and the index order only on (seed, epoch, rank), so a resumed run sees exactly the batches the
uninterrupted run would have seen.
"""
from __future__ import annotations

import functools
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from ..config import Config, load_config, save_config
from ..model import build_model, load_bert_embeddings, load_pretrained_backbone
from ..model.checkpoint import load_state_strict, read_checkpoint
from ..model.allinone import ModelOutput
from .distributed import DistInfo, all_reduce_mean, cleanup_distributed, gather_no_grad, gather_with_grad, init_distributed
from .errors import TrainingError
from .logger import RunLogger
from .losses import AllInOneLoss
from .run_state import (checkpoint_paths, checkpoint_steps, load_training_state, remove_leftovers, restore_rng,
                        save_checkpoint)
from .schedules import keep_ratio, lr_factor


@dataclass
class TrainOptions:
    """What ``allinone train`` takes. `data` / `val_data` map dataset names to roots."""

    config: Union[str, Path, Config]
    data: dict[str, str]
    out: Path
    resume: bool = False
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    seed: Optional[int] = None
    overrides: list[str] = field(default_factory=list)
    val_data: dict[str, str] = field(default_factory=dict)
    val_pairs: int = 256
    val_every: int = 0  # optimizer steps; 0: ten times per run
    checkpoint_every: int = 0  # optimizer steps; 0: ten times per run
    keep_last: int = 3
    log_every: int = 10
    init: Optional[str] = None  # pretrained ViT for the backbone: DINOv2 or MAE/timm (layout detected)
    init_text: Optional[str] = None  # BERT weights (file or folder) for the language embedding + its vocab.txt
    vocab: Optional[str] = None  # vocab.txt / tokenizer.json; default: built from the data's texts
    device: str = "auto"
    workers: Optional[int] = None
    progress: bool = True


class EpochIndexSampler(Sampler[int]):
    """This rank's share of a seeded permutation of one epoch's indices, from batch `start` on."""

    def __init__(self, size: int, batch_size: int, rank: int, world: int, seed: int):
        self.size, self.batch_size, self.rank, self.world, self.seed = size, batch_size, rank, world, seed
        self.batches = size // (batch_size * world)
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start_batch: int) -> None:
        self.epoch, self.start = epoch, start_batch

    def __iter__(self) -> Iterator[int]:
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        mine = perm[self.rank::self.world][: self.batches * self.batch_size]
        return iter(mine[self.start * self.batch_size:].tolist())

    def __len__(self) -> int:
        return (self.batches - self.start) * self.batch_size


def _resolve_config(opts: TrainOptions, run_dir: Path) -> Config:
    if opts.resume and (run_dir / "config.yaml").exists():
        return load_config(run_dir / "config.yaml")
    overrides = list(opts.overrides)
    if opts.batch_size is not None:
        overrides.append(f"train.batch_size={opts.batch_size}")
    if opts.seed is not None:
        overrides.append(f"train.seed={opts.seed}")
    if opts.workers is not None:
        overrides.append(f"train.num_workers={opts.workers}")
    return load_config(opts.config, overrides)


def _resolve_tokenizer(opts: TrainOptions, cfg: Config, run_dir: Path, datasets: list, info: DistInfo,
                       own: Optional[tuple] = None) -> Any:
    from ..text import TextTokenizer, build_vocab, default_corpus

    saved = run_dir / "tokenizer.json"
    if saved.exists() and opts.resume:
        return TextTokenizer.from_file(saved, max_len=cfg.model.max_text_len)
    if own is not None and own[2] and not (opts.init_text or opts.vocab):
        # fine-tuning our own checkpoint: its word embeddings only make sense with its vocabulary
        tok = TextTokenizer.from_json_str(own[2], max_len=cfg.model.max_text_len)
    elif opts.init_text:  # the word embeddings come with their vocabulary
        from ..model.importers import bert_tokenizer

        tok = bert_tokenizer(opts.init_text, cfg.model.max_text_len, vocab=opts.vocab)
    elif opts.vocab:
        tok = TextTokenizer.from_file(opts.vocab, max_len=cfg.model.max_text_len)
    else:  # deterministic: every rank builds the same vocabulary
        texts = [t for ds, _ in datasets for t in ds.texts()] + default_corpus()
        tok = build_vocab(texts, vocab_size=min(cfg.model.vocab_size, 8192), max_len=cfg.model.max_text_len)
    if tok.vocab_size > cfg.model.vocab_size:
        raise TrainingError(f"tokenizer has {tok.vocab_size} tokens but model.vocab_size is "
                            f"{cfg.model.vocab_size}; raise model.vocab_size or use a smaller vocabulary")
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        tok.save(saved)
    return tok


def _own_checkpoint(path: Optional[Union[str, Path]]) -> Optional[tuple]:
    """(state, config, tokenizer JSON) when `path` is an allinone checkpoint (fine-tuning), else None."""
    from ..model.checkpoint import CheckpointError, is_safetensors_file

    if not path or not Path(path).is_file() or not is_safetensors_file(path):
        return None
    try:
        return read_checkpoint(path)
    except CheckpointError:  # a safetensors file of another layout (MAE/DINOv2 weights)
        return None


def _init_from_own(model: torch.nn.Module, state: dict, path: Union[str, Path], log: Any) -> None:
    """Start from every weight of an allinone checkpoint; the MMA projections stay freshly
    initialised when it was saved without them. Shapes must match the run's config."""
    own = model.state_dict()
    fresh = {k: v for k, v in own.items() if k.startswith("alignment.") and k not in state}
    load_state_strict(model, {**state, **fresh}, source=str(path))
    if log is not None:
        log(f"model initialised from the allinone checkpoint {path} ({len(state)} tensors"
            f"{', alignment projections fresh' if fresh else ''})")


def _optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.Optimizer:
    """AdamW; the backbone's learning rate is the base one times ``backbone_lr_mult``."""
    backbone, other = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (backbone if name.startswith("backbone.") else other).append(p)
    t = cfg.train
    groups = [{"params": other, "lr": t.lr, "base_lr": t.lr},
              {"params": backbone, "lr": t.lr * t.backbone_lr_mult, "base_lr": t.lr * t.backbone_lr_mult}]
    return torch.optim.AdamW(groups, lr=t.lr, weight_decay=t.weight_decay)


def _autocast(precision: str, device: torch.device) -> tuple[Any, Optional[Any]]:
    """Autocast context and (for fp16) a gradient scaler. ``auto``: bf16 on GPUs that support it,
    else fp16 on GPU; fp32 on CPU (bf16 on CPU is opt-in: see benchmarks/train.py)."""
    if precision == "auto":
        if device.type == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "fp32"
    if precision == "fp32":
        return nullcontext(), None
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    return torch.autocast(device.type, dtype=dtype), scaler


def _gather_alignment(out: ModelOutput, has_text: torch.Tensor) -> torch.Tensor:
    """Replace the MMA vectors by the global batch's (for negatives across ranks)."""
    out.v_x, out.v_z, out.v_l = (gather_with_grad(v) for v in (out.v_x, out.v_z, out.v_l))
    return gather_no_grad(has_text)


def _forward_loss(model, criterion, batch, keep: float, amp) -> tuple[torch.Tensor, dict[str, float]]:
    with amp:
        out = model(batch.template, batch.search, batch.text_ids, batch.text_mask, keep_ratio=keep,
                    template_mask=batch.template_mask, return_alignment=True)
    out = _float_outputs(out)
    has_text = _gather_alignment(out, batch.has_text)
    return criterion(out, batch.search_box, has_text)


def _float_outputs(out: ModelOutput) -> ModelOutput:
    """Losses in fp32 whatever the autocast dtype (log/exp of the focal and NT-Xent terms)."""
    for name in ("score_map", "size_map", "offset_map", "boxes", "v_x", "v_z", "v_l"):
        v = getattr(out, name)
        if v is not None:
            setattr(out, name, v.float())
    return out


@torch.no_grad()
def validate(model: torch.nn.Module, criterion: AllInOneLoss, loader: DataLoader, device: torch.device,
             keep: float) -> dict[str, float]:
    """Mean loss terms and IoU over the validation pairs (eval mode, the model's keep ratio)."""
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    for batch in loader:
        batch = batch.to(device)
        out = model(batch.template, batch.search, batch.text_ids, batch.text_mask, keep_ratio=keep,
                    template_mask=batch.template_mask, return_alignment=True)
        _, stats = criterion(_float_outputs(out), batch.search_box, batch.has_text)
        b = batch.search.shape[0]
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v * b
        n += b
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in sums.items()}


# option → (its flag, smallest value); None leaves an option at its default
_OPTION_MINIMUMS = {"steps": ("--steps", 1), "batch_size": ("--batch-size", 1), "seed": ("--seed", 0),
                    "val_pairs": ("--val-pairs", 1), "val_every": ("--val-every", 0),
                    "checkpoint_every": ("--checkpoint-every", 0), "keep_last": ("--keep-last", 0),
                    "log_every": ("--log-every", 1), "workers": ("--workers", 0)}


def check_options(opts: TrainOptions) -> None:
    """Reject run lengths and intervals that make no sense, before anything is loaded or started."""
    for name, (flag, low) in _OPTION_MINIMUMS.items():
        value = getattr(opts, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{flag} ({name}) must be a whole number, got {value!r}")
        if value < low:
            zero = {"val_every": "; 0 = ten times per run", "checkpoint_every": "; 0 = ten times per run",
                    "keep_last": "; 0 keeps every checkpoint"}.get(name, "")
            raise ValueError(f"{flag} {value}: must be at least {low}{zero}")


def train(opts: TrainOptions) -> Path:
    """Run (or resume) training; returns the path of the final model checkpoint."""
    check_options(opts)
    info = init_distributed(opts.device)
    try:
        return _train(opts, info)
    finally:
        cleanup_distributed()


def _train(opts: TrainOptions, info: DistInfo) -> Path:
    from ..data.pairs import PairDataset, collate_pairs, worker_init_fn
    from ..data.sampler import PairSampler, build_datasets

    run_dir = Path(opts.out)
    if info.is_main:
        remove_leftovers(run_dir)  # temporary files of a run killed while saving a checkpoint
    cfg = _resolve_config(opts, run_dir)
    t = cfg.train
    torch.manual_seed(t.seed + info.rank)
    datasets = build_datasets(opts.data, cfg.data.datasets)
    resuming = bool(opts.resume and checkpoint_steps(run_dir))  # weights and tokenizer then come from the run
    own = None if resuming else _own_checkpoint(opts.init)  # an allinone checkpoint to fine-tune: read once
    tokenizer = _resolve_tokenizer(opts, cfg, run_dir, datasets, info, own)
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")

    model = build_model(cfg, with_alignment=True)
    if not resuming:
        log = print if info.is_main else None
        if own is not None:
            _init_from_own(model, own[0], opts.init, log)
        elif opts.init:
            load_pretrained_backbone(model, opts.init, log=log)
        if opts.init_text:
            load_bert_embeddings(model, opts.init_text, log=log)
    model.tokenizer = tokenizer
    model.backbone.freeze_prefix(t.frozen_blocks)
    model.to(info.device).train()
    ddp = model
    if info.enabled:
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
    optimizer = _optimizer(model, cfg)
    amp, scaler = _autocast(t.precision, info.device)
    criterion = AllInOneLoss(cfg.loss)

    global_batch = t.batch_size * info.world_size * t.accumulate_steps
    total_steps = opts.steps or max(1, t.epochs * t.samples_per_epoch // global_batch)
    every = max(1, total_steps // 10)
    ckpt_every = opts.checkpoint_every or every
    val_every = opts.val_every or every

    step = 0
    done = checkpoint_steps(run_dir) if opts.resume else []
    if done:
        state = load_training_state(run_dir, done[-1])
        load_state_strict(model, read_checkpoint(checkpoint_paths(run_dir, done[-1])[0])[0])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        restore_rng(state)
        step = state["step"]
    elif opts.resume and info.is_main:
        print(f"no checkpoint in {run_dir / 'checkpoints'}; starting from step 0")

    sampler = PairSampler(datasets, cfg.data.max_gap)
    pairs = PairDataset(sampler, cfg.model, cfg.data, tokenizer, t.samples_per_epoch, t.seed, train=True)
    index_sampler = EpochIndexSampler(t.samples_per_epoch, t.batch_size, info.rank, info.world_size, t.seed)
    if index_sampler.batches < 1:
        raise TrainingError(f"train.samples_per_epoch={t.samples_per_epoch} is smaller than one global "
                            f"batch ({t.batch_size} x {info.world_size} processes)")
    workers = t.num_workers
    if workers > 0:  # a stop (Ctrl-C, SIGTERM) may cut a shared-tensor hand-over: no traceback for it
        from ..processes import quiet_sharer_errors

        quiet_sharer_errors(lambda: False)
    loader = DataLoader(pairs, batch_size=t.batch_size, sampler=index_sampler, collate_fn=collate_pairs,
                        num_workers=workers, drop_last=True,
                        # workers end when this process does, even after kill -9 (see allinone.processes)
                        worker_init_fn=functools.partial(worker_init_fn, parent_pid=os.getpid()),
                        # workers start once, from a clean forkserver: forking the threaded training
                        # process each epoch can deadlock in OpenCV / OpenMP thread pools
                        persistent_workers=workers > 0,
                        multiprocessing_context="forkserver" if workers > 0 else None,
                        # its own generator: creating an iterator must not advance the global RNG,
                        # or a resumed run's dropout / drop-path draws would shift
                        generator=torch.Generator().manual_seed(t.seed))
    val_loader = _val_loader(opts, cfg, tokenizer) if info.is_main and opts.val_data else None
    logger = RunLogger(run_dir, enabled=info.is_main)
    final = _loop(opts, cfg, info, model, ddp, optimizer, amp, scaler, criterion, pairs, loader,
                  index_sampler, val_loader, logger, tokenizer, step, total_steps, ckpt_every, val_every)
    if info.enabled:
        _check_ranks_in_sync(model, info, run_dir)
    logger.close()
    return final


def _check_ranks_in_sync(model: torch.nn.Module, info: DistInfo, run_dir: Path) -> None:
    """Compare every rank's final weights with rank 0's; record the result in ``ranks.json``."""
    import json

    import torch.distributed as dist

    flat = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    diff = torch.tensor([(flat - ref).abs().max().item()], device=flat.device)
    diffs = [torch.zeros_like(diff) for _ in range(info.world_size)]
    dist.all_gather(diffs, diff)
    if info.is_main:
        worst = max(d.item() for d in diffs)
        (run_dir / "ranks.json").write_text(json.dumps(
            {"world_size": info.world_size, "max_abs_weight_diff_vs_rank0": [d.item() for d in diffs]}))
        if worst > 0:
            raise TrainingError(f"ranks ended with different weights (max difference {worst:g})")


def _val_loader(opts: TrainOptions, cfg: Config, tokenizer: Any) -> DataLoader:
    from ..data.pairs import PairDataset, collate_pairs
    from ..data.sampler import PairSampler, build_datasets

    val_sets = build_datasets(opts.val_data, {k: 1.0 for k in opts.val_data}, split=None)
    val = PairDataset(PairSampler(val_sets, cfg.data.max_gap), cfg.model, cfg.data, tokenizer,
                      opts.val_pairs, cfg.train.seed + 1_000_003, train=False)
    return DataLoader(val, batch_size=cfg.train.batch_size, collate_fn=collate_pairs, num_workers=0)


def _batches(loader: DataLoader, index_sampler: EpochIndexSampler, pairs: Any, micro_step: int) -> Iterator:
    """Endless micro-batches starting at global micro-step `micro_step`."""
    per_epoch = index_sampler.batches
    epoch, start = divmod(micro_step, per_epoch)
    while True:
        index_sampler.set_position(epoch, start)
        pairs.set_epoch(epoch)
        yield from loader
        epoch, start = epoch + 1, 0


def _next_batch(batches: Iterator) -> Any:
    """The next batch; data errors (no usable pair, an unreadable frame) become one `TrainingError`
    line, also when a DataLoader worker raised them (its message then carries the worker's traceback)."""
    from ..data import DatasetError
    from ..data.pairs import PairError
    from ..data.sampler import SamplingError

    try:
        return next(batches)
    except (SamplingError, PairError, DatasetError) as exc:
        text = str(exc).strip()
        if "Traceback (most recent call last)" in text:  # re-raised from a worker: keep its last line
            last = text.splitlines()[-1]
            text = last.split(": ", 1)[1] if ": " in last else last
        raise TrainingError(f"no training batch: {text}") from None


def _loop(opts, cfg, info, model, ddp, optimizer, amp, scaler, criterion, pairs, loader, index_sampler,
          val_loader, logger, tokenizer, step, total_steps, ckpt_every, val_every) -> Path:
    from tqdm import tqdm

    t = cfg.train
    accum = t.accumulate_steps
    batches = _batches(loader, index_sampler, pairs, step * accum)
    bar = tqdm(total=total_steps, initial=step, disable=not (opts.progress and info.is_main),
               desc="train", dynamic_ncols=True)
    final = None
    window: dict[str, float] = {}
    n_window, wait, busy_start = 0, 0.0, time.perf_counter()
    while step < total_steps:
        keep = keep_ratio(step, total_steps, t, cfg.model.ce_keep_ratio)
        factor = lr_factor(step, total_steps, t)
        for g in optimizer.param_groups:
            g["lr"] = g["base_lr"] * factor
        for micro in range(accum):
            t0 = time.perf_counter()
            batch = _next_batch(batches).to(info.device)
            wait += time.perf_counter() - t0
            sync = micro == accum - 1 or not info.enabled
            with (nullcontext() if sync else ddp.no_sync()):
                loss, stats = _forward_loss(ddp, criterion, batch, keep, amp)
                if not math.isfinite(loss.item()):
                    raise TrainingError(f"non-finite loss at step {step} ({stats}); lower train.lr or "
                                        "use train.precision=fp32")
                (scaler.scale(loss / accum) if scaler else loss / accum).backward()
            for k, v in stats.items():
                window[k] = window.get(k, 0.0) + v
            n_window += 1
        if scaler is not None:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        if step % opts.log_every == 0 or step == total_steps:
            elapsed = time.perf_counter() - busy_start
            values = {k: v / n_window for k, v in window.items()}
            values = all_reduce_mean(values, info.device)
            values.update(lr=optimizer.param_groups[0]["lr"], keep_ratio=keep,
                          samples_per_s=n_window * t.batch_size * info.world_size / max(elapsed, 1e-9),
                          data_wait=wait / max(elapsed, 1e-9))
            logger.log(step, values)
            bar.set_postfix({k: f"{values[k]:.3f}" for k in ("loss", "focal", "giou", "iou") if k in values}
                            | {"pairs/s": f"{values['samples_per_s']:.1f}"})
            window, n_window, wait, busy_start = {}, 0, 0.0, time.perf_counter()
        if val_loader is not None and (step % val_every == 0 or step == total_steps):
            v = validate(model, criterion, val_loader, info.device, cfg.model.ce_keep_ratio)
            logger.log(step, v, prefix="val")
            bar.write(f"step {step}: val loss {v['loss']:.4f}, val IoU {v['iou']:.4f}")
        if info.is_main and (step % ckpt_every == 0 or step == total_steps):
            final = save_checkpoint(Path(opts.out), step, model, tokenizer, optimizer, scaler, opts.keep_last)
    bar.close()
    if final is None:
        final = checkpoint_paths(Path(opts.out), step)[0]
    return final

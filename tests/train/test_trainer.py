"""End-to-end training: the loss falls, a killed run resumes bit-exactly, DDP ranks stay in sync."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import allinone
from allinone.train.logger import read_metrics
from allinone.train.trainer import TrainOptions, train

# A very small network so that training steps take milliseconds on CPU.
TINY = ["model.embed_dim=64", "model.depth=2", "model.num_heads=2", "model.ce_locations=[1]",
        "model.head_channels=32", "model.align_dim=32", "model.vocab_size=2048", "model.drop_path_rate=0.0",
        "train.samples_per_epoch=32", "train.epochs=10", "train.num_workers=0", "train.warmup_steps=0",
        "train.lr=0.001", "train.ce_start_epoch=2", "train.ce_end_epoch=6"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    root = tmp_path_factory.mktemp("synthvl")
    cfg = SynthConfig(width=96, height=72, min_frames=12, max_frames=16)
    generate_synthvl(root / "train", 4, seed=0, split="train", config=cfg, progress=False)
    generate_synthvl(root / "val", 2, seed=0, split="val", config=cfg, progress=False)
    return root


def _cli(args, env=None):
    return [sys.executable, "-m", "allinone.cli", *args]


def _train_args(root, out, steps, extra=()):
    return ["train", "--config", "cpu-tiny", "--data", f"synthvl={root / 'train'}", "--out", str(out),
            "--steps", str(steps), "--batch-size", "4", "--seed", "3", "--no-progress",
            "--checkpoint-every", "2", "--keep-last", "10", "--log-every", "1", "--set", *TINY, *extra]


def test_training_writes_a_loadable_run_and_loss_falls(synth_root, tmp_path):
    out = tmp_path / "run"
    final = train(TrainOptions(
        config="cpu-tiny", data={"synthvl": str(synth_root / "train")}, out=out, steps=40, batch_size=8,
        seed=0, overrides=TINY + ["train.lr=0.002"], val_data={"synthvl": str(synth_root / "val")},
        val_pairs=16, val_every=20, log_every=5, progress=False))
    assert (out / "config.yaml").exists() and (out / "tokenizer.json").exists()
    assert list((out / "tb").iterdir()), "TensorBoard events written"
    train_log = read_metrics(out, "train")
    assert {"loss", "focal", "giou", "l1", "cma", "ima", "iou", "lr", "keep_ratio", "samples_per_s"} <= set(train_log[0])
    first, last = train_log[0]["loss"], sum(r["loss"] for r in train_log[-2:]) / 2
    assert last < first, f"training loss did not fall: {first:.3f} -> {last:.3f}"
    assert train_log[0]["keep_ratio"] == 1.0 and train_log[-1]["keep_ratio"] == pytest.approx(0.7)
    assert len(read_metrics(out, "val")) == 2
    model = allinone.load_model(out)  # the run directory's latest checkpoint
    assert model.config.model.embed_dim == 64 and model.tokenizer is not None
    assert Path(final).exists()


def test_killed_run_resumes_to_identical_weights(synth_root, tmp_path):
    steps = 8
    full = tmp_path / "full"
    subprocess.run(_cli(_train_args(synth_root, full, steps)), check=True, capture_output=True)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(_cli(_train_args(synth_root, cut, steps)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = cut / "checkpoints" / "step-000004.state.pt"
    deadline = time.time() + 240
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no clean shutdown: whatever was on disk is all there is
    proc.wait()
    steps_done = sorted(p.name for p in (cut / "checkpoints").glob("step-*.state.pt"))
    assert steps_done and steps_done[-1] != f"step-{steps:06d}.state.pt", "the run was not cut short"

    subprocess.run(_cli(_train_args(synth_root, cut, steps, ["--resume"])), check=True, capture_output=True)
    a = load_file(str(full / "checkpoints" / f"step-{steps:06d}.safetensors"))
    b = load_file(str(cut / "checkpoints" / f"step-{steps:06d}.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    losses_full = [r["loss"] for r in read_metrics(full, "train")]
    losses_cut = {r["step"]: r["loss"] for r in read_metrics(cut, "train")}
    assert losses_cut[steps] == losses_full[-1]


def test_two_process_gloo_training_keeps_ranks_identical(synth_root, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "allinone.cli", *_train_args(synth_root, out, 4)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = json.loads((out / "ranks.json").read_text())
    assert ranks["world_size"] == 2
    assert ranks["max_abs_weight_diff_vs_rank0"] == [0.0, 0.0]
    assert allinone.load_model(out) is not None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_node_c10d_training_keeps_ranks_identical(synth_root, tmp_path):
    """2 "nodes" x 1 process: two torchrun agents meet through a c10d rendezvous on 127.0.0.1 (gloo),
    as `srun torchrun --nnodes 2 ...` starts them on two machines sharing the run directory."""
    out = tmp_path / "multinode"
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
               "--node_rank", str(node), "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
               "--rdzv-id", "allinone-multinode-test", "--rdzv-conf", f"is_host={int(node == 0)}",
               "--max-restarts", "0", "-m", "allinone.cli", *_train_args(synth_root, out, 4)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    try:
        logs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(log[-3000:] for log in logs)
    ranks = json.loads((out / "ranks.json").read_text())
    assert ranks["world_size"] == 2  # one world across both "nodes"
    assert ranks["max_abs_weight_diff_vs_rank0"] == [0.0, 0.0]
    model = allinone.load_model(out)  # loadable: the run directory's latest checkpoint, written by rank 0
    saved = load_file(str(out / "checkpoints" / "step-000004.safetensors"))
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_missing_dataset_root_and_bad_config_fail_in_one_line(tmp_path):
    res = subprocess.run(_cli(["train", "--config", "cpu-tiny", "--data", f"synthvl={tmp_path / 'nope'}",
                               "--out", str(tmp_path / "r")]), capture_output=True, text=True)
    assert res.returncode == 2 and "nope" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = subprocess.run(_cli(["train", "--config", "cpu-tiny", "--data", "synthvl=x", "--out", str(tmp_path / "r"),
                               "--set", "model.search_size=100"]), capture_output=True, text=True)
    assert res.returncode == 2 and "model.search_size" in res.stderr


def test_non_finite_loss_stops_with_the_step(synth_root, tmp_path, monkeypatch):
    from allinone.train import losses
    from allinone.train.errors import TrainingError

    real = losses.AllInOneLoss.forward
    calls = {"n": 0}

    def poisoned(self, out, gt, has_text):
        total, stats = real(self, out, gt, has_text)
        calls["n"] += 1
        return (total * float("nan"), stats) if calls["n"] == 3 else (total, stats)

    monkeypatch.setattr(losses.AllInOneLoss, "forward", poisoned)
    with pytest.raises(TrainingError, match="non-finite loss at step 2"):
        train(TrainOptions(config="cpu-tiny", data={"synthvl": str(synth_root / "train")}, out=tmp_path / "nan",
                           steps=5, batch_size=2, overrides=TINY, progress=False))


def test_gradient_accumulation_runs(synth_root, tmp_path):
    out = tmp_path / "accum"
    train(TrainOptions(config="cpu-tiny", data={"synthvl": str(synth_root / "train")}, out=out, steps=2,
                       batch_size=2, overrides=TINY + ["train.accumulate_steps=3"], log_every=1, progress=False))
    logs = read_metrics(out, "train")
    assert [r["step"] for r in logs] == [1, 2] and all(np.isfinite(r["loss"]) for r in logs)
    assert allinone.load_model(out) is not None


def test_frozen_blocks_take_no_gradient_and_the_rest_trains():
    """train.frozen_blocks: the frozen prefix gets no gradient (and builds no graph); blocks above,
    the head and the language embedding (through the alignment losses) still learn."""
    import allinone
    from allinone.config import load_config

    torch.manual_seed(0)
    cfg = load_config("cpu-tiny", ["train.frozen_blocks=4"])
    model = allinone.build_model(cfg, with_alignment=True).train()
    model.backbone.freeze_prefix(cfg.train.frozen_blocks)
    z, x = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 128, 128)
    ids = torch.randint(1, 100, (2, cfg.model.max_text_len))
    out = model(z, x, ids, torch.ones_like(ids), return_alignment=True)
    (out.score_map.sum() + out.size_map.sum() + out.offset_map.sum() + out.v_l.sum()).backward()
    frozen = [model.backbone.patch_embed, *model.backbone.blocks[:4]]
    assert all(p.grad is None and not p.requires_grad for m in frozen for p in m.parameters())
    assert model.backbone.pos_embed_x.grad is None
    assert all(p.grad is not None for p in model.backbone.blocks[4].parameters())
    assert all(p.grad is not None for p in model.box_head.parameters())
    assert model.language_embeddings.word_embeddings.weight.grad is not None
    with pytest.raises(ValueError, match="frozen_blocks"):
        load_config("cpu-tiny", ["train.frozen_blocks=7"])


def test_init_from_an_allinone_checkpoint_fine_tunes_it(tmp_path):
    """--init with our own checkpoint starts from all its weights and its tokenizer."""
    import allinone
    from allinone.model.checkpoint import read_checkpoint
    from allinone.text import default_tokenizer
    from allinone.train.trainer import TrainOptions, train
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    torch.manual_seed(3)
    start = allinone.build_model("cpu-tiny", with_alignment=False)
    tok = default_tokenizer()
    ckpt = allinone.save_model(start, tmp_path / "start.safetensors", tokenizer=tok)
    data = tmp_path / "synth"
    generate_synthvl(data, 2, seed=1, split="train", config=SynthConfig(width=96, height=72, min_frames=12,
                                                                         max_frames=14), progress=False)
    opts = TrainOptions(config="cpu-tiny", data={"synthvl": str(data)}, out=tmp_path / "run", steps=1,
                        batch_size=2, init=str(ckpt), workers=0, progress=False,
                        overrides=["train.lr=1e-12", "train.warmup_steps=0"])
    final = train(opts)
    state, _, tok_json = read_checkpoint(final)
    assert tok_json and json.loads(tok_json) == json.loads(tok.to_json_str())
    before = start.state_dict()
    w = "backbone.blocks.0.attn.qkv.weight"
    assert torch.allclose(state[w], before[w], atol=1e-6)  # started there (lr ~ 0: barely moved)

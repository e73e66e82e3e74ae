"""The command line answers bad input with one `error:` line and exit code 2, never a traceback;
`--debug` works after the command too; every option has help text with its default."""
import argparse
import os
import pty
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from allinone.cli import build_parser, main


def _one_error_line(capsys, code, argv, match):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and match in lines[0], err
    return lines[0]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), np.full((48, 64, 3), 30 * i, np.uint8))
    return folder


@pytest.mark.parametrize("device, match", [("foo", "unknown device 'foo'"), ("cuda:99", "device 'cuda:99'"),
                                           ("tpu", "unknown device 'tpu'")])
def test_devices(capsys, tmp_path, frames, device, match):
    _one_error_line(capsys, 2, ["track", str(frames), "--bbox", "1,1,10,10", "--out", str(tmp_path / "o"),
                                "--device", device, "--no-progress"], match)
    _one_error_line(capsys, 2, ["test", "--dataset", "synthvl", "--root", str(tmp_path), "--out",
                                str(tmp_path / "r"), "--device", device, "--no-progress"], match)
    _one_error_line(capsys, 2, ["train", "--config", "cpu-tiny", "--data", f"synthvl={tmp_path}", "--out",
                                str(tmp_path / "t"), "--device", device, "--no-progress"], match)


@pytest.mark.parametrize("flags, match", [
    (["--log-every", "0"], "--log-every 0: must be at least 1"), (["--steps", "0"], "--steps 0: must be at least 1"),
    (["--steps", "-5"], "--steps -5"), (["--checkpoint-every", "-1"], "--checkpoint-every -1"),
    (["--keep-last", "-2"], "--keep-last -2"), (["--val-pairs", "0"], "--val-pairs 0"),
])
def test_training_numbers_fail_up_front(capsys, tmp_path, flags, match):
    argv = ["train", "--config", "cpu-tiny", "--data", f"synthvl={tmp_path / 'nowhere'}", "--out", str(tmp_path / "t")]
    _one_error_line(capsys, 2, argv + flags, match)  # before the (missing) data is even opened
    assert not (tmp_path / "t").exists()


def test_config_numbers_and_yaml(capsys):
    _one_error_line(capsys, 2, ["info", "--set", "model.depth=[1,2"], "not valid YAML")
    _one_error_line(capsys, 2, ["info", "--set", "model.depth=100000"], "at most 1000 blocks")
    _one_error_line(capsys, 2, ["info", "--set", "track.min_inside_px=-1"], "track.min_inside_px")
    assert main(["info", "--set", "train.lr=1e-3"]) == 0
    assert "lr: 0.001" in capsys.readouterr().out


def test_bbox_and_refused_checkpoint(capsys, tmp_path, frames):
    out = str(tmp_path / "o")
    _one_error_line(capsys, 2, ["track", str(frames), "--bbox", "0,0,1e30,1e30", "--out", out, "--no-progress"],
                    "more than 4 times the 64x48 image")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo never",))

    torch.save({"net": Evil()}, tmp_path / "evil.pth")
    line = _one_error_line(capsys, 2, ["track", str(frames), "--bbox", "1,1,10,10", "--checkpoint",
                                       str(tmp_path / "evil.pth"), "--out", out, "--no-progress"], "refused")
    assert "would run code" in line and "weights_only=False" in line


def test_training_set_without_visible_target(capsys, tmp_path):
    from allinone.data.synthetic import SynthConfig, generate_synthvl

    generate_synthvl(tmp_path / "d", 2, seed=0, split="train", config=SynthConfig(width=64, height=48, min_frames=6,
                                                                                   max_frames=6), progress=False)
    for seq in (tmp_path / "d").glob("*/*"):
        (seq / "full_occlusion.txt").write_text(",".join(["1"] * 6) + "\n")
    _one_error_line(capsys, 2, ["train", "--config", "cpu-tiny", "--data", f"synthvl={tmp_path / 'd'}", "--out",
                                str(tmp_path / "t"), "--steps", "1", "--workers", "0", "--no-progress"],
                    "none has a frame with a visible target")


def test_debug_after_the_command_shows_the_traceback(capsys):
    assert main(["info", "--config", "nope"]) == 2
    from allinone.config import ConfigError

    with pytest.raises(ConfigError):
        main(["info", "--config", "nope", "--debug"])
    with pytest.raises(ConfigError):
        main(["--debug", "info", "--config", "nope"])


def test_vot_outside_a_toolkit_stops_at_once():
    cmd = [sys.executable, "-m", "allinone.cli", "vot"]
    env = {k: v for k, v in os.environ.items() if k != "TRAX_SOCKET"}
    master, slave = pty.openpty()  # a terminal on stdin: someone typed `allinone vot`
    try:
        r = subprocess.run(cmd, stdin=slave, capture_output=True, text=True, timeout=120, env=env)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not run by hand" in r.stderr
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "TraX connection failed" in r.stderr


def test_every_option_has_help_and_shows_its_default():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"allinone {name} {'/'.join(action.option_strings) or action.dest}: no help text"
        text = p.format_help()
        assert "--debug" in text, name
    test_help = sub.choices["test"].format_help()
    for piece in ("--no-text", "--skip-missing", "--threads", "(default: fp32)", "lasot,lasot_ext"):
        assert piece in " ".join(test_help.split()), piece


def test_test_no_text_tracks_from_the_box_only(tmp_path):
    from allinone.data.synthetic import SynthConfig, generate_synthvl
    from allinone.evaluation.runner import run_benchmark

    data = tmp_path / "d"
    generate_synthvl(data, 2, seed=3, split="test", config=SynthConfig(width=96, height=72, min_frames=10,
                                                                        max_frames=10), progress=False)
    assert main(["test", "--dataset", "synthvl", "--root", str(data), "--out", str(tmp_path / "cli-box"),
                 "--no-text", "--no-progress"]) == 0
    run_benchmark("synthvl", str(data), str(_bundled()), str(tmp_path / "api-box"), use_text=False, progress=False)
    run_benchmark("synthvl", str(data), str(_bundled()), str(tmp_path / "api-text"), use_text=True, progress=False)
    names = sorted(p.name for p in (tmp_path / "api-box").glob("*-[0-9].txt"))
    assert names
    box_only = [(tmp_path / "cli-box" / n).read_text() for n in names]
    assert box_only == [(tmp_path / "api-box" / n).read_text() for n in names]
    assert box_only != [(tmp_path / "api-text" / n).read_text() for n in names]


def _bundled():
    from allinone.track.tracker import default_checkpoint

    return default_checkpoint()


def test_set_is_repeatable_and_keeps_every_override():
    """`--set a=1 --set b=2` keeps both (argparse's plain nargs would keep only the last)."""
    from allinone.cli import build_parser

    args = build_parser().parse_args(["train", "--config", "cpu-tiny", "--out", "o", "--set", "train.lr=1e-3",
                                      "--set", "train.ce_start_epoch=1", "train.ce_end_epoch=2"])
    assert args.set == ["train.lr=1e-3", "train.ce_start_epoch=1", "train.ce_end_epoch=2"]
    args = build_parser().parse_args(["info", "--set", "model.depth=2", "--set", "model.ce_locations=[1]"])
    assert args.set == ["model.depth=2", "model.ce_locations=[1]"]

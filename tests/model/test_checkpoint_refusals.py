"""Files that ask to run code are refused in one line (never loaded with weights_only=False); a
checkpoint whose embedded config is not YAML fails naming it; written files get the umask's mode."""
import os
import pickle
import stat

import pytest
import torch
from safetensors.torch import save_file

import allinone
from allinone.model.checkpoint import CheckpointError, read_checkpoint
from allinone.model.importers.files import safe_torch_load



class _Evil:
    def __reduce__(self):
        return (os.system, ("echo this-must-never-run",))


def test_pickles_that_run_code_are_refused_in_one_line(tmp_path, capfd):
    torch.save({"net": _Evil()}, tmp_path / "zip.pth")
    torch.save({"net": _Evil()}, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    with open(tmp_path / "plain.pth", "wb") as f:
        pickle.dump({"net": _Evil()}, f)
    for name in ("zip.pth", "legacy.pth"):
        with pytest.raises(CheckpointError, match=r"refused: loading this file would run code \(it names posix.system\)"):
            safe_torch_load(tmp_path / name)
    with pytest.raises(CheckpointError, match=r"refused: .*weights_only=False"):
        safe_torch_load(tmp_path / "plain.pth")
    with pytest.raises(CheckpointError, match="refused"):  # through the public loader too
        allinone.load_model(tmp_path / "zip.pth")
    assert "this-must-never-run" not in capfd.readouterr().out


def test_harmless_files_still_load(tmp_path):
    torch.save({"net": {"w": torch.ones(2)}}, tmp_path / "legacy_ok.pth", _use_new_zipfile_serialization=False)
    assert safe_torch_load(tmp_path / "legacy_ok.pth")["net"]["w"].tolist() == [1.0, 1.0]


def test_bad_yaml_in_checkpoint_metadata(tmp_path):
    path = tmp_path / "bad.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": "allinone", "config": "model: [1,", "tokenizer": ""})
    with pytest.raises(CheckpointError, match=r"bad embedded config .*not valid YAML"):
        read_checkpoint(path)


def test_atomically_written_files_get_the_umask_mode(tmp_path):
    from allinone.files import atomic_write, file_mode

    old = os.umask(0o027)
    try:
        assert file_mode() == 0o640
        path = allinone.save_model(allinone.build_model("cpu-tiny", with_alignment=False), tmp_path / "m.safetensors")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        atomic_write(tmp_path / "x.txt", lambda p: p.write_text("x"))
        assert stat.S_IMODE((tmp_path / "x.txt").stat().st_mode) == 0o640
    finally:
        os.umask(old)
    assert not list(tmp_path.glob(".tmp-*"))

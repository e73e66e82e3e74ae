"""Bad API input to `Tracker` fails with one clear ValueError, before any work: wrong text type,
a box given as a dict or a string, an absurd box, an unknown or unavailable device."""
import numpy as np
import pytest
import torch

import allinone
from allinone.devices import DeviceError, check_device


@pytest.fixture(scope="module")
def tracker():
    return allinone.Tracker.from_checkpoint()


FRAME = np.zeros((64, 80, 3), np.uint8)


@pytest.mark.parametrize("text", [123, 4.5, ["a", "b"], b"bytes"])
def test_text_must_be_a_string(tracker, text):
    with pytest.raises(ValueError, match=r"text must be a string"):
        tracker.initialize(FRAME, bbox=[10, 10, 20, 20], text=text)


@pytest.mark.parametrize("bbox", [{"x": 1, "y": 2, "w": 3, "h": 4}, "10,10,20,20", [1, 2, 3], [1, 2, "w", 4],
                                  [np.nan, 1, 2, 3]])
def test_box_must_be_four_numbers(tracker, bbox):
    with pytest.raises(ValueError, match=r"bbox must be 4 finite numbers"):
        tracker.initialize(FRAME, bbox=bbox)


def test_absurd_box_is_refused(tracker):
    with pytest.raises(ValueError, match=r"more than 4 times the 80x64 image"):
        tracker.initialize(FRAME, bbox=[0, 0, 1e30, 1e30])
    tracker.initialize(FRAME, bbox=[-10, -10, 100, 90])  # partly outside: a real target can be
    box, _ = tracker.track(FRAME)
    assert np.isfinite(box).all()


def test_devices_are_checked():
    assert check_device("cpu") == torch.device("cpu") and check_device(" CPU ") == torch.device("cpu")
    with pytest.raises(DeviceError, match="unknown device 'gpu0'"):
        check_device("gpu0")
    with pytest.raises(DeviceError, match="allinone runs on cpu, cuda"):
        check_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match=r"CUDA is not available.*--device cpu"):
            allinone.Tracker.from_checkpoint(device="cuda")
    else:
        n = torch.cuda.device_count()
        with pytest.raises(DeviceError, match=rf"only {n} GPU"):
            check_device(f"cuda:{n}")

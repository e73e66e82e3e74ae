"""The training-pair dataset: determinism, batching, workers, epochs, validity of every pair."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from allinone import load_config
from allinone.data import open_dataset
from allinone.data.pairs import PairDataset, collate_pairs, worker_init_fn
from allinone.data.sampler import PairSampler
from allinone.data.synthetic import SynthConfig, generate_synthvl
from allinone.text import default_tokenizer


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    generate_synthvl(root, 3, seed=4, config=SynthConfig(width=120, height=90, min_frames=12, max_frames=14),
                     progress=False)
    return open_dataset("synthvl", root)


def _pairs(ds, n=8, seed=0, train=True):
    cfg = load_config("cpu-tiny")
    return PairDataset(PairSampler([(ds, 1.0)], cfg.data.max_gap), cfg.model, cfg.data, default_tokenizer(), n,
                       seed=seed, train=train)


def test_same_index_same_sample_other_index_or_epoch_different(synth):
    a, b = _pairs(synth), _pairs(synth)
    x, y = a[3], b[3]
    for k in x:
        assert torch.equal(x[k], y[k]), k
    assert not torch.equal(a[3]["search"], a[4]["search"])
    a.set_epoch(1)
    assert not torch.equal(a[3]["search"], y["search"])
    assert not torch.equal(_pairs(synth, seed=1)[3]["search"], y["search"])


def test_collate_shapes_and_dtypes(synth):
    batch = collate_pairs([_pairs(synth)[i] for i in range(4)])
    assert batch.template.shape == (4, 3, 64, 64) and batch.search.shape == (4, 3, 128, 128)
    assert batch.text_ids.shape == (4, 40) and batch.text_ids.dtype == torch.long
    assert batch.has_text.dtype == torch.bool and batch.has_text.all()  # SynthVL always has text
    assert batch.search_box.shape == (4, 4) and batch.template_mask.shape == (4, 16)
    assert batch.template_mask.dtype == torch.bool and (batch.template_mask.sum(1) == 1).all()
    assert ((batch.search_box >= 0) & (batch.search_box <= 1)).all()


def test_workers_give_the_same_batches(synth):
    ds = _pairs(synth, n=8)
    serial = list(DataLoader(ds, batch_size=4, collate_fn=collate_pairs, num_workers=0))
    parallel = list(DataLoader(ds, batch_size=4, collate_fn=collate_pairs, num_workers=2,
                               worker_init_fn=worker_init_fn, multiprocessing_context="forkserver"))
    for a, b in zip(serial, parallel):
        assert torch.equal(a.search, b.search) and torch.equal(a.text_ids, b.text_ids)


def test_only_valid_pairs_from_a_mostly_invisible_target(synth, tmp_path):
    seq = synth[0]
    seq.visible = np.zeros(len(seq), bool)
    seq.visible[[2, 5]] = True  # the target is visible in two frames only
    ds = _pairs(synth, n=24, train=False)
    ds.sampler = PairSampler([([seq], 1.0)], 200)
    for i in range(24):
        item = ds[i]
        cx, cy, w, h = item["search_box"].tolist()
        assert 0 <= cx <= 1 and 0 <= cy <= 1 and w > 0 and h > 0


def test_template_is_centred_on_its_target(synth):
    item = _pairs(synth, train=False)[0]
    cx, cy, _, _ = item["template_box"].tolist()
    assert cx == pytest.approx(0.5, abs=0.02) and cy == pytest.approx(0.5, abs=0.02)  # no template jitter


def test_text_drop_prob_drops_descriptions_and_keeps_the_images(synth):
    keep = _pairs(synth, n=40)
    assert all(bool(keep[i]["has_text"]) for i in range(40))  # every SynthVL sequence has a description
    cfg = load_config("cpu-tiny")
    cfg.data.text_drop_prob = 1.0
    off = PairDataset(PairSampler([(synth, 1.0)], cfg.data.max_gap), cfg.model, cfg.data, default_tokenizer(),
                      40, seed=0, train=True)
    for i in (0, 7, 39):
        x, y = keep[i], off[i]
        assert not bool(y["has_text"]) and not y["text_ids"].any() and not y["text_mask"].any()
        assert torch.equal(x["search"], y["search"]) and torch.equal(x["search_box"], y["search_box"])
    cfg.data.text_drop_prob = 0.5
    half = PairDataset(PairSampler([(synth, 1.0)], cfg.data.max_gap), cfg.model, cfg.data, default_tokenizer(),
                       40, seed=0, train=True)
    kept = sum(bool(half[i]["has_text"]) for i in range(40))
    assert 8 <= kept <= 32  # binomial(40, 0.5): outside this range with probability < 1e-4

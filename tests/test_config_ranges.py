"""Config numbers and ranges: YAML 1.2 floats, `base:` next to the file, empty files, bounds that
stop impossible shapes before anything is allocated, YAML errors as `ConfigError`."""
import pytest

from allinone.config import (MAX_PARAMETERS, ConfigError, estimated_parameters, load_config,
                             parse_yaml)


def test_exponent_floats_without_a_dot(tmp_path):
    assert load_config("cpu-tiny", ["train.lr=1e-3"]).train.lr == pytest.approx(0.001)
    assert load_config("cpu-tiny", ["train.weight_decay=5E-5"]).train.weight_decay == pytest.approx(5e-5)
    (tmp_path / "a.yaml").write_text("base: cpu-tiny\ntrain:\n  lr: 2e-4\n  grad_clip: 1e0\n")
    cfg = load_config(tmp_path / "a.yaml")
    assert cfg.train.lr == pytest.approx(2e-4) and cfg.train.grad_clip == 1.0
    assert parse_yaml("x: 1e3\ny: 1.5\nz: 7\nw: e5\n", "t") == {"x": 1000.0, "y": 1.5, "z": 7, "w": "e5"}


def test_base_is_resolved_next_to_the_yaml_file(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "common.yaml").write_text("base: cpu-tiny\nmodel:\n  depth: 4\n  ce_locations: [1]\n")
    (tmp_path / "configs" / "run.yaml").write_text("base: common.yaml\ntrain:\n  batch_size: 3\n")
    monkeypatch.chdir(tmp_path)  # not the folder of the files
    cfg = load_config("configs/run.yaml")
    assert (cfg.model.depth, cfg.train.batch_size, cfg.model.embed_dim) == (4, 3, load_config("cpu-tiny").model.embed_dim)
    (tmp_path / "configs" / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config("configs/loop.yaml")
    (tmp_path / "configs" / "bad.yaml").write_text("base: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"no config preset or file named 'nowhere.yaml' \(looked in"):
        load_config("configs/bad.yaml")


def test_empty_yaml_is_an_error_not_the_paper_preset(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="empty"):
        load_config(tmp_path / "empty.yaml")


def test_yaml_errors_name_the_override_or_file(tmp_path):
    with pytest.raises(ConfigError, match=r"override 'model.depth=\[1,2': not valid YAML .* line 1"):
        load_config("cpu-tiny", ["model.depth=[1,2"])
    (tmp_path / "bad.yaml").write_text("model:\n  depth: [1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_mean_and_std_errors_name_their_key():
    with pytest.raises(ConfigError, match=r"'data.mean' = \[0.5, 0.5\]"):
        load_config("cpu-tiny", ["data.mean=[0.5,0.5]"])
    with pytest.raises(ConfigError, match=r"'data.std' = \[0.5, 0.0, 0.5\]"):
        load_config("cpu-tiny", ["data.std=[0.5,0,0.5]"])


@pytest.mark.parametrize("override, key", [
    ("track.min_inside_px=-1", "track.min_inside_px"), ("train.lr=0", "train.lr"),
    ("train.lr=-1e-4", "train.lr"), ("train.seed=-3", "train.seed"), ("train.num_workers=-1", "train.num_workers"),
    ("data.max_gap=-5", "data.max_gap"), ("loss.giou_weight=-2", "loss.giou_weight"),
    ("train.lr=.nan", "train.lr"), ("data.search_factor=.inf", "data.search_factor"),
    ("data.text_drop_prob=1.5", "data.text_drop_prob"), ("data.text_drop_prob=-0.1", "data.text_drop_prob"),
])
def test_out_of_range_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config("cpu-tiny", [override])


@pytest.mark.parametrize("overrides, what", [
    (["model.depth=1000000"], "model.depth"),
    (["model.embed_dim=1048576", "model.num_heads=16"], "billion parameters"),
    (["model.vocab_size=100000000000"], "billion parameters"),
    (["model.search_size=8192", "model.template_size=128"], "image tokens"),
    (["model.max_text_len=1000000"], "model.max_text_len"),
])
def test_impossible_model_shapes_fail_before_allocation(overrides, what):
    with pytest.raises(ConfigError, match=what):
        load_config("cpu-tiny", overrides)


def test_parameter_estimate_matches_built_models():
    from allinone import build_model

    for preset in ("cpu-tiny", "paper-vitb256"):
        cfg = load_config(preset)
        built = sum(p.numel() for p in build_model(cfg, with_alignment=True).parameters())
        assert estimated_parameters(cfg.model) == pytest.approx(built, rel=0.01)
    assert estimated_parameters(load_config("paper-vitb384").model) < MAX_PARAMETERS

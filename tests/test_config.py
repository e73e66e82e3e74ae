"""Config presets, YAML loading, validation messages, overrides, round trip."""
import pytest

from allinone import ConfigError, load_config
from allinone.config import config_from_dict, preset_names


def test_presets_exist_and_paper_matches_spec():
    assert {"paper-vitb256", "paper-vitb384", "cpu-tiny"} <= set(preset_names())
    c = load_config("paper-vitb256")
    m = c.model
    assert (m.template_size, m.search_size, m.patch_size) == (128, 256, 16)
    assert (m.embed_dim, m.depth, m.num_heads, m.mlp_ratio) == (768, 12, 12, 4.0)
    assert m.ce_locations == [3, 6, 9] and m.ce_keep_ratio == 0.7
    assert (m.vocab_size, m.max_text_len, m.text_pooling) == (30522, 40, "mean")
    assert (c.data.template_factor, c.data.search_factor) == (2.0, 4.0)
    t = c.train
    assert (t.lr, t.weight_decay, t.backbone_lr_mult, t.epochs, t.lr_drop_epoch) == (4e-4, 1e-4, 0.1, 300, 240)
    assert (t.grad_clip, t.batch_size, t.samples_per_epoch) == (0.1, 32, 60000)
    l = c.loss
    assert (l.focal_weight, l.giou_weight, l.l1_weight, l.cma_weight, l.ima_weight, l.temperature) == (
        1.0, 2.0, 5.0, 0.25, 0.5, 0.5)
    big = load_config("paper-vitb384").model
    assert (big.template_size, big.search_size, big.search_grid) == (192, 384, 24)
    tiny = load_config("cpu-tiny").model
    assert (tiny.embed_dim, tiny.depth, tiny.num_heads, tiny.template_size, tiny.search_size) == (192, 6, 3, 64, 128)


@pytest.mark.parametrize("data, fragment", [
    ({"model": {"serach_size": 256}}, "model.serach_size"),
    ({"modle": {}}, "modle"),
    ({"model": {"depth": "12"}}, "model.depth"),
    ({"model": {"qkv_bias": 1}}, "model.qkv_bias"),
    ({"model": {"ce_locations": [3, "x"]}}, "model.ce_locations[1]"),
    ({"model": {"search_size": 250}}, "model.search_size"),
    ({"model": {"template_size": 100}}, "model.template_size"),
    ({"model": {"num_heads": 7}}, "model.num_heads"),
    ({"model": {"ce_keep_ratio": 0.0}}, "model.ce_keep_ratio"),
    ({"model": {"ce_keep_ratio": 1.5}}, "model.ce_keep_ratio"),
    ({"model": {"ce_locations": [12]}}, "model.ce_locations"),
    ({"model": {"text_pooling": "max"}}, "model.text_pooling"),
    ({"train": {"lr_schedule": "linear"}}, "train.lr_schedule"),
])
def test_bad_values_name_key_and_value(data, fragment):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg


def test_error_shows_the_value():
    with pytest.raises(ConfigError, match="250"):
        config_from_dict({"model": {"search_size": 250}})


def test_int_accepted_for_float_and_kept_float():
    c = config_from_dict({"train": {"lr": 1}})
    assert c.train.lr == 1.0 and isinstance(c.train.lr, float)


def test_yaml_file_with_base_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: cpu-tiny\nmodel:\n  depth: 4\n  ce_locations: [1, 2]\ntrain:\n  lr: 0.001\n")
    c = load_config(path, ["model.search_size=160", "track.hann_window=false"])
    assert c.name == "mine"
    assert c.model.depth == 4 and c.model.embed_dim == 192 and c.model.search_size == 160
    assert c.train.lr == 0.001 and c.track.hann_window is False


def test_unknown_override_key_and_missing_preset(tmp_path):
    with pytest.raises(ConfigError, match="model.nope"):
        load_config("cpu-tiny", ["model.nope=1"])
    with pytest.raises(ConfigError, match="no config preset or file named 'nonexistent'"):
        load_config("nonexistent")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_yaml_round_trip(tmp_path):
    c = load_config("paper-vitb384")
    path = tmp_path / "c.yaml"
    path.write_text(c.to_yaml())
    assert load_config(path) == c

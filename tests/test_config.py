"""Config: YAML sections, --section.key=value overrides, validation, unknown keys, round trip."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from training.errors import ConfigError
from training.config import Config, config_from_dict, load_config, save_config
from training.pretrain_config import PretrainConfig


@pytest.mark.parametrize("name", ["tiny.yaml", "arabert.yaml", "arabert_large.yaml"])
def test_shipped_configs_load(name):
    config = load_config(ROOT / "configs" / name)
    assert config.training.seed == 42


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_configs_hold_only_what_differs_from_the_defaults_and_a_seed(path):
    raw = yaml.safe_load(path.read_text("utf-8"))
    schema = PretrainConfig if path.name.startswith("pretrain") else Config
    defaults = schema().to_dict()
    repeated = [f"{section}.{key}" for section, values in raw.items() for key, value in values.items()
                if key != "seed" and load_config(path, schema=schema).to_dict()[section][key] == defaults[section][key]]
    assert not repeated, f"{path.name} repeats defaults: {repeated}"
    assert "seed" in raw.get("training", {}), f"{path.name} names no seed"


def test_overrides_are_typed_from_yaml_scalars():
    config = load_config(ROOT / "configs" / "tiny.yaml", [
        "--training.max_steps=7", "--training.learning_rate=1e-4", "--training.num_train_epochs=2",
        "--model.name_or_path=/models/local", "--training.soft_targets=false", "--training.seed=3"])
    assert config.training.max_steps == 7 and config.training.learning_rate == 1e-4
    assert config.training.num_train_epochs == 2.0 and isinstance(config.training.num_train_epochs, float)
    assert config.model.name_or_path == "/models/local" and config.training.soft_targets is False


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) training.lr; valid keys in 'training': seed, learning_rate"):
        load_config(None, ["--training.lr=0.1"])


def test_unknown_section_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optimizer:\n  lr: 1\n")
    with pytest.raises(ConfigError, match="unknown section"):
        load_config(path)


@pytest.mark.parametrize("override,message", [
    ("--training.max_steps=abc", "training.max_steps: expected int"),
    ("--training.learning_rate=-1", "learning_rate must be > 0"),
    ("--data.label_model=snorkel", "data.label_model must be one of"),
    ("--model.max_length=4", "model.max_length"),
    ("--data.lexicon=/nope.yaml", "data.lexicon: no such file"),
    ("training.seed", "expected --section.key=value"),
])
def test_invalid_values_are_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


def test_resolved_config_round_trips(tmp_path):
    config = load_config(ROOT / "configs" / "tiny.yaml", ["--training.max_steps=5"])
    save_config(config, tmp_path / "resolved.yaml")
    again = config_from_dict(yaml.safe_load((tmp_path / "resolved.yaml").read_text()))
    assert again == config

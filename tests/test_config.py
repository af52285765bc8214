"""The one config idiom (data.engine.config): validation on construction, unknown keys, config.json round trip."""

import json

import pytest

from cyclegan_dct.config import CycleGANConfig
from data.engine.config import Config
from data.masks import DEFAULT_STATS, MaskStats
from data.stardist_training import StarDistConfig
from msrgan.config import MSRGANConfig
from vgg19.config import VGG19Config

CONFIGS = (VGG19Config, MSRGANConfig, CycleGANConfig, StarDistConfig)


@pytest.mark.parametrize("cls", CONFIGS)
def test_every_config_round_trips_and_refuses_unknown_keys(cls, tmp_path):
    assert issubclass(cls, Config)
    config = cls()
    assert cls.from_dict(config.to_dict()) == config
    path = config.save(tmp_path / "config.json")
    assert cls.load(path) == config
    with pytest.raises(ValueError, match=f"unknown {cls.__name__} fields: bogus, typo"):
        cls.from_dict({**config.to_dict(), "typo": 1, "bogus": 2})
    with pytest.raises(ValueError, match="unknown.*nope"):
        config.replace(nope=3)
    (tmp_path / "bad.json").write_text(json.dumps({**config.to_dict(), "typo": 1}))
    with pytest.raises(ValueError, match="bad.json.*typo"):
        cls.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        cls.load(tmp_path / "missing.json")


@pytest.mark.parametrize("cls, field", [(VGG19Config, "epochs"), (MSRGANConfig, "epochs"),
                                        (CycleGANConfig, "steps_per_epoch"), (StarDistConfig, "epochs")])
def test_validation_runs_on_construction_and_replace(cls, field):
    with pytest.raises(ValueError, match=f"invalid {cls.__name__}: {field}=0"):
        cls(**{field: 0})
    with pytest.raises(ValueError, match=f"{field}=0"):
        cls().replace(**{field: 0})
    assert getattr(cls().replace(**{field: 3}), field) == 3


def test_mask_stats_uses_the_idiom():
    assert MaskStats.from_dict(DEFAULT_STATS.to_dict()) == DEFAULT_STATS
    assert DEFAULT_STATS.replace(max_overlap=0.2).max_overlap == 0.2
    with pytest.raises(ValueError, match="max_overlap=1.5"):
        DEFAULT_STATS.replace(max_overlap=1.5)
    assert CycleGANConfig().stats == DEFAULT_STATS
    assert CycleGANConfig(mask_stats=DEFAULT_STATS.replace(area_mean=50.0).to_dict()).stats.area_mean == 50.0


def test_eval_config_names_patch_size():
    with pytest.raises(ValueError, match="patch_size=100"):
        StarDistConfig(patch_size=100)


def test_run_fields_are_declared_once_and_renamed_keys_still_load(tmp_path):
    """RunConfig holds the run fields of every trainer; a config.json written before a rename still loads, so
    an older run folder resumes (check_resume compares the loaded keys)."""
    from data.engine.config import RunConfig
    from msrgan.config import MSRGANConfig, SRCNNConfig
    from vgg19.config import VGG19Config

    run_fields = set(RunConfig.field_names())
    for cls in (VGG19Config, MSRGANConfig, SRCNNConfig, CycleGANConfig):
        assert issubclass(cls, RunConfig) and run_fields <= set(cls.field_names())
        with pytest.raises(ValueError, match="strategy='tpu'"):
            cls(strategy="tpu")
    old = {**CycleGANConfig().to_dict(), "disc_filters": 8, "learning_rate": 3e-4}
    del old["d_filters"], old["lr"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    loaded = CycleGANConfig.load(tmp_path / "config.json")
    assert (loaded.d_filters, loaded.lr) == (8, 3e-4)

"""The --preset cpu configuration of cyclegan_dct.train: preset values, explicit options winning."""

import json

import pytest
from click.testing import CliRunner

from cyclegan_dct import train
from cyclegan_dct.config import PRESETS, CycleGANConfig, apply_preset


def test_apply_preset_keeps_explicit_options():
    base = CycleGANConfig().to_dict()
    assert apply_preset("none", base) == base
    cpu = apply_preset("cpu", base)
    assert (cpu["crop"], cpu["n_blocks"], cpu["filters"], cpu["d_filters"]) == (128, 6, 16, 16)
    assert cpu["lambda_identity"] == 0.5 and cpu["precision"] == "float32"
    assert (cpu["epochs"] + cpu["epochs_decay"]) * cpu["steps_per_epoch"] == 4000
    mine = apply_preset("cpu", dict(base, filters=8, lambda_identity=0.0), explicit={"filters", "lambda_identity"})
    assert mine["filters"] == mine["d_filters"] == 8 and mine["lambda_identity"] == 0.0 and mine["crop"] == 128
    CycleGANConfig(**{k: v for k, v in cpu.items()})  # a valid config
    with pytest.raises(ValueError, match="unknown preset"):
        apply_preset("gpu", base)
    assert set(PRESETS) == {"cpu"}


@pytest.mark.slow  # trains a model through the CLI
def test_train_cli_preset_cpu(tmp_path):
    args = ["--preset", "cpu", "--crop", "32", "--n-blocks", "1", "--filters", "4", "--epochs", "1",
            "--epochs-decay", "0", "--steps-per-epoch", "1", "--image-every", "100",
            "--backup-dir", str(tmp_path / "run"), "--logdir", str(tmp_path / "logs")]
    res = CliRunner().invoke(train.main, args)
    assert res.exit_code == 0, res.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["lambda_identity"] == 0.5 and config["precision"] == "float32"
    assert (config["crop"], config["n_blocks"], config["filters"], config["d_filters"]) == (32, 1, 4, 4)
    assert config["steps_per_epoch"] == 1 and config["epochs_decay"] == 0

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
    assert set(PRESETS) == {"cpu", "stego"}
    stego = apply_preset("stego", base)
    assert (stego["crop"], stego["images"], stego["like"], stego["mask_density"]) == (64, "simulated", "simulated", 2)
    CycleGANConfig(**stego)


@pytest.mark.slow  # imports the recipe (TensorFlow), renders the 200 simulated fields
def test_stego_preset_masks_are_twice_as_dense_as_domain_b():
    """The named mismatch of the stego preset: ellipses fitted to the simulated domain B's labels, density x2."""
    from cyclegan_dct.domains import fit_stats
    from cyclegan_dct.recipe import build_config

    fitted = fit_stats("simulated")
    config = build_config(**apply_preset("stego", CycleGANConfig().to_dict()))
    assert config.stats.density == pytest.approx(2 * fitted.density)
    assert config.stats.area_mean == pytest.approx(fitted.area_mean)
    assert 80 < fitted.area_mean < 200 and 0.001 < fitted.density < 0.004  # ~20 nuclei of ~120 px^2 per field
    with pytest.raises(ValueError, match="mask_density"):
        CycleGANConfig(mask_density=0)


@pytest.mark.slow  # builds the networks before the data are read
@pytest.mark.parametrize("bad, message", [(["--crop", "128"], "--crop 128 is larger than the simulated fields"),
                                          (["--images", "EMPTY"], "no PNG/TIFF")])
def test_stego_preset_refuses_data_it_does_not_fit(tmp_path, bad, message):
    (tmp_path / "empty").mkdir()
    bad = [str(tmp_path / "empty") if b == "EMPTY" else b for b in bad]
    args = ["--preset", "stego", "--n-blocks", "1", "--filters", "4", *bad, "--backup-dir", str(tmp_path / "run"),
            "--logdir", str(tmp_path / "logs")]
    res = CliRunner().invoke(train.main, args)
    assert res.exit_code == 1 and message in res.output, res.output
    assert [line for line in res.output.splitlines() if "Error" in line] == [res.output.strip().splitlines()[-1]]
    assert not (tmp_path / "run").exists() and not (tmp_path / "logs").exists()


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

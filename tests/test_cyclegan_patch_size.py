"""cyclegan_dct.evaluate fits StarDist's patch size to small synthetic images when --patch-size is not given."""

import json
import logging

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from cyclegan_dct import evaluate
from data import stardist_training as evaluation

TINY = ["--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--n-rays", "8", "--grid", "2",
        "--unet-depth", "2", "--unet-filters", "8", "--no-optimize-thresholds"]


def test_fit_patch_size():
    assert evaluation.fit_patch_size(64) == 64
    assert evaluation.fit_patch_size(100) == 96
    assert evaluation.fit_patch_size(255) == 240
    assert evaluation.fit_patch_size(256) == 256
    assert evaluation.fit_patch_size(1024) == 256  # at most 256
    # StarDist needs multiples of grid * 2**depth: grid 2, depth 4 -> 32
    assert evaluation.fit_patch_size(100, grid=2, unet_depth=4) == 96
    assert evaluation.fit_patch_size(90, grid=2, unet_depth=4) == 64
    with pytest.raises(ValueError, match="12 px"):
        evaluation.fit_patch_size(12)


@pytest.fixture
def small_synthetic(tmp_path):
    """Four 64x64 synthetic pairs (bright disks) in the layout of cyclegan_dct.generate."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    for sub in ("images", "masks", "cycled_masks"):
        (tmp_path / sub).mkdir()
    for i in range(4):
        lab = np.zeros((64, 64), np.uint16)
        for k, (cy, cx) in enumerate(rng.integers(10, 54, size=(3, 2))):
            lab[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = k + 1
        img = np.where(lab > 0, 40000, 3000).astype(np.uint16)
        tifffile.imwrite(tmp_path / "images" / f"{i:04d}.tif", img)
        tifffile.imwrite(tmp_path / "masks" / f"{i:04d}.tif", lab)
        tifffile.imwrite(tmp_path / "cycled_masks" / f"{i:04d}.tif", lab)
    return tmp_path


@pytest.mark.slow  # trains a model through the CLI
def test_evaluate_fits_patch_size_and_says_so(small_synthetic, tmp_path, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="cyclegan_dct"):
        res = CliRunner().invoke(evaluate.main, ["--synthetic", str(small_synthetic), "--out", str(out), *TINY])
    assert res.exit_code == 0, res.output
    budget = json.loads((out / "evaluation.json").read_text())["budget"]
    assert budget["patch_size"] == 64 and budget["patch_size_auto"] is True
    assert "StarDist patch size 64 (fits the smallest training image, 64 px)" in caplog.text
    # an explicit --patch-size is kept, and one too large still fails with its own message
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(small_synthetic), "--out", str(tmp_path / "o2"),
                                             *TINY, "--patch-size", "32"])
    assert res.exit_code == 0, res.output
    budget = json.loads((tmp_path / "o2" / "evaluation.json").read_text())["budget"]
    assert budget["patch_size"] == 32 and budget["patch_size_auto"] is False
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(small_synthetic), "--out", str(tmp_path / "o3"),
                                             *TINY, "--patch-size", "128"])
    assert res.exit_code != 0 and "larger than the smallest training image (64 px)" in res.output

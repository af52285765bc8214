"""The steganography experiment's one command (``cyclegan_dct.ablate --preset stego``) on tiny settings, end to end:
training, the reference segmenter, the stego measures, the downstream arms on both test sets, tables and figure.
(A file of its own: the suite's processes take whole files, and this is one of the longest tests.)"""

import json

import pytest
from click.testing import CliRunner

from conftest import TINY_STARDIST
from cyclegan_dct import ablate
from cyclegan_dct.config import CycleGANConfig
from data.io import read_image

pytestmark = pytest.mark.slow  # trains models


def test_stego_experiment_quick_form(tmp_path):
    """The steganography experiment's command on tiny settings: the stego preset trained (1 step) per cutoff; the
    labelled-B reference StarDist (1 step) segmenting G(m); the stego measures; 4 synthetic pairs per model and a
    StarDist per arm ((G(m), F(G(m))) and (G(m), m)) scored on both test sets; the tables and the figure. (Over
    seeds, with the paired tests: ``test_cyclegan_ablate_seeds.py``.)"""
    out = tmp_path / "stego"
    args = ["--preset", "stego", "--cutoffs", "1.0,0.5", "--seed", "1", "--out", str(out), "--epochs", "1",
            "--epochs-decay", "0", "--steps-per-epoch", "1", "--crop", "32", "--n-blocks", "1", "--filters", "4",
            "--train-args", "--image-every 1000", "--size", "32", "--stego-n", "2", "--n-synthetic", "4",
            "--masks", "both", "--test-data", "simulated,stardist", *TINY_STARDIST]
    res = CliRunner().invoke(ablate.main, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    r = json.loads((out / "ablation.json").read_text())
    config = CycleGANConfig.load(out / "models" / "dct_0.5" / "config.json")
    assert config.images == "simulated" and config.mask_density == 2.0 and config.crop == 32  # preset, then options
    assert config.seed == 1 and len(r["runs"]) == 2
    assert r["wall_time_s"]["runs"] == 2 and r["wall_time_s"]["train_total"] > 0
    ref = json.loads((out / "reference" / "evaluation.json").read_text())
    assert ref["label"] == "labelled B" and ref["budget"]["n_train"] + ref["budget"]["n_val"] == 200
    assert ref["test_sets"]["simulated"]["n_images"] == 50 and ref["test_sets"]["stardist"]["n_images"] == 1
    for x in r["runs"]:
        assert 0 <= x["noise_vs_clean"]["8"] <= 1 and 0 <= x["jpeg_vs_clean"] <= 1 and 0 <= x["f1_input_otsu"] <= 1
        assert 0 <= x["f1_cycled_stardist"] <= 1 and 0 <= x["dice_input_stardist"] <= 1
        assert set(x["downstream"]) == {"cycled", "input"} and set(x["reference"]) == {"simulated", "stardist"}
        assert x["f1"] == x["downstream"]["cycled"]["simulated"]["f1"]
    stego = json.loads((out / "stego" / "vanilla" / "stego.json").read_text())
    assert "cycled_vs_stardist" in stego["instance_agreement"] and "input_vs_otsu" in stego["instance_agreement"]
    assert (out / "evaluation" / "dct_0.5_input" / "evaluation.json").is_file()
    figure = read_image(out / "variants.png")
    assert figure.shape[0] > 2 * 128  # a title strip and one row per variant (tiles enlarged to 128 px)
    md = (out / "ablation.md").read_text()
    assert "F(JPEG75) vs F(G(m))" in md and "| seed 1 | labelled B |" in md

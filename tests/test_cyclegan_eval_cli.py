"""End-to-end tests of the stego, evaluate and ablate commands on tiny models (cyclegan_dct)."""

import json
import math
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import TINY_STARDIST
from cyclegan_dct import ablate, ablation, evaluate, steganography, stego
from cyclegan_dct import evaluation as evaluation_lib
from cyclegan_dct.config import CycleGANConfig
from data.io import read_image, write_json

pytestmark = pytest.mark.slow  # trains models or runs the CLIs in subprocesses

TINY_SD = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--patch-size", "32", "--n-rays", "8",
           "--grid", "2", "--unet-depth", "2", "--unet-filters", "8"]


def _finite(obj):
    """All numbers in a nested JSON object are finite."""
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def _tiny_model_dir(path, dct=True, cutoff=0.5):
    """A model folder built by hand: two 1-block, 8-filter generators and their config.json."""
    from cyclegan_dct import build_generator
    from data.packaging.keras_export import export_model

    config = CycleGANConfig(crop=32, n_blocks=1, filters=8, d_filters=8, dct=dct, dct_cutoff=cutoff,
                            epochs=1, epochs_decay=0, steps_per_epoch=1)
    path.mkdir(parents=True)
    write_json(path / "config.json", config.to_dict())
    for i, name in enumerate(("generator_a2b", "generator_b2a")):
        import keras

        keras.utils.set_random_seed(i)
        export_model(build_generator(1, n_blocks=1, filters=8, name=name), path / f"{name}.keras")
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"dct": _tiny_model_dir(root / "dct_0.5"), "vanilla": _tiny_model_dir(root / "vanilla", dct=False)}


@pytest.fixture(scope="module")
def synthetic(models, tmp_path_factory):
    from cyclegan_dct.synthesis import generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(models["dct"], n=4, out=out, size=64, seed=0)
    return out


@pytest.fixture(scope="module")
def evaluation(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(synthetic), "--out", str(out), *TINY_SD,
                                             "--val-fraction", "0.25", "--label", "tiny dct"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return out


def test_stego_cli_writes_report_and_panel(models, tmp_path):
    out = tmp_path / "stego"
    res = CliRunner().invoke(stego.main, ["--model-dir", str(models["dct"]), "--n", "3", "--size", "32",
                                          "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    r = json.loads((out / "stego.json").read_text())
    for key in ("model_dir", "n", "size", "seed", "model", "filter", "cutoff", "cutoff_source", "sensitivity",
                "high_frequency_energy", "agreement", "panel", "panel_columns", "wall_time_s"):
        assert key in r, key
    assert _finite(r)
    assert [s["sigma"] for s in r["sensitivity"]] == [0, 1, 2, 4, 8]
    assert all(0 <= s["dice_mean"] <= 1 for s in r["sensitivity"])
    assert r["filter"] == "DCTLowPass(0.5)" and r["cutoff"] == 0.5 and r["cutoff_source"] == "model"
    hf = r["high_frequency_energy"]
    assert 0 <= hf["generated"]["fraction"]["mean"] <= 1 and 0 <= hf["real"]["fraction"]["mean"] <= 1
    assert hf["generated"]["fraction"]["n"] == 3 and hf["real_source"] == "stardist.data.test_image_nuclei_2d"
    assert set(r["agreement"]) == {"input_vs_cycled", "input_vs_otsu", "cycled_vs_otsu"}
    assert set(r["agreement"]["input_vs_cycled"]) == {"dice", "iou"}
    # sigma 0 is the noiseless cycle: its Dice is the input/cycled agreement
    assert r["sensitivity"][0]["dice_mean"] == pytest.approx(r["agreement"]["input_vs_cycled"]["dice"]["mean"])
    panel = read_image(out / "stego.png")
    assert panel.dtype == np.uint8 and panel.ndim == 2
    # 3 rows of 7 tiles under a title strip, 32 px tiles enlarged 4x (to 128 px) to hold the titles
    assert panel.shape == (18 + 3 * (128 + 4), 7 * (128 + 4) - 4)
    assert r["panel_tile"] == 128 and r["panel_header"] == 18
    assert set(r["perturbations"]) == {"jpeg75", "blur1"}
    assert set(r["instance_agreement"]) == {"input_vs_cycled", "input_vs_otsu", "cycled_vs_otsu"}
    assert all(s["dice_vs_clean_mean"] <= 1 for s in r["sensitivity"])
    assert r["sensitivity"][0]["dice_vs_clean_mean"] == 1
    assert "sigma" in res.output


def test_stego_vanilla_model_uses_default_residual_cutoff(models, tmp_path):
    report = steganography.run_stego(models["vanilla"], tmp_path, n=2, size=32, seed=0)
    assert report["filter"] == "none" and report["model"]["vanilla"]
    assert report["cutoff"] == 0.5 and "vanilla" in report["cutoff_source"]


def test_stego_real_images_folder(models, tmp_path):
    from data.io import write_tiff

    real = tmp_path / "real"
    flat = np.full((40, 40), 1000, np.uint16)
    flat[::2, ::2] = 3000  # a pixel lattice: almost all its non-DC energy is above the 0.5 cutoff
    write_tiff(real / "a.tif", flat)
    report = steganography.run_stego(models["dct"], tmp_path / "out", n=2, size=32, seed=0, real_images=real)
    hf = report["high_frequency_energy"]
    assert hf["real_source"] == str(real) and hf["real"]["fraction"]["mean"] > 0.95
    write_tiff(real / "b.tif", np.zeros((16, 40), np.uint16))
    res = CliRunner().invoke(stego.main, ["--model-dir", str(models["dct"]), "--size", "32", "--n", "1",
                                          "--real-images", str(real), "--out", str(tmp_path / "o2")])
    assert res.exit_code != 0 and "b.tif" in res.output and "smaller" in res.output
    assert not (tmp_path / "o2").exists()


def test_stego_sensitivity_detects_a_hidden_low_amplitude_channel(models):
    """A hand-made steganographic pair: G hides m as a +-1 grey level pattern, F amplifies it.

    Without noise F reads m back perfectly; a few grey levels of noise destroy it.
    """
    import keras

    from cyclegan_dct import load_models

    config, _, _ = load_models(models["vanilla"])
    scale = 1.0 / 255.0  # half a grey level in the [-1, 1] range
    inp = keras.Input((None, None, 1))
    g = keras.Model(inp, keras.layers.Rescaling(scale)(inp))  # image = m * 1/255: invisible
    f = keras.Model(inp, keras.layers.Rescaling(1.0 / scale)(inp))  # F thresholds the faint signal back
    report, _ = steganography.stego_report(config, g, f, n=3, size=32, seed=0)
    dice = [s["dice_mean"] for s in report["sensitivity"]]
    assert dice[0] == pytest.approx(1.0)
    assert dice[-1] < 0.8 and dice[-1] < dice[0]
    assert report["agreement"]["input_vs_cycled"]["dice"]["mean"] == pytest.approx(1.0)


def test_stego_bad_model_dir_and_size_fail_cleanly(tmp_path, models):
    res = CliRunner().invoke(stego.main, ["--model-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "config.json" in res.output
    assert not (tmp_path / "o").exists()
    res = CliRunner().invoke(stego.main, ["--model-dir", str(models["dct"]), "--size", "30", "--n", "1",
                                          "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "size" in res.output and "30" in res.output and "multiple of 4" in res.output
    assert "config.json" not in res.output and not (tmp_path / "o").exists()
    res = CliRunner().invoke(stego.main, ["--model-dir", str(models["dct"]), "--segmenter", str(tmp_path),
                                          "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and f"{tmp_path}: not a StarDist model folder" in res.output
    assert not (tmp_path / "o").exists()


def test_evaluate_cli_writes_metrics_and_budget(evaluation, synthetic):
    r = json.loads((evaluation / "evaluation.json").read_text())
    for key in ("label", "synthetic", "masks", "synthetic_summary", "test_data", "budget", "thresholds", "metrics",
                "wall_time_s", "stardist_model"):
        assert key in r, key
    assert _finite(r)
    m = r["metrics"]
    for key in ("precision", "recall", "f1", "ap", "mean_f1", "tp", "fp", "fn", "n_true", "n_pred", "per_threshold"):
        assert key in m, key
    assert all(0 <= m[k] <= 1 for k in ("precision", "recall", "f1", "ap", "mean_f1"))
    assert r["test_data"] == {"source": "stardist.data.test_image_nuclei_2d", "n_images": 1, "n_nuclei": 125}
    assert r["budget"]["epochs"] == 1 and r["budget"]["steps_per_epoch"] == 2
    assert r["budget"]["n_train"] == 3 and r["budget"]["n_val"] == 1
    assert r["masks"] == "cycled" and r["label"] == "tiny dct"
    assert r["synthetic_summary"]["count"] == 4 and "dice" not in r["synthetic_summary"]
    assert r["wall_time_s"]["total"] >= r["wall_time_s"]["train"] > 0
    assert (evaluation / "stardist" / "model" / "config.json").is_file()
    md = (evaluation / "evaluation.md").read_text()
    assert "| 0.50 |" in md and "1 epochs x 2 steps" in md


def test_evaluate_compare_tabulates_runs(evaluation, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    r = json.loads((evaluation / "evaluation.json").read_text())
    r["label"], r["metrics"]["f1"] = "copy", 0.25
    write_json(other / "evaluation.json", r)
    out = tmp_path / "cmp"
    res = CliRunner().invoke(evaluate.main, ["--compare", str(evaluation), str(other), "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    rows = json.loads((out / "comparison.json").read_text())["rows"]
    assert [row["label"] for row in rows] == ["tiny dct", "copy"] and rows[1]["f1"] == 0.25
    md = (out / "comparison.md").read_text()
    assert "| copy | cycled |" in md and "0.250" in md and md == res.output
    res = CliRunner().invoke(evaluate.main, ["--compare", str(tmp_path / "missing"), "--out", str(out)])
    assert res.exit_code != 0 and "evaluation.json" in res.output


def test_evaluate_on_given_test_folders_and_input_masks(synthetic, tmp_path):
    """Test folders given on the command line (here two synthetic pairs) and training on the input masks."""
    timg, tmask = tmp_path / "ti", tmp_path / "tm"
    timg.mkdir()
    tmask.mkdir()
    for name in ("0000.tif", "0001.tif"):
        shutil.copy(synthetic / "masks" / name, tmask / name)
        shutil.copy(synthetic / "images" / name, timg / name)
    config = evaluate.StarDistConfig(n_rays=8, grid=2, unet_depth=2, unet_filters=8, patch_size=32, batch_size=2,
                                 epochs=1, steps_per_epoch=1, val_fraction=0.25, optimize_thresholds=False)
    r = evaluation_lib.run_evaluation(synthetic, tmp_path / "out", config, masks="input", test_images=timg,
                                      test_masks=tmask)
    assert r["masks"] == "input" and r["test_data"]["n_images"] == 2
    n_true = sum(len(np.unique(read_image(tmask / n))) - 1 for n in ("0000.tif", "0001.tif"))
    assert r["metrics"]["n_true"] == n_true
    # per image and pooled: matching_dataset pools the one-to-one matches of every image
    per = r["per_image"]
    assert [p["name"] for p in per] == ["0000.tif", "0001.tif"]
    for key in ("n_true", "n_pred", "tp", "fp", "fn"):
        assert sum(p[key] for p in per) == r["metrics"][key], key
    md = (tmp_path / "out" / "evaluation.md").read_text()
    assert "Per test image" in md and "| 0001.tif |" in md


def test_generate_writes_the_low_passed_image_f_read(models, tmp_path):
    """For a DCT model images/ holds LP(G(m)) (the image the cycled mask was computed from), and
    --also-unfiltered adds G(m); a vanilla model writes G(m) (no filter) and no unfiltered copy."""
    import cyclegan_dct
    from cyclegan_dct import domains, generate, synthesis
    from cyclegan_dct.layers import DCTLowPass
    from data.io import from_model_range

    out = tmp_path / "dct"
    res = CliRunner().invoke(generate.main, ["--model-dir", str(models["dct"]), "--n", "2", "--size", "32",
                                             "--out", str(out), "--also-unfiltered"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    _, g, f = cyclegan_dct.load_models(models["dct"])
    m = read_image(out / "masks" / "0001.tif")
    fake = g(domains.labels_to_input(m)[None], training=False)
    low = DCTLowPass(0.5)(fake)
    image, unfiltered = read_image(out / "images" / "0001.tif"), read_image(out / "images_unfiltered" / "0001.tif")
    assert np.abs(image.astype(int) - from_model_range(low.numpy()[0, ..., 0], np.uint16)).max() <= 1
    assert np.abs(unfiltered.astype(int) - from_model_range(fake.numpy()[0, ..., 0], np.uint16)).max() <= 1
    assert np.abs(image.astype(int) - unfiltered.astype(int)).max() > 100  # the filter changed the image
    np.testing.assert_array_equal(read_image(out / "cycled_masks" / "0001.tif"),
                                  domains.output_to_labels(f(low, training=False).numpy()[0], m))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"].startswith("LP(G(m))") and summary["images_unfiltered"] == "G(m)"

    out = tmp_path / "vanilla"
    summary = synthesis.generate(models["vanilla"], n=1, out=out, size=32, also_unfiltered=True)
    assert summary["images"] == "G(m)" and summary["images_unfiltered"] is None
    assert not (out / "images_unfiltered").exists()


def test_evaluate_bad_input_fails_without_output(synthetic, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(synthetic, broken)
    shutil.rmtree(broken / "cycled_masks")
    out = tmp_path / "out"
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(broken), "--out", str(out), *TINY_SD])
    assert res.exit_code != 0 and "cycled_masks" in res.output
    assert not (out / "evaluation.json").exists()
    (broken / "cycled_masks").mkdir()
    shutil.copy(synthetic / "cycled_masks" / "0000.tif", broken / "cycled_masks" / "0000.tif")
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(broken), "--out", str(out), *TINY_SD])
    assert res.exit_code != 0 and "0001.tif" in res.output and "missing mask" in res.output
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(synthetic), "--out", str(out), "--patch-size", "36"])
    assert res.exit_code != 0 and "patch_size" in res.output
    res = CliRunner().invoke(evaluate.main, ["--synthetic", str(synthetic), "--test-images", str(synthetic)])
    assert res.exit_code != 0 and "--test-masks" in res.output
    with pytest.raises(ValueError, match="unet_filters"):
        evaluate.StarDistConfig(unet_filters=0)


def test_ablate_parses_cutoffs_and_builds_train_commands(tmp_path):
    assert ablation.parse_cutoffs("1.0, 0.75,0.5") == [1.0, 0.75, 0.5]
    for bad in ("", "0.5,0.5", "1.5", "a"):
        with pytest.raises(ValueError):
            ablation.parse_cutoffs(bad)
    opts = {"epochs": 2, "steps_per_epoch": None, "n_blocks": 4}
    van = ablation.train_command(1.0, tmp_path / "m", tmp_path / "l", 3, opts, "--lambda-identity 0.5")
    assert "--no-dct" in van and "--dct-cutoff" not in van
    assert van[van.index("--seed") + 1] == "3" and van[van.index("--epochs") + 1] == "2"
    assert "--steps-per-epoch" not in van and van[-2:] == ["--lambda-identity", "0.5"]
    dct = ablation.train_command(0.25, tmp_path / "m", tmp_path / "l", 3, opts)
    assert dct[dct.index("--dct-cutoff") + 1] == "0.25" and "--no-dct" not in dct
    assert ablation.run_name(1.0) == "vanilla" and ablation.run_name(0.25) == "dct_0.25"


def test_ablate_end_to_end_with_training_and_given_models(models, tmp_path):
    """The vanilla cutoff trained 1 step by the train CLI, then generate, stego, evaluate; then --models
    compares that trained folder with a hand-built DCT model, reusing the finished steps of the first."""
    out = tmp_path / "abl"
    sd = TINY_STARDIST
    args = ["--cutoffs", "1.0", "--out", str(out), "--seed", "0", "--epochs", "1", "--epochs-decay", "0",
            "--steps-per-epoch", "1", "--crop", "32", "--n-blocks", "1", "--filters", "4",
            "--train-args", "--image-every 1000", "--n-synthetic", "3", "--size", "32", "--stego-n", "2",
            *sd]
    res = CliRunner().invoke(ablate.main, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    r = json.loads((out / "ablation.json").read_text())
    assert _finite(r)
    (row,) = r["rows"]
    assert row["name"] == "vanilla" and row["cutoff"] == 1.0 and row["train_s"] > 0
    trained = out / "models" / "vanilla"
    assert CycleGANConfig.from_dict(json.loads((trained / "config.json").read_text())).vanilla
    assert ablation.model_cutoff(trained) == 1.0 and ablation.model_cutoff(models["dct"]) == 0.5
    assert (out / "synthetic" / "vanilla" / "summary.json").is_file()

    res = CliRunner().invoke(ablate.main, ["--models", f"{trained},{models['dct']}", "--out", str(out), "--reuse",
                                           "--size", "32", "--n-synthetic", "3", "--stego-n", "2", *sd])
    assert res.exit_code == 0, res.output + repr(res.exception)
    r2 = json.loads((out / "ablation.json").read_text())
    assert _finite(r2)
    assert [x["name"] for x in r2["rows"]] == ["vanilla", "dct_0.5"]
    assert [x["cutoff"] for x in r2["rows"]] == [1.0, 0.5]
    assert all(x["train_s"] is None for x in r2["rows"])
    assert r2["rows"][0]["f1"] == row["f1"]  # reused, not recomputed
    for x in r2["rows"]:
        for key in ("sensitivity", "hf_generated", "hf_real", "dice_input_cycled", "dice_input_otsu", "f1", "ap",
                    "mean_f1"):
            assert key in x, key
        assert list(x["sensitivity"]) == ["0", "1", "2", "4", "8"]
    assert read_image(out / "ablation.png").ndim == 3
    md = (out / "ablation.md").read_text()
    assert "| vanilla | 1 | - |" in md and "| dct_0.5 | 0.5 | - |" in md
    assert "- vanilla: CycleGAN 1+0 epochs x 1 steps, batch 1, crop 32, 1 blocks, 4 filters" in md
    res = CliRunner().invoke(ablate.main, ["--models", f"{trained},{trained}", "--out", str(out)])
    assert res.exit_code != 0 and "differ" in res.output

"""SRCNN baseline (msrgan.srcnn): sizes, the bicubic layer, save/load, and training on the scaffold
(python -m msrgan.train --model srcnn)."""

import gc
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import msrgan
from msrgan import layers, srcnn, train
from msrgan.config import SRCNNConfig


@pytest.mark.parametrize("channels, expected", [(1, 8129), (3, 20099)])
def test_parameter_counts_9_1_5(channels, expected):
    # 81 c 64 + 64 + 64 * 32 + 32 + 25 * 32 c + c (Dong et al. 2014, 9-1-5 with n1 = 64, n2 = 32)
    assert 81 * channels * 64 + 64 + 64 * 32 + 32 + 25 * 32 * channels + channels == expected
    model = srcnn.build_srcnn((None, None, channels))
    assert model.count_params() == expected
    assert [layer.kernel.shape[:2] for layer in model.layers if hasattr(layer, "kernel")] == [(9, 9), (1, 1), (5, 5)]


def test_output_sizes_same_and_valid_padding():
    x = np.zeros((2, 24, 20, 3), np.float32)
    assert srcnn.build_srcnn((None, None, 3))(x).shape == (2, 96, 80, 3)
    # the paper's valid convolutions lose f1 + f2 + f3 - 3 = 12 pixels
    assert srcnn.build_srcnn((24, 20, 3), padding="valid")(x).shape == (2, 84, 68, 3)
    with pytest.raises(ValueError, match="padding"):
        srcnn.build_srcnn(padding="zeros")


def test_reflect_padding_is_the_papers_valid_network_on_a_padded_input(tmp_path):
    """padding="reflect": valid convolutions on the bicubic image reflection-padded by 4 + 0 + 2 = 6 px,
    so the output has the HR size and its interior equals the paper's valid network with the same weights."""
    keras.utils.set_random_seed(3)
    valid = srcnn.build_srcnn((None, None, 3), padding="valid")
    reflect = srcnn.build_srcnn((None, None, 3), padding="reflect")
    reflect.set_weights(valid.get_weights())
    x = np.random.default_rng(4).uniform(-1, 1, (1, 10, 9, 3)).astype(np.float32)
    out = reflect(x).numpy()
    assert out.shape == (1, 40, 36, 3)
    np.testing.assert_allclose(out[:, 6:-6, 6:-6], valid(x).numpy(), atol=1e-5)
    reflect.save(tmp_path / "r.keras")
    np.testing.assert_allclose(msrgan.load_generator(tmp_path / "r.keras")(x).numpy(), out, atol=1e-6)


def test_bicubic_layer_is_tf_bicubic_resize_of_any_size():
    rng = np.random.default_rng(0)
    layer = layers.BicubicUpsampling(4)
    assert msrgan.BicubicUpsampling is layers.BicubicUpsampling
    for shape in ((1, 6, 6, 3), (2, 5, 9, 1)):
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        want = tf.image.resize(x, (shape[1] * 4, shape[2] * 4), method="bicubic").numpy()
        np.testing.assert_allclose(layer(x).numpy(), want, atol=1e-6)
    assert layer.compute_output_shape((None, None, 7, 3)) == (None, None, 28, 3)


def test_save_load_same_output_and_drop_in_generator(tmp_path):
    keras.utils.set_random_seed(1)
    model = srcnn.build_srcnn((None, None, 3))
    path = tmp_path / "srcnn.keras"
    model.save(path)
    loaded = msrgan.load_generator(path)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 10, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)  # load_generator's 4x check


TINY = ["--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "2", "--image-size", "32", "--demo-n", "40",
        "--val-steps", "1"]


@pytest.mark.slow
def test_train_model_srcnn_on_the_scaffold_exports_best_float32_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default run folder backup/srcnn, logs/srcnn
    r = CliRunner().invoke(train.main, ["--model", "srcnn", *TINY, "--precision", "mixed_bfloat16"])
    keras.mixed_precision.set_global_policy("float32")
    assert r.exit_code == 0, r.output
    run = tmp_path / "backup" / "srcnn"
    assert "exports in backup/srcnn" in r.output and "best val_psnr" in r.output
    assert {p.name for p in run.iterdir()} >= {"config.json", "ckpt", "export.json", "srcnn.keras"}
    config = json.loads((run / "config.json").read_text())
    assert (config["n1"], config["n2"], config["padding"], config["lr"]) == (64, 32, "reflect", 1e-3)
    assert config["epochs"] == 2 and config["precision"] == "mixed_bfloat16"
    record = json.loads((run / "export.json").read_text())
    assert record["monitor"] == "val_psnr" and record["files"] == ["srcnn.keras"]
    assert record["value"] == record["logs"]["val_psnr"] and math.isfinite(record["value"])
    assert record["epoch"] in (1, 2) and 0 < record["logs"]["val_ssim"] <= 1
    assert list((tmp_path / "logs" / "srcnn").iterdir())  # TensorBoard
    model = msrgan.load_generator(run / "srcnn.keras")
    assert model.count_params() == 20099 and all(w.dtype == "float32" for w in model.weights)
    assert model.input_shape == (None, None, None, 3)
    assert not list(run.glob(".*tmp*"))
    # re-running resumes: nothing to do after 2 of 2 epochs
    r = CliRunner().invoke(train.main, ["--model", "srcnn", *TINY, "--precision", "mixed_bfloat16"])
    keras.mixed_precision.set_global_policy("float32")
    assert r.exit_code == 0 and "done: epoch 2, step 4" in r.output, r.output


@pytest.mark.slow
def test_srcnn_exports_the_best_validation_epoch(tmp_path, monkeypatch):
    """The scaffold's monitor: an epoch with a lower val_psnr leaves srcnn.keras and export.json alone."""
    from data.engine import loop as training

    spec = srcnn.SRCNNRecipe(SRCNNConfig(epochs=3, steps_per_epoch=1, batch_size=2, image_size=16, demo_n=40,
                                         val_steps=1))
    assert (spec.monitor, spec.mode, spec.architecture_keys) == ("val_psnr", "max", ("n1", "n2", "padding", "scale"))
    psnr = tf.Variable(0.0)
    scores = iter([20.0, 25.0, 22.0])  # validation PSNR peaks in the middle epoch
    real = srcnn.SRCNN._scores
    monkeypatch.setattr(srcnn.SRCNN, "_scores", lambda self, hr, sr: {**real(self, hr, sr), "psnr": psnr + 0.0})
    weights = {}

    class Scripted(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            psnr.assign(next(scores))

        def on_epoch_end(self, epoch, logs=None):
            weights[epoch + 1] = self.model.network.get_weights()

    spec.callbacks = lambda model, validation: [Scripted()]  # before the checkpoint callback, as a recipe's
    result = training.train(spec, tmp_path / "run", tmp_path / "logs", verbose=0)
    assert result["epoch"] == 3 and result["export"]["epoch"] == 2 and result["export"]["value"] == 25.0
    exported = msrgan.load_generator(tmp_path / "run" / "srcnn.keras").get_weights()
    for a, b in zip(exported, weights[2]):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(exported, weights[3]))


def test_srcnn_options_belong_to_srcnn_and_gan_options_to_msrgan(tmp_path):
    r = CliRunner().invoke(train.main, ["--model", "srcnn", "--alpha", "0.3", "--backup-dir", str(tmp_path / "s")])
    assert r.exit_code == 2 and "--alpha: not an option of --model srcnn" in r.output
    r = CliRunner().invoke(train.main, ["--srcnn-lr", "0.01", "--backup-dir", str(tmp_path / "m")])
    assert r.exit_code == 2 and "--srcnn-lr: not an option of --model msrgan" in r.output
    assert not list(tmp_path.iterdir())


def test_srcnn_bad_config_and_bad_data_dir_are_one_line(tmp_path):
    # Objects of earlier tests (a tf.train.Checkpoint with unrestored values) would otherwise be
    # garbage-collected during the CLI call, and TensorFlow's warning about them would join its output.
    gc.collect()
    run = tmp_path / "run"
    args = ["--model", "srcnn", "--backup-dir", str(run), "--logdir", str(tmp_path / "logs")]
    r = CliRunner().invoke(train.main, [*args, "--srcnn-padding", "valid", "--image-size", "30", "--srcnn-lr", "-1"])
    assert r.exit_code != 0 and len(r.output.strip().splitlines()) == 1
    assert "padding='valid'" in r.output and "image_size=30" in r.output and "lr=-1" in r.output
    bad = tmp_path / "nodata"
    r = CliRunner().invoke(train.main, [*args, "--data-dir", str(bad)])
    assert r.exit_code == 1 and str(bad) in r.output and len(r.output.strip().splitlines()) == 1
    assert not run.exists()

"""BN that is right at inference, best-epoch export, the pre-trained export and the epoch figures (issue 9)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from data import batchnorm, metrics
from data.io import from_model_range
from data.pipeline import downscale
from msrgan import training
from msrgan.callbacks import BestGeneratorExport
from msrgan.config import MSRGANConfig
from msrgan.figures import epoch_figure
from msrgan.model import psnr_8bit, ssim_8bit
from msrgan.networks import build_generator

TINY = dict(n_blocks=2, filters=8, d_filters=4, dense_units=8, image_size=32, batch_size=8, demo_n=80, beta=0.0,
            dropout=0.0, val_steps=1, log_every=1, image_every=1000)


def _train(tmp_path, **kw):
    config = MSRGANConfig(**{**TINY, **kw}).validate()
    return training.train(config, backup_dir=tmp_path / "backup", logdir=tmp_path / "logs",
                          result_dir=tmp_path / "result", verbose=0)


def _val_hr(n=16):
    from data.pipeline import hr_dataset

    ds = hr_dataset(split="test", batch_size=n, image_size=32, demo_n=80, augment=False, shuffle=False, repeat=False)
    return next(iter(ds)).numpy()


def _psnr(model, hr, training_mode):
    sr = model(downscale(tf.constant(hr), 4), training=training_mode).numpy()
    hr8, sr8 = from_model_range(hr), from_model_range(sr)
    return float(np.mean([metrics.psnr(a, b) for a, b in zip(hr8, sr8)]))


# ------------------------------------------------------------------ BN recalibration
def test_recalibrate_sets_the_equal_weight_average_of_the_batch_statistics():
    inp = keras.Input((3,))
    x = keras.layers.Dropout(0.5)(inp)
    bn = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inp, bn(x))
    model.trainable = False  # a frozen model (as the miniVGG19 feature extractor) is recalibrated too
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc, scale, (64, 3)).astype(np.float32) for loc, scale in ((1, 1), (3, 2), (-2, 0.5))]
    assert batchnorm.recalibrate(model, batches, n=3) == 3
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4)
    # everything restored: momentum, trainable flags, dropout rate
    assert bn.momentum == 0.99 and not bn.trainable and model.layers[1].rate == 0.5
    # n limits the batches taken from an iterator
    it = iter(batches * 2)
    assert batchnorm.recalibrate(model, it, n=2) == 2
    assert len(list(it)) == 4
    # no BN: nothing consumed
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert batchnorm.recalibrate(plain, iter(batches)) == 0


def test_batchnorm_layers_finds_nested_models():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="inner_bn")])
    inp = keras.Input((4,))
    outer = keras.Model(inp, keras.layers.BatchNormalization(name="outer_bn")(inner(inp)))
    assert sorted(bn.name for bn in batchnorm.batchnorm_layers(outer)) == ["inner_bn", "outer_bn"]


@pytest.fixture(scope="module")
def stale_runs(tmp_path_factory):
    """The same short, large-lr run (BN momentum 0.99) exported without and with recalibration."""
    out = {}
    for k in (0, 8):
        tmp = tmp_path_factory.mktemp(f"recal{k}")
        keras.utils.set_random_seed(0)
        _train(tmp, epochs=1, steps_per_epoch=20, g_lr=2e-2, bn_recalibration_batches=k)
        out[k] = tmp / "backup"
    return out


@pytest.mark.parametrize("k", [0, 8])
def test_exported_generator_in_inference_mode_matches_batch_statistics(stale_runs, k):
    import msrgan

    g = msrgan.load_generator(stale_runs[k] / "generator.keras")
    hr = _val_hr()
    gap = _psnr(g, hr, True) - _psnr(g, hr, False)
    if k == 0:
        # the failure being fixed: without recalibration, stale statistics cost well over 0.3 dB
        assert abs(gap) > 0.3, gap
    else:
        assert abs(gap) < 0.3, gap


def test_recalibration_leaves_trainable_weights_alone():
    keras.utils.set_random_seed(1)
    g = build_generator((8, 8, 3), n_blocks=1, filters=8, dropout=0.5)
    before = [w.numpy().copy() for w in g.trainable_weights]
    batchnorm.recalibrate(g, [np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype(np.float32)])
    for a, w in zip(before, g.trainable_weights):
        np.testing.assert_array_equal(a, w.numpy())
    assert all(layer.rate == 0.5 for layer in g.layers if isinstance(layer, keras.layers.Dropout))


# ------------------------------------------------------------------ validation metrics
def test_validation_psnr_ssim_follow_data_metrics():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (3, 20, 17, 3)).astype(np.float32)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape).round(), 0, 255).astype(np.float32)
    got_p, got_s = psnr_8bit(tf.constant(hr), tf.constant(sr)).numpy(), ssim_8bit(tf.constant(hr), tf.constant(sr)).numpy()
    for i in range(3):
        assert got_p[i] == pytest.approx(metrics.psnr(hr[i].astype(np.uint8), sr[i].astype(np.uint8)), abs=1e-4)
        assert got_s[i] == pytest.approx(metrics.ssim(hr[i].astype(np.uint8), sr[i].astype(np.uint8)), abs=1e-5)


# ------------------------------------------------------------------ best-epoch export
class _Var:
    def __init__(self, v):
        self.v = v

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.v, dtype)

    def assign(self, v):
        self.v = v


class _Gan:
    steps_done = 0


def test_best_export_follows_a_sequence_that_peaks_in_the_middle(tmp_path):
    exported, gan = [], _Gan()
    cb = BestGeneratorExport(lambda: exported.append(gan.steps_done), _Var(-np.inf), gan, tmp_path / "generator.keras",
                             tmp_path / "export.json", pretrain_steps=20)
    for epoch, psnr in enumerate([20.0, 23.0, 26.5, 25.0, 24.0]):
        gan.steps_done = 10 * (epoch + 1)
        cb.on_epoch_end(epoch, {"g_loss": 1.0, "val_psnr": psnr, "val_ssim": psnr / 100})
    assert exported == [10, 20, 30]
    summary = json.loads((tmp_path / "export.json").read_text())
    assert summary["epoch"] == 3 and summary["step"] == 30 and summary["phase"] == "adversarial"
    assert summary["val_psnr"] == 26.5 and summary["val_ssim"] == 0.265


def test_training_exports_the_best_epoch_and_the_pretrained_generator(tmp_path, monkeypatch):
    """A run whose (mocked) validation PSNR peaks at epoch 2 of 3 exports epoch 2's generator."""
    sequence = iter([21.0, 24.0, 22.0])

    class Mocked(BestGeneratorExport):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_psnr"] = next(sequence)
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(training, "BestGeneratorExport", Mocked)
    keras.utils.set_random_seed(0)
    result = _train(tmp_path, epochs=3, steps_per_epoch=2, pretrain_steps=2, g_lr=1e-2, bn_recalibration_batches=2)
    assert result["epoch"] == 3
    backup = tmp_path / "backup"
    summary = json.loads((backup / "export.json").read_text())
    assert (summary["epoch"], summary["step"], summary["val_psnr"]) == (2, 4, 24.0)
    assert "val_ssim" in summary

    import msrgan

    exported = msrgan.load_generator(backup / "generator.keras")
    pretrained = msrgan.load_generator(backup / "generator_pretrained.keras")

    def ckpt_weights(epoch):
        g = training.make_generator(MSRGANConfig(**TINY), (8, 8, 3))
        tf.train.Checkpoint(generator=g).read(str(backup / "ckpt" / f"ckpt-{epoch}")).expect_partial()
        return g.get_weights()

    # epoch 2 is checkpointed (ckpt-2) and equals the export; epoch 3 (the last, kept for resume) differs
    for a, b in zip(exported.get_weights(), ckpt_weights(2)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(exported.get_weights(), ckpt_weights(3)))
    # the pre-trained export is the generator after step 2 = end of epoch 1
    for a, b in zip(pretrained.get_weights(), ckpt_weights(1)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # the last epoch has its figure and a TensorBoard image panel
    assert (tmp_path / "result" / "epoch_0003.png").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "logs" / "images"), size_guidance={"tensors": 0})
    acc.Reload()
    steps = [e.step for e in acc.Tensors("epoch_figure")]
    assert 6 in steps


# ------------------------------------------------------------------ options
def test_bn_momentum_and_residual_bicubic_options():
    g = build_generator((6, 6, 3), n_blocks=1, filters=8, dropout=0, bn_momentum=0.5, residual_bicubic=True)
    assert {bn.momentum for bn in batchnorm.batchnorm_layers(g)} == {0.5}
    # the last convolution starts at zero: G starts as exactly bicubic
    assert not np.any(g.get_layer("conv5").get_weights()[0])
    x = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(g(x).numpy(), tf.image.resize(x, (24, 24), method="bicubic").numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="bn_momentum"):
        MSRGANConfig(bn_momentum=1.0).validate()
    with pytest.raises(ValueError, match="bn_recalibration_batches"):
        MSRGANConfig(bn_recalibration_batches=-1).validate()


def test_delayed_exponential_decay():
    s = training.DelayedExponentialDecay(1e-3, 0.5, start=200)
    assert float(s(0)) == pytest.approx(1e-3) and float(s(200)) == pytest.approx(1e-3)
    assert float(s(300)) == pytest.approx(5e-4) and float(s(400)) == pytest.approx(2.5e-4)


def test_epoch_figure_has_titles_and_scores():
    rng = np.random.default_rng(0)
    hr = rng.uniform(0, 1, (2, 16, 16, 3))
    images = {"lr_input": hr[:, ::4, ::4], "bicubic_4x": hr * 0.9, "sr_output": hr, "hr_ground_truth": hr}
    fig = epoch_figure(images, epoch=3, step=120)
    plain = epoch_figure(images, epoch=3, step=None)
    assert fig.dtype == np.uint8 and fig.ndim == 3 and fig.shape[2] == 3
    assert fig.shape[0] > 2 * fig.shape[1] / 4  # 2 rows of 4 columns plus title
    assert not np.array_equal(fig, plain)  # the step is drawn in the title


def test_residual_bicubic_generator_saves_and_runs_on_any_size(tmp_path):
    import msrgan

    g = build_generator((None, None, 3), n_blocks=1, filters=8, dropout=0, residual_bicubic=True)
    g.save(tmp_path / "g.keras")
    h = msrgan.load_generator(tmp_path / "g.keras")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 5, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(h(x).numpy(), g(x).numpy(), atol=1e-6)
    assert h(x).shape == (1, 20, 28, 3)


def test_vgg19_dense_init_and_recalibration_options():
    import vgg19
    from vgg19.config import VGG19Config

    m = vgg19.build_model((32, 32, 3), base_filters=4, dense_units=64, dense_init="glorot_uniform")
    w = m.get_layer("fc2").kernel.numpy()
    assert np.std(w) == pytest.approx(np.sqrt(2.0 / (64 + 64)), rel=0.15)  # Glorot, not stddev 0.1
    with pytest.raises(ValueError, match="dense_init"):
        VGG19Config(dense_init="he").validate()
    with pytest.raises(ValueError, match="bn_recalibration_batches"):
        VGG19Config(bn_recalibration_batches=-1).validate()

"""BN that is right at inference, best-epoch export, the pre-trained export and the epoch figures (issue 9)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from data import metrics
from data.engine import batchnorm
from data.engine import loop as training
from data.io import from_model_range
from data.packaging.keras_export import float32_copy
from data.pipeline import downscale
from msrgan import recipe
from msrgan.config import MSRGANConfig
from msrgan.figures import epoch_figure
from msrgan.layers import INFERENCE_FORMS
from msrgan.networks import build_generator

TINY = dict(n_blocks=2, filters=8, d_filters=4, dense_units=8, image_size=32, batch_size=8, demo_n=80, beta=0.0,
            dropout=0.0, val_steps=1, log_every=1, image_every=1000)


def _train(tmp_path, **kw):
    config = MSRGANConfig(**{**TINY, **kw})
    return recipe.train(config, backup_dir=tmp_path / "backup", logdir=tmp_path / "logs",
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


@pytest.mark.slow
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


# ------------------------------------------------------------------ best-epoch export
class _MockedValidation(keras.callbacks.Callback):
    """Replaces the epoch's val_psnr/val_ssim by the next value of ``sequence`` (before the exporter sees them)."""

    def __init__(self, sequence):
        super().__init__()
        self.sequence = iter(sequence)

    def on_epoch_end(self, epoch, logs=None):
        logs["val_psnr"] = next(self.sequence)
        logs["val_ssim"] = logs["val_psnr"] / 100


def _train_mocked(tmp_path, sequence, **kw):
    """A tiny run whose validation PSNR follows ``sequence``; every epoch's checkpoint is kept."""
    config = MSRGANConfig(**{**TINY, **kw})
    class Mocked(recipe.MSRGANRecipe):
        def callbacks(self, gan, validation):
            return super().callbacks(gan, validation) + [_MockedValidation(sequence)]

    spec = Mocked(config, tmp_path / "result", tmp_path / "logs", tmp_path / "backup")
    keras.utils.set_random_seed(0)
    return training.train(spec, tmp_path / "backup", tmp_path / "logs", verbose=0, keep_checkpoints=len(sequence))


def _ckpt_weights(backup, epoch, steps_per_epoch=2):
    g = build_generator((8, 8, 3), TINY["n_blocks"], TINY["filters"], TINY["dropout"])
    checkpoint = backup / "ckpt" / f"ckpt-{epoch * steps_per_epoch}"  # ckpt-<global step>
    tf.train.Checkpoint(generator=g).read(str(checkpoint)).expect_partial()
    # as exported: the sub-pixel shuffles become fixed Conv2DTranspose layers (msrgan.layers.INFERENCE_FORMS)
    return float32_copy(g, None, INFERENCE_FORMS).get_weights()


def _assert_same_weights(model, weights):
    assert len(model.get_weights()) == len(weights)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.slow
def test_best_adversarial_epoch_is_exported_and_the_pretrained_generator_too(tmp_path):
    """Epochs 1-2 pre-train (steps 1-4), 3-5 are adversarial; the PSNR peaks at epoch 4, mid adversarial phase."""
    import msrgan

    result = _train_mocked(tmp_path, [21.0, 22.0, 23.0, 25.0, 24.0], epochs=5, steps_per_epoch=2, pretrain_steps=4,
                           g_lr=1e-2, bn_recalibration_batches=2)
    assert result["epoch"] == 5
    backup = tmp_path / "backup"
    record = json.loads((backup / "export.json").read_text())
    assert (record["epoch"], record["step"], record["value"]) == (4, 8, 25.0)
    assert record["logs"]["val_psnr"] == 25.0 and record["logs"]["val_ssim"] == 0.25
    assert record["monitor"] == "val_psnr" and record["rule"] == recipe.EXPORT_RULE
    # generator.keras is epoch 4 (ckpt-8); the last epoch (kept for resume) differs
    exported = msrgan.load_generator(backup / "generator.keras")
    _assert_same_weights(exported, _ckpt_weights(backup, 4))
    assert any(not np.allclose(a, b) for a, b in zip(exported.get_weights(), _ckpt_weights(backup, 5)))
    # the pre-trained export is the generator after step 4 = end of epoch 2 (the SRResNet-style model)
    _assert_same_weights(msrgan.load_generator(backup / "generator_pretrained.keras"), _ckpt_weights(backup, 2))
    # the last epoch has its figure and a TensorBoard image panel
    assert (tmp_path / "result" / "epoch_0005.png").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "logs" / "images"), size_guidance={"tensors": 0})
    acc.Reload()
    assert 10 in [e.step for e in acc.Tensors("epoch_figure")]


@pytest.mark.slow
def test_a_peak_during_pretraining_is_not_exported_as_generator(tmp_path):
    """The best PSNR of all is epoch 1 (pre-training only): generator.keras is the best adversarial epoch, 4."""
    import msrgan

    _train_mocked(tmp_path, [30.0, 29.0, 22.0, 23.0, 21.0], epochs=5, steps_per_epoch=2, pretrain_steps=4,
                  g_lr=1e-2, bn_recalibration_batches=0)
    backup = tmp_path / "backup"
    record = json.loads((backup / "export.json").read_text())
    assert (record["epoch"], record["step"], record["value"]) == (4, 8, 23.0)
    _assert_same_weights(msrgan.load_generator(backup / "generator.keras"), _ckpt_weights(backup, 4))
    _assert_same_weights(msrgan.load_generator(backup / "generator_pretrained.keras"), _ckpt_weights(backup, 2))


def test_without_adversarial_steps_every_epoch_is_eligible():
    config = MSRGANConfig(**{**TINY, "epochs": 3, "steps_per_epoch": 2, "pretrain_steps": 6})
    assert not recipe.exports_adversarial_epochs(config, 2)
    assert recipe.MSRGANRecipe(config.replace(beta=0)).eligible(None)
    spec = recipe.MSRGANRecipe(config.replace(pretrain_steps=5, beta=0))
    assert spec.monitor == "val_psnr" and spec.mode == "max"

    class Gan:
        step = 5

    assert not spec.eligible(Gan())
    Gan.step = 6
    assert spec.eligible(Gan())


# ------------------------------------------------------------------ options
def test_bn_momentum_and_residual_bicubic_options():
    g = build_generator((6, 6, 3), n_blocks=1, filters=8, dropout=0, bn_momentum=0.5, residual_bicubic=True)
    assert {bn.momentum for bn in batchnorm.batchnorm_layers(g)} == {0.5}
    # the last convolution starts at zero: G starts as exactly bicubic
    assert not np.any(g.get_layer("conv5").get_weights()[0])
    x = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(g(x).numpy(), tf.image.resize(x, (24, 24), method="bicubic").numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="bn_momentum"):
        MSRGANConfig(bn_momentum=1.0)
    with pytest.raises(ValueError, match="bn_recalibration_batches"):
        MSRGANConfig(bn_recalibration_batches=-1)
    with pytest.raises(ValueError, match="g_lr_decay"):
        MSRGANConfig(g_lr_decay=0.0)


def test_delayed_exponential_decay():
    s = recipe.DelayedExponentialDecay(1e-3, 0.5, start=200)
    assert float(s(0)) == pytest.approx(1e-3) and float(s(200)) == pytest.approx(1e-3)
    assert float(s(300)) == pytest.approx(5e-4) and float(s(400)) == pytest.approx(2.5e-4)


def test_adv_g_lr_switches_the_generator_lr_at_the_end_of_pretraining():
    s = recipe.DelayedExponentialDecay(2e-3, 0.8, start=200, switch_step=700, switch_lr=1e-4)
    assert float(s(300)) == pytest.approx(1.6e-3) and float(s(699)) > 5e-4
    assert float(s(700)) == pytest.approx(1e-4) and float(s(5000)) == pytest.approx(1e-4)
    # a schedule saved before the option existed still loads (the keys it lacks take their defaults)
    old = recipe.DelayedExponentialDecay.from_config({"lr": 1e-3, "decay": 0.5, "start": 200})
    assert float(old(300)) == pytest.approx(5e-4)
    gan = recipe.build_msrgan(MSRGANConfig(n_blocks=1, filters=8, d_filters=8, dense_units=8, beta=0,
                                           pretrain_steps=3, g_lr=1e-3, adv_g_lr=1e-5))
    schedule = gan.g_optimizer._learning_rate
    assert float(schedule(2)) == pytest.approx(1e-3) and float(schedule(3)) == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="adv_g_lr"):
        MSRGANConfig(adv_g_lr=-1e-4)


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
        VGG19Config(dense_init="he")
    with pytest.raises(ValueError, match="bn_recalibration_batches"):
        VGG19Config(bn_recalibration_batches=-1)

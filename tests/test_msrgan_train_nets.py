"""mSRGAN networks, pixel shuffle, losses and the MSRGAN train/test steps (tiny configurations)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import msrgan
from conftest import n_params
from data.engine.distribute import set_precision
from data.packaging import keras_export as export
from msrgan import losses
from msrgan.layers import PixelShuffle, original_order_permutation
from msrgan.model import MSRGAN
from msrgan.networks import build_discriminator, build_generator


def _tiny_gan(beta=0.0, d_steps=1, pretrain_steps=0, dropout=0.0, seed=0, size=32):
    keras.utils.set_random_seed(seed)
    g = build_generator((size // 4, size // 4, 3), n_blocks=2, filters=8, dropout=dropout)
    d = build_discriminator((size, size, 3), filters=4, dense_units=8)
    fe = None
    if beta > 0:
        import vgg19

        fe = vgg19.build_feature_extractor(vgg19.build_model((size, size, 3), base_filters=4, dense_units=8))
    gan = MSRGAN(g, d, fe, alpha=0.4, beta=beta, adv_weight=1e-5, d_steps=d_steps, pretrain_steps=pretrain_steps)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-3))
    return gan


def _hr_batch(n=4, size=32, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


def test_faithful_parameter_counts():
    g = build_generator()
    assert n_params(g.trainable_weights) == 1_334_272
    assert n_params(g.non_trainable_weights) == 3_968
    assert g.output_shape == (None, 96, 96, 3)
    d = build_discriminator()
    assert n_params(d.weights) == 23_559_873
    assert d.output_shape == (None, 1)


def test_generator_details_prelu_dropout_any_size():
    g = build_generator((None, None, 3), n_blocks=2, filters=8, dropout=0.5)
    prelus = [layer for layer in g.layers if isinstance(layer, keras.layers.PReLU)]
    assert len(prelus) == 2 + 2  # one per block, two after the pixel shuffles
    for layer in prelus:
        (alpha,) = layer.weights
        assert alpha.shape[:2] == (1, 1) and np.all(np.asarray(alpha) == 0)
    assert all(not layer.use_bias for layer in g.layers if isinstance(layer, keras.layers.Conv2D))
    x = _hr_batch(2, 12)[:, :12, :10]
    y = g(x, training=False)
    assert y.shape == (2, 48, 40, 3)
    np.testing.assert_array_equal(y, g(x, training=False))  # no dropout at inference
    assert not np.allclose(y, g(x, training=True))
    g0 = build_generator((None, None, 3), n_blocks=2, filters=8, dropout=0.0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in g0.layers)
    assert n_params(g0.weights) == n_params(g.weights)


def _original_pixel_shuffle(x, r, n_split):
    """numpy transcription of ``pixel_shuffle_layer`` from the original ``utils/layer.py``."""
    bs, a, b, _ = x.shape
    out = []
    for xc in np.split(x, n_split, axis=3):
        t = xc.reshape(bs, a, b, r, r).transpose(0, 1, 2, 4, 3)
        t = np.concatenate([s[:, 0] for s in np.split(t, a, axis=1)], axis=2)  # (bs, b, a*r, r)
        t = np.concatenate([s[:, 0] for s in np.split(t, b, axis=1)], axis=2)  # (bs, a*r, b*r)
        out.append(t.reshape(bs, a * r, b * r, 1))
    return np.concatenate(out, axis=3)


def test_pixel_shuffle_equals_original_up_to_filter_permutation():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 16)).astype(np.float32)
    perm = original_order_permutation(2, 4)
    assert sorted(perm) == list(range(16))
    ours = np.asarray(PixelShuffle(2)(x[..., perm]))
    np.testing.assert_allclose(ours, _original_pixel_shuffle(x, 2, 4), rtol=0, atol=0)
    assert ours.shape == (2, 6, 10, 4)


def test_mixed_precision_outputs_are_float32():
    set_precision("mixed_bfloat16")
    g = build_generator((8, 8, 3), n_blocks=1, filters=8)
    d = build_discriminator((32, 32, 3), filters=4, dense_units=8)
    assert g.layers[1].compute_dtype == "bfloat16"
    assert g(_hr_batch(1, 8)).dtype == tf.float32
    assert d(_hr_batch(1, 32)).dtype == tf.float32


@pytest.mark.slow
def test_mixed_float16_steps_use_loss_scaling():
    set_precision("mixed_float16")
    gan = _tiny_gan(pretrain_steps=1)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    logs = gan.fit(_hr_batch(), batch_size=4, epochs=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in logs.values())
    assert int(gan.g_optimizer.iterations.numpy()) == 2 and int(gan.d_optimizer.iterations.numpy()) == 1


def test_save_load_round_trip_same_output(tmp_path):
    g = build_generator((None, None, 3), n_blocks=2, filters=8, dropout=0.5)
    d = build_discriminator((32, 32, 3), filters=4, dense_units=8)
    export.export_model(g, tmp_path / "generator.keras")
    export.export_model(d, tmp_path / "discriminator.keras")
    g2 = msrgan.load_generator(tmp_path / "generator.keras")
    d2 = keras.models.load_model(tmp_path / "discriminator.keras")
    x = _hr_batch(2, 16)
    np.testing.assert_allclose(g2(x), g(x), rtol=1e-6, atol=1e-6)
    hr = _hr_batch(2, 32)
    np.testing.assert_allclose(d2(hr), d(hr), rtol=1e-6, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        msrgan.load_generator(tmp_path / "missing.keras")


def test_losses_match_hand_computation():
    hr = tf.constant([[[[1.0], [2.0]], [[3.0], [4.0]]]])  # (1, 2, 2, 1)
    sr = tf.constant([[[[0.0], [2.0]], [[3.0], [1.0]]]])  # HR - SR = 1, 0, 0, 3 -> sum sq 10
    assert float(losses.l2_loss(hr - sr)) == 5.0
    assert float(losses.mse_loss(hr, sr, alpha=0.4)) == pytest.approx(2.0)
    phi_hr = [tf.constant([1.0, 2.0]), tf.constant([[5.0]])]
    phi_sr = [tf.constant([0.0, 1.0]), tf.constant([[3.0]])]  # l2: (1 + 1) / 2 = 1 and 4 / 2 = 2
    assert float(losses.content_loss(phi_hr, phi_sr, beta=0.8)) == pytest.approx(2.4)
    d_fake = tf.constant([[0.5], [-1.0]])  # (D - 1)^2: 0.25 + 4 -> 2.125; (D + 1)^2: 2.25 + 0 -> 1.125
    d_real = tf.constant([[1.0], [3.0]])  # (D - 1)^2: 0 + 4 -> 2
    assert float(losses.adversarial_loss(d_fake, 1e-5)) == pytest.approx(2.125e-5)
    real, fake = losses.discriminator_losses(d_real, d_fake, 1e-5)
    assert float(real) == pytest.approx(2e-5) and float(fake) == pytest.approx(1.125e-5)
    # bfloat16 inputs are summed in float32
    assert losses.l2_loss(tf.cast(hr, tf.bfloat16)).dtype == tf.float32


def test_test_step_reports_the_loss_formulas():
    gan = _tiny_gan(beta=0.8)
    hr = _hr_batch()
    logs = gan.evaluate(hr, batch_size=4, verbose=0, return_dict=True)
    lr = tf.image.resize(hr, (8, 8), method="bicubic")
    lr = tf.clip_by_value(lr, -1, 1)
    sr = np.asarray(gan.generator(lr, training=False))
    d_real = np.asarray(gan.discriminator(hr)).ravel()
    d_fake = np.asarray(gan.discriminator(sr)).ravel()
    phi = gan.feature_extractor
    content = 0.8 * sum(0.5 * np.sum((np.asarray(a, np.float64) - np.asarray(b)) ** 2)
                        for a, b in zip(phi(hr), phi(sr)))
    mse = 0.4 * 0.5 * np.sum((hr.astype(np.float64) - sr) ** 2)
    adv = 1e-5 * 0.5 * np.sum((d_fake - 1.0) ** 2)
    np.testing.assert_allclose(logs["content_loss"], content, rtol=1e-4)
    np.testing.assert_allclose(logs["mse_loss"], mse, rtol=1e-5)
    np.testing.assert_allclose(logs["adv_loss"], adv, rtol=1e-4)
    np.testing.assert_allclose(logs["g_loss"], content + mse + adv, rtol=1e-4)
    np.testing.assert_allclose(logs["d_real"], 1e-5 * 0.5 * np.sum((d_real - 1) ** 2), rtol=1e-4)
    np.testing.assert_allclose(logs["d_fake"], 1e-5 * 0.5 * np.sum((d_fake + 1) ** 2), rtol=1e-4)
    # PSNR and SSIM on the convention of msrgan.evaluate: 8-bit RGB, data.metrics (scikit-image)
    from data import metrics
    from data.io import from_model_range

    hr8, sr8 = from_model_range(hr), from_model_range(sr)
    np.testing.assert_allclose(logs["psnr"], np.mean([metrics.psnr(h, s) for h, s in zip(hr8, sr8)]), rtol=1e-4)
    np.testing.assert_allclose(logs["ssim"], np.mean([metrics.ssim(h, s) for h, s in zip(hr8, sr8)]), rtol=1e-4)


def _weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]


@pytest.mark.slow
def test_pretrain_and_d_steps_schedule():
    hr = _hr_batch()
    # Pre-training: G learns from the mse term only, D is not updated.
    gan = _tiny_gan(pretrain_steps=2, d_steps=1)
    d0 = _weights(gan.discriminator)
    logs = gan.fit(hr, batch_size=4, epochs=2, verbose=0).history
    assert int(gan.step.numpy()) == 2
    assert int(gan.g_optimizer.iterations.numpy()) == 2 and int(gan.d_optimizer.iterations.numpy()) == 0
    for a, b in zip(d0, _weights(gan.discriminator)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(logs["g_loss"], logs["mse_loss"], rtol=1e-6)
    # validation reports the loss of the same phase, so train and validation g_loss are one quantity
    val = gan.evaluate(hr, batch_size=4, verbose=0, return_dict=True)
    assert val["content_loss"] == val["adv_loss"] == 0 and val["g_loss"] == pytest.approx(val["mse_loss"])
    gan.fit(hr, batch_size=4, epochs=1, verbose=0)  # step 3: adversarial phase
    val = gan.evaluate(hr, batch_size=4, verbose=0, return_dict=True)
    assert val["adv_loss"] > 0 and val["g_loss"] == pytest.approx(val["mse_loss"] + val["adv_loss"])
    assert int(gan.d_optimizer.iterations.numpy()) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(d0, _weights(gan.discriminator)))
    # d_steps = 0 (the original's loop): D never learns; d_steps = 3: three D updates per step.
    gan0 = _tiny_gan(d_steps=0)
    d0 = _weights(gan0.discriminator)
    logs0 = gan0.fit(hr, batch_size=4, epochs=1, verbose=0).history
    assert int(gan0.d_optimizer.iterations.numpy()) == 0
    for a, b in zip(d0, _weights(gan0.discriminator)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(logs0["g_loss"], np.add(logs0["mse_loss"], logs0["adv_loss"]), rtol=1e-6)
    gan3 = _tiny_gan(d_steps=3)
    gan3.fit(hr, batch_size=4, epochs=1, verbose=0)
    assert int(gan3.d_optimizer.iterations.numpy()) == 3 and int(gan3.g_optimizer.iterations.numpy()) == 1


def test_model_requires_vgg_when_beta_positive():
    g = build_generator((8, 8, 3), n_blocks=1, filters=8)
    d = build_discriminator((32, 32, 3), filters=4, dense_units=8)
    with pytest.raises(ValueError, match="feature extractor"):
        MSRGAN(g, d, None, beta=0.8)


def test_config_validation_names_bad_fields():
    from msrgan.config import MSRGANConfig

    with pytest.raises(ValueError, match=r"dropout=1\.5.*image_size=40"):
        MSRGANConfig(dropout=1.5, image_size=40)
    cfg = MSRGANConfig()
    assert (cfg.alpha, cfg.beta, cfg.adv_weight, cfg.g_lr, cfg.d_lr, cfg.batch_size) == (0.4, 0.8, 1e-5, 1e-4, 1e-3, 16)
    assert MSRGANConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        MSRGANConfig.from_dict({"bogus": 1})

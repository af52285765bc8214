"""Speed options give the plain path's numbers: fused instance norm, tap downscale, XLA (``jit_compile``).

Tolerances. Float32 steps are compared after two training steps: the first
step's losses come from the same initial weights (only the summation order of
the new path differs, relative error ~1e-7 per op), the second step's from
weights that Adam moved by at most lr per weight either way (Adam's first step
is lr * g / (|g| + eps), insensitive to the gradients' round-off except for
gradients within round-off of 0). So the losses agree to rtol 1e-4, far below
any change a wrong option would make (a missing term, a wrong normaliser, a
different downscale kernel moves them by percents). bfloat16 has an 8-bit
mantissa: outputs agree to a few bf16 units (2^-8 relative).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan_dct.layers import InstanceNormalization
from cyclegan_dct.networks import build_discriminator, build_generator
from data import pipeline
from data.engine.distribute import set_precision


@pytest.fixture(autouse=True)
def _float32_policy():
    set_precision("float32")
    yield
    set_precision("float32")


def _groupnorm():
    return keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5)


def test_instance_norm_equals_groupnorm_forward_and_gradient():
    x = tf.random.stateless_normal((2, 12, 10, 5), (3, 4)) * 3.0 + 1.5
    dy = tf.random.stateless_normal((2, 12, 10, 5), (5, 6))
    outs = []
    for layer in (InstanceNormalization(epsilon=1e-5), _groupnorm()):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * dy)
        outs.append((y.numpy(), tape.gradient(loss, x).numpy()))
    (y1, g1), (y2, g2) = outs
    np.testing.assert_allclose(y1, y2, atol=2e-6)
    np.testing.assert_allclose(g1, g2, atol=2e-5)
    # instance statistics: per image and channel, mean 0 and variance 1
    np.testing.assert_allclose(y1.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y1.var(axis=(1, 2)), 1, atol=1e-3)


def test_instance_norm_bfloat16_matches_and_keeps_dtype():
    set_precision("mixed_bfloat16")
    x = tf.cast(tf.random.stateless_normal((1, 16, 16, 4), (1, 2)), tf.bfloat16)
    y1, y2 = InstanceNormalization()(x), _groupnorm()(x)
    assert y1.dtype == y2.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(y1, tf.float32), tf.cast(y2, tf.float32), atol=2e-2)


def test_generator_norms_share_weights_and_outputs_and_round_trip(tmp_path):
    g_new = build_generator(1, n_blocks=1, filters=4)
    g_old = build_generator(1, n_blocks=1, filters=4, norm="groupnorm")
    d_new, d_old = build_discriminator(1, 4, norm="instance"), build_discriminator(1, 4, norm="groupnorm")
    assert g_new.count_params() == g_old.count_params() and d_new.count_params() == d_old.count_params()
    g_new.set_weights(g_old.get_weights())  # an old checkpoint's weights fit the new layers one to one
    x = tf.random.stateless_uniform((2, 32, 32, 1), (7, 8), -1, 1)
    np.testing.assert_allclose(g_new(x), g_old(x), atol=1e-5)
    g_new.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    assert any(isinstance(layer, InstanceNormalization) for layer in again.layers)
    np.testing.assert_allclose(again(x), g_new(x), atol=1e-6)
    with pytest.raises(ValueError, match="norm must be one of"):
        build_generator(1, 1, 4, norm="batch")


@pytest.mark.parametrize("factor", [4, 8])
def test_downscale_taps_equal_bicubic_resize(factor):
    hr = tf.random.stateless_uniform((3, 96, 64, 3), (1, 9), -1, 1)
    expect = tf.image.resize(hr, (96 // factor, 64 // factor), method="bicubic", antialias=False)
    np.testing.assert_allclose(pipeline.downscale_taps(hr, factor), expect, atol=1e-6)
    np.testing.assert_allclose(pipeline.downscale(hr, factor, clip=False), expect, atol=1e-6)
    np.testing.assert_allclose(pipeline.downscale(hr[0], factor, clip=False), expect[0], atol=1e-6)


def test_downscale_compiles_with_xla():
    hr = tf.random.stateless_uniform((2, 32, 32, 3), (2, 9), -1, 1)
    jitted = tf.function(lambda x: pipeline.downscale(x), jit_compile=True)
    np.testing.assert_allclose(jitted(hr), pipeline.downscale(hr), atol=1e-6)


def _two_steps(model, batch):
    """The logs of two compiled training steps on ``batch``, as floats."""
    model.make_train_function(force=True)
    it = iter(tf.data.Dataset.from_tensors(batch).repeat())
    out = []
    for _ in range(2):
        logs = model.train_function(it)
        out.append({k: float(v) for k, v in logs.items()})
    return out


def _assert_same_logs(plain, option, rtol=1e-4, atol=1e-6):
    assert len(plain) == len(option)
    for a, b in zip(plain, option, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=rtol, abs=atol), (k, a[k], b[k])


def _cyclegan_logs(**options):
    from cyclegan_dct.config import CycleGANConfig
    from cyclegan_dct.model import build_cyclegan

    keras.utils.set_random_seed(0)
    config = CycleGANConfig(crop=32, n_blocks=1, filters=4, d_filters=4, pool_size=2, **options)
    model = build_cyclegan(config)
    model.jit_compile = config.jit_compile
    a = tf.random.stateless_uniform((1, 32, 32, 1), (1, 1), -1, 1)
    b = tf.random.stateless_uniform((1, 32, 32, 1), (2, 2), -1, 1)
    return _two_steps(model, (a, b))


def test_cyclegan_step_same_with_fused_instance_norm():
    _assert_same_logs(_cyclegan_logs(norm="groupnorm"), _cyclegan_logs(norm="instance"))


@pytest.mark.slow
def test_cyclegan_step_same_under_xla():
    _assert_same_logs(_cyclegan_logs(), _cyclegan_logs(jit_compile=True))


def _msrgan_logs(jit):
    import vgg19
    from msrgan.model import MSRGAN
    from msrgan.networks import build_discriminator as msr_d
    from msrgan.networks import build_generator as msr_g

    keras.utils.set_random_seed(0)
    g = msr_g((8, 8, 3), n_blocks=1, filters=8, dropout=0.0)  # no dropout: XLA draws other random numbers
    d = msr_d((32, 32, 3), filters=4, dense_units=8)
    phi = vgg19.build_feature_extractor(vgg19.build_model((32, 32, 3), n_classes=3, base_filters=4, dense_units=8),
                                        input_shape=(32, 32, 3))
    gan = MSRGAN(g, d, phi, alpha=0.4, beta=0.8, adv_weight=1e-3)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-3), jit_compile=jit)
    hr = tf.random.stateless_uniform((2, 32, 32, 3), (4, 4), -1, 1)
    return _two_steps(gan, hr)


@pytest.mark.slow
def test_msrgan_step_same_under_xla():
    _assert_same_logs(_msrgan_logs(False), _msrgan_logs(True))


def _vgg19_logs(jit):
    from vgg19.config import VGG19Config
    from vgg19.recipe import compile_model

    keras.utils.set_random_seed(0)
    config = VGG19Config(image_size=32, n_classes=3, base_filters=4, dense_units=8, batch_size=4, jit_compile=jit)
    model = compile_model(config)
    model.jit_compile = jit
    x = tf.random.stateless_uniform((4, 32, 32, 3), (5, 5), -1, 1)
    y = tf.constant([0, 1, 2, 1])
    return _two_steps(model, (x, y))


@pytest.mark.slow
def test_vgg19_step_same_under_xla():
    _assert_same_logs(_vgg19_logs(False), _vgg19_logs(True))


@pytest.mark.slow
def test_jit_compile_reaches_the_model_through_the_scaffold(tmp_path):
    from cyclegan_dct.config import CycleGANConfig
    from cyclegan_dct.recipe import CycleGANRecipe
    from data.engine import loop as training

    seen = {}
    config = CycleGANConfig(crop=16, n_blocks=0, filters=2, d_filters=2, disc_layers=1, epochs=1, epochs_decay=0,
                            steps_per_epoch=1, pool_size=1, jit_compile=True, image_every=10**6)

    class Recording(CycleGANRecipe):
        def build_model(self):
            seen["model"] = super().build_model()
            return seen["model"]

    training.train(Recording(config), tmp_path / "run", tmp_path / "logs", verbose=0)
    assert seen["model"].jit_compile is True

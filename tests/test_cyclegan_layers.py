"""DCTLowPass and ReflectionPadding2D: the properties the DCT-CycleGAN relies on."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import fft

from cyclegan_dct import DCTLowPass, ReflectionPadding2D


def _rand(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _basis(h, w, k, l):
    """2D DCT-II basis image with row frequency k and column frequency l, (1, h, w, 1)."""
    i, j = np.arange(h)[:, None], np.arange(w)[None, :]
    img = np.cos(np.pi * (2 * i + 1) * k / (2 * h)) * np.cos(np.pi * (2 * j + 1) * l / (2 * w))
    return img.astype(np.float32)[None, ..., None]


def test_cutoff_one_is_identity():
    x = _rand((2, 24, 40, 3))
    assert np.max(np.abs(DCTLowPass(1.0)(x).numpy() - x)) < 1e-5


def test_matches_scipy_dct_with_ceil_cutoff():
    # rows k < 0.3 * 20 = 6 kept; columns l < 0.3 * 30 = 9 kept; odd sizes use ceil(cutoff * n)
    x = _rand((1, 20, 30, 1))
    c = fft.dctn(x[0, ..., 0].astype(np.float64), type=2, norm="ortho")
    keep = np.zeros_like(c)
    keep[:6, :9] = 1
    ref = fft.idctn(c * keep, type=2, norm="ortho")
    np.testing.assert_allclose(DCTLowPass(0.3)(x).numpy()[0, ..., 0], ref, atol=1e-5)
    assert int(DCTLowPass.keep_count(25, 0.5)) == 13 and int(DCTLowPass.keep_count(30, 0.1)) == 3


def test_idempotent_and_dc_preserved():
    layer = DCTLowPass(0.5)
    x = _rand((3, 32, 48, 2), seed=1) + 0.7
    y = layer(x).numpy()
    np.testing.assert_allclose(layer(y).numpy(), y, atol=1e-5)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-5)
    # it removed something from white noise
    assert np.sum((x - y) ** 2) > 0.5 * np.sum((x - x.mean(axis=(1, 2), keepdims=True)) ** 2)


def test_low_frequency_cosine_passes():
    x = _basis(32, 32, 3, 10)  # both indices below 0.5 * 32
    np.testing.assert_allclose(DCTLowPass(0.5)(x).numpy(), x, atol=1e-5)


@pytest.mark.parametrize("k,l", [(31, 31), (16, 0), (0, 16), (20, 5)])
def test_basis_above_cutoff_removed(k, l):
    x = _basis(32, 32, k, l)
    assert np.max(np.abs(DCTLowPass(0.5)(x).numpy())) < 1e-5


def test_checkerboard_loses_most_energy():
    i, j = np.meshgrid(np.arange(64), np.arange(64), indexing="ij")
    x = ((-1.0) ** (i + j)).astype(np.float32)[None, ..., None]
    y = DCTLowPass(0.5)(x).numpy()
    assert np.sum(y**2) <= 0.05 * np.sum(x**2)


def test_any_shape_and_batch():
    layer = DCTLowPass(0.25)
    for shape in [(1, 8, 8, 1), (5, 17, 9, 3), (2, 64, 32, 4)]:
        assert layer(_rand(shape)).shape == shape
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)])
    assert fn(_rand((3, 12, 20, 1))).shape == (3, 12, 20, 1)


def test_gradients_flow_and_equal_the_projection():
    layer = DCTLowPass(0.5)
    x = tf.Variable(_rand((2, 16, 16, 1), seed=2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * tf.constant(_rand((2, 16, 16, 1), seed=3)))
    g = tape.gradient(loss, x).numpy()
    # the filter is a symmetric projection, so d/dx <P x, v> = P v
    np.testing.assert_allclose(g, layer(_rand((2, 16, 16, 1), seed=3)).numpy(), atol=1e-5)


def test_mixed_precision_keeps_dtype_and_accuracy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    layer = DCTLowPass(0.5)
    x32 = _rand((1, 32, 32, 1))
    x16 = tf.cast(x32, tf.bfloat16)
    y = layer(x16)
    assert y.dtype == tf.bfloat16
    assert layer(x32).dtype == tf.float32  # float32 input stays float32 under a mixed policy
    ref = DCTLowPass(0.5, dtype="float32")(tf.cast(x16, tf.float32)).numpy()
    np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(), ref, atol=0.05)


def test_invalid_cutoff():
    for c in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="cutoff"):
            DCTLowPass(c)


def test_reflection_padding_matches_numpy_and_serialises():
    x = _rand((2, 5, 7, 3))
    layer = ReflectionPadding2D((2, 3))
    np.testing.assert_array_equal(layer(x).numpy(), np.pad(x, [(0, 0), (2, 2), (3, 3), (0, 0)], mode="reflect"))
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, DCTLowPass(0.5)(ReflectionPadding2D(1)(inp)))
    clone = keras.Model.from_config(model.get_config())
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), atol=1e-6)
    assert clone.layers[1].padding == (1, 1) and clone.layers[2].cutoff == 0.5


@pytest.mark.parametrize("cutoff", [0.5, 0.3, 0.75, 1.0])
@pytest.mark.parametrize("shape", [(2, 16, 16, 1), (1, 17, 23, 3), (1, 10, 10, 2), (1, 96, 64, 1)])
def test_matrix_form_equals_the_tf_signal_filter(cutoff, shape):
    from cyclegan_dct.layers import DCTMatrixLowPass

    x = _rand(shape, seed=3)
    np.testing.assert_allclose(DCTMatrixLowPass(cutoff)(x).numpy(), DCTLowPass(cutoff)(x).numpy(), atol=2e-6)


def test_matrix_form_keeps_exactly_ceil_cutoff_n_coefficients():
    from cyclegan_dct.layers import DCTMatrixLowPass

    # 0.3 * 10 = 3.0000000000000004 in float64: the filter keeps 3 coefficients, not 4
    for n, cutoff, keep in [(10, 0.3, 3), (11, 0.3, 4), (64, 0.5, 32), (7, 0.01, 1)]:
        assert int(DCTLowPass.keep_count(n, cutoff)) == keep
        _, band = DCTMatrixLowPass(cutoff)._projection_factors(n)
        assert int(np.asarray(band).sum()) == keep


def test_generator_export_has_built_in_layers_only_and_equal_outputs():
    from cyclegan_dct import build_generator
    from cyclegan_dct.layers import INFERENCE_FORMS
    from data.packaging.keras_export import float32_copy

    keras.utils.set_random_seed(1)
    g = build_generator(channels=1, n_blocks=2, filters=8)
    copy = float32_copy(g, None, INFERENCE_FORMS)

    def modules(model):
        return {type(layer).__module__.split(".")[0] for layer in model.layers} | {
            m for layer in model.layers if isinstance(layer, keras.Model) for m in modules(layer)}

    assert modules(copy) == {"keras"}
    for shape in [(2, 64, 48, 1), (1, 36, 20, 1)]:
        x = _rand(shape, seed=4)
        np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(g(x)), atol=1e-6)

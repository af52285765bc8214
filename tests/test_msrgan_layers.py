"""mSRGAN's custom layers in keras.ops (any backend) and their built-in inference forms in exports
(tests/test_exports_any_backend.py runs the exports under each backend)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import msrgan
from data.packaging.keras_export import float32_copy
from data.packaging.package_readme import custom_layers
from msrgan.layers import (
    INFERENCE_FORMS,
    BicubicUpsampling,
    PixelShuffle,
    cubic_weights,
    edge_sum_bound,
    shuffle_kernel,
)

SIZES = [(1, 8, 8, 3), (2, 13, 7, 3), (1, 3, 5, 3), (1, 24, 24, 3)]


def _random(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


@pytest.mark.parametrize("pad", [0, 3])
def test_bicubic_layer_equals_tensorflow_resize_at_any_size(pad):
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, BicubicUpsampling(4, pad)(inp))
    for shape in SIZES:  # one model, several sizes: the graph has unknown H, W (UpSampling2D fails here)
        x = _random(shape)
        ref = tf.image.resize(x, (4 * shape[1], 4 * shape[2]), method="bicubic", antialias=False)
        if pad:
            ref = tf.pad(ref, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
        np.testing.assert_allclose(model.predict(x, verbose=0), ref.numpy(), atol=1e-6)


def test_cubic_weights_are_keys_with_half_pixel_centres():
    w = cubic_weights(4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)  # interpolation: each phase sums to 1
    # phase 0 samples at k - 0.375: taps k-2..k+1 at distances 1.625, 0.625, 0.375, 1.375; k+2 unused
    a = -0.5
    far, near = (lambda d: a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a), (lambda d: (a + 2) * d**3 - (a + 3) * d**2 + 1)
    np.testing.assert_allclose(w[0], [far(1.625), near(0.625), near(0.375), far(1.375), 0.0], atol=1e-12)
    np.testing.assert_allclose(w[3], w[0][::-1], atol=1e-12)  # mirror symmetry of the phases
    np.testing.assert_array_equal(cubic_weights(1)[0], [0, 0, 1, 0, 0])


def test_shuffle_as_transposed_convolution_is_depth_to_space():
    x = _random((2, 5, 7, 12))
    conv = keras.layers.Conv2DTranspose(3, 2, strides=2, use_bias=False)
    conv.build(x.shape)
    conv.set_weights([shuffle_kernel(2, 3)])
    np.testing.assert_array_equal(np.asarray(conv(x)), np.asarray(PixelShuffle(2)(x)))


@pytest.mark.parametrize("pad", [0, 6])
def test_bicubic_inference_form_equals_the_layer(pad):
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, BicubicUpsampling(4, pad, name="bicubic")(inp))
    copy = float32_copy(model, None, INFERENCE_FORMS)
    assert custom_layers(copy) == []
    for shape in SIZES:
        x = _random(shape)
        np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(model(x)), atol=1e-6)
    assert 0.42 < edge_sum_bound(4) < 0.43  # a corner keeps 0.654^2 of the weights


def test_srcnn_export_is_built_in_and_equal():
    keras.utils.set_random_seed(0)
    model = msrgan.build_srcnn((None, None, 3))
    copy = float32_copy(model, (None, None, 3), INFERENCE_FORMS)
    assert custom_layers(copy) == []
    x = _random((2, 13, 9, 3))
    np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(model(x)), atol=1e-6)


@pytest.mark.parametrize("residual", [False, True])
def test_export_replaces_the_shuffle_and_keeps_the_outputs(residual):
    keras.utils.set_random_seed(0)
    g = msrgan.build_generator((None, None, 3), n_blocks=1, filters=8, residual_bicubic=residual)
    copy = float32_copy(g, (None, None, 3), INFERENCE_FORMS)
    kinds = {type(layer).__name__ for layer in copy.layers}
    assert "Conv2DTranspose" in kinds and ("Functional" in kinds) == residual  # the bicubic form is a nested model
    assert custom_layers(copy) == []
    assert not any(w.trainable for layer in copy.layers if type(layer).__name__ == "Conv2DTranspose"
                   for w in layer.weights)
    for shape in SIZES:
        x = _random(shape, 2)
        np.testing.assert_allclose(copy.predict(x, verbose=0), g.predict(x, verbose=0), atol=1e-6)

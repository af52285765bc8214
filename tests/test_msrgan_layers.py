"""mSRGAN's custom layers in keras.ops (any backend) and their built-in inference form in exports."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import msrgan
from data.packaging.keras_export import export_model, float32_copy
from msrgan.layers import INFERENCE_FORMS, BicubicUpsampling, PixelShuffle, cubic_weights, shuffle_kernel

REPO = Path(__file__).resolve().parent.parent
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


@pytest.mark.parametrize("residual", [False, True])
def test_export_replaces_the_shuffle_and_keeps_the_outputs(residual):
    keras.utils.set_random_seed(0)
    g = msrgan.build_generator((None, None, 3), n_blocks=1, filters=8, residual_bicubic=residual)
    copy = float32_copy(g, (None, None, 3), INFERENCE_FORMS)
    kinds = {type(layer).__name__ for layer in copy.layers}
    assert "PixelShuffle" not in kinds and "Conv2DTranspose" in kinds
    assert ("BicubicUpsampling" in kinds) == residual  # no built-in equivalent for dynamic sizes
    assert not any(w.trainable for layer in copy.layers if type(layer).__name__ == "Conv2DTranspose"
                   for w in layer.weights)
    for shape in SIZES:
        x = _random(shape, 2)
        np.testing.assert_allclose(copy.predict(x, verbose=0), g.predict(x, verbose=0), atol=1e-6)


RUN_ELSEWHERE = """
import os, sys
import numpy as np
import keras
if sys.argv[2]:
    import msrgan.layers  # registers BicubicUpsampling
m = keras.models.load_model(sys.argv[1])
np.save("y.npy", np.asarray(m(np.load("x.npy"))))
print("BACKEND", keras.backend.backend(), "TF", any(k.split(".")[0] == "tensorflow" for k in sys.modules),
      "OURS", sorted({k.split(".")[0] for k in sys.modules} & {"msrgan", "data", "vgg19", "cyclegan_dct"}))
"""


def _model(kind):
    keras.utils.set_random_seed(0)
    if kind == "srcnn":
        return msrgan.build_srcnn((None, None, 3))
    return msrgan.build_generator((None, None, 3), n_blocks=1, filters=8, residual_bicubic=kind == "residual")


@pytest.mark.slow  # a fresh interpreter per backend
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
@pytest.mark.parametrize("kind", ["generator", "residual", "srcnn"])
def test_exports_run_on_every_backend(tmp_path, backend, kind):
    """The exported file in a fresh interpreter under ``KERAS_BACKEND``: the original's generator with plain Keras
    (nothing of ours imported), the models with BicubicUpsampling after ``import msrgan.layers`` only (no
    TensorFlow under JAX). Tolerance 1e-5: float32 convolutions sum in another order under XLA (JAX) than
    under oneDNN (TensorFlow); measured 2.4e-7."""
    model = _model(kind)
    export_model(model, tmp_path / "m.keras", (None, None, 3), INFERENCE_FORMS)
    x = _random((2, 9, 11, 3), 3)
    np.save(tmp_path / "x.npy", x)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(REPO) if kind != "generator" else ""}
    proc = subprocess.run([sys.executable, "-c", RUN_ELSEWHERE, "m.keras", "" if kind == "generator" else "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"BACKEND {backend} TF {backend == 'tensorflow'} OURS " in proc.stdout, proc.stdout
    assert ("OURS []" in proc.stdout) == (kind == "generator"), proc.stdout
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), atol=1e-5)

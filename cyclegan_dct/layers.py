"""Custom Keras layers: the DCT low-pass filter, reflection padding and instance normalisation.

All are registered (package ``cyclegan_dct``) so training checkpoints and
older ``.keras`` files load once ``cyclegan_dct`` is imported. Exports hold
none of them (:data:`INFERENCE_FORMS`, applied by
:func:`data.packaging.keras_export.export_model`): reflection padding becomes
a nested model of built-in layers (:func:`data.packaging.builtin_forms.reflection_padding`,
bit-exact), instance normalisation the built-in ``GroupNormalization(groups=-1)``
(the same function), so an exported generator opens with plain
``keras.models.load_model`` on every Keras backend. The training filter keeps
``tf.signal.dct`` (as the paper's code); :class:`DCTMatrixLowPass` is the same
filter as matrix products in ``keras.ops``, for models that must run without
TensorFlow (registered: no built-in layer multiplies by a size-dependent matrix).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from data.packaging.builtin_forms import as_nested, reflection_padding


@keras.saving.register_keras_serializable(package="cyclegan_dct")
class DCTLowPass(keras.layers.Layer):
    """2D DCT low-pass filter on (batch, H, W, C) images (Utz et al., ICCV 2023 BIC workshop).

    Takes the 2D DCT-II with orthonormal scaling along W and then H
    (``tf.signal.dct(type=2, norm="ortho")`` on the last axis, reached by
    transposes), zeroes every coefficient whose row index ``k >= cutoff * H``
    or column index ``l >= cutoff * W`` and inverts with ``tf.signal.idct``.
    So exactly the first ``ceil(cutoff * H)`` rows and ``ceil(cutoff * W)``
    columns of coefficients are kept (at least the DC term, since
    ``cutoff > 0``). ``cutoff=1`` keeps everything (the identity up to float
    round-off). The transform is orthonormal, hence the filter is an
    orthogonal projection: idempotent, mean (DC) preserving, differentiable.

    Any H, W, C and batch size; computed in float32 and returned in the
    input's dtype (so it is exact enough under mixed precision).
    Between the CycleGAN generators it removes the high-frequency,
    low-amplitude channel in which G can hide the mask for F ("steganography").
    """

    def __init__(self, cutoff=0.5, **kwargs):
        super().__init__(**kwargs)
        cutoff = float(cutoff)
        if not 0.0 < cutoff <= 1.0:
            raise ValueError(f"DCTLowPass: cutoff must be in (0, 1], got {cutoff}")
        self.cutoff = cutoff
        # The filter is computed in float32 whatever the policy; keep the input dtype.
        self.autocast = False

    @staticmethod
    def keep_count(n, cutoff):
        """Number of DCT coefficients kept along an axis of length ``n``: ceil(cutoff * n), in [1, n]."""
        n64 = tf.cast(n, tf.float64)
        k = tf.cast(tf.math.ceil(tf.constant(cutoff, tf.float64) * n64 - 1e-9), tf.int32)
        return tf.clip_by_value(k, 1, tf.cast(n, tf.int32))

    def _band(self, n):
        """(n,) float32 mask: 1 for the kept low frequencies, 0 above the cutoff."""
        return tf.cast(tf.range(n) < self.keep_count(n, self.cutoff), tf.float32)

    def call(self, inputs):
        dtype = inputs.dtype
        x = tf.cast(inputs, tf.float32)
        if self.cutoff >= 1.0:
            return tf.cast(x, dtype)
        shape = tf.shape(x)
        h, w = shape[1], shape[2]
        x = tf.transpose(x, [0, 3, 1, 2])  # (B, C, H, W)
        x = tf.signal.dct(x, type=2, norm="ortho")  # along W
        x = tf.transpose(x, [0, 1, 3, 2])  # (B, C, W, H)
        x = tf.signal.dct(x, type=2, norm="ortho")  # along H
        mask = self._band(w)[:, None] * self._band(h)[None, :]  # (W, H)
        x = x * mask
        x = tf.signal.idct(x, type=2, norm="ortho")  # along H
        x = tf.transpose(x, [0, 1, 3, 2])  # (B, C, H, W)
        x = tf.signal.idct(x, type=2, norm="ortho")  # along W
        x = tf.transpose(x, [0, 2, 3, 1])  # (B, H, W, C)
        return tf.cast(x, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(cutoff=self.cutoff)
        return config


@keras.saving.register_keras_serializable(package="cyclegan_dct")
class ReflectionPadding2D(keras.layers.Layer):
    """Reflection padding of (batch, H, W, C) images, as PyTorch's ``nn.ReflectionPad2d``.

    ``padding`` is an int or a pair ``(pad_h, pad_w)``; each side of H gets
    ``pad_h`` rows and each side of W ``pad_w`` columns (``tf.pad`` REFLECT,
    so the pad must be smaller than the size).
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = (padding, padding)
        self.padding = tuple(int(p) for p in padding)
        if len(self.padding) != 2 or min(self.padding) < 0:
            raise ValueError(f"ReflectionPadding2D: padding must be an int or a pair of ints >= 0, got {padding}")

    def call(self, inputs):
        ph, pw = self.padding
        return tf.pad(inputs, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        ph, pw = self.padding
        return (b, None if h is None else h + 2 * ph, None if w is None else w + 2 * pw, c)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        return config


@keras.saving.register_keras_serializable(package="cyclegan_dct")
class InstanceNormalization(keras.layers.Layer):
    """Instance normalisation without affine parameters, as PyTorch's ``nn.InstanceNorm2d`` (affine=False).

    ``y = (x - mean) / sqrt(var + epsilon)`` with the mean and the (biased)
    variance over H and W of each image and channel, computed in float32 and
    returned in the compute dtype: the same formula, order of operations and
    upcast as ``GroupNormalization(groups=-1, center=False, scale=False)``
    (which it replaces; no weights either way), without its reshape to
    groups. The gradient is written out in one expression,
    ``dx = inv * (dy - mean(dy) - y * mean(dy * y))`` with ``inv`` the
    reciprocal standard deviation, instead of being differentiated through
    ``tf.nn.moments`` op by op; it equals the automatic gradient up to float
    round-off (tests/test_cyclegan_speed.py).
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0:
            raise ValueError(f"InstanceNormalization: epsilon must be > 0, got {epsilon}")

    def call(self, inputs):
        dtype = inputs.dtype
        eps = self.epsilon

        @tf.custom_gradient
        def normalize(x):
            mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
            inv = tf.math.rsqrt(variance + eps)
            y = x * inv + (-mean * inv)

            def grad(dy):
                g = tf.cast(dy, tf.float32)
                return inv * (g - tf.reduce_mean(g, axis=[1, 2], keepdims=True)
                              - y * tf.reduce_mean(g * y, axis=[1, 2], keepdims=True))

            return y, grad

        return tf.cast(normalize(tf.cast(inputs, tf.float32)), self.compute_dtype if dtype.is_floating else dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="cyclegan_dct")
class DCTMatrixLowPass(keras.layers.Layer):
    """:class:`DCTLowPass` written with ``keras.ops`` only (every backend): ``x -> C_H^T M C_H x C_W^T M C_W``.

    ``C_n`` is the orthonormal DCT-II matrix of size n (its angles reduced
    modulo 2 pi in integers, so the float32 matrix is accurate for any n) and
    ``M`` keeps coefficient ``k`` when ``k / n < cutoff`` (``k < ceil(cutoff
    n)``, :meth:`DCTLowPass.keep_count`). Equal to ``DCTLowPass`` up to float32
    round-off (tests/test_cyclegan_layers.py). ``cutoff=1`` is the identity.
    """

    def __init__(self, cutoff=0.5, **kwargs):
        super().__init__(**kwargs)
        self.cutoff = float(cutoff)
        if not 0.0 < self.cutoff <= 1.0:
            raise ValueError(f"DCTMatrixLowPass: cutoff must be in (0, 1], got {cutoff}")
        self.autocast = False

    def _projection_factors(self, n):
        """(n, n) float32 ``C`` and the (n, 1) band mask of the kept coefficients."""
        ops = keras.ops
        k = ops.arange(n, dtype="int32")
        # angle pi (2i + 1) k / (2n), its integer part reduced modulo 4n (one period)
        phase = ops.mod((2 * k[None, :] + 1) * k[:, None], 4 * n)
        nf = ops.cast(n, "float32")
        c = ops.cos(ops.cast(phase, "float32") * (math.pi / 2.0) / nf)
        scale = ops.where(k == 0, ops.sqrt(1.0 / nf), ops.sqrt(2.0 / nf))
        band = ops.cast(ops.cast(k, "float32") / nf < self.cutoff, "float32")
        return c * ops.cast(scale, "float32")[:, None], band[:, None]

    def call(self, inputs):
        ops = keras.ops
        x = ops.cast(inputs, "float32")
        if self.cutoff < 1.0:
            shape = ops.shape(x)
            ch, band_h = self._projection_factors(shape[1])
            cw, band_w = self._projection_factors(shape[2])
            x = ops.transpose(x, (0, 3, 1, 2))  # (B, C, H, W)
            coef = ops.matmul(ops.matmul(ch, x), ops.transpose(cw)) * band_h * ops.transpose(band_w)
            x = ops.transpose(ops.matmul(ops.matmul(ops.transpose(ch), coef), cw), (0, 2, 3, 1))
        return ops.cast(x, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "cutoff": self.cutoff}


def _padding_form(layer):
    return as_nested(reflection_padding(int(layer.input.shape[-1]), layer.padding, layer.name))


def _norm_form(layer):
    return keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=layer.epsilon,
                                           name=layer.name, dtype="float32"), []


def _dct_form(layer):
    return DCTMatrixLowPass(layer.cutoff, name=layer.name, dtype="float32"), []


INFERENCE_FORMS = {ReflectionPadding2D: _padding_form, InstanceNormalization: _norm_form, DCTLowPass: _dct_form}
"""Export-time replacements (see :func:`data.packaging.keras_export.float32_copy`): built-in layers for the
generators' padding and normalisation, the ``keras.ops`` matrix form for the DCT filter."""

"""Custom Keras layers: the DCT low-pass filter, reflection padding and instance normalisation.

All are registered (package ``cyclegan_dct``) so exported ``.keras`` files
load with ``keras.models.load_model`` once ``cyclegan_dct`` is imported.
"""

from __future__ import annotations

import keras
import tensorflow as tf


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

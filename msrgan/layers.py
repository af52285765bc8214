"""Custom layers of the mSRGAN generator and the bicubic baselines (registered, so checkpoints reload).

Both are written with ``keras.ops`` only, so they run on every Keras backend.
Exports hold neither (:data:`INFERENCE_FORMS`, applied by
:func:`data.packaging.keras_export.export_model`): ``PixelShuffle`` becomes a
fixed, non-trainable ``Conv2DTranspose`` (equal to ``depth_to_space`` to the
last bit) and ``BicubicUpsampling`` a nested model of built-in layers (the
same convolutions, the edge renormalisation as a product with a reciprocal
made of built-in layers, :mod:`data.packaging.builtin_forms`; equal within
float32 round-off), so every exported generator and SRCNN loads with plain
``keras.models.load_model``. (Keras' own ``UpSampling2D(interpolation="bicubic")``
fails on inputs of unknown size under TensorFlow's graph mode, and does not
renormalise at the edges as TensorFlow's resize does.) Files written before
this need ``msrgan`` (or this module) imported first.
"""

from __future__ import annotations

import keras
import numpy as np

from data.packaging.builtin_forms import as_nested, fixed, ones_like, reciprocal, reflection_padding


@keras.saving.register_keras_serializable(package="msrgan")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel upsampling: (B, H, W, C * r^2) -> (B, H * r, W * r, C).

    Implemented with ``depth_to_space`` (DCR order): output pixel
    ``(y*r + p, x*r + q)`` of channel ``g`` takes input channel ``(p*r + q)*C + g``.

    The original ``pixel_shuffle_layer(x, r, n_split)`` (``mSRGAN/utils/layer.py``)
    splits the channels into ``C`` contiguous groups of ``r^2`` and, inside
    group ``g``, sends channel ``g*r^2 + q*r + p`` to offset ``(p, q)``. Both
    orders are bijections of the input channels, so they differ only by a fixed
    permutation (:func:`original_order_permutation`) of the preceding
    convolution's output filters. That convolution has no bias and is learnt
    from scratch, so the two networks represent exactly the same functions.
    """

    def __init__(self, scale=2, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return keras.ops.depth_to_space(x, self.scale, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.scale
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def original_order_permutation(scale, out_channels):
    """Index array ``perm`` with ``PixelShuffle(x[..., perm]) == original_pixel_shuffle(x)``.

    ``perm[(p*r + q)*C + g] = g*r^2 + q*r + p`` for ``C = out_channels``, ``r = scale``.
    Permuting the last axis of the preceding convolution's kernel by ``perm``
    turns weights trained with the original layout into ours.
    """
    r, c = int(scale), int(out_channels)
    perm = np.empty(r * r * c, dtype=np.int64)
    for p in range(r):
        for q in range(r):
            for g in range(c):
                perm[(p * r + q) * c + g] = g * r * r + q * r + p
    return perm


def cubic_weights(scale, a=-0.5):
    """``(scale, 5)`` float64: output pixel ``scale k + r`` of a bicubic ``scale``x upsampling (half-pixel centres,
    Keys' cubic with ``a = -0.5``, as TensorFlow's ``resize_bicubic``) is ``sum_t w[r, t] x[k + t - 2]``."""
    s = int(scale)
    d = ((np.arange(s) + 0.5) / s - 0.5)[:, None] - (np.arange(5) - 2)[None, :]
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def bicubic_kernel(scale, channels):
    """The ``(5, 5, C, C scale^2)`` convolution kernel whose ``depth_to_space(scale)`` output is the bicubic
    upsampling of a 2-pixel zero-padded input (before renormalisation at the edges): output channel
    ``(p scale + q) C + g`` is phase ``(p, q)`` of
    channel ``g`` (the order :class:`PixelShuffle` reads)."""
    w = cubic_weights(scale)
    s, c = int(scale), int(channels)
    kernel = np.zeros((5, 5, c, c * s * s), np.float32)
    for p in range(s):
        for q in range(s):
            for g in range(c):
                kernel[:, :, g, (p * s + q) * c + g] = np.outer(w[p], w[q])
    return kernel


@keras.saving.register_keras_serializable(package="msrgan")
class BicubicUpsampling(keras.layers.Layer):
    """(B, h, w, C) -> (B, scale h + 2 pad, scale w + 2 pad, C): bicubic upsampling equal to TensorFlow's
    ``tf.image.resize(..., "bicubic", antialias=False)`` (half-pixel centres, Keys' a = -0.5; at the edges the
    taps outside the image are dropped and the rest renormalised), then ``pad`` pixels of reflection padding
    on each side (default 0).

    The same resize as ``msrgan.evaluate``'s bicubic baseline, written with
    ``keras.ops`` only (zero padding, a fixed 5x5 convolution per output phase,
    ``depth_to_space``, divided by the same for an image of ones), so it runs on
    every backend and for any h, w (Keras' ``UpSampling2D(interpolation="bicubic")``
    refuses unknown sizes under TensorFlow's graph mode). Computed in float32,
    cast to the compute dtype.
    """

    def __init__(self, scale=4, pad=0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.pad = int(scale), int(pad)
        if self.scale < 1 or self.pad < 0:
            raise ValueError(f"scale must be >= 1 and pad >= 0, got {scale}, {pad}")

    def call(self, x):
        x = keras.ops.cast(x, "float32")
        zeros = [[0, 0], [2, 2], [2, 2], [0, 0]]
        kernel = keras.ops.convert_to_tensor(bicubic_kernel(self.scale, x.shape[-1]))
        y = keras.ops.conv(keras.ops.pad(x, zeros), kernel, padding="valid")
        # taps outside the image are dropped and the others renormalised (TensorFlow's scale_and_translate)
        ones = keras.ops.pad(keras.ops.ones_like(x[..., :1]), zeros)
        norm = keras.ops.conv(ones, keras.ops.convert_to_tensor(bicubic_kernel(self.scale, 1)), padding="valid")
        y = keras.ops.depth_to_space(y, self.scale, data_format="channels_last") / keras.ops.depth_to_space(
            norm, self.scale, data_format="channels_last")
        if self.pad:
            p = self.pad
            y = keras.ops.pad(y, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
        return keras.ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        s, p = self.scale, 2 * self.pad
        return (b, None if h is None else h * s + p, None if w is None else w * s + p, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "pad": self.pad}


def shuffle_kernel(scale, channels):
    """The 0/1 kernel ``(r, r, C, C r^2)`` of a stride-``r`` ``Conv2DTranspose`` equal to :class:`PixelShuffle`:
    output ``(y r + p, x r + q)`` of channel ``g`` is input channel ``(p r + q) C + g`` (``depth_to_space``)."""
    r, c = int(scale), int(channels)
    kernel = np.zeros((r, r, c, c * r * r), np.float32)
    for p in range(r):
        for q in range(r):
            for g in range(c):
                kernel[p, q, g, (p * r + q) * c + g] = 1.0
    return kernel


def _shuffle_as_conv(layer):
    channels = int(layer.input.shape[-1]) // layer.scale**2
    conv = keras.layers.Conv2DTranspose(channels, layer.scale, strides=layer.scale, use_bias=False, trainable=False,
                                        name=layer.name, dtype="float32")
    return conv, [shuffle_kernel(layer.scale, channels)]


def edge_sum_bound(scale):
    """The smallest sum of the bicubic weights left inside the image at a corner (0.428 for 4x): the lower bound of
    the renormalisation denominator."""
    w = cubic_weights(scale)
    kept = [w[r, 2 - k:].sum() for r in range(w.shape[0]) for k in (0, 1)] + [1.0]
    return float(min(kept)) ** 2


def _bicubic_form(layer):
    """``BicubicUpsampling`` as a nested model of built-in layers: the 5x5 phase convolution, the shuffle as a
    fixed ``Conv2DTranspose``, times the reciprocal of the same for an image of ones, then reflection padding."""
    s, name = layer.scale, layer.name
    channels = int(layer.input.shape[-1])
    inp = keras.Input((None, None, channels), name=f"{name}_input", dtype="float32")

    def upsample(x, c, tag):
        x = keras.layers.ZeroPadding2D(2, name=f"{name}_{tag}_zeros", dtype="float32")(x)
        x = fixed(keras.layers.Conv2D(c * s * s, 5, use_bias=False, name=f"{name}_{tag}_taps", dtype="float32"),
                  x, [bicubic_kernel(s, c)])
        return fixed(keras.layers.Conv2DTranspose(c, s, strides=s, use_bias=False, name=f"{name}_{tag}_shuffle",
                                                  dtype="float32"), x, [shuffle_kernel(s, c)])

    weight = upsample(ones_like(inp, f"{name}_ones"), 1, "weight")  # the kept weights' sum: 1 inside, not at edges
    y = keras.layers.Multiply(name=f"{name}_renormalise", dtype="float32")(
        [upsample(inp, channels, "image"), reciprocal(weight, 0.9 * edge_sum_bound(s), f"{name}_inverse")])
    if layer.pad:
        y = reflection_padding(channels, layer.pad, f"{name}_reflect")(y)
    return as_nested(keras.Model(inp, y, name=name))


INFERENCE_FORMS = {PixelShuffle: _shuffle_as_conv, BicubicUpsampling: _bicubic_form}
"""Export-time replacements by built-in layers (see :func:`data.packaging.keras_export.float32_copy`)."""

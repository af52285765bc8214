"""Custom layers of the mSRGAN generator (registered, so ``.keras`` files reload).

Import ``msrgan`` (or this module) before ``keras.models.load_model`` so that
``PixelShuffle`` and ``BicubicUpsampling`` are registered.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


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


@keras.saving.register_keras_serializable(package="msrgan")
class BicubicUpsampling(keras.layers.Layer):
    """(B, h, w, C) -> (B, scale h + 2 pad, scale w + 2 pad, C): bicubic ``tf.image.resize`` (no antialiasing),
    then ``pad`` pixels of reflection padding on each side (default 0).

    The same resize as ``msrgan.evaluate``'s bicubic baseline. Computed in
    float32 and cast to the layer's compute dtype; any h, w (dynamic shapes).
    """

    def __init__(self, scale=4, pad=0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.pad = int(scale), int(pad)
        if self.scale < 1 or self.pad < 0:
            raise ValueError(f"scale must be >= 1 and pad >= 0, got {scale}, {pad}")

    def call(self, x):
        size = tf.shape(x)[1:3] * self.scale
        y = tf.image.resize(tf.cast(x, tf.float32), size, method="bicubic", antialias=False)
        if self.pad:
            p = self.pad
            y = tf.pad(y, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")
        return tf.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        s, p = self.scale, 2 * self.pad
        return (b, None if h is None else h * s + p, None if w is None else w * s + p, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "pad": self.pad}

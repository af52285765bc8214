"""Custom layers of the mSRGAN generator (registered, so ``.keras`` files reload).

Import ``msrgan`` (or this module) before ``keras.models.load_model`` so that
``PixelShuffle`` is registered.
"""

from __future__ import annotations

import keras
import numpy as np


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
class BicubicUpscale(keras.layers.Layer):
    """(B, H, W, C) -> (B, H * r, W * r, C) by bicubic ``tf.image.resize`` (no antialiasing), any H, W.

    The same resize as the bicubic baseline of ``msrgan.evaluate``; used by the
    generator's ``residual_bicubic`` option. (Keras' ``UpSampling2D`` cannot take
    inputs of unknown size with bicubic interpolation.)
    """

    def __init__(self, scale=4, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        import tensorflow as tf

        shape = tf.shape(x)
        y = tf.image.resize(x, tf.stack([shape[1] * self.scale, shape[2] * self.scale]), method="bicubic")
        return tf.cast(y, x.dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.scale
        return (b, None if h is None else h * r, None if w is None else w * r, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}

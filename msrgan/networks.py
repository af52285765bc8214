"""The mSRGAN generator G and discriminator D (``mSRGAN/src/srgan.py``, ``utils/layer.py``).

Faithful to the original: no convolution biases, BN momentum 0.99 and epsilon
1e-3 with the scale initialised from a truncated normal (std 0.1) and the
offset at 0, PReLU slopes per channel initialised at 0, Xavier (Glorot
uniform) convolution kernels, fully connected kernels from a truncated normal
(std 0.1) with zero biases. The original's stride-1 ``conv2d_transpose`` is a
plain convolution (with a transposed, flipped kernel), so a ``Conv2D`` is used.

Departures (named options, see docs/departures.md): dropout is active only in
training (the original's ``tf.nn.dropout`` also ran at inference);
``sync_bn`` synchronises BN statistics across replicas under a distribution
strategy so that a mirrored step equals a single-device step.
"""

from __future__ import annotations

import keras
from keras import layers

from msrgan.layers import BicubicUpsampling, PixelShuffle


def _conv(filters, name, strides=1):
    return layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=name)


def _bn(name, sync, momentum=0.99):
    return layers.BatchNormalization(
        momentum=momentum,
        epsilon=1e-3,
        gamma_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
        synchronized=sync,
        name=name,
    )


def _prelu(name):
    return layers.PReLU(alpha_initializer="zeros", shared_axes=[1, 2], name=name)


def _dropout(x, rate, name):
    """Dropout (training only); rate 0 removes the layer."""
    return layers.Dropout(rate, name=name)(x) if rate > 0 else x


def build_generator(input_shape=(24, 24, 3), n_blocks=15, filters=64, dropout=0.5, sync_bn=False, bn_momentum=0.99,
                    residual_bicubic=False):
    """G: LR image (B, h, w, 3) in [-1, 1] -> SR image (B, 4h, 4w, 3) (float32, unbounded, ~[-1, 1]).

    conv 3x3 ``filters`` + LeakyReLU(0.2); ``n_blocks`` residual blocks
    [conv, BN, dropout, PReLU, conv, BN, dropout, add]; conv, BN, (dropout), long
    skip; conv 3x3 ``4*filters`` -> PixelShuffle x2 -> dropout -> PReLU;
    conv 3x3 ``filters`` -> PixelShuffle x2 (``filters/4`` channels) -> PReLU;
    conv 3x3 3. With the defaults: 1,334,272 trainable and 3,968 non-trainable
    parameters. ``input_shape=(None, None, 3)`` gives a fully convolutional G.

    ``bn_momentum``: decay of the BN moving statistics (the original: 0.99).
    ``residual_bicubic`` (not the original; default off): the output is the
    bicubic 4x upsampling of the input plus the network's output, so G learns
    only the correction to bicubic (no extra parameters); its last convolution
    starts at zero, so G starts as bicubic.
    """
    if filters % 4:
        raise ValueError(f"filters={filters} must be a multiple of 4 (the second pixel shuffle divides it by 4)")
    inp = keras.Input(input_shape, name="lr")
    x = _conv(filters, "conv1")(inp)
    x = layers.LeakyReLU(0.2, name="conv1_lrelu")(x)
    shortcut = x
    for i in range(1, n_blocks + 1):
        mid = x
        x = _conv(filters, f"block{i}_conv1")(x)
        x = _bn(f"block{i}_bn1", sync_bn, bn_momentum)(x)
        x = _dropout(x, dropout, f"block{i}_drop1")
        x = _prelu(f"block{i}_prelu")(x)
        x = _conv(filters, f"block{i}_conv2")(x)
        x = _bn(f"block{i}_bn2", sync_bn, bn_momentum)(x)
        x = _dropout(x, dropout, f"block{i}_drop2")
        x = layers.Add(name=f"block{i}_add")([x, mid])
    x = _conv(filters, "conv2")(x)
    x = _bn("conv2_bn", sync_bn, bn_momentum)(x)
    x = _dropout(x, dropout, "conv2_drop")
    x = layers.Add(name="skip_add")([x, shortcut])
    x = _conv(4 * filters, "conv3")(x)
    x = PixelShuffle(2, name="shuffle1")(x)
    x = _dropout(x, dropout, "shuffle1_drop")
    x = _prelu("shuffle1_prelu")(x)
    x = _conv(filters, "conv4")(x)
    x = PixelShuffle(2, name="shuffle2")(x)
    x = _prelu("shuffle2_prelu")(x)
    if residual_bicubic:
        # zero-initialised last convolution: G starts as exactly bicubic, and the trunk is not first
        # pushed to silence a random residual (which leaves its ReLU-like PReLUs dead)
        x = layers.Conv2D(3, 3, padding="same", use_bias=False, kernel_initializer="zeros", name="conv5")(x)
    else:
        x = _conv(3, "conv5")(x)
    if residual_bicubic:
        up = BicubicUpsampling(4, name="bicubic_4x")(inp)
        x = layers.Add(name="bicubic_add")([x, up])
    out = layers.Activation("linear", dtype="float32", name="sr")(x)
    return keras.Model(inp, out, name="generator")


def build_discriminator(input_shape=(96, 96, 3), filters=64, dense_units=1024):
    """D: image (B, 96, 96, 3) in [-1, 1] -> score (B, 1) float32, no sigmoid (1 = real, -1 = fake).

    8 convs 3x3 without bias or BN, filters ``filters * (1, 1, 2, 2, 4, 4, 8, 8)``,
    strides 1, 2, 1, 2, ..., each followed by LeakyReLU(0.2); flatten; Dense
    ``dense_units`` + LeakyReLU; Dense 1. With the defaults: 23,559,873 parameters.
    (The original flattened in NCHW order: a fixed permutation of the first
    dense layer's rows, so the same function class.)
    """
    dense_init = keras.initializers.TruncatedNormal(stddev=0.1)
    inp = keras.Input(input_shape, name="image")
    x = inp
    for i, (mult, stride) in enumerate(zip((1, 1, 2, 2, 4, 4, 8, 8), (1, 2) * 4), start=1):
        x = _conv(filters * mult, f"conv{i}", strides=stride)(x)
        x = layers.LeakyReLU(0.2, name=f"conv{i}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, kernel_initializer=dense_init, name="fc")(x)
    x = layers.LeakyReLU(0.2, name="fc_lrelu")(x)
    x = layers.Dense(1, kernel_initializer=dense_init, name="logit")(x)
    out = layers.Activation("linear", dtype="float32", name="score")(x)
    return keras.Model(inp, out, name="discriminator")

"""Built-in Keras forms of the operations our custom layers do, for exports that load anywhere.

``keras.models.load_model`` (and so bioimage.io's runner, which loads
``keras_v3`` weights with no custom objects, under any Keras backend) opens a
``.keras`` file only if every layer in it is a Keras built-in. The exports
therefore replace each custom layer by an equal sub-network of built-in layers
with fixed, non-trainable weights (a nested functional ``keras.Model``, which
Keras saves and loads like any layer):

- :func:`reflection_padding`: PyTorch's ``ReflectionPad2d`` / ``tf.pad``
  ``REFLECT``, bit for bit: zero padding, plus, on each padded row and column,
  a one-hot depthwise convolution (the reflected source pixel) selected by a
  0/1 mask made by zero-padding an image of ones.
- :func:`ones_like` and :func:`reciprocal`: an image of ones from any input
  (a 1x1 convolution with zero kernel and bias 1) and ``1 / x`` for
  ``x >= lower > 0`` as ``k (1 - softsign(k x - 1))`` with ``k = 1 / lower``
  (``softsign(z) = z / (1 + |z|)``; exact algebra, float32 round-off).

Each is tested equal to the operation it replaces (tests/test_builtin_forms.py).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def fixed(layer, x, weights):
    """``layer(x)``, then ``layer`` frozen with the constant ``weights`` (a kernel that is part of an operation)."""
    y = layer(x)
    layer.trainable = False
    layer.set_weights([np.asarray(w, np.float32) for w in weights])
    return y


def ones_like(x, name):
    """(B, H, W, 1) ones from ``x`` (B, H, W, C) with built-in layers (finite inputs)."""
    return fixed(layers.Conv2D(1, 1, name=name, dtype="float32"), x, [np.zeros((1, 1, x.shape[-1], 1)), np.ones(1)])


def reciprocal(x, lower, name):
    """``1 / x`` for a tensor ``x >= lower > 0``, with built-in layers: ``k (1 - softsign(k x - 1))``, ``k = 1/lower``.

    For ``k x >= 1``, ``softsign(k x - 1) = (k x - 1) / (k x)``, so the result is ``k / (k x) = 1 / x``.
    """
    k = 1.0 / float(lower)
    y = layers.Rescaling(k, offset=-1.0, name=f"{name}_shift", dtype="float32")(x)
    y = layers.Activation("softsign", name=f"{name}_softsign", dtype="float32")(y)
    return layers.Rescaling(-k, offset=k, name=f"{name}_scale", dtype="float32")(y)


def _reflect_axis(x, p, axis, name):
    """Reflection padding of ``p`` rows (``axis=1``) or columns (``axis=2``) of ``x`` (the size must exceed p)."""

    def pads(top):
        return ((top, 2 * p - top), (0, 0)) if axis == 1 else ((0, 0), (top, 2 * p - top))

    channels = x.shape[-1]
    z = layers.ZeroPadding2D(pads(p), name=f"{name}_zeros", dtype="float32")(x)
    ones = ones_like(x, f"{name}_ones")
    # frame[t]: ones on rows t .. t+H-1 of the padded size; frame[a] - frame[a+1] is 1 on row a (and -1 on row
    # a+H, where the shifted image it selects is zero)
    frame = [layers.ZeroPadding2D(pads(t), name=f"{name}_frame{t}", dtype="float32")(ones) for t in range(2 * p + 1)]
    terms = [z]
    size = 4 * p + 1
    for j in range(1, p + 1):
        # padded row p-j takes z[p+j] (offset +2j); padded row p+H-1+j takes z[p+H-1-j] (offset -2j)
        for side, mask_pair, offset in (("top", (p - j, p - j + 1), 2 * j), ("bottom", (p + j, p + j - 1), -2 * j)):
            mask = layers.Subtract(name=f"{name}_{side}{j}_mask", dtype="float32")(
                [frame[mask_pair[0]], frame[mask_pair[1]]])
            kernel_shape = (size, 1) if axis == 1 else (1, size)
            kernel = np.zeros((*kernel_shape, channels, 1))
            kernel[(2 * p + offset, 0) if axis == 1 else (0, 2 * p + offset)] = 1.0
            shifted = fixed(layers.DepthwiseConv2D(kernel_shape, padding="same", use_bias=False,
                                                   name=f"{name}_{side}{j}_shift", dtype="float32"), z, [kernel])
            terms.append(layers.Multiply(name=f"{name}_{side}{j}", dtype="float32")([shifted, mask]))
    return layers.Add(name=f"{name}_sum", dtype="float32")(terms)


def reflection_padding(channels, padding, name):
    """A built-in ``keras.Model`` (B, H, W, channels) -> (B, H + 2 pad_h, W + 2 pad_w, channels) equal to
    ``tf.pad(x, [[0, 0], [pad_h] * 2, [pad_w] * 2, [0, 0]], "REFLECT")`` (``padding``: ``(pad_h, pad_w)``)."""
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
    inputs = keras.Input((None, None, channels), name=f"{name}_input", dtype="float32")
    x = inputs
    if pad_h:
        x = _reflect_axis(x, int(pad_h), 1, f"{name}_h")
    if pad_w:
        x = _reflect_axis(x, int(pad_w), 2, f"{name}_w")
    if x is inputs:
        x = layers.Identity(name=f"{name}_identity", dtype="float32")(x)
    return keras.Model(inputs, x, name=name)


def as_nested(model):
    """``(model, its weights)``: the return value of an inference form that is a nested built-in model."""
    return model, model.get_weights()

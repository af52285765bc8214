"""CycleGAN networks: the ResNet generator and the 70x70 PatchGAN discriminator.

Faithful to the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix,
``ResnetGenerator`` and ``NLayerDiscriminator`` with ``--norm instance``):
instance normalisation without affine parameters (``nn.InstanceNorm2d``:
``cyclegan_dct.layers.InstanceNormalization``, or with ``norm="groupnorm"``
the earlier ``GroupNormalization(groups=-1, center=False, scale=False,
epsilon=1e-5)``, the same function, slower), convolutions with bias. PyTorch's symmetric
``padding=1`` of the strided convolutions is reproduced by an explicit
``ZeroPadding2D(1)`` and a ``valid`` convolution, and its
``ConvTranspose2d(k=3, s=2, padding=1, output_padding=1)`` by a ``valid``
transposed convolution (size 2H+1) cropped by one row/column at the top/left,
so feature maps align pixel for pixel with the reference.

Both networks are fully convolutional: input ``(None, None, channels)``;
the generator needs H and W divisible by 4. Under mixed precision the
generator's tanh and the discriminator's last layer output float32.
"""

from __future__ import annotations

import keras
from keras import layers

from cyclegan_dct.layers import InstanceNormalization, ReflectionPadding2D

NORMS = ("instance", "groupnorm")
"""Implementations of the instance norm: ``instance`` (``InstanceNormalization``, the default) or ``groupnorm``
(``GroupNormalization(groups=-1)``, the layer of earlier exports; same function, no weights either way)."""


def instance_norm(name, norm="instance"):
    """The instance-norm layer ``name`` (no affine parameters, epsilon 1e-5) of implementation ``norm``."""
    if norm == "instance":
        return InstanceNormalization(epsilon=1e-5, name=name)
    if norm == "groupnorm":
        return layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5, name=name)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def _residual_block(x, filters, name, norm):
    """ResnetBlock: [reflect-pad 1, conv3x3, IN, ReLU, reflect-pad 1, conv3x3, IN] + skip."""
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = layers.Conv2D(filters, 3, name=f"{name}_conv1")(y)
    y = instance_norm(f"{name}_norm1", norm)(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = layers.Conv2D(filters, 3, name=f"{name}_conv2")(y)
    y = instance_norm(f"{name}_norm2", norm)(y)
    return layers.Add(name=f"{name}_add")([x, y])


def build_generator(channels=1, n_blocks=9, filters=64, name="generator", norm="instance"):
    """ResNet generator G (A->B) or F (B->A): (B, H, W, channels) in [-1, 1] -> same shape in [-1, 1].

    c7s1-f, d2f, d4f, ``n_blocks`` x R4f, u2f, uf, c7s1-channels, tanh
    (Zhu et al. 2017, appendix). 1 channel, 9 blocks, 64 filters:
    11,365,633 parameters (3 channels: 11,378,179).
    """
    if channels < 1 or n_blocks < 0 or filters < 1:
        raise ValueError(f"build_generator: need channels >= 1, n_blocks >= 0, filters >= 1 "
                         f"(got {channels}, {n_blocks}, {filters})")
    inputs = keras.Input((None, None, channels), name="image")
    x = ReflectionPadding2D(3, name="in_pad")(inputs)
    x = layers.Conv2D(filters, 7, name="in_conv")(x)
    x = instance_norm("in_norm", norm)(x)
    x = layers.ReLU(name="in_relu")(x)
    f = filters
    for i in (1, 2):
        f *= 2
        x = layers.ZeroPadding2D(1, name=f"down{i}_pad")(x)
        x = layers.Conv2D(f, 3, strides=2, name=f"down{i}_conv")(x)
        x = instance_norm(f"down{i}_norm", norm)(x)
        x = layers.ReLU(name=f"down{i}_relu")(x)
    for i in range(n_blocks):
        x = _residual_block(x, f, f"res{i + 1}", norm)
    for i in (1, 2):
        f //= 2
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="valid", name=f"up{i}_conv")(x)
        x = layers.Cropping2D(((1, 0), (1, 0)), name=f"up{i}_crop")(x)
        x = instance_norm(f"up{i}_norm", norm)(x)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = ReflectionPadding2D(3, name="out_pad")(x)
    x = layers.Conv2D(channels, 7, name="out_conv")(x)
    outputs = layers.Activation("tanh", dtype="float32", name="out_tanh")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator(channels=1, filters=64, n_layers=3, name="discriminator", norm="instance"):
    """PatchGAN discriminator D_A or D_B: (B, H, W, channels) -> (B, ~H/8-2, ~W/8-2, 1) raw scores.

    4x4 convolutions with bias, strides 2 (x ``n_layers``) then 1, 1;
    LeakyReLU 0.2; instance norm on all but the first and last conv. With
    ``n_layers=3`` each output sees a 70x70 patch. 1 channel: 2,762,689
    parameters (3 channels: 2,764,737). Scores are for the LSGAN loss.
    """
    if channels < 1 or filters < 1 or n_layers < 1:
        raise ValueError(f"build_discriminator: need channels, filters, n_layers >= 1 "
                         f"(got {channels}, {filters}, {n_layers})")
    inputs = keras.Input((None, None, channels), name="image")
    x = layers.ZeroPadding2D(1, name="conv0_pad")(inputs)
    x = layers.Conv2D(filters, 4, strides=2, name="conv0")(x)
    x = layers.LeakyReLU(0.2, name="conv0_lrelu")(x)
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        x = layers.ZeroPadding2D(1, name=f"conv{n}_pad")(x)
        x = layers.Conv2D(filters * min(2**n, 8), 4, strides=stride, name=f"conv{n}")(x)
        x = instance_norm(f"conv{n}_norm", norm)(x)
        x = layers.LeakyReLU(0.2, name=f"conv{n}_lrelu")(x)
    x = layers.ZeroPadding2D(1, name="out_pad")(x)
    x = layers.Conv2D(1, 4, name="out_conv")(x)
    outputs = layers.Activation("linear", dtype="float32", name="score")(x)
    return keras.Model(inputs, outputs, name=name)

"""miniVGG19: the original mSRGAN classifier and its content-loss feature taps, in Keras 3.

Layer for layer as ``mSRGAN/vgg19/vgg19.py``: 16 3x3 convolutions without bias
in blocks of 2, 2, 4, 4, 4 (filters ``base_filters * (1, 2, 4, 8, 8)``), each
followed by BatchNormalization (momentum 0.99, epsilon 1e-3) and
LeakyReLU(0.2); 2x2 max pooling ('same') after each block; flatten; two dense
layers with LeakyReLU; a dense layer of logits. Initialisers as the original:
Glorot (Xavier) uniform convolutions, truncated normal (stddev 0.1) dense
weights, zero biases, and BatchNormalization scale truncated normal (stddev 0.1)
unless ``bn_scale_init="ones"``.

The feature taps phi_1..phi_5 of the SRGAN content loss (original names
conv1b, conv2b, conv3d, conv4d, conv5d) are the last activation of each block,
before pooling: ``FEATURE_LAYERS``.
"""

from __future__ import annotations

import keras
from keras import layers

from vgg19.config import DENSE_INITS

BLOCK_CONVS = (2, 2, 4, 4, 4)
BLOCK_WIDTHS = (1, 2, 4, 8, 8)

FEATURE_LAYERS = ("block1_act2", "block2_act2", "block3_act4", "block4_act4", "block5_act4")
"""phi_1..phi_5: outputs of the original's conv1b, conv2b, conv3d, conv4d, conv5d (after BN and LeakyReLU)."""


def _bn_scale_initializer(name):
    if name == "truncated_normal":
        return keras.initializers.TruncatedNormal(mean=0.0, stddev=0.1)
    if name == "ones":
        return "ones"
    raise ValueError(f"bn_scale_init must be 'truncated_normal' or 'ones', got {name!r}")


def build_model(input_shape=(96, 96, 3), n_classes=13, base_filters=64, dense_units=4096,
                bn_scale_init="truncated_normal", bn_momentum=0.99, name="minivgg19", dense_init="truncated_normal",
                sync_bn=False):
    """The miniVGG19 classifier: images (B, H, W, 3) in [-1, 1] -> logits (B, n_classes), float32.

    Under a mixed-precision policy the computation runs in the low precision
    and the logits layer in float32 (numerically safe softmax cross-entropy).
    At the defaults: 55,742,925 trainable and 11,008 non-trainable parameters.
    ``bn_scale_init`` ("truncated_normal" as the original, or "ones") and
    ``bn_momentum`` (0.99 as the original) set the BatchNormalization layers.
    ``dense_init``: the dense kernels' initialiser, "truncated_normal" (stddev 0.1,
    the original) or "glorot_uniform" (scaled by fan-in and fan-out). ``sync_bn``: batch statistics
    over all replicas of a distribution strategy, so a distributed step equals a single-device step.
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape!r}")
    if dense_init not in DENSE_INITS:
        raise ValueError(f"dense_init must be one of {DENSE_INITS}, got {dense_init!r}")
    # the original: truncated normal, stddev 0.1, whatever the fan-in
    if dense_init == "truncated_normal":
        dense_init = keras.initializers.TruncatedNormal(mean=0.0, stddev=0.1)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for b, (n_convs, width) in enumerate(zip(BLOCK_CONVS, BLOCK_WIDTHS), start=1):
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(base_filters * width, 3, padding="same", use_bias=False,
                              kernel_initializer="glorot_uniform", name=f"block{b}_conv{i}")(x)
            x = layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-3,
                                          gamma_initializer=_bn_scale_initializer(bn_scale_init), synchronized=sync_bn,
                                          name=f"block{b}_bn{i}")(x)
            x = layers.LeakyReLU(negative_slope=0.2, name=f"block{b}_act{i}")(x)
        x = layers.MaxPooling2D(2, strides=2, padding="same", name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    for k in (1, 2):
        x = layers.Dense(dense_units, kernel_initializer=dense_init, bias_initializer="zeros", name=f"fc{k}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"fc{k}_act")(x)
    logits = layers.Dense(n_classes, kernel_initializer=dense_init, bias_initializer="zeros",
                          dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def build_feature_extractor(model, layer_names=FEATURE_LAYERS, input_shape=None):
    """A frozen copy of ``model``'s convolutional part returning ``[phi_1, ..., phi_k]``.

    The layers are copied (same configs, same weights) up to the last requested
    tap, so the dense head is dropped and ``model`` itself is left untouched
    (still trainable). All copied layers are non-trainable, so BatchNormalization
    always runs in inference mode (moving statistics), even under
    ``training=True``. ``input_shape`` (default: the model's) may differ, e.g.
    ``(None, None, 3)``, since the taps are fully convolutional.
    Default output shapes at 96x96: (96,96,64), (48,48,128), (24,24,256), (12,12,512), (6,6,512).
    """
    layer_names = tuple(layer_names)
    known = [layer.name for layer in model.layers]
    missing = [n for n in layer_names if n not in known]
    if missing:
        raise ValueError(f"layers not in model {model.name!r}: {', '.join(missing)}")
    if not layer_names:
        raise ValueError("layer_names is empty")
    shape = tuple(model.input_shape[1:]) if input_shape is None else tuple(input_shape)
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    taps = {}
    last = max(known.index(n) for n in layer_names)
    for layer in model.layers[1:last + 1]:  # the miniVGG19 is a chain: each layer feeds the next
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
        copy.trainable = False
        taps[layer.name] = x
    extractor = keras.Model(inputs, [taps[n] for n in layer_names], name=f"{model.name}_features")
    extractor.trainable = False
    return extractor


def load_model(path, channels=None):
    """The miniVGG19 classifier from a ``.keras`` export (e.g. ``backup/vgg19/minivgg19.keras``)."""
    from data.packaging.keras_export import load_model as load

    return load(path, "train one with python -m vgg19.train", channels=channels)

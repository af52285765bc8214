"""SRCNN baseline (Dong et al., ECCV 2014 / TPAMI 2016): network, training model and recipe.

SRCNN maps the bicubic upsampling Y of a low-resolution image to the
high-resolution image F(Y) with three convolutions: patch extraction f1 = 9
(n1 = 64 filters) + ReLU, non-linear mapping f2 = 1 (n2 = 32) + ReLU,
reconstruction f3 = 5 (c channels), the "9-1-5" network. Parameters:
``81 c n1 + n1 + n1 n2 + n2 + 25 n2 c + c`` = 8,129 for c = 1, 20,099 for c = 3.

Here the bicubic 4x upsampling is the first layer of the model
(:class:`msrgan.layers.BicubicUpsampling`, registered), so an exported
``srcnn.keras`` is a drop-in generator: LR (B, h, w, 3) in [-1, 1] -> SR
(B, 4h, 4w, 3), the same contract as mSRGAN's G (``msrgan.evaluate``, ``msrgan.predict``).

It is trained by the engine (:mod:`data.engine`) by
``python -m msrgan.train --model srcnn``: :class:`msrgan.config.SRCNNConfig`,
:func:`build_srcnn`, the :class:`SRCNN` ``keras.Model`` (``train_step`` /
``test_step``) and :class:`SRCNNRecipe` are all it needs. The run folder
(default ``backup/srcnn``) holds ``config.json``, ``ckpt/`` (the last epoch),
``srcnn.keras`` (float32, input (None, None, 3), from the epoch with the best
validation PSNR) and ``export.json``.

Departures from the paper (options, see docs/departures.md):

- The output has the HR size: the paper's convolutions are ``valid`` (its
  output is f1 + f2 + f3 - 3 = 12 px smaller than its input, and its loss
  only covers the centre), but here SRCNN must be scored on the same pixels
  as every other method and tile like G. The default ``padding="reflect"``
  keeps the paper's valid convolutions and reflection-pads the bicubic image
  by 6 px; ``padding="same"`` zero-pads every convolution instead (zero is
  mid-grey in [-1, 1], so it draws a frame that the network must learn to
  undo). ``padding="valid"`` (builder only) is the paper's network (smaller
  output; not a drop-in generator).
- RGB (3 channels) by default, like the rest of this package (the paper's main
  model works on the Y channel of YCbCr; ``channels=1`` gives its size).
- Trained with Adam (lr 1e-3) and Glorot-uniform initialisation on the same
  demo/HPA data and bicubic downscale as mSRGAN, instead of SGD (lr 1e-4,
  1e-5 for the last layer, Gaussian init std 1e-3) for ~10^8 steps on
  ImageNet sub-images, far beyond a CPU budget.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from data.engine import loop
from data.engine.image_recipe import ImageRecipe
from data.pipeline import downscale, hr_dataset
from data.tf_metrics import psnr_8bit, ssim_8bit, to_8bit
from msrgan.config import SRCNN_ARCHITECTURE_KEYS, SRCNNConfig
from msrgan.layers import BicubicUpsampling

SRCNN_FILE = "srcnn.keras"
DEFAULT_BACKUP_DIR = "backup/srcnn"
KERNEL_SIZES = (9, 1, 5)
FILTERS = (64, 32)
PADDINGS = ("same", "reflect", "valid")
LOG_KEYS = ("loss", "psnr", "ssim")


def build_srcnn(input_shape=(None, None, 3), scale=4, filters=FILTERS, kernel_sizes=KERNEL_SIZES,
                padding="reflect"):
    """SRCNN with its bicubic upsampling: LR (B, h, w, c) in [-1, 1] -> SR (B, scale h, scale w, c).

    ``filters`` = (n1, n2), ``kernel_sizes`` = (f1, f2, f3); defaults are the
    paper's 9-1-5 / 64-32. ``padding``: ``"same"`` (zero-padded convolutions)
    or ``"reflect"`` (valid convolutions on the bicubic image reflection-padded
    by (f1 + f2 + f3 - 3) / 2 px) keep the HR size; ``"valid"`` is the paper's
    (output smaller than the HR image by f1 + f2 + f3 - 3 pixels).
    The output layer is float32 (linear), also under mixed precision.
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    if len(filters) != 2 or len(kernel_sizes) != 3:
        raise ValueError(f"SRCNN has 2 hidden widths and 3 kernel sizes, got {filters} and {kernel_sizes}")
    channels = input_shape[-1]
    pad = sum(k // 2 for k in kernel_sizes) if padding == "reflect" else 0
    conv_padding = "same" if padding == "same" else "valid"
    inp = keras.Input(input_shape, name="lr")
    x = BicubicUpsampling(scale, pad=pad, name="bicubic")(inp)
    x = layers.Conv2D(filters[0], kernel_sizes[0], padding=conv_padding, activation="relu",
                      name="patch_extraction")(x)
    x = layers.Conv2D(filters[1], kernel_sizes[1], padding=conv_padding, activation="relu",
                      name="nonlinear_mapping")(x)
    out = layers.Conv2D(channels, kernel_sizes[2], padding=conv_padding, dtype="float32", name="reconstruction")(x)
    return keras.Model(inp, out, name="srcnn")


class SRCNN(keras.Model):
    """Training wrapper of an SRCNN ``network`` on HR batches in [-1, 1].

    Each step makes the LR input by the training bicubic downscale
    (:func:`data.pipeline.downscale`) and minimises the pixel MSE of
    ``network(LR)`` against HR; ``test_step`` also reports PSNR and SSIM on
    8-bit images (``val_psnr`` in dB, ``val_ssim``), as ``msrgan.evaluate`` scores them.
    """

    def __init__(self, network, scale=4, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.scale = int(scale)
        self.trackers = {k: keras.metrics.Mean(name=k) for k in LOG_KEYS}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, hr, training=False):
        return self.network(downscale(hr, self.scale), training=training)

    @staticmethod
    def _hr(data):
        return tf.cast(data[0] if isinstance(data, (tuple, list)) else data, tf.float32)

    def _scores(self, hr, sr):
        sr8, hr8 = to_8bit(sr), to_8bit(hr)
        return {"psnr": tf.reduce_mean(psnr_8bit(hr8, sr8)), "ssim": tf.reduce_mean(ssim_8bit(hr8, sr8))}

    def train_step(self, data):
        hr = self._hr(data)
        lr = downscale(hr, self.scale)
        with tf.GradientTape() as tape:
            sr = tf.cast(self.network(lr, training=True), tf.float32)
            loss = tf.reduce_mean(tf.square(sr - hr))
            scaled = self.optimizer.scale_loss(loss)
        variables = self.network.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        self.trackers["loss"].update_state(loss)
        self.trackers["psnr"].update_state(self._scores(hr, sr)["psnr"])
        return {k: self.trackers[k].result() for k in ("loss", "psnr")}

    def test_step(self, data):
        hr = self._hr(data)
        sr = tf.cast(self.network(downscale(hr, self.scale), training=False), tf.float32)
        self.trackers["loss"].update_state(tf.reduce_mean(tf.square(sr - hr)))
        for k, v in self._scores(hr, sr).items():
            self.trackers[k].update_state(v)
        return {k: t.result() for k, t in self.trackers.items()}


def build_model(config):
    """The compiled :class:`SRCNN` of ``config`` (Adam)."""
    config = SRCNNConfig.from_dict(config)
    network = build_srcnn((None, None, 3), config.scale, (config.n1, config.n2), padding=config.padding)
    model = SRCNN(network, config.scale, name="srcnn_training")
    model.compile(optimizer=keras.optimizers.Adam(config.lr))
    return model


class SRCNNRecipe(ImageRecipe):
    """An SRCNN run: the best validation PSNR exported as ``srcnn.keras``."""

    config_class = SRCNNConfig
    architecture_keys = SRCNN_ARCHITECTURE_KEYS
    monitor = "val_psnr"
    dataset = staticmethod(hr_dataset)

    def build_model(self):
        return build_model(self.config)

    def exports(self, model):
        return {SRCNN_FILE: (model.network, (None, None, 3))}


def train(config, backup_dir=DEFAULT_BACKUP_DIR, logdir="logs/srcnn", resume=True, verbose=None, keep_checkpoints=1):
    """Train (or resume) an SRCNN run; returns the summary of :func:`data.engine.loop.train`."""
    return loop.train(SRCNNRecipe(config), backup_dir, logdir, resume=resume, verbose=verbose,
                      keep_checkpoints=keep_checkpoints)

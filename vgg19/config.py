"""Configuration of a miniVGG19 training run, saved as ``config.json`` in the run folder.

Defaults are the original ``mSRGAN/vgg19`` (96x96x3 input, 13 classes,
filters 64-128-256-512-512, two dense layers of 4096, Adam 1e-4, batch 128).
Pure Python: no TensorFlow import, so it can be read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.engine.config import ImageRunConfig, one_of, param, positive

BN_SCALE_INITS = ("truncated_normal", "ones")
DENSE_INITS = ("truncated_normal", "glorot_uniform")

ARCHITECTURE_KEYS = ("image_size", "n_classes", "base_filters", "dense_units")
"""Fields that must match to resume from a checkpoint."""


@dataclass
class VGG19Config(ImageRunConfig):
    """Every hyper-parameter of a run.

    ``bn_scale_init``: initialiser of the BatchNormalization scale (gamma).
    The original used a truncated normal with stddev 0.1 (mean 0);
    ``"ones"`` is the Keras default.
    ``bn_momentum``: decay of the BatchNormalization moving statistics (the original: 0.99).
    ``bn_recalibration_batches`` > 0: re-estimate those statistics over that many
    training batches with the current weights before each validation (and so
    before the best-model export), :func:`data.engine.batchnorm.recalibrate`; 0 (the
    original) keeps the running averages.
    ``dense_init``: initialiser of the dense kernels, "truncated_normal" (stddev 0.1,
    the original) or "glorot_uniform". ``augment``: the original's training
    augmentation (flip, gamma, crop-and-zoom, box blur of 1-4 px); False feeds the images as they are.
    The run and data fields (epochs, seed, precision, data_dir...) are
    :class:`data.engine.config.ImageRunConfig`'s.
    """

    n_classes: int = param(13, "Number of classes (the original: the 13 CYTO 2017 classes).")
    base_filters: int = param(64, "Filters of block 1 (blocks: x1, x2, x4, x8, x8). The original: 64.")
    dense_units: int = param(4096, "Units of the two hidden dense layers. The original: 4096.")
    bn_scale_init: str = param("truncated_normal", "BatchNormalization scale initialiser; the original: truncated "
                                                   "normal, stddev 0.1.")
    bn_momentum: float = param(0.99, "Decay of the BatchNormalization moving statistics used at validation/inference. "
                                     "The original: 0.99 (the statistics then need several hundred steps to settle; "
                                     "0.9 suits short runs).")
    bn_recalibration_batches: int = param(0, "Re-estimate the BN statistics over N training batches with the current "
                                             "weights before each validation and export (0: the running averages, as "
                                             "the original).")
    dense_init: str = param("truncated_normal", "Initialiser of the dense kernels; the original: truncated normal, "
                                                "stddev 0.1 (with fan-ins of 4608 and 4096 the initial logits are "
                                                "large and the softmax saturates).")
    augment: bool = param(True, "The original's training augmentation (flip, gamma, crop-and-zoom, box blur 1-4 px).")
    batch_size: int = param(128, "Images per batch (the original: 128).")
    lr: float = param(1e-4, "Adam learning rate.")
    log_every: int = param(1, "TensorBoard step scalars every N steps.")

    def problems(self):
        bad = super().problems() + positive(self, "n_classes", "base_filters", "dense_units")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            bad.append(f"lr={self.lr!r} (must be > 0)")
        if not (isinstance(self.bn_momentum, (int, float)) and 0 <= self.bn_momentum < 1):
            bad.append(f"bn_momentum={self.bn_momentum!r} (must be in [0, 1))")
        if not isinstance(self.bn_recalibration_batches, int) or self.bn_recalibration_batches < 0:
            bad.append(f"bn_recalibration_batches={self.bn_recalibration_batches!r} (must be an integer >= 0)")
        return bad + one_of(self, "dense_init", DENSE_INITS) + one_of(self, "bn_scale_init", BN_SCALE_INITS)

    @property
    def input_shape(self):
        return (self.image_size, self.image_size, 3)


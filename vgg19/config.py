"""Configuration of a miniVGG19 training run, saved as ``config.json`` in the run folder.

Defaults are the original ``mSRGAN/vgg19`` (96x96x3 input, 13 classes,
filters 64-128-256-512-512, two dense layers of 4096, Adam 1e-4, batch 128).
Pure Python: no TensorFlow import, so it can be read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.config import PRECISIONS, Config, one_of, param, positive

BN_SCALE_INITS = ("truncated_normal", "ones")

ARCHITECTURE_KEYS = ("image_size", "n_classes", "base_filters", "dense_units")
"""Fields that must match to resume from a checkpoint."""


@dataclass
class VGG19Config(Config):
    """Every hyper-parameter of a run.

    ``bn_scale_init``: initialiser of the BatchNormalization scale (gamma).
    The original used a truncated normal with stddev 0.1 (mean 0);
    ``"ones"`` is the Keras default.
    ``bn_momentum``: decay of the BatchNormalization moving statistics (the original: 0.99).
    ``steps_per_epoch=None`` means one pass over the training split.
    ``data_dir=None`` means the embedded demo data (``demo_n`` images).
    """

    image_size: int = param(96, "Input size S (S x S x 3). Folder images must be S x S; the demo data is resized to "
                                "it. The original: 96.")
    n_classes: int = param(13, "Number of classes (the original: the 13 CYTO 2017 classes).")
    base_filters: int = param(64, "Filters of block 1 (blocks: x1, x2, x4, x8, x8). The original: 64.")
    dense_units: int = param(4096, "Units of the two hidden dense layers. The original: 4096.")
    bn_scale_init: str = param("truncated_normal", "BatchNormalization scale initialiser; the original: truncated "
                                                   "normal, stddev 0.1.")
    bn_momentum: float = param(0.99, "Decay of the BatchNormalization moving statistics used at validation/inference. "
                                     "The original: 0.99 (the statistics then need several hundred steps to settle; "
                                     "0.9 suits short runs).")
    epochs: int = param(100, "Total number of epochs (a resumed run stops at the same total; the original looped "
                             "forever).")
    steps_per_epoch: int | None = param(None, "Training batches per epoch. Default: one pass over the training split.")
    batch_size: int = param(128, "Images per batch.")
    lr: float = param(1e-4, "Adam learning rate.")
    seed: int = param(0, "Seed of the initial weights and of the data order.")
    precision: str = param("float32", "Keras dtype policy of training.")
    data_dir: str | None = param(None, "Folder in the original layout DIR/train/NN_<id>.png and DIR/test/NN_<id>.png "
                                       "(NN = class 00-12). Default: the embedded demo data.")
    demo_n: int = param(1300, "Number of demo images (train + test) when --data-dir is not given.")

    def problems(self):
        bad = positive(self, "image_size", "n_classes", "base_filters", "dense_units", "epochs", "batch_size", "demo_n")
        bad += positive(self, "steps_per_epoch", allow_none=True)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            bad.append(f"lr={self.lr!r} (must be > 0)")
        if not (isinstance(self.bn_momentum, (int, float)) and 0 <= self.bn_momentum < 1):
            bad.append(f"bn_momentum={self.bn_momentum!r} (must be in [0, 1))")
        return bad + one_of(self, "bn_scale_init", BN_SCALE_INITS) + one_of(self, "precision", PRECISIONS)

    @property
    def input_shape(self):
        return (self.image_size, self.image_size, 3)


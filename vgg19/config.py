"""Configuration of a miniVGG19 training run, saved as ``config.json`` in the run folder.

Defaults are the original ``mSRGAN/vgg19`` (96x96x3 input, 13 classes,
filters 64-128-256-512-512, two dense layers of 4096, Adam 1e-4, batch 128).
Pure Python: no TensorFlow import, so it can be read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.config import PRECISIONS, ConfigMixin

BN_SCALE_INITS = ("truncated_normal", "ones")
DENSE_INITS = ("truncated_normal", "glorot_uniform")

ARCHITECTURE_KEYS = ("image_size", "n_classes", "base_filters", "dense_units")
"""Fields that must match to resume from a checkpoint."""


@dataclass
class VGG19Config(ConfigMixin):
    """Every hyper-parameter of a run.

    ``bn_scale_init``: initialiser of the BatchNormalization scale (gamma).
    The original used a truncated normal with stddev 0.1 (mean 0);
    ``"ones"`` is the Keras default.
    ``bn_momentum``: decay of the BatchNormalization moving statistics (the original: 0.99).
    ``bn_recalibration_batches`` > 0: re-estimate those statistics over that many
    training batches with the current weights before each validation (and so
    before the best-model export), :func:`data.batchnorm.recalibrate`; 0 (the
    original) keeps the running averages.
    ``dense_init``: initialiser of the dense kernels, "truncated_normal" (stddev 0.1,
    the original) or "glorot_uniform". ``augment``: the original's training
    augmentation (flip, gamma, crop-and-zoom, box blur of 1-4 px); False feeds the images as they are.
    ``steps_per_epoch=None`` means one pass over the training split.
    ``data_dir=None`` means the embedded demo data (``demo_n`` images).
    """

    image_size: int = 96
    n_classes: int = 13
    base_filters: int = 64
    dense_units: int = 4096
    bn_scale_init: str = "truncated_normal"
    bn_momentum: float = 0.99
    bn_recalibration_batches: int = 0
    dense_init: str = "truncated_normal"
    augment: bool = True
    epochs: int = 100
    steps_per_epoch: int | None = None
    batch_size: int = 128
    lr: float = 1e-4
    seed: int = 0
    precision: str = "float32"
    data_dir: str | None = None
    demo_n: int = 1300

    def validate(self):
        """Raise ``ValueError`` naming every invalid field."""
        bad = []
        for name in ("image_size", "n_classes", "base_filters", "dense_units", "epochs", "batch_size", "demo_n"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad.append(f"{name}={getattr(self, name)!r} (must be a positive integer)")
        if self.steps_per_epoch is not None and (not isinstance(self.steps_per_epoch, int) or self.steps_per_epoch < 1):
            bad.append(f"steps_per_epoch={self.steps_per_epoch!r} (must be a positive integer or None)")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            bad.append(f"lr={self.lr!r} (must be > 0)")
        if not (isinstance(self.bn_momentum, (int, float)) and 0 <= self.bn_momentum < 1):
            bad.append(f"bn_momentum={self.bn_momentum!r} (must be in [0, 1))")
        if not isinstance(self.bn_recalibration_batches, int) or self.bn_recalibration_batches < 0:
            bad.append(f"bn_recalibration_batches={self.bn_recalibration_batches!r} (must be an integer >= 0)")
        if self.dense_init not in DENSE_INITS:
            bad.append(f"dense_init={self.dense_init!r} (must be one of {DENSE_INITS})")
        if self.bn_scale_init not in BN_SCALE_INITS:
            bad.append(f"bn_scale_init={self.bn_scale_init!r} (must be one of {BN_SCALE_INITS})")
        if self.precision not in PRECISIONS:
            bad.append(f"precision={self.precision!r} (must be one of {PRECISIONS})")
        if bad:
            raise ValueError("invalid VGG19Config: " + "; ".join(bad))
        return self

    @property
    def input_shape(self):
        return (self.image_size, self.image_size, 3)


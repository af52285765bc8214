"""Configuration of an mSRGAN run: every hyper-parameter in one dataclass.

The defaults are the original's (``mSRGAN/src/srgan.py``, ``train.py``):
alpha = 0.4 (MSE weight ``mse_coeff``), beta = 0.8 (content weight
``content_coeff``), w_adv = 1e-5 (``alpha`` inside ``inference_adversarial_loss``),
Adam lr 1e-4 for G and 1e-3 for D, batch 16, HR 96x96, 4x, 15 residual blocks
of 64 filters, dropout 0.5. The config is written as ``config.json`` beside
the checkpoints, so a run folder describes itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.config import PRECISIONS, ConfigMixin

STRATEGIES = ("default", "mirrored")

ARCHITECTURE_KEYS = ("n_blocks", "filters", "d_filters", "dense_units", "image_size", "scale", "residual_bicubic")
"""Fields that fix the variables' shapes: a run can only resume with the same values."""


@dataclass
class MSRGANConfig(ConfigMixin):
    """Hyper-parameters of :class:`msrgan.model.MSRGAN` and its training run.

    Loss symbols: ``alpha`` weights the pixel MSE, ``beta`` the miniVGG19 content
    loss, ``adv_weight`` (w_adv) the adversarial terms. ``d_steps`` is the number
    of discriminator updates per step (0 = the original's never-trained D);
    ``pretrain_steps`` generator steps use the MSE term only (SRResNet phase).

    BatchNorm (the generator's; D has none): ``bn_momentum`` is the decay of the
    moving statistics (the original: 0.99). ``bn_recalibration_batches`` > 0
    re-estimates them over that many training batches with the current weights
    before each validation and export (:func:`data.batchnorm.recalibrate`;
    0 keeps the running averages, as the original). ``residual_bicubic``: G
    predicts a correction added to the bicubic upsampling (not the original).
    ``g_lr_decay`` / ``g_lr_decay_start``: from step ``g_lr_decay_start`` the
    generator's learning rate is multiplied by ``g_lr_decay`` per 100 steps
    (1.0: constant, the original).
    """

    # networks
    n_blocks: int = 15
    filters: int = 64
    d_filters: int = 64
    dense_units: int = 1024
    dropout: float = 0.5
    bn_momentum: float = 0.99
    bn_recalibration_batches: int = 20
    residual_bicubic: bool = False
    image_size: int = 96
    scale: int = 4
    # loss and optimisation
    alpha: float = 0.4
    beta: float = 0.8
    adv_weight: float = 1e-5
    d_steps: int = 1
    pretrain_steps: int = 0
    g_lr: float = 1e-4
    g_lr_decay: float = 1.0
    g_lr_decay_start: int = 0
    d_lr: float = 1e-3
    batch_size: int = 16
    # run
    epochs: int = 100
    steps_per_epoch: int | None = None
    val_steps: int | None = None
    seed: int = 0
    precision: str = "float32"
    strategy: str = "default"
    data_dir: str | None = None
    demo_n: int = 1300
    augment: bool = False
    vgg_weights: str | None = "backup/vgg19/minivgg19.keras"
    image_every: int = 100
    log_every: int = 10

    def validate(self):
        """Raise ``ValueError`` naming every invalid field; return ``self``."""
        bad = []
        for name in ("n_blocks", "filters", "d_filters", "dense_units", "batch_size", "epochs", "image_every", "log_every", "demo_n"):
            if int(getattr(self, name)) < 1:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 1)")
        for name in ("steps_per_epoch", "val_steps"):
            v = getattr(self, name)
            if v is not None and int(v) < 1:
                bad.append(f"{name}={v!r} (must be >= 1 or None)")
        if not 0.0 <= self.dropout < 1.0:
            bad.append(f"dropout={self.dropout!r} (must be in [0, 1))")
        for name in ("alpha", "beta", "adv_weight"):
            if getattr(self, name) < 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 0)")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be > 0)")
        if not 0.0 <= self.bn_momentum < 1.0:
            bad.append(f"bn_momentum={self.bn_momentum!r} (must be in [0, 1))")
        if not 0.0 < self.g_lr_decay <= 1.0:
            bad.append(f"g_lr_decay={self.g_lr_decay!r} (must be in (0, 1])")
        for name in ("d_steps", "pretrain_steps", "bn_recalibration_batches", "g_lr_decay_start"):
            if int(getattr(self, name)) < 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 0)")
        if self.scale != 4:
            bad.append(f"scale={self.scale!r} (the generator's two pixel shuffles make it 4)")
        if self.image_size % 16 or self.image_size < 16:
            bad.append(f"image_size={self.image_size!r} (must be a multiple of 16: 4x SR and four stride-2 D convs)")
        if self.precision not in PRECISIONS:
            bad.append(f"precision={self.precision!r} (one of {', '.join(PRECISIONS)})")
        if self.strategy not in STRATEGIES:
            bad.append(f"strategy={self.strategy!r} (one of {', '.join(STRATEGIES)})")
        if bad:
            raise ValueError("invalid msrgan config: " + "; ".join(bad))
        return self

    @property
    def lr_size(self):
        """Side of the low-resolution input (HR size / 4; 24 for the original)."""
        return self.image_size // self.scale


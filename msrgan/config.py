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

from data.engine.config import ImageRunConfig, one_of, param, positive

SCALE = 4
"""The generator's upscaling factor (two pixel shuffles x2): LR = HR / 4."""

ARCHITECTURE_KEYS = ("n_blocks", "filters", "d_filters", "dense_units", "image_size", "scale", "residual_bicubic")
"""Fields that fix the variables' shapes: a run can only resume with the same values."""


@dataclass
class MSRGANConfig(ImageRunConfig):
    """Hyper-parameters of :class:`msrgan.model.MSRGAN` and its training run.

    Loss symbols: ``alpha`` weights the pixel MSE, ``beta`` the miniVGG19 content
    loss, ``adv_weight`` (w_adv) the adversarial terms. ``d_steps`` is the number
    of discriminator updates per step (0 = the original's never-trained D);
    ``pretrain_steps`` generator steps use the MSE term only (SRResNet phase).

    BatchNorm (the generator's; D has none): ``bn_momentum`` is the decay of the
    moving statistics (the original: 0.99). ``bn_recalibration_batches`` > 0
    re-estimates them over that many training batches with the current weights
    before each validation and export (:func:`data.engine.batchnorm.recalibrate`;
    0 keeps the running averages, as the original). ``residual_bicubic``: G
    predicts a correction added to the bicubic upsampling (not the original).
    ``g_lr_decay`` / ``g_lr_decay_start``: from step ``g_lr_decay_start`` the
    generator's learning rate is multiplied by ``g_lr_decay`` per 100 steps
    (1.0: constant, the original).
    """

    # networks
    n_blocks: int = param(15, "Residual blocks of the generator.")
    filters: int = param(64, "Generator width (multiple of 4).")
    d_filters: int = param(64, "Discriminator width of its first convolutions.")
    dense_units: int = param(1024, "Discriminator hidden dense units.")
    dropout: float = param(0.5, "Generator dropout rate, training only (0 removes the layers).")
    bn_momentum: float = param(0.99, "Decay of the generator's BN moving statistics (the original: 0.99; D has no BN).")
    bn_recalibration_batches: int = param(20, "Re-estimate the generator's BN statistics over N training batches with "
                                              "the current weights before each validation and export (0: keep the "
                                              "running averages, as the original).")
    residual_bicubic: bool = param(False, "Not the original: G predicts a correction added to the bicubic upsampling "
                                          "of its input (its last convolution starts at zero: G starts as bicubic).")
    image_size: int = param(96, "HR side (multiple of 16; the LR input is a quarter of it). Demo images are resized "
                                "to it.")
    scale: int = param(SCALE, "Upscaling factor (the generator's two pixel shuffles make it 4).")
    # loss and optimisation
    alpha: float = param(0.4, "Weight of the pixel MSE term alpha * l2_loss(HR - SR).")
    beta: float = param(0.8, "Weight of the miniVGG19 content term (0: no VGG needed).")
    adv_weight: float = param(1e-5, "Weight w_adv of the adversarial terms.")
    d_steps: int = param(1, "Discriminator updates per step (0: D never learns, as the original's final loop).")
    pretrain_steps: int = param(0, "First N steps train G on the MSE term only (SRResNet pre-training); D is not "
                                   "updated.")
    g_lr: float = param(1e-4, "Adam learning rate of the generator.")
    g_lr_decay: float = param(1.0, "Multiply the generator lr by this per 100 steps from --g-lr-decay-start (1: "
                                   "constant, the original).")
    g_lr_decay_start: int = param(0, "Step where the g-lr decay begins.")
    adv_g_lr: float = param(0.0, "Not the original: the generator's learning rate from the end of pre-training "
                                 "(--pretrain-steps) on; 0: the --g-lr schedule goes on. Adam's moments are those "
                                 "of the MSE phase, so a fast pre-training lr makes the first adversarial steps "
                                 "large jumps.")
    d_lr: float = param(1e-3, "Adam learning rate of the discriminator.")
    vgg_weights: str | None = param("backup/vgg19/minivgg19.keras", "miniVGG19 .keras for the content loss "
                                    "(python -m vgg19.train writes it); unused if --beta 0.")
    image_every: int = param(100, "TensorBoard images every N steps.")

    def problems(self):
        bad = super().problems() + positive(self, "n_blocks", "filters", "d_filters", "dense_units", "image_every")
        bad += positive(self, "d_steps", "pretrain_steps", "bn_recalibration_batches", "g_lr_decay_start", minimum=0)
        if not 0.0 <= self.dropout < 1.0:
            bad.append(f"dropout={self.dropout!r} (must be in [0, 1))")
        for name in ("alpha", "beta", "adv_weight", "adv_g_lr"):
            if getattr(self, name) < 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 0)")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be > 0)")
        if not (isinstance(self.bn_momentum, (int, float)) and 0.0 <= self.bn_momentum < 1.0):
            bad.append(f"bn_momentum={self.bn_momentum!r} (must be in [0, 1))")
        if not (isinstance(self.g_lr_decay, (int, float)) and 0.0 < self.g_lr_decay <= 1.0):
            bad.append(f"g_lr_decay={self.g_lr_decay!r} (must be in (0, 1])")
        if self.scale != SCALE:
            bad.append(f"scale={self.scale!r} (the generator's two pixel shuffles make it 4)")
        if self.image_size % 16 or self.image_size < 16:
            bad.append(f"image_size={self.image_size!r} (must be a multiple of 16: 4x SR and four stride-2 D convs)")
        return bad

    @property
    def lr_size(self):
        """Side of the low-resolution input (HR size / 4; 24 for the original)."""
        return self.image_size // self.scale



SRCNN_PADDINGS = ("reflect", "same")
"""SRCNN paddings that keep the HR size (``build_srcnn(padding="valid")``, the paper's, does not)."""


@dataclass
class SRCNNConfig(ImageRunConfig):
    """Hyper-parameters of the SRCNN baseline (Dong et al. 2014, 9-1-5, 64/32 filters) and its training run.

    Trained on the same data and bicubic downscale as mSRGAN (MSE on the 4x
    bicubic upsampling, Adam instead of the paper's SGD: see docs/departures.md).
    """

    # network
    n1: int = param(64, "Filters of the 9x9 patch-extraction layer.")
    n2: int = param(32, "Filters of the 1x1 non-linear mapping layer.")
    padding: str = param("reflect", "reflect: the paper's valid convolutions on the bicubic image reflection-padded "
                                    "by 6 px; same: zero-padded convolutions. Both give the HR size.")
    image_size: int = param(96, "HR side of the training crops (multiple of 4, >= 16); the LR input is a quarter.")
    scale: int = param(SCALE, "Upscaling factor (the bicubic layer's).")
    # optimisation and run
    lr: float = param(1e-3, "Adam learning rate.")
    epochs: int = param(10, "Total number of epochs (a resumed run continues). 10 x 100 steps beat bicubic on the "
                            "demo data; 4 x 100 did not.")
    steps_per_epoch: int | None = param(100, "Steps per epoch [None: train images / batch].")

    def problems(self):
        bad = super().problems() + positive(self, "n1", "n2")
        if not self.lr > 0:
            bad.append(f"lr={self.lr!r} (must be > 0)")
        if self.scale != SCALE:
            bad.append(f"scale={self.scale!r} (the evaluation and prediction take 4x generators)")
        if self.image_size % self.scale or self.image_size < 16:
            bad.append(f"image_size={self.image_size!r} (must be a multiple of 4, >= 16)")
        return bad + one_of(self, "padding", SRCNN_PADDINGS)


SRCNN_ARCHITECTURE_KEYS = ("n1", "n2", "padding", "scale")
"""SRCNN fields a resumed run must keep."""

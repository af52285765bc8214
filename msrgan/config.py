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

from data.config import PRECISIONS, STRATEGIES, Config, one_of, positive

ARCHITECTURE_KEYS = ("n_blocks", "filters", "d_filters", "dense_units", "image_size", "scale")
"""Fields that fix the variables' shapes: a run can only resume with the same values."""


@dataclass
class MSRGANConfig(Config):
    """Hyper-parameters of :class:`msrgan.model.MSRGAN` and its training run.

    Loss symbols: ``alpha`` weights the pixel MSE, ``beta`` the miniVGG19 content
    loss, ``adv_weight`` (w_adv) the adversarial terms. ``d_steps`` is the number
    of discriminator updates per step (0 = the original's never-trained D);
    ``pretrain_steps`` generator steps use the MSE term only (SRResNet phase).
    """

    # networks
    n_blocks: int = 15
    filters: int = 64
    d_filters: int = 64
    dense_units: int = 1024
    dropout: float = 0.5
    image_size: int = 96
    scale: int = 4
    # loss and optimisation
    alpha: float = 0.4
    beta: float = 0.8
    adv_weight: float = 1e-5
    d_steps: int = 1
    pretrain_steps: int = 0
    g_lr: float = 1e-4
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

    def problems(self):
        bad = positive(self, "n_blocks", "filters", "d_filters", "dense_units", "batch_size", "epochs", "image_every",
                       "log_every", "demo_n")
        bad += positive(self, "steps_per_epoch", "val_steps", allow_none=True)
        bad += positive(self, "d_steps", "pretrain_steps", minimum=0)
        if not 0.0 <= self.dropout < 1.0:
            bad.append(f"dropout={self.dropout!r} (must be in [0, 1))")
        for name in ("alpha", "beta", "adv_weight"):
            if getattr(self, name) < 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 0)")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                bad.append(f"{name}={getattr(self, name)!r} (must be > 0)")
        if self.scale != 4:
            bad.append(f"scale={self.scale!r} (the generator's two pixel shuffles make it 4)")
        if self.image_size % 16 or self.image_size < 16:
            bad.append(f"image_size={self.image_size!r} (must be a multiple of 16: 4x SR and four stride-2 D convs)")
        return bad + one_of(self, "precision", PRECISIONS) + one_of(self, "strategy", STRATEGIES)

    @property
    def lr_size(self):
        """Side of the low-resolution input (HR size / 4; 24 for the original)."""
        return self.image_size // self.scale


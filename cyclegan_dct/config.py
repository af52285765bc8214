"""One configuration object for a CycleGAN-DCT run, saved as ``config.json``.

Defaults are those of the reference CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix:
ResNet-9 generator, 64 filters, 70x70 PatchGAN, LSGAN, lambda 10, pool 50,
Adam 2e-4 / beta1 0.5, 100 + 100 epochs, batch 1, 256 crops) plus the DCT
low-pass of Utz et al. (cutoff 0.5 between G and F). Paper symbols:
G = ``g_a2b`` (masks A -> images B), F = ``g_b2a``, D_A, D_B,
lambda = ``lambda_cycle``.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.engine.config import RunConfig, one_of, param, positive

# Keys that fix the networks (and the filter); a resumed run must keep them.
ARCHITECTURE_KEYS = ("channels", "n_blocks", "filters", "d_filters", "disc_layers", "dct", "dct_cutoff", "dct_both")


@dataclass
class CycleGANConfig(RunConfig):
    """Every hyper-parameter of a run.

    ``dct_cutoff`` is the fraction of DCT frequencies kept along each axis
    (``DCTLowPass``); ``dct=False`` or ``dct_cutoff=1.0`` is the vanilla CycleGAN.
    ``steps_per_epoch`` defines an epoch since the domains are sampled on
    the fly (the reference's epoch is one pass over its image folder).
    ``lambda_polarity`` (not in the reference; default 0) weighs
    ``model.polarity_loss``, an anchor against contrast-inverted nuclei.
    ``mask_stats`` is ``data.masks.MaskStats.to_dict()``: the
    ellipse statistics of domain A, reused by ``generate``.
    The run fields (seed, precision, strategy...) are :class:`data.engine.config.RunConfig`'s.
    """

    RENAMED = {"disc_filters": "d_filters", "learning_rate": "lr"}
    """Fields renamed to the names the other models use (a config.json written before still loads)."""

    channels: int = param(1, "Image channels of domain B.")
    crop: int = param(256, "Training crop size (multiple of 4).")
    batch_size: int = param(1, "Images per batch (the reference: 1).")
    n_blocks: int = param(9, "Residual blocks of each generator.")
    filters: int = param(64, "Filters of the first generator layers.")
    d_filters: int = param(64, "Filters of the first discriminator layer.")
    disc_layers: int = param(3, "Stride-2 layers of the PatchGAN (3: 70x70 patches).")
    dct: bool = param(True, "DCT low-pass between the generators (False: vanilla CycleGAN).")
    dct_cutoff: float = param(0.5, "Fraction of DCT frequencies kept along each axis between G and F.")
    dct_both: bool = param(False, "Also low-pass F(b) in the B->A->B cycle.")
    lambda_cycle: float = param(10.0, "Cycle-consistency weight lambda.")
    lambda_identity: float = param(0.5, "Identity loss weight, relative to lambda=10 (the reference's 0.5; 0 "
                                             "lets G draw contrast-inverted nuclei, docs/cyclegan_dct.md).")
    lambda_polarity: float = param(0.0, "Weight of the polarity anchor mean(relu(0.5 - corr(mask, G(mask)))) "
                                        "against contrast-inverted nuclei (not in the reference).")
    pool_size: int = param(50, "Image pool size per discriminator.")
    lr: float = param(2e-4, "Adam learning rate of the generators and the discriminators.")
    beta_1: float = param(0.5, "Adam beta_1.")
    epochs: int = param(100, "Epochs at the initial learning rate (reference --n_epochs).")
    epochs_decay: int = param(100, "Epochs of linear decay to 0 (reference --n_epochs_decay).")
    steps_per_epoch: int = param(1000, "Training steps per epoch (domains are sampled on the fly).")
    seed: int = param(0, "Random seed (weights, samplers, pools).")
    log_every: int = param(50, "TensorBoard step scalars every N steps (at most once per epoch).")
    image_every: int = param(500, "Steps between TensorBoard image summaries.")
    norm: str = param("instance", "Instance-norm layer: instance (InstanceNormalization) or groupnorm "
                                  "(GroupNormalization(groups=-1), as earlier exports); the same function.")
    masks: str | None = param(None, "Folder of label TIFF/PNG masks for domain A (default: random ellipses).")
    images: str | None = param(None, "Folder of 8/16-bit PNG/TIFF nuclei images for domain B (default: stardist's "
                                     "real image); 'simulated': simulated nuclei fields with exact labels.")
    like: str = param("stardist", "Ellipse statistics: 'stardist' (fitted to its real labels), 'simulated' (to "
                                  "the simulated fields' labels), 'default', or a label file/folder.")
    mask_density: float = param(1.0, "Factor on the fitted nuclei density of the ellipse masks (domain A); other "
                                     "than 1 makes the masks disagree with domain B on purpose (preset stego: 2).")
    mask_stats: dict = param({}, "data.masks.MaskStats.to_dict() of domain A (fitted at the run start).")

    @property
    def stats(self):
        """``mask_stats`` as a :class:`data.masks.MaskStats` (``DEFAULT_STATS`` when empty)."""
        from data.masks import DEFAULT_STATS, MaskStats

        return MaskStats.from_dict(self.mask_stats) if self.mask_stats else DEFAULT_STATS

    @property
    def vanilla(self):
        """True when no filter sits between the generators."""
        return (not self.dct) or self.dct_cutoff >= 1.0

    def problems(self):
        bad = [b for b in super().problems() if not b.startswith("epochs=")]  # 0 epochs + some decay epochs is valid
        bad += positive(self, "channels", "filters", "d_filters", "disc_layers", "image_every")
        bad += positive(self, "n_blocks", "epochs", "epochs_decay", "pool_size", minimum=0)
        if self.epochs + self.epochs_decay < 1:
            bad.append("epochs + epochs_decay must be >= 1")
        if self.crop < 8 or self.crop % 4:
            bad.append(f"crop={self.crop} (must be a multiple of 4 and >= 8)")
        if not 0.0 < float(self.dct_cutoff) <= 1.0:
            bad.append(f"dct_cutoff={self.dct_cutoff} (must be in (0, 1])")
        if self.dct_both and not self.dct:
            bad.append("dct_both=True needs dct=True")
        for name in ("lambda_cycle", "lambda_identity", "lambda_polarity"):
            if float(getattr(self, name)) < 0:
                bad.append(f"{name}={getattr(self, name)} (must be >= 0)")
        if not float(self.mask_density) > 0:
            bad.append(f"mask_density={self.mask_density} (must be > 0)")
        if not float(self.lr) > 0:
            bad.append(f"lr={self.lr} (must be > 0)")
        if not 0.0 <= float(self.beta_1) < 1.0:
            bad.append(f"beta_1={self.beta_1} (must be in [0, 1))")
        return bad + one_of(self, "norm", ("instance", "groupnorm"))


PRESETS = {
    # 2-core CPU (PRESET_HELP): the reduced networks of docs/cyclegan_dct.md's measured runs and the reference's
    # identity loss (0.5), without which G learned contrast-inverted nuclei (docs/cyclegan_dct.md, "Why the mapping
    # inverted"). float32, not bf16: at these widths the step is overhead-bound and float32 was faster on the
    # AVX-512-bf16 EPYC (0.136 vs
    # 0.157 s/step, benchmarks/cyclegan_train.py), and CPUs without bf16 units emulate it slowly. 4000 steps:
    # at 2500 one of six runs of the 3-seed ablation drew nuclei of too uneven brightness for Otsu (Dice 0.585,
    # docs/cyclegan_dct.md). Keys are CycleGANConfig fields; d_filters follows filters.
    "cpu": dict(crop=128, n_blocks=6, filters=16, d_filters=16, precision="float32", lambda_identity=0.5,
                epochs=8, epochs_decay=8, steps_per_epoch=250),
    # CycleGAN steganography on a CPU budget (issue 21, README "Does the DCT low-pass stop CycleGAN
    # steganography?"): domain B = simulated nuclei fields with exact labels, domain A = ellipses fitted to those
    # labels but twice as dense, so that D's domain cannot show every nucleus of a mask while the cycle loss
    # needs them all back: the setting in which Chu et al. (2017) saw the source hidden in the image.
    "stego": dict(crop=64, n_blocks=3, filters=16, d_filters=16, precision="float32", lambda_identity=0.5,
                  images="simulated", like="simulated", mask_density=2.0, epochs=3, epochs_decay=3,
                  steps_per_epoch=200, image_every=400),
}
"""Named configurations (``cyclegan_dct.train --preset NAME``); options given explicitly win."""

PRESET_HELP = {"cpu": "128 px crops, 6 blocks, 16 filters, float32, identity loss 0.5, 4000 steps (8 + 8 epochs of "
                      "250; about 13 min on 2 CPU cores, docs/measurements.md)",
               "stego": "64 px crops of simulated nuclei (exact labels) against ellipse masks twice as dense, "
                        "3 blocks, 16 filters, float32, 1200 steps"}
"""The one description of each preset (the CLI's help, the docs)."""


def apply_preset(name, options, explicit=()):
    """``options`` (CycleGANConfig field -> value) with preset ``name``'s values, except for the fields in
    ``explicit`` (given by the user). ``name`` None or "none" returns the options unchanged."""
    if name in (None, "none"):
        return dict(options)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    out = dict(options)
    out.update({k: v for k, v in PRESETS[name].items() if k not in explicit})
    if "filters" in explicit and "d_filters" not in explicit:
        out["d_filters"] = out["filters"]
    return out

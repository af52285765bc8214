"""The CycleGAN-DCT training recipe: what ``data.training`` needs to train it (``python -m cyclegan_dct.train``).

Run folder ``--backup-dir``: ``config.json``, ``ckpt/`` (full state at each
epoch end: G, F, D_A, D_B, both optimizers, step), ``generator_a2b.keras``,
``generator_b2a.keras``, ``discriminator_a.keras``, ``discriminator_b.keras``
(float32) and ``export.json``. A run killed at any moment resumes from its
last checkpoint. TensorBoard (``--logdir``): every loss term and ``lr`` and,
every ``image_every`` steps, the images of both cycles.
"""

from __future__ import annotations

import numpy as np

from cyclegan_dct import domains
from cyclegan_dct.config import ARCHITECTURE_KEYS, CycleGANConfig
from cyclegan_dct.measures import clahe
from cyclegan_dct.model import build_cyclegan
from cyclegan_dct.pipeline import make_dataset, make_samplers
from data import training
from data.io import to_unit

EXPORTS = {
    "g_a2b": "generator_a2b.keras",
    "g_b2a": "generator_b2a.keras",
    "d_a": "discriminator_a.keras",
    "d_b": "discriminator_b.keras",
}


def clahe_batch(images):
    """:func:`cyclegan_dct.measures.clahe` of (N, H, W, C) images in [0, 1], per image and channel.

    Makes a faint hidden (steganographic) pattern in G(a) visible."""
    images = np.asarray(images, np.float32)
    out = np.empty_like(images)
    for i in range(images.shape[0]):
        for ch in range(images.shape[-1]):
            out[i, ..., ch] = clahe(images[i, ..., ch])
    return out


def cycle_panels(model, a, b):
    """TensorBoard images {name: (N, H, W, C) in [0, 1]} of both cycles for fixed batches a, b."""
    t = {k: v.numpy() for k, v in model.translate(a, b).items()}
    return {
        "1_mask_a": to_unit(a),
        "2_G_a": to_unit(t["fake_b"]),
        "3_lowpass_G_a": to_unit(t["filtered_fake_b"]),
        "4_F_lowpass_G_a": to_unit(t["rec_a"]),
        "5_real_b": to_unit(b),
        "6_F_b": to_unit(t["fake_a"]),
        "7_G_F_b": to_unit(t["rec_b"]),
        "8_clahe_G_a": clahe_batch(to_unit(t["fake_b"])),
    }


def build_config(**options):
    """The run's :class:`CycleGANConfig`, with the domain-A mask statistics fitted."""
    config = CycleGANConfig(**options)
    stats = domains.fit_stats(config.masks or config.like)  # errors name the label file
    return config.replace(mask_stats=stats.to_dict())


def training_spec(config):
    """The :class:`data.training.TrainingSpec` of a CycleGAN-DCT run."""
    config = CycleGANConfig.from_dict(config)
    shown = {}

    def make(initial_epoch):
        samplers = make_samplers(config, epoch=initial_epoch)  # reads (and checks) --masks / --images
        fixed = make_samplers(config, epoch=10**6)  # fixed TensorBoard examples, never trained on
        n_show = min(4, max(config.batch_size, 2))
        shown["a"] = np.stack([fixed[0].sample() for _ in range(n_show)])
        shown["b"] = np.stack([fixed[1].sample() for _ in range(n_show)])
        return make_dataset(config, samplers=samplers), None

    return training.TrainingSpec(
        config=config,
        build_model=lambda: build_cyclegan(config),
        make_datasets=make,
        steps_per_epoch=config.steps_per_epoch,
        epochs=config.epochs + config.epochs_decay,
        exports=lambda model: {name: getattr(model, attr) for attr, name in EXPORTS.items()},
        architecture_keys=ARCHITECTURE_KEYS,
        trackables=lambda model: model.training_state(),
        step=lambda model: model.step,
        make_images=lambda model: cycle_panels(model, shown["a"], shown["b"]),
        image_every=config.image_every,
        log_every=max(1, min(50, config.steps_per_epoch)),
    )


def train(config, backup_dir="backup/cyclegan_dct", logdir="logs/cyclegan_dct", resume=True, verbose=None,
          keep_checkpoints=None):
    """Train (or resume) a run; returns the summary of :func:`data.training.train`."""
    config = CycleGANConfig.from_dict(config)
    training.log.info("%s, precision %s", "vanilla" if config.vanilla else f"DCT cutoff {config.dct_cutoff}",
                      config.precision)
    return training.train(training_spec(config), backup_dir, logdir, resume=resume, verbose=verbose,
                          keep_checkpoints=keep_checkpoints)

"""The CycleGAN-DCT training recipe for the engine (``data.engine``): ``python -m cyclegan_dct.train``.

Run folder ``--backup-dir``: ``config.json``, ``ckpt/`` (full state at each
epoch end: G, F, D_A, D_B, both optimizers, step), ``generator_a2b.keras``,
``generator_b2a.keras``, ``discriminator_a.keras``, ``discriminator_b.keras``
(float32) and ``export.json``. A run killed at any moment resumes from its
last checkpoint. TensorBoard (``--logdir``): every loss term and ``lr`` and,
every ``image_every`` steps, the images of both cycles.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from cyclegan_dct import domains
from cyclegan_dct.config import ARCHITECTURE_KEYS, CycleGANConfig
from cyclegan_dct.layers import INFERENCE_FORMS
from cyclegan_dct.measures import clahe
from cyclegan_dct.model import build_cyclegan
from cyclegan_dct.pipeline import make_dataset, make_samplers
from data.engine import loop
from data.engine.recipe import Recipe
from data.io import to_unit

log = logging.getLogger(__name__)

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
    """The run's :class:`CycleGANConfig`, with the domain-A mask statistics fitted (density times
    ``mask_density``)."""
    config = CycleGANConfig(**options)
    stats = domains.fit_stats(config.masks or config.like)  # errors name the label file
    if config.mask_density != 1.0:
        k = float(config.mask_density)
        stats = dataclasses.replace(stats, density=stats.density * k, density_std=stats.density_std * k)
    return config.replace(mask_stats=stats.to_dict())


class CycleGANRecipe(Recipe):
    """A CycleGAN-DCT run: the four networks exported after every epoch."""

    config_class = CycleGANConfig
    architecture_keys = ARCHITECTURE_KEYS
    inference_forms = INFERENCE_FORMS

    @property
    def epochs(self):
        return self.config.epochs + self.config.epochs_decay

    @property
    def log_every(self):
        return max(1, min(self.config.log_every, self.config.steps_per_epoch))

    def build_model(self):
        return build_cyclegan(self.config)

    def make_datasets(self, start):
        samplers = make_samplers(self.config)  # reads (and checks) --masks / --images
        fixed = make_samplers(self.config, epoch=10**6)  # fixed TensorBoard examples, never trained on
        n_show = min(4, max(self.config.batch_size, 2))
        self.shown_a = np.stack([fixed[0].sample() for _ in range(n_show)])
        self.shown_b = np.stack([fixed[1].sample() for _ in range(n_show)])
        return make_dataset(self.config, start, samplers=samplers), None

    def exports(self, model):
        return {name: getattr(model, attr) for attr, name in EXPORTS.items()}

    def trackables(self, model):
        return model.training_state()

    def step(self, model):
        return model.step

    def images(self, model):
        return cycle_panels(model, self.shown_a, self.shown_b)


def train(config, backup_dir="backup/cyclegan_dct", logdir="logs/cyclegan_dct", resume=True, verbose=None,
          keep_checkpoints=1):
    """Train (or resume) a run; returns the summary of :func:`data.engine.loop.train`."""
    recipe = CycleGANRecipe(config)
    config = recipe.config
    log.info("%s, precision %s", "vanilla" if config.vanilla else f"DCT cutoff {config.dct_cutoff}", config.precision)
    return loop.train(recipe, backup_dir, logdir, resume=resume, verbose=verbose, keep_checkpoints=keep_checkpoints)

"""The mSRGAN training recipe: what the engine (``data.engine``) needs to train it (``python -m msrgan.train``).

The run folder (``--backup-dir``, default ``backup/msrgan``) holds
``config.json``, ``ckpt/`` (G, D, both optimizers, step and epoch of the
*last* epoch; written only at epoch ends with finite losses), the exported
``generator.keras`` (float32, input (None, None, 3): any size) and
``discriminator.keras`` of the *best* epoch (:data:`EXPORT_RULE`), ``export.json``
(which epoch, step, validation PSNR/SSIM and the rule), and
``generator_pretrained.keras``, the generator at the end of the MSE-only
pre-training (the SRResNet-style model). Before each validation and export the
generator's BatchNorm statistics are re-estimated with the current weights
(``bn_recalibration_batches``, :mod:`data.engine.batchnorm`). TensorBoard scalars and
images go to ``--logdir``; a titled ``epoch_NNNN.png`` figure per epoch to ``--result-dir``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.engine import loop
from data.engine.batchnorm import Recalibration
from data.engine.image_recipe import ImageRecipe
from data.engine.run_folder import remove_stale_temporaries
from data.packaging.keras_export import export_model
from data.pipeline import downscale, hr_dataset
from msrgan.callbacks import EpochGrid, PretrainedExport
from msrgan.config import ARCHITECTURE_KEYS, MSRGANConfig
from msrgan.layers import INFERENCE_FORMS
from msrgan.model import MSRGAN
from msrgan.networks import build_discriminator, build_generator

GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
PRETRAINED_FILE = "generator_pretrained.keras"
N_SAMPLE_IMAGES = 4
MONITOR = "val_psnr"
EXPORT_RULE = ("the epoch with the best validation PSNR among the epochs that include adversarial training "
               "(steps after pretrain_steps); among all epochs if no epoch has adversarial steps")


@keras.saving.register_keras_serializable(package="msrgan")
class DelayedExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr`` until step ``start``, then ``lr * decay ** ((step - start) / 100)`` (``--g-lr-decay``);
    from step ``switch_step`` on, ``switch_lr`` instead when it is > 0 (``--adv-g-lr``)."""

    def __init__(self, lr, decay=1.0, start=0, switch_step=0, switch_lr=0.0):
        self.lr, self.decay, self.start = float(lr), float(decay), int(start)
        self.switch_step, self.switch_lr = int(switch_step), float(switch_lr)

    def __call__(self, step):
        k = tf.maximum(tf.cast(step, tf.float32) - float(self.start), 0.0) / 100.0
        lr = self.lr * tf.pow(self.decay, k)
        if self.switch_lr > 0:
            lr = tf.where(tf.cast(step, tf.float32) >= float(self.switch_step), self.switch_lr, lr)
        return lr

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "start": self.start, "switch_step": self.switch_step,
                "switch_lr": self.switch_lr}


def check_vgg_weights(config):
    """Raise ``FileNotFoundError`` with the fix when the content loss needs missing VGG weights."""
    if config.beta > 0 and (config.vgg_weights is None or not Path(config.vgg_weights).is_file()):
        raise FileNotFoundError(
            f"{config.vgg_weights}: miniVGG19 weights not found; the content loss (beta={config.beta}) needs them. "
            "Train them first with `python -m vgg19.train` (it writes backup/vgg19/minivgg19.keras), "
            "pass --vgg-weights PATH, or use --beta 0 (no content loss)"
        )


def load_feature_extractor(config):
    """Frozen miniVGG19 taps phi_1..5 at the HR size, or None when ``beta == 0``."""
    if config.beta <= 0:
        return None
    import vgg19

    classifier = vgg19.load_model(config.vgg_weights, channels=3)
    return vgg19.build_feature_extractor(classifier, input_shape=(config.image_size, config.image_size, 3))


def build_msrgan(config, sync_bn=False):
    """The compiled :class:`MSRGAN` of ``config`` (Adam as the original, epsilon 1e-8)."""
    lr = config.lr_size
    generator = build_generator((lr, lr, 3), config.n_blocks, config.filters, config.dropout, sync_bn=sync_bn,
                                bn_momentum=config.bn_momentum, residual_bicubic=config.residual_bicubic)
    discriminator = build_discriminator((config.image_size, config.image_size, 3), config.d_filters,
                                        config.dense_units)
    gan = MSRGAN(generator, discriminator, load_feature_extractor(config), alpha=config.alpha, beta=config.beta,
                 adv_weight=config.adv_weight, d_steps=config.d_steps, pretrain_steps=config.pretrain_steps,
                 scale=config.scale)
    g_lr = config.g_lr
    if config.g_lr_decay < 1.0 or config.adv_g_lr > 0:
        g_lr = DelayedExponentialDecay(config.g_lr, config.g_lr_decay, config.g_lr_decay_start,
                                       config.pretrain_steps, config.adv_g_lr)
    gan.compile(keras.optimizers.Adam(g_lr, epsilon=1e-8, name="g_adam"),
                keras.optimizers.Adam(config.d_lr, epsilon=1e-8, name="d_adam"))
    return gan


def exports_adversarial_epochs(config, steps_per_epoch):
    """Whether :data:`EXPORT_RULE` restricts the export to epochs past ``pretrain_steps`` (some epoch has them)."""
    return config.pretrain_steps < config.epochs * steps_per_epoch


class MSRGANRecipe(ImageRecipe):
    """An mSRGAN run (checks the VGG weights and both splits on construction).

    ``result_dir`` receives the per-epoch figures ``epoch_NNNN.png`` (also TensorBoard images in ``logdir``);
    ``backup_dir`` (the run folder) the pre-trained generator ``generator_pretrained.keras``.
    """

    config_class = MSRGANConfig
    architecture_keys = ARCHITECTURE_KEYS
    monitor = MONITOR
    export_rule = EXPORT_RULE
    inference_forms = INFERENCE_FORMS
    dataset = staticmethod(hr_dataset)

    def __init__(self, config, result_dir="result/msrgan", logdir=None, backup_dir="backup/msrgan"):
        super().__init__(config)
        check_vgg_weights(self.config)
        self.result_dir, self.logdir, self.backup_dir = result_dir, logdir, Path(backup_dir)
        self.recalibration = None

    def build_model(self):
        return build_msrgan(self.config, sync_bn=self.config.strategy != "default")

    def make_datasets(self, start):
        train_ds, val_ds = super().make_datasets(start)
        self.sample_hr = next(iter(val_ds.take(1)))[:N_SAMPLE_IMAGES].numpy()
        return train_ds, val_ds

    def exports(self, gan):
        return {GENERATOR_FILE: (gan.generator, (None, None, 3)), DISCRIMINATOR_FILE: gan.discriminator}

    def trackables(self, gan):
        # "steps_done": the checkpoint key of the step counter since the first release (older run folders resume)
        return dict(generator=gan.generator, discriminator=gan.discriminator, g_optimizer=gan.g_optimizer,
                    d_optimizer=gan.d_optimizer, steps_done=gan.step)

    def step(self, gan):
        return gan.step

    def eligible(self, gan):
        """:data:`EXPORT_RULE`: epochs past ``pretrain_steps`` when some epoch has adversarial steps."""
        if not exports_adversarial_epochs(self.config, self.steps_per_epoch):
            return True
        return int(np.asarray(gan.step)) > self.config.pretrain_steps

    def recalibrator(self, gan):
        """The generator's BN statistics, re-estimated with the current weights (training images in another order
        than the training batches, downscaled as the generator sees them) before validation and export."""
        if self.recalibration is None:
            scale = self.config.scale
            self.recalibration = Recalibration(
                self.recalibration_set, self.config.bn_recalibration_batches, model=gan.generator,
                prepare=lambda hr: downscale(tf.cast(hr, tf.float32), scale), step=lambda: np.asarray(gan.step))
        return self.recalibration

    def before_export(self, gan):
        self.recalibrator(gan).run()

    def images(self, gan):
        return gan.sample_images(self.sample_hr)

    def export_pretrained(self, gan):
        self.recalibrator(gan).run()
        export_model(gan.generator, self.backup_dir / PRETRAINED_FILE, input_shape=(None, None, 3),
                     forms=self.inference_forms)

    def callbacks(self, gan, validation):
        remove_stale_temporaries(self.result_dir)  # half-written figures of a killed run (run_dir's: cleared)
        return [
            self.recalibrator(gan),
            PretrainedExport(lambda: self.export_pretrained(gan), gan, self.config.pretrain_steps,
                             self.backup_dir / PRETRAINED_FILE),
            EpochGrid(self.result_dir, self.sample_hr, step=lambda: int(np.asarray(gan.step)), logdir=self.logdir),
        ]


def train(config, backup_dir="backup/msrgan", logdir="logs/msrgan", result_dir="result/msrgan", resume=True,
          verbose=None, keep_checkpoints=1):
    """Train (or resume) a run; returns the summary of :func:`data.engine.loop.train`.

    Raises FileNotFoundError (missing VGG weights), ValueError/ImageError (bad
    data or config) before writing anything, and NonFiniteLossError on a NaN or
    infinite loss (the last good checkpoint and exports stay).
    """
    recipe = MSRGANRecipe(config, result_dir, logdir, backup_dir)
    return loop.train(recipe, backup_dir, logdir, resume=resume, verbose=verbose, keep_checkpoints=keep_checkpoints)

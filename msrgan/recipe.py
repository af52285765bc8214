"""The mSRGAN training recipe: what ``data.training`` needs to train it (``python -m msrgan.train``).

The run folder (``--backup-dir``, default ``backup/msrgan``) holds
``config.json``, ``ckpt/`` (G, D, both optimizers, step and epoch of the
*last* epoch; written only at epoch ends with finite losses), the exported
``generator.keras`` (float32, input (None, None, 3): any size) and
``discriminator.keras`` of the *best* epoch (:data:`EXPORT_RULE`), ``export.json``
(which epoch, step, validation PSNR/SSIM and the rule), and
``generator_pretrained.keras``, the generator at the end of the MSE-only
pre-training (the SRResNet-style model). Before each validation and export the
generator's BatchNorm statistics are re-estimated with the current weights
(``bn_recalibration_batches``, :mod:`data.batchnorm`). TensorBoard scalars and
images go to ``--logdir``; a titled ``epoch_NNNN.png`` figure per epoch to ``--result-dir``.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data import training
from data.batchnorm import Recalibration
from data.export import export_model
from msrgan.callbacks import EpochGrid, PretrainedExport
from msrgan.config import ARCHITECTURE_KEYS, MSRGANConfig
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
    """``lr`` until step ``start``, then ``lr * decay ** ((step - start) / 100)`` (``--g-lr-decay``)."""

    def __init__(self, lr, decay, start=0):
        self.lr, self.decay, self.start = float(lr), float(decay), int(start)

    def __call__(self, step):
        k = tf.maximum(tf.cast(step, tf.float32) - float(self.start), 0.0) / 100.0
        return self.lr * tf.pow(self.decay, k)

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "start": self.start}


def check_vgg_weights(config):
    """Raise ``FileNotFoundError`` with the fix when the content loss needs missing VGG weights."""
    if config.beta > 0 and (config.vgg_weights is None or not Path(config.vgg_weights).is_file()):
        raise FileNotFoundError(
            f"{config.vgg_weights}: miniVGG19 weights not found; the content loss (beta={config.beta}) needs them. "
            "Train them first with `python -m vgg19.train` (it writes backup/vgg19/minivgg19.keras), "
            "pass --vgg-weights PATH, or use --beta 0 (no content loss)"
        )


def count_images(config, split):
    """Number of images of a split (demo data or ``data_dir``); ValueError if there are none."""
    if config.data_dir is None:
        from data.synthetic import demo_split

        n = len(demo_split(split, n=config.demo_n)[1])
        where = f"demo data ({split} split)"
    else:
        from data.layout import list_split

        n = len(list_split(config.data_dir, split)[0])
        where = str(Path(config.data_dir) / split)
    if n == 0:
        raise ValueError(f"{where}: no images")
    return n


def make_datasets(config, initial_epoch=0):
    """(train, validation) tf.data of HR float32 (B, S, S, 3) in [-1, 1].

    Training batches are shuffled and repeated (augmented only with
    ``config.augment``: the original's SR loop fed the images as they are); the
    shuffle seed moves on with the resumed epoch. Validation: one pass over the test split.
    """
    from data.pipeline import hr_dataset

    common = dict(data_dir=config.data_dir, batch_size=config.batch_size, image_size=config.image_size,
                  demo_n=config.demo_n)
    train_ds = hr_dataset(split="train", augment=config.augment, shuffle=True, repeat=True,
                          seed=config.seed + initial_epoch, **common)
    val_ds = hr_dataset(split="test", augment=False, shuffle=False, repeat=False, seed=config.seed, **common)
    return train_ds, val_ds


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
    if config.g_lr_decay < 1.0:
        g_lr = DelayedExponentialDecay(config.g_lr, config.g_lr_decay, config.g_lr_decay_start)
    gan.compile(keras.optimizers.Adam(g_lr, epsilon=1e-8, name="g_adam"),
                keras.optimizers.Adam(config.d_lr, epsilon=1e-8, name="d_adam"))
    return gan


def exports_adversarial_epochs(config, steps_per_epoch):
    """Whether :data:`EXPORT_RULE` restricts the export to epochs past ``pretrain_steps`` (some epoch has them)."""
    return config.pretrain_steps < config.epochs * steps_per_epoch


def training_spec(config, result_dir="result/msrgan", logdir=None, backup_dir="backup/msrgan"):
    """The :class:`data.training.TrainingSpec` of an mSRGAN run (checks the VGG weights and both splits).

    ``result_dir`` receives the per-epoch figures ``epoch_NNNN.png`` (also TensorBoard images in ``logdir``);
    ``backup_dir`` (the run folder) the pre-trained generator ``generator_pretrained.keras``.
    """
    config = MSRGANConfig.from_dict(config)
    check_vgg_weights(config)
    n_train = count_images(config, "train")
    n_test = count_images(config, "test")
    datasets = {}

    def make(initial_epoch):
        datasets["initial_epoch"] = initial_epoch
        datasets["train"], datasets["validation"] = make_datasets(config, initial_epoch)
        datasets["sample_hr"] = next(iter(datasets["validation"].take(1)))[:N_SAMPLE_IMAGES].numpy()
        return datasets["train"], datasets["validation"]

    steps = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    adversarial_only = exports_adversarial_epochs(config, steps)
    recalibrators = {}

    def recalibrator(gan):
        # The generator's BN statistics, re-estimated with the current weights (training images in another
        # order than the training batches, downscaled as the generator sees them) before validation and export.
        if "g" not in recalibrators:
            from data.pipeline import downscale

            batches = make_datasets(config, datasets.get("initial_epoch", 0) + 1000)[0]
            recalibrators["g"] = Recalibration(batches, config.bn_recalibration_batches, model=gan.generator,
                                               prepare=lambda hr: downscale(tf.cast(hr, tf.float32), config.scale),
                                               step=lambda: np.asarray(gan.steps_done))
        return recalibrators["g"]

    def export_pretrained(gan):
        recalibrator(gan).run()
        export_model(gan.generator, Path(backup_dir) / PRETRAINED_FILE, input_shape=(None, None, 3))

    def callbacks(gan, validation):
        training.remove_stale_temporaries(result_dir)  # half-written figures of a killed run (run_dir's: cleared)
        return [
            recalibrator(gan),
            PretrainedExport(lambda: export_pretrained(gan), gan, config.pretrain_steps,
                             Path(backup_dir) / PRETRAINED_FILE),
            EpochGrid(result_dir, datasets["sample_hr"], step=lambda: int(np.asarray(gan.steps_done)),
                      logdir=logdir),
        ]

    return training.TrainingSpec(
        config=config,
        build_model=lambda: build_msrgan(config, sync_bn=config.strategy != "default"),
        make_datasets=make,
        steps_per_epoch=steps,
        validation_steps=config.val_steps or math.ceil(n_test / config.batch_size),
        exports=lambda gan: {GENERATOR_FILE: (gan.generator, (None, None, 3)), DISCRIMINATOR_FILE: gan.discriminator},
        architecture_keys=ARCHITECTURE_KEYS,
        trackables=lambda gan: dict(generator=gan.generator, discriminator=gan.discriminator,
                                    g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                                    steps_done=gan.steps_done),
        step=lambda gan: gan.steps_done,
        monitor=MONITOR,
        mode="max",
        eligible=(lambda gan: int(np.asarray(gan.steps_done)) > config.pretrain_steps) if adversarial_only else None,
        export_rule=EXPORT_RULE,
        before_export=lambda gan: recalibrator(gan).run(),
        make_images=lambda gan: gan.sample_images(datasets["sample_hr"]),
        image_every=config.image_every,
        log_every=config.log_every,
        callbacks=callbacks,
    )


def train(config, backup_dir="backup/msrgan", logdir="logs/msrgan", result_dir="result/msrgan", resume=True,
          verbose=None, keep_checkpoints=None):
    """Train (or resume) a run; returns the summary of :func:`data.training.train`.

    Raises FileNotFoundError (missing VGG weights), ValueError/ImageError (bad
    data or config) before writing anything, and NonFiniteLossError on a NaN or
    infinite loss (the last good checkpoint and exports stay).
    """
    spec = training_spec(config, result_dir, logdir, backup_dir)
    return training.train(spec, backup_dir, logdir, resume=resume, verbose=verbose, keep_checkpoints=keep_checkpoints)

"""Training of mSRGAN with Keras ``fit`` (the CLI in ``msrgan.train`` calls :func:`train`).

The run folder (``--backup-dir``, default ``backup/msrgan``) holds
``config.json``, ``ckpt/`` (G, D, both optimizers, step and epoch; written
only at epoch ends with finite losses) and the exported ``generator.keras``
(input (None, None, 3): any size) and ``discriminator.keras``. TensorBoard
scalars and images go to ``--logdir``; an ``epoch_NNNN.png`` figure per epoch
to ``--result-dir``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data import runs
from data.batchnorm import Recalibration
from data.pipeline import downscale
from msrgan.callbacks import BestGeneratorExport, EpochGrid, PretrainedExport
from msrgan.config import ARCHITECTURE_KEYS, MSRGANConfig
from msrgan.model import MSRGAN
from msrgan.networks import build_discriminator, build_generator

GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
PRETRAINED_FILE = "generator_pretrained.keras"
EXPORT_SUMMARY = "export.json"
N_SAMPLE_IMAGES = 4

log = logging.getLogger(__name__)


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


def make_strategy(name):
    """``tf.distribute`` strategy for ``--strategy``.

    ``default``: the current one (one device). ``mirrored``: a replica on each
    GPU, or on each logical CPU when there is no GPU (as the tests configure).
    """
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"unknown strategy {name!r} (default, mirrored)")


def load_feature_extractor(config):
    """Frozen miniVGG19 taps phi_1..5 at the HR size, or None when ``beta == 0``."""
    if config.beta <= 0:
        return None
    import vgg19

    check_vgg_weights(config)
    classifier = vgg19.load_model(config.vgg_weights)
    shape = tuple(classifier.input_shape[1:])
    if shape[-1] != 3:
        raise ValueError(f"{config.vgg_weights}: the miniVGG19 takes {shape[-1]} channels, mSRGAN needs 3 (RGB)")
    return vgg19.build_feature_extractor(classifier, input_shape=(config.image_size, config.image_size, 3))


def build_gan(config, sync_bn=False):
    """The compiled :class:`MSRGAN` of ``config`` (Adam as the original, epsilon 1e-8)."""
    generator = make_generator(config, (config.lr_size, config.lr_size, 3), sync_bn=sync_bn)
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


def make_generator(config, input_shape, sync_bn=False):
    """The generator of ``config`` for ``input_shape`` (BN momentum, dropout, residual option)."""
    return build_generator(input_shape, config.n_blocks, config.filters, config.dropout, sync_bn=sync_bn,
                           bn_momentum=config.bn_momentum, residual_bicubic=config.residual_bicubic)


def export_models(config, gan, run_dir, generator_file=GENERATOR_FILE, discriminator_file=DISCRIMINATOR_FILE):
    """Write the generator (input (None, None, 3)) and, unless ``discriminator_file`` is None, D; float32, atomic.

    The weights are copied as they are, BN moving statistics included: call
    :meth:`data.batchnorm.Recalibration.run` first so they match the current weights.
    """
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        g = make_generator(config, (None, None, 3))
        g.set_weights(gan.generator.get_weights())
        d = None
        if discriminator_file is not None:
            d = build_discriminator((config.image_size, config.image_size, 3), config.d_filters, config.dense_units)
            d.set_weights(gan.discriminator.get_weights())
    finally:
        keras.mixed_precision.set_global_policy(policy)
    runs.save_model(g, Path(run_dir) / generator_file)
    if d is not None:
        runs.save_model(d, Path(run_dir) / discriminator_file)


def train(config, backup_dir="backup/msrgan", logdir="logs/msrgan", result_dir="result/msrgan", resume=True,
          verbose=1):
    """Train (or resume) a run; returns ``{"epoch", "step", "logs", "generator"}``.

    Raises FileNotFoundError (missing VGG weights), ValueError/ImageError (bad
    data or config) before writing anything, and NonFiniteLossError on a NaN or
    infinite loss (the last good checkpoint and exports stay).
    """
    config = MSRGANConfig.from_dict(config.to_dict() if isinstance(config, MSRGANConfig) else dict(config))
    check_vgg_weights(config)
    runs.set_precision(config.precision)
    n_train = count_images(config, "train")
    n_test = count_images(config, "test")
    steps = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    val_steps = config.val_steps or math.ceil(n_test / config.batch_size)

    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        gan = build_gan(config, sync_bn=config.strategy == "mirrored")
    # Build the datasets (checks every image file) before writing the run folder.
    train_ds, val_ds = make_datasets(config, 0)
    run_dir = runs.prepare_run_dir(backup_dir, config.to_dict(), resume=resume, fixed_keys=ARCHITECTURE_KEYS)
    best = tf.Variable(-np.inf, dtype=tf.float64, trainable=False, name="best_val_psnr")
    state = runs.TrainingState(run_dir, generator=gan.generator, discriminator=gan.discriminator,
                               g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, steps_done=gan.steps_done,
                               best_val_psnr=best)
    initial_epoch = state.restore()
    step = int(np.asarray(gan.steps_done))
    if initial_epoch:
        log.info("resuming from %s: epoch %d done, step %d", state.latest, initial_epoch, step)
        train_ds, val_ds = make_datasets(config, initial_epoch)
    result = {"epoch": initial_epoch, "step": step, "logs": {}, "generator": str(run_dir / GENERATOR_FILE)}
    if initial_epoch >= config.epochs:
        log.info("nothing to do: %d of %d epochs already done", initial_epoch, config.epochs)
        return result

    sample_hr = next(iter(val_ds.take(1)))[:N_SAMPLE_IMAGES].numpy()
    recal_ds = make_datasets(config, initial_epoch + 1000)[0]  # training images, another order
    # The generator's BN statistics, re-estimated with the current weights before each validation and export.
    recalibrator = Recalibration(recal_ds, config.bn_recalibration_batches, model=gan.generator,
                                 prepare=lambda hr: downscale(tf.cast(hr, tf.float32), config.scale),
                                 step=lambda: np.asarray(gan.steps_done))

    def export(generator_file=GENERATOR_FILE, discriminator_file=DISCRIMINATOR_FILE):
        recalibrator.run()
        export_models(config, gan, run_dir, generator_file, discriminator_file)

    callbacks = [
        recalibrator,
        PretrainedExport(lambda: export(PRETRAINED_FILE, None), gan, config.pretrain_steps,
                         run_dir / PRETRAINED_FILE),
        BestGeneratorExport(export, best, gan, run_dir / GENERATOR_FILE, run_dir / EXPORT_SUMMARY,
                            pretrain_steps=config.pretrain_steps),
        runs.CheckpointCallback(state, initial_epoch=initial_epoch, steps_per_epoch=steps),
        runs.StepTensorBoard(step=lambda m: m.steps_done, log_dir=str(logdir), update_freq=config.log_every,
                             write_graph=False),
        runs.ImageSummary(logdir, lambda model: model.sample_images(sample_hr), every=config.image_every,
                          initial_step=step),
        EpochGrid(result_dir, sample_hr, step=lambda: int(np.asarray(gan.steps_done)), logdir=logdir),
    ]
    history = gan.fit(train_ds, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                      validation_data=val_ds, validation_steps=val_steps, callbacks=callbacks, verbose=verbose)
    logs = {k: float(v[-1]) for k, v in history.history.items() if v}
    result.update(epoch=int(state.epoch.numpy()), step=int(np.asarray(gan.steps_done)), logs=logs)
    return result

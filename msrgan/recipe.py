"""The mSRGAN training recipe: what ``data.training`` needs to train it (``python -m msrgan.train``).

The run folder (``--backup-dir``, default ``backup/msrgan``) holds
``config.json``, ``ckpt/`` (G, D, both optimizers, step and epoch; written
only at epoch ends with finite losses) and the exported ``generator.keras``
(float32, input (None, None, 3): any size), ``discriminator.keras`` and
``export.json`` after each epoch. TensorBoard
scalars and images go to ``--logdir``; an ``epoch_NNNN.png`` figure per epoch
to ``--result-dir``.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras

from data import training
from msrgan.callbacks import EpochGrid
from msrgan.config import ARCHITECTURE_KEYS, MSRGANConfig
from msrgan.model import MSRGAN
from msrgan.networks import build_discriminator, build_generator

GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
N_SAMPLE_IMAGES = 4


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
    generator = build_generator((lr, lr, 3), config.n_blocks, config.filters, config.dropout, sync_bn=sync_bn)
    discriminator = build_discriminator((config.image_size, config.image_size, 3), config.d_filters,
                                        config.dense_units)
    gan = MSRGAN(generator, discriminator, load_feature_extractor(config), alpha=config.alpha, beta=config.beta,
                 adv_weight=config.adv_weight, d_steps=config.d_steps, pretrain_steps=config.pretrain_steps,
                 scale=config.scale)
    gan.compile(keras.optimizers.Adam(config.g_lr, epsilon=1e-8, name="g_adam"),
                keras.optimizers.Adam(config.d_lr, epsilon=1e-8, name="d_adam"))
    return gan


def training_spec(config, result_dir="result/msrgan"):
    """The :class:`data.training.TrainingSpec` of an mSRGAN run (checks the VGG weights and both splits).

    ``result_dir`` receives the per-epoch figures ``epoch_NNNN.png``.
    """
    config = MSRGANConfig.from_dict(config)
    check_vgg_weights(config)
    n_train = count_images(config, "train")
    n_test = count_images(config, "test")
    datasets = {}

    def make(initial_epoch):
        datasets["train"], datasets["validation"] = make_datasets(config, initial_epoch)
        datasets["sample_hr"] = next(iter(datasets["validation"].take(1)))[:N_SAMPLE_IMAGES].numpy()
        return datasets["train"], datasets["validation"]

    return training.TrainingSpec(
        config=config,
        build_model=lambda: build_msrgan(config, sync_bn=config.strategy == "mirrored"),
        make_datasets=make,
        steps_per_epoch=config.steps_per_epoch or math.ceil(n_train / config.batch_size),
        validation_steps=config.val_steps or math.ceil(n_test / config.batch_size),
        exports=lambda gan: {GENERATOR_FILE: (gan.generator, (None, None, 3)), DISCRIMINATOR_FILE: gan.discriminator},
        architecture_keys=ARCHITECTURE_KEYS,
        trackables=lambda gan: dict(generator=gan.generator, discriminator=gan.discriminator,
                                    g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                                    steps_done=gan.steps_done),
        step=lambda gan: gan.steps_done,
        make_images=lambda gan: gan.sample_images(datasets["sample_hr"]),
        image_every=config.image_every,
        log_every=config.log_every,
        callbacks=lambda gan, validation: [EpochGrid(result_dir, datasets["sample_hr"])],
    )


def train(config, backup_dir="backup/msrgan", logdir="logs/msrgan", result_dir="result/msrgan", resume=True,
          verbose=None):
    """Train (or resume) a run; returns the summary of :func:`data.training.train`.

    Raises FileNotFoundError (missing VGG weights), ValueError/ImageError (bad
    data or config) before writing anything, and NonFiniteLossError on a NaN or
    infinite loss (the last good checkpoint and exports stay).
    """
    return training.train(training_spec(config, result_dir), backup_dir, logdir, resume=resume, verbose=verbose)

"""The miniVGG19 training recipe: what ``data.training`` needs to train it (``python -m vgg19.train``).

As the original ``mSRGAN/vgg19/train.py``: softmax cross-entropy on the class
index, Adam (lr 1e-4), batches of 128 augmented training images, validation
accuracy after each epoch, a ``latest`` checkpoint. Unlike the original, the
validation images are not augmented. The run folder (``--backup-dir``) holds
``config.json``, ``ckpt/`` (model, optimizer, epoch, best accuracy; ``ckpt/checkpoint``
is the ``latest`` pointer), ``minivgg19.keras`` (float32, the epoch with the best
validation accuracy) and ``export.json`` (its epoch, step and scores).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from data import training
from data.batchnorm import Recalibration
from data.io import to_unit
from vgg19.config import ARCHITECTURE_KEYS, VGG19Config
from vgg19.model import build_model

EXPORT_NAME = "minivgg19.keras"
MONITOR = "val_accuracy"


def split_labels(config, split):
    """Class labels (int64) of a split, checked against ``config.n_classes``; raises ValueError."""
    if config.data_dir is None:
        from data.synthetic import demo_split

        labels = demo_split(split, n=config.demo_n)[1]
        where = f"demo data ({split} split)"
    else:
        from data.layout import list_split

        paths, labels = list_split(config.data_dir, split)
        where = str(Path(config.data_dir) / split)
        labels = np.asarray(labels)
        if labels.size and labels.max() >= config.n_classes:
            bad = [str(p) for p, lab in zip(paths, labels) if lab >= config.n_classes][:3]
            raise ValueError(
                f"{where}: label {int(labels.max())} outside 0..{config.n_classes - 1} "
                f"for a model of {config.n_classes} classes (e.g. {', '.join(bad)})"
            )
    if len(labels) == 0:
        raise ValueError(f"{where}: no images")
    return np.asarray(labels)


def make_datasets(config, initial_epoch=0):
    """(train, validation) tf.data of (float32 (B,S,S,3) in [-1,1], int32 (B,)).

    Training batches are augmented (``config.augment``), shuffled and repeated; the shuffle seed
    moves on with the resumed epoch so a resumed run does not replay the same order.
    Validation is one unaugmented pass over the test split.
    """
    from data.pipeline import classification_dataset

    common = dict(data_dir=config.data_dir, batch_size=config.batch_size, image_size=config.image_size,
                  demo_n=config.demo_n)
    train_ds = classification_dataset(split="train", augment=config.augment, shuffle=True, repeat=True,
                                      seed=config.seed + initial_epoch, **common)
    val_ds = classification_dataset(split="test", augment=False, shuffle=False, repeat=False,
                                    seed=config.seed, **common)
    return train_ds, val_ds


def compile_model(config):
    """The miniVGG19 of ``config``, compiled with Adam and sparse softmax cross-entropy on logits."""
    model = build_model(config.input_shape, config.n_classes, config.base_filters, config.dense_units,
                        bn_scale_init=config.bn_scale_init, bn_momentum=config.bn_momentum,
                        dense_init=config.dense_init, sync_bn=config.strategy != "default")
    model.compile(
        optimizer=keras.optimizers.Adam(config.lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def training_spec(config):
    """The :class:`data.training.TrainingSpec` of a miniVGG19 run (checks the labels of both splits)."""
    config = VGG19Config.from_dict(config)
    n_train = len(split_labels(config, "train"))
    split_labels(config, "test")
    datasets = {}

    def make(initial_epoch):
        datasets["initial_epoch"] = initial_epoch
        datasets["train"], datasets["validation"] = make_datasets(config, initial_epoch)
        # the first training images, for TensorBoard (every iterator of the training set yields the same batches)
        images = next(iter(datasets["train"].take(1)))[0][:4].numpy()
        datasets["images"] = {"train_inputs": to_unit(images)}
        return datasets["train"], datasets["validation"]

    def input_images(model):
        return datasets["images"]

    def callbacks(model, validation):
        # training images in another order than the training batches, without labels
        batches = make_datasets(config, datasets["initial_epoch"] + 1000)[0].map(lambda x, y: x)
        return [Recalibration(batches, config.bn_recalibration_batches, step=lambda: model.optimizer.iterations)]

    steps = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    return training.TrainingSpec(
        config=config, build_model=lambda: compile_model(config), make_datasets=make, steps_per_epoch=steps,
        exports=lambda model: {EXPORT_NAME: model}, architecture_keys=ARCHITECTURE_KEYS,
        monitor=MONITOR, mode="max", make_images=input_images, image_every=steps,
        callbacks=callbacks if config.bn_recalibration_batches > 0 else None,
    )


def train(config, backup_dir="backup/vgg19", logdir="logs/vgg19", resume=True, verbose=None, keep_checkpoints=None):
    """Train (or resume) a run; returns the summary of :func:`data.training.train`.

    Raises ValueError/ImageError on bad data or config, NonFiniteLossError on a
    NaN/inf loss (the last good checkpoint stays), before writing anything for bad input.
    """
    return training.train(training_spec(config), backup_dir, logdir, resume=resume, verbose=verbose,
                          keep_checkpoints=keep_checkpoints)

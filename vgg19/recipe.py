"""The miniVGG19 training recipe: the recipe the engine (``data.engine``) trains: ``python -m vgg19.train``.

As the original ``mSRGAN/vgg19/train.py``: softmax cross-entropy on the class
index, Adam (lr 1e-4), batches of 128 augmented training images, validation
accuracy after each epoch, a ``latest`` checkpoint. Unlike the original, the
validation images are not augmented. The run folder (``--backup-dir``) holds
``config.json``, ``ckpt/`` (model, optimizer, epoch, best accuracy; ``ckpt/checkpoint``
is the ``latest`` pointer), ``minivgg19.keras`` (float32, the epoch with the best
validation accuracy) and ``export.json`` (its epoch, step and scores).
"""

from __future__ import annotations

from pathlib import Path

import keras

from data.engine import loop
from data.engine.batchnorm import Recalibration
from data.engine.image_recipe import ImageRecipe
from data.io import to_unit
from data.pipeline import classification_dataset
from vgg19.config import ARCHITECTURE_KEYS, VGG19Config
from vgg19.model import build_model

EXPORT_NAME = "minivgg19.keras"
MONITOR = "val_accuracy"


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


class VGG19Recipe(ImageRecipe):
    """A miniVGG19 run: the best validation accuracy exported as ``minivgg19.keras``."""

    config_class = VGG19Config
    architecture_keys = ARCHITECTURE_KEYS
    monitor = MONITOR
    dataset = staticmethod(classification_dataset)

    def labels(self, split):
        """The split's labels, checked against ``config.n_classes``."""
        labels = super().labels(split)
        n = self.config.n_classes
        if labels.max() >= n:
            where = "demo data" if self.config.data_dir is None else str(Path(self.config.data_dir) / split)
            raise ValueError(f"{where}: label {int(labels.max())} outside 0..{n - 1} for a model of {n} classes")
        return labels

    @property
    def image_every(self):
        return self.steps_per_epoch

    def build_model(self):
        return compile_model(self.config)

    def make_datasets(self, start):
        train_ds, val_ds = super().make_datasets(start)
        # the first training images, for TensorBoard (every iterator of the training set yields the same batches)
        self.sample_images = {"train_inputs": to_unit(next(iter(train_ds.take(1)))[0][:4].numpy())}
        return train_ds, val_ds

    def images(self, model):
        return self.sample_images

    def exports(self, model):
        return {EXPORT_NAME: model}

    def callbacks(self, model, validation):
        if self.config.bn_recalibration_batches <= 0:
            return []
        return [Recalibration(lambda step: self.recalibration_set(step).map(lambda x, y: x),  # images, no labels
                              self.config.bn_recalibration_batches, step=lambda: model.optimizer.iterations)]


def train(config, backup_dir="backup/vgg19", logdir="logs/vgg19", resume=True, verbose=None, keep_checkpoints=1):
    """Train (or resume) a run; returns the summary of :func:`data.engine.loop.train`.

    Raises ValueError/ImageError on bad data or config, NonFiniteLossError on a
    NaN/inf loss (the last good checkpoint stays), before writing anything for bad input.
    """
    return loop.train(VGG19Recipe(config), backup_dir, logdir, resume=resume, verbose=verbose,
                      keep_checkpoints=keep_checkpoints)

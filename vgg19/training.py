"""Training of the miniVGG19 classifier with Keras ``fit`` (the CLI in ``vgg19.train`` calls :func:`train`).

As the original ``mSRGAN/vgg19/train.py``: softmax cross-entropy on the class
index, Adam (lr 1e-4), batches of 128 augmented training images, validation
accuracy after each epoch, a ``latest`` checkpoint. Unlike the original, the
validation images are not augmented. The run folder (``--backup-dir``) holds
``config.json``, ``ckpt/`` (model, optimizer, epoch, best accuracy; ``ckpt/checkpoint``
is the ``latest`` pointer), ``minivgg19.keras`` (best validation accuracy) and
``minivgg19.json`` (its epoch and scores).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data import runs
from data.batchnorm import Recalibration
from vgg19.callbacks import BestModelExport
from vgg19.config import ARCHITECTURE_KEYS, VGG19Config
from vgg19.model import build_model

EXPORT_NAME = "minivgg19.keras"


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

    Training batches are augmented, shuffled and repeated; the shuffle seed
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
                        dense_init=config.dense_init)
    model.compile(
        optimizer=keras.optimizers.Adam(config.lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def _input_images(dataset, n=4):
    """``make_images`` for ImageSummary: ``n`` augmented training inputs in [0, 1]."""
    images = next(iter(dataset.take(1)))[0][:n].numpy()
    images = (images.astype(np.float32) + 1.0) / 2.0
    return lambda model: {"train_inputs": images}


def train(config, backup_dir="backup/vgg19", logdir="logs/vgg19", resume=True, verbose=1):
    """Train (or resume) a run; returns ``{"epoch", "step", "best_val_accuracy", "export"}``.

    Raises ValueError/ImageError on bad data or config, NonFiniteLossError on a
    NaN/inf loss (the last good checkpoint stays), before writing anything for bad input.
    """
    config = VGG19Config.from_dict(config.to_dict() if isinstance(config, VGG19Config) else dict(config))
    runs.set_precision(config.precision)
    n_train = len(split_labels(config, "train"))
    split_labels(config, "test")
    steps = config.steps_per_epoch or math.ceil(n_train / config.batch_size)

    keras.utils.set_random_seed(config.seed)
    model = compile_model(config)
    best = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_accuracy")
    # Build the datasets (reads and checks every image) before writing the run folder.
    train_ds, val_ds = make_datasets(config, 0)
    run_dir = runs.prepare_run_dir(backup_dir, config.to_dict(), resume=resume, fixed_keys=ARCHITECTURE_KEYS)
    state = runs.TrainingState(run_dir, model=model, optimizer=model.optimizer, best_val_accuracy=best)
    initial_epoch = state.restore()
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if initial_epoch:
        print(f"resuming from {state.latest}: epoch {initial_epoch} done, step {step}, "
              f"best val_accuracy {float(best.numpy()):.4f}")
        train_ds, val_ds = make_datasets(config, initial_epoch)
    result = {"epoch": initial_epoch, "step": step, "best_val_accuracy": float(best.numpy()),
              "export": str(run_dir / EXPORT_NAME)}
    if initial_epoch >= config.epochs:
        print(f"nothing to do: {initial_epoch} of {config.epochs} epochs already done")
        return result

    # training images in another order than the training batches, without labels
    recal_ds = make_datasets(config, initial_epoch + 1000)[0].map(lambda x, y: x)
    callbacks = [
        Recalibration(recal_ds, config.bn_recalibration_batches),
        runs.StepTensorBoard(log_dir=str(logdir), update_freq="batch", write_graph=False),
                runs.ImageSummary(logdir, _input_images(train_ds), every=steps, initial_step=step),
        BestModelExport(run_dir / EXPORT_NAME, best, summary_path=run_dir / "minivgg19.json"),
        runs.CheckpointCallback(state, initial_epoch=initial_epoch, steps_per_epoch=steps),
    ]
    model.fit(train_ds, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps, shuffle=False,
              validation_data=val_ds, callbacks=callbacks, verbose=verbose)
    result.update(epoch=int(state.epoch.numpy()), step=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
                  best_val_accuracy=float(best.numpy()))
    return result

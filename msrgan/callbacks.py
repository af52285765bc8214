"""Keras callbacks of the mSRGAN recipe: the per-epoch figure ``result/msrgan/epoch_NNNN.png`` and the
export of the pre-trained generator."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np

from data.engine.checkpoint import check_finite
from data.engine.multiworker import ChiefOnly
from data.io import write_png
from msrgan.figures import epoch_figure

log = logging.getLogger(__name__)


def _step(gan):
    return int(np.asarray(gan.step))


class PretrainedExport(ChiefOnly, keras.callbacks.Callback):
    """Calls ``export()`` once, right after training step ``pretrain_steps`` (the end of the MSE-only phase).

    ``export`` writes ``generator_pretrained.keras`` (the SRResNet-style model).
    Nothing happens when ``pretrain_steps`` is 0 or was already passed before this run.
    """

    def __init__(self, export, gan, pretrain_steps, path):
        super().__init__()
        self.export = export
        self.gan = gan
        self.pretrain_steps = int(pretrain_steps)
        self.path = Path(path)

    def on_train_batch_end(self, batch, logs=None):
        if self.pretrain_steps > 0 and _step(self.gan) == self.pretrain_steps:
            check_finite(logs, f"at step {self.pretrain_steps}")
            self.export()
            log.info("step %d: end of the MSE-only pre-training; exported %s", self.pretrain_steps, self.path)


class EpochGrid(ChiefOnly, keras.callbacks.Callback):
    """Writes ``result_dir/epoch_NNNN.png`` at each epoch end (the original's ``result/`` figures).

    Columns LR input (pixels enlarged) | bicubic | SR | HR, one row per
    sample with the PSNR of bicubic and SR, and the epoch and step in the
    title. ``hr``: float32 (N, S, S, 3) in [-1, 1], fixed validation images.
    ``step()`` gives the training step. With ``logdir``, the same figure goes
    to TensorBoard (``epoch_figure``), so the last epoch always has an image panel.
    """

    def __init__(self, result_dir, hr, step=None, logdir=None):
        super().__init__()
        self.result_dir = Path(result_dir)
        self.hr = np.asarray(hr, np.float32)
        self.step = step
        self.logdir = logdir
        self._writer = None

    def path(self, epoch):
        return self.result_dir / f"epoch_{epoch:04d}.png"

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.sample_images(self.hr)
        step = None if self.step is None else self.step()
        figure = epoch_figure(images, epoch + 1, step)
        write_png(self.path(epoch + 1), figure)
        if self.logdir is not None:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(Path(self.logdir) / "images"))
            with self._writer.as_default(step=step if step is not None else epoch + 1):
                tf.summary.image("epoch_figure", figure[None].astype(np.float32) / 255.0)
            self._writer.flush()

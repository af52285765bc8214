"""Keras callbacks of the mSRGAN trainer (the CLI layer: these write files)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np

from data.io import write_json, write_png
from data.runs import check_finite
from msrgan.figures import epoch_figure

log = logging.getLogger(__name__)


def _step(gan):
    return int(np.asarray(gan.steps_done))


class BestGeneratorExport(keras.callbacks.Callback):
    """Exports the generator of the epoch with the best validation PSNR (``val_psnr``).

    ``export()`` writes ``generator.keras`` (and ``discriminator.keras``);
    ``best`` is a ``tf.Variable`` of the checkpointed training state, so the
    record survives a resume. ``summary_path`` (``export.json``) records the
    epoch, step, phase and validation PSNR/SSIM of the exported generator.
    Placed before :class:`data.runs.CheckpointCallback`: a kill between the
    export and the checkpoint replays the epoch instead of losing its export.
    Without validation scores in the logs, every epoch is exported (the last wins).
    """

    def __init__(self, export, best, gan, path, summary_path, monitor="val_psnr", pretrain_steps=0):
        super().__init__()
        self.export = export
        self.best = best
        self.gan = gan
        self.path = Path(path)
        self.summary_path = Path(summary_path)
        self.monitor = monitor
        self.pretrain_steps = int(pretrain_steps)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        check_finite(logs, f"at the end of epoch {epoch + 1}")
        value = float(logs.get(self.monitor, math.nan))
        best = float(np.asarray(self.best))
        if math.isfinite(value) and value <= best:
            log.info("epoch %d: %s %.3f dB, below the best %.3f dB; %s unchanged",
                     epoch + 1, self.monitor, value, best, self.path.name)
            return
        self.export()
        step = _step(self.gan)
        if math.isfinite(value):
            self.best.assign(value)
        summary = {
            "epoch": epoch + 1,
            "step": step,
            "phase": "pretraining (MSE only)" if step <= self.pretrain_steps else "adversarial",
            "file": self.path.name,
            **{k: float(v) for k, v in logs.items() if k.startswith("val_")},
        }
        write_json(self.summary_path, summary)
        log.info("epoch %d (step %d): %s %.3f dB / SSIM %.4f is the best so far; exported %s",
                 epoch + 1, step, self.monitor, value, float(logs.get("val_ssim", math.nan)), self.path)


class PretrainedExport(keras.callbacks.Callback):
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


class EpochGrid(keras.callbacks.Callback):
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

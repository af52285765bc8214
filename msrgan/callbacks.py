"""Keras callbacks of the mSRGAN trainer (the CLI layer: these write files)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from data.io import write_png
from msrgan.figures import row_grid


class StepTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` whose per-step curves continue after a resume.

    Keras restarts its batch counter at 0 on every ``fit``; here it starts at
    the model's restored ``steps_done``. Batch scalars are ``batch_<key>`` for
    the keys of ``MSRGAN.train_step`` (``g_loss``, ``content_loss``, ``mse_loss``,
    ``adv_loss``, ``d_loss``, ``d_real``, ``d_fake``, ``g_lr``, ``d_lr``); epoch
    scalars ``epoch_<key>``, with ``psnr`` and ``ssim`` in the validation run.
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._global_train_batch = int(np.asarray(self.model.steps_done))
        self._pop_writer()
        self._push_writer(self._train_writer, self._global_train_batch)

    def _log_epoch_metrics(self, epoch, logs):
        # Keras leaves its batch-level ``record_if(step % update_freq == 0)`` active at
        # the epoch end, which silently drops the epoch scalars; always record them.
        import tensorflow as tf

        with tf.summary.record_if(True):
            super()._log_epoch_metrics(epoch, logs)


class EpochGrid(keras.callbacks.Callback):
    """Writes ``result_dir/epoch_NNNN.png`` at each epoch end (the original's ``result/`` figures).

    One row per sample: Input (LR, pixels enlarged) | Output (SR) | Ground truth (HR).
    ``hr``: float32 (N, S, S, 3) in [-1, 1], fixed validation images.
    """

    def __init__(self, result_dir, hr):
        super().__init__()
        self.result_dir = Path(result_dir)
        self.hr = np.asarray(hr, np.float32)

    def path(self, epoch):
        return self.result_dir / f"epoch_{epoch:04d}.png"

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.sample_images(self.hr)
        grid = row_grid([images["lr_input"], images["sr_output"], images["hr_ground_truth"]])
        write_png(self.path(epoch + 1), grid)

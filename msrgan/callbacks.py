"""Keras callbacks of the mSRGAN recipe: the per-epoch figure ``result/msrgan/epoch_NNNN.png``."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from data.io import write_png
from msrgan.figures import row_grid


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

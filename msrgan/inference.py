"""Running a saved mSRGAN generator G on arrays of any size (TensorFlow side of prediction).

The generator is fully convolutional (exported with input shape (None, None, 3)),
so one compiled function serves every tile shape; large images are cut into
overlapping tiles (:mod:`msrgan.tiling`) so memory stays bounded.
Values are in the model range [-1, 1] (see :mod:`data.io`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from msrgan import tiling
from msrgan.config import SCALE


class SuperResolver:
    """Applies a generator G to float32 images in [-1, 1], tiling large ones.

    ``resolver(image)`` maps (H, W, C) to (4H, 4W, C_out) float32; ``C`` must be
    the model's channel count. ``tile`` / ``overlap`` are in input pixels.
    """

    def __init__(self, model, tile=128, overlap=16, batch_size=4):
        tiling.check_tiling(tile, overlap)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tile, self.overlap, self.batch_size = int(tile), int(overlap), int(batch_size)
        self.channels = int(model.input_shape[-1])
        spec = tf.TensorSpec([None, None, None, self.channels], tf.float32)
        self._call = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32), input_signature=[spec])

    def predict_batch(self, batch):
        """G on a float32 batch (B, h, w, C) -> numpy float32 (B, 4h, 4w, C_out), no tiling."""
        return self._call(tf.convert_to_tensor(np.asarray(batch, np.float32))).numpy()

    def n_tiles(self, shape):
        """How many tiles an input of ``shape`` (H, W, ...) is cut into."""
        return len(tiling.tile_grid(shape, self.tile, self.overlap))

    def __call__(self, image, on_batch=None):
        image = np.asarray(image, np.float32)
        if image.ndim != 3 or image.shape[-1] != self.channels:
            raise ValueError(f"expected (H, W, {self.channels}) input, got shape {image.shape}")
        return tiling.predict_tiled(
            self.predict_batch, image, self.tile, self.overlap, SCALE, self.batch_size, on_batch=on_batch
        )

"""Image pool of generated images for the discriminators (Shrivastava et al. 2017, as in CycleGAN).

The discriminator sees, half of the time, a generated image from an earlier
step instead of the newest one, which damps oscillation. The buffer is a
``tf.Variable`` so the pool works inside a compiled ``train_step``
(a Python list would not survive ``tf.function``). Same rule as the
reference ``ImagePool``: while fewer than ``size`` images are stored, store
and return the new image; afterwards, with probability 0.5 return a random
stored image and store the new one in its place, else return the new image.
The pool is not checkpointed (the reference does not either).
"""

from __future__ import annotations

import keras
import tensorflow as tf


class ImagePool:
    """Pool of ``size`` images of shape ``image_shape`` (H, W, C), float32; ``size=0`` disables it."""

    def __init__(self, size, image_shape, seed=0, name="pool"):
        self.size = int(size)
        self.seed = keras.random.SeedGenerator(seed, name=f"{name}_seed")
        shape = (max(self.size, 1),) + tuple(int(s) for s in image_shape)
        # ON_READ: each replica keeps its own pool under a distribution strategy.
        kw = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                  aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.images = tf.Variable(tf.zeros(shape, tf.float32), name=f"{name}_images", **kw)
        self.count = tf.Variable(0, dtype=tf.int32, name=f"{name}_count", **kw)

    def state(self):
        """The variables a checkpoint must hold for an exact resume: the stored images, the count, the RNG."""
        return [self.images, self.count, self.seed.state.value]

    def query(self, batch):
        """(B, H, W, C) newest generated images -> (B, H, W, C) images for the discriminator."""
        batch = tf.cast(batch, tf.float32)
        if self.size == 0:
            return batch
        n = tf.shape(batch)[0]

        def one(i, out):
            image = batch[i]
            u = keras.random.uniform((2,), seed=self.seed)
            count = self.count.read_value()
            full = count >= self.size
            swap = tf.logical_and(full, u[0] > 0.5)
            slot = tf.where(full, tf.cast(u[1] * self.size, tf.int32) % self.size, count % self.size)
            stored = self.images[slot]
            # Store the new image while the pool fills up, or in place of the one swapped out.
            write = tf.logical_or(tf.logical_not(full), swap)
            # assign() of the whole buffer: a per-replica (ON_READ) variable has no scatter update.
            with tf.control_dependencies([stored]):
                update = self.images.assign(
                    tf.tensor_scatter_nd_update(self.images.read_value(), [[slot]], [tf.where(write, image, stored)]))
            with tf.control_dependencies([update]):
                self.count.assign(tf.minimum(count + 1, self.size))
                return i + 1, out.write(i, tf.where(swap, stored, image))

        out = tf.TensorArray(tf.float32, size=n, element_shape=batch.shape[1:])
        _, out = tf.while_loop(lambda i, _: i < n, one, (tf.constant(0), out))
        return tf.reshape(out.stack(), tf.shape(batch))

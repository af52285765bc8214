"""Unpaired training batches (a, b) as a ``tf.data`` pipeline over the numpy domain samplers.

Domain A and domain B are drawn independently (unpaired), each from its own
seeded sampler (see :mod:`cyclegan_dct.domains`). Batch ``j`` draws with
generators seeded by ``(sampler seed, j)``: the stream is reproducible and
stateless, so a run resumed at step ``j`` trains on exactly the batches an
uninterrupted run would. ``epoch`` in :func:`make_samplers` gives other
streams (fixed TensorBoard examples use one no run trains on).
"""

from __future__ import annotations

import copy

import numpy as np
import tensorflow as tf

from cyclegan_dct import domains
from cyclegan_dct.config import CycleGANConfig
from data.pipeline import without_autotune_thread


def make_samplers(config, epoch=0):
    """(MaskSampler, ImageSampler) for a config: label folder or ellipses; ``domains.domain_b_images``."""
    c = CycleGANConfig.from_dict(config)
    base = int(c.seed) * 1_000_003 + int(epoch) * 7_919
    labels = domains.load_label_folder(c.masks, c.crop) if c.masks else None
    stats = c.stats
    images = domains.domain_b_images(c.images, c.channels, c.crop)
    return (
        domains.MaskSampler(c.crop, stats=stats, label_images=labels, seed=base + 1),
        domains.ImageSampler(c.crop, images, seed=base + 2),
    )


def make_dataset(config, start=0, samplers=None):
    """Infinite ``tf.data.Dataset`` of (a, b) float32 batches (batch, crop, crop, channels) in [-1, 1], from batch
    ``start`` on (the same batches whatever the step the run started at)."""
    c = CycleGANConfig.from_dict(config)
    mask_sampler, image_sampler = samplers or make_samplers(c)

    def pairs():
        # Every iterator restarts at batch `start`: under a tf.distribute strategy Keras starts one iterator to
        # build the model, whose prefetching must not move the stream on (differently on each worker).
        masks, images = copy.copy(mask_sampler), copy.copy(image_sampler)
        batch = int(start)
        while True:
            masks.rng = np.random.default_rng([int(mask_sampler.seed), batch])
            images.rng = np.random.default_rng([int(image_sampler.seed), batch])
            for _ in range(c.batch_size):
                a = masks.sample()
                b = images.sample()
                if a.shape[-1] != c.channels:
                    a = np.repeat(a, c.channels, axis=-1)
                yield a, b
            batch += 1

    spec = tf.TensorSpec((c.crop, c.crop, c.channels), tf.float32)
    ds = tf.data.Dataset.from_generator(pairs, output_signature=(spec, spec))
    # No autotuning thread: deleting the iterator at the end of fit would wait for it (see without_autotune_thread).
    return without_autotune_thread(ds.batch(c.batch_size, drop_remainder=True).prefetch(2))

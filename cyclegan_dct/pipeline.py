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


CHUNK = 25
"""Batches sampled per Python call of the pipeline (:func:`make_dataset`)."""


def sample_batches(mask_sampler, image_sampler, config, first, count):
    """(a, b) float32 arrays (count * batch, crop, crop, channels) of batches ``first`` .. ``first + count - 1``:
    batch ``j`` drawn with generators seeded by ``(sampler seed, j)`` (copies of the samplers: no shared state)."""
    c = CycleGANConfig.from_dict(config)
    masks, images = copy.copy(mask_sampler), copy.copy(image_sampler)
    a, b = [], []
    for batch in range(int(first), int(first) + int(count)):
        masks.rng = np.random.default_rng([int(mask_sampler.seed), batch])
        images.rng = np.random.default_rng([int(image_sampler.seed), batch])
        for _ in range(c.batch_size):
            a.append(masks.sample())
            b.append(images.sample())
    a = np.stack(a).astype(np.float32)
    if a.shape[-1] != c.channels:
        a = np.repeat(a, c.channels, axis=-1)
    return a, np.stack(b).astype(np.float32)


def make_dataset(config, start=0, samplers=None, chunk=CHUNK):
    """Infinite ``tf.data.Dataset`` of (a, b) float32 batches (batch, crop, crop, channels) in [-1, 1], from batch
    ``start`` on (the same batches whatever the step the run started at).

    The samplers run in ``tf.numpy_function`` calls of ``chunk`` batches each: a stateless stream over batch
    indices (every iterator, e.g. the one Keras starts under a ``tf.distribute`` strategy to build the model,
    restarts at batch ``start``). Not ``Dataset.from_generator``: its per-element Python hand-offs made the
    64 px stego training step 1.8x slower than the same step on in-memory batches (0.23 vs 0.13 s on 2 cores,
    docs/measurements.md); one call per ``chunk`` batches costs the step nothing measurable.
    """
    c = CycleGANConfig.from_dict(config)
    mask_sampler, image_sampler = samplers or make_samplers(c)
    shape = (int(chunk) * c.batch_size, c.crop, c.crop, c.channels)

    def draw(k):
        return sample_batches(mask_sampler, image_sampler, c, int(start) + int(k) * int(chunk), chunk)

    def call(k):
        a, b = tf.numpy_function(draw, [k], (tf.float32, tf.float32), stateful=False)
        return tf.ensure_shape(a, shape), tf.ensure_shape(b, shape)

    ds = tf.data.Dataset.range(2**62).map(call).unbatch()
    # No autotuning thread: deleting the iterator at the end of fit would wait for it (see without_autotune_thread).
    return without_autotune_thread(ds.batch(c.batch_size, drop_remainder=True).prefetch(2))

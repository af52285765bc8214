"""The original's training augmentation (``utils/augment.py``) as stateless TensorFlow ops.

Applied by :mod:`data.pipeline` in the original's order: crop-and-zoom,
left-right flip, gamma brightness, box blur. Every random number derives from
a stateless seed, so the same ``(seed, element counter)`` gives the same image.
"""

from __future__ import annotations

import tensorflow as tf


def augment_image(image, seed, max_crop=0.1, gamma_max=2.0, max_blur=4):
    """The original's training augmentation of one image, float32 (H, W, C) in [-1, 1].

    ``seed``: int32/int64 shape-(2,) stateless seed. Steps (``utils/augment.py``):

    1. crop-and-zoom: crop a random (1 - r) H x (1 - r) W window, r ~ U(0, ``max_crop``),
       and resize it back (bilinear, as ``cv2.resize``);
    2. left-right flip with probability 1/2;
    3. gamma brightness: ``x <- (x)^(1 / gamma)`` on [0, 1] intensities, gamma ~ U(0, ``gamma_max``);
    4. box blur with a random f x f mean filter, f in 1..``max_blur`` (reflect-101 border, as ``cv2.blur``).
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=6)
    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    # 1. crop and zoom
    r = tf.random.stateless_uniform([], seeds[0], 0.0, max_crop)
    ch, cw = tf.cast((1.0 - r) * hf, tf.int32), tf.cast((1.0 - r) * wf, tf.int32)
    top = tf.random.stateless_uniform([], seeds[1], 0, tf.cast(r * hf, tf.int32) + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, tf.cast(r * wf, tf.int32) + 1, dtype=tf.int32)
    top, left = tf.minimum(top, h - ch), tf.minimum(left, w - cw)
    crop = image[top:top + ch, left:left + cw]
    image = tf.reshape(tf.image.resize(crop[None], tf.stack([h, w]), method="bilinear")[0], shape)
    # 2. flip
    flip = tf.random.stateless_uniform([], seeds[3]) < 0.5
    image = tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)
    # 3. gamma brightness on [0, 1] intensities
    gamma = tf.random.stateless_uniform([], seeds[4], 0.0, gamma_max)
    x01 = tf.clip_by_value((image + 1.0) * 0.5, 0.0, 1.0)
    image = tf.pow(x01, 1.0 / tf.maximum(gamma, 1e-3)) * 2.0 - 1.0
    # 4. box blur f x f, f in 1..max_blur
    f = tf.random.stateless_uniform([], seeds[5], 1, max_blur + 1, dtype=tf.int32)
    branches = [lambda k=k: _box_blur(image, k) for k in range(1, max_blur + 1)]
    return tf.reshape(tf.switch_case(f - 1, branches), shape)


def _box_blur(image, f):
    """``cv2.blur(image, (f, f))``: mean over an f x f window anchored at its centre, reflect-101 border."""
    if f == 1:
        return image
    lo, hi = f // 2, f - 1 - f // 2
    padded = tf.pad(image, [[lo, hi], [lo, hi], [0, 0]], mode="REFLECT")
    channels = image.shape[-1] or 3
    kernel = tf.fill([f, f, channels, 1], 1.0 / (f * f))
    return tf.nn.depthwise_conv2d(padded[None], kernel, [1, 1, 1, 1], "VALID")[0]

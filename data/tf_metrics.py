"""The image metrics of every ``test_step``, in TensorFlow: equal to the pure-numpy :mod:`data.metrics`.

Validation PSNR and SSIM (which pick the exported epoch) are computed on
8-bit grey levels exactly as ``msrgan.evaluate`` scores the saved images
(:func:`data.metrics.psnr`, :func:`data.metrics.ssim`: scikit-image's
defaults), per image; ``tests/test_data_metrics.py`` checks the two agree.
"""

from __future__ import annotations

import tensorflow as tf


def to_unit_range(x):
    """[-1, 1] -> [0, 1] (clipped), float32."""
    return tf.clip_by_value((tf.cast(x, tf.float32) + 1.0) / 2.0, 0.0, 1.0)


def to_8bit(x):
    """[-1, 1] -> 8-bit grey levels 0..255 as float32, rounded and clipped like ``data.io.from_model_range``."""
    return tf.clip_by_value(tf.round((tf.cast(x, tf.float32) + 1.0) * 127.5), 0.0, 255.0)


def psnr_8bit(ref, test):
    """Per-image PSNR (B,) of 8-bit levels (B, H, W, C): ``data.metrics.psnr`` (MSE over H, W and C)."""
    mse = tf.reduce_mean(tf.square(ref - test), axis=[1, 2, 3])
    return 10.0 * tf.math.log(255.0**2 / mse) / tf.math.log(10.0)


def ssim_8bit(ref, test, win=7):
    """Per-image SSIM (B,) of 8-bit levels (B, H, W, C), as ``data.metrics.ssim`` (scikit-image).

    scikit-image's defaults: a uniform ``win`` x ``win`` window, sample covariances
    (N / (N - 1)), K1 0.01, K2 0.03, data range 255, the mean over the pixels at
    least ``win // 2`` from the border (the 'valid' windows) and over channels.
    """
    n = float(win * win)

    def mean(x):
        return tf.nn.avg_pool2d(x, win, 1, "VALID")

    ref, test = tf.cast(ref, tf.float64), tf.cast(test, tf.float64)
    ux, uy = mean(ref), mean(test)
    cov = n / (n - 1.0)
    vx = cov * (mean(ref * ref) - ux * ux)
    vy = cov * (mean(test * test) - uy * uy)
    vxy = cov * (mean(ref * test) - ux * uy)
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return tf.cast(tf.reduce_mean(s, axis=[1, 2, 3]), tf.float32)

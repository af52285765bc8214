"""mSRGAN losses, faithful to the original: ``tf.nn.l2_loss`` sums over the batch.

``l2_loss(t) = sum(t ** 2) / 2`` over every element of the batch (not a
mean), exactly as ``mSRGAN/src/srgan.py`` (``inference_losses``). With
HR = I^HR, SR = G(I^LR), phi_i = the five miniVGG19 taps and D the raw score:

* content   = beta  * sum_i l2_loss(phi_i(HR) - phi_i(SR))
* mse       = alpha * l2_loss(HR - SR)
* adv       = w_adv * l2_loss(D(SR) - 1)
* g_loss    = content + mse + adv
* d_real    = w_adv * l2_loss(D(HR) - 1),  d_fake = w_adv * l2_loss(D(SR) + 1)
* d_loss    = d_real + d_fake

All results are float32 scalars whatever the compute dtype.
"""

from __future__ import annotations

import tensorflow as tf


def l2_loss(t):
    """``tf.nn.l2_loss`` in float32: half the sum of squares of every element."""
    return tf.nn.l2_loss(tf.cast(t, tf.float32))


def _diff(a, b):
    return tf.cast(a, tf.float32) - tf.cast(b, tf.float32)


def content_loss(hr_features, sr_features, beta):
    """beta * sum over feature taps of l2_loss(phi_i(HR) - phi_i(SR))."""
    total = tf.constant(0.0, tf.float32)
    for a, b in zip(hr_features, sr_features, strict=True):
        total += l2_loss(_diff(a, b))
    return beta * total


def mse_loss(hr, sr, alpha):
    """alpha * l2_loss(HR - SR) (the original's ``mse``)."""
    return alpha * l2_loss(_diff(hr, sr))


def adversarial_loss(d_fake, adv_weight):
    """w_adv * l2_loss(D(SR) - 1): the generator wants D to call SR real (+1)."""
    return adv_weight * l2_loss(tf.cast(d_fake, tf.float32) - 1.0)


def discriminator_losses(d_real, d_fake, adv_weight):
    """(d_real, d_fake): w_adv * l2_loss(D(HR) - 1) and w_adv * l2_loss(D(SR) + 1)."""
    real = adv_weight * l2_loss(tf.cast(d_real, tf.float32) - 1.0)
    fake = adv_weight * l2_loss(tf.cast(d_fake, tf.float32) + 1.0)
    return real, fake

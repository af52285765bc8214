"""``MSRGAN``: the GAN wrapper that ``fit`` drives (G, D, frozen miniVGG19 phi).

Input batches are HR images (B, S, S, 3) in [-1, 1]; the LR input I^LR is made
in the graph by bicubic 4x downscaling (``data.pipeline.downscale``), as the
original's ``SRGAN.downscale``. One step (``train_step``): SR = G(I^LR); D scores
HR and SR; the generator loss (content + mse + adv) and the discriminator loss
(d_real + d_fake) are taken on the same forward pass with two gradient tapes,
and both networks are updated (``d_steps`` discriminator updates per step).

Losses are ``tf.nn.l2_loss`` sums over the batch (:mod:`msrgan.losses`). Under
a ``tf.distribute`` strategy each replica sums over its share of the batch; the
optimizers all-reduce gradients by SUM, so the update equals the single-device
update on the global batch, and the logged values are all-reduced (SUM) so they
equal the single-device losses too.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from data.pipeline import downscale
from data.tf_metrics import psnr_8bit, ssim_8bit, to_8bit, to_unit_range
from msrgan import losses

LOSS_KEYS = ("g_loss", "content_loss", "mse_loss", "adv_loss", "d_loss", "d_real", "d_fake")
EVAL_KEYS = ("psnr", "ssim")


def _global_sum(x):
    """Sum a per-replica value over the replicas (identity on one device)."""
    if _num_replicas() > 1:
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, x)
    return x


def _num_replicas():
    ctx = tf.distribute.get_replica_context()
    return 1 if ctx is None else ctx.num_replicas_in_sync


class MSRGAN(keras.Model):
    """mSRGAN training wrapper.

    ``generator`` G: LR (B, s, s, 3) -> SR (B, 4s, 4s, 3); ``discriminator`` D:
    (B, 4s, 4s, 3) -> (B, 1) score; ``feature_extractor`` phi: image -> list of
    the five miniVGG19 activations (frozen; only needed when ``beta > 0``).
    ``alpha``, ``beta``, ``adv_weight`` (w_adv) weight the mse, content and
    adversarial terms. ``d_steps`` discriminator updates per step (0: D never
    learns, as the original's final loop). The first ``pretrain_steps`` steps
    train G on the mse term only (SRResNet pre-training) and leave D alone.
    """

    def __init__(
        self,
        generator,
        discriminator,
        feature_extractor=None,
        alpha=0.4,
        beta=0.8,
        adv_weight=1e-5,
        d_steps=1,
        pretrain_steps=0,
        scale=4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if beta > 0 and feature_extractor is None:
            raise ValueError(f"beta={beta} > 0 needs a miniVGG19 feature extractor for the content loss")
        self.generator = generator
        self.discriminator = discriminator
        self.feature_extractor = feature_extractor if beta > 0 else None
        if self.feature_extractor is not None:
            self.feature_extractor.trainable = False
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.adv_weight = float(adv_weight)
        self.d_steps = int(d_steps)
        self.pretrain_steps = int(pretrain_steps)
        self.scale = int(scale)
        # Completed training steps (drives the pre-training phase; checkpointed).
        self.step = tf.Variable(
            0,
            dtype=tf.int64,
            trainable=False,
            name="steps_done",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        self.trackers = {k: keras.metrics.Mean(name=k) for k in LOSS_KEYS + EVAL_KEYS}

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Set the two optimizers (Adam 1e-4 for G, 1e-3 for D in the original) and build them.

        Under the ``mixed_float16`` policy they are wrapped in a ``LossScaleOptimizer``
        with an initial scale of 1: the l2_loss sums are already large (10^3..10^5),
        so the default 2^15 would only overflow the float16 gradients for the first steps.
        """
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=None, **kwargs)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            if not isinstance(g_optimizer, keras.optimizers.LossScaleOptimizer):
                g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer, initial_scale=1.0, name="g_loss_scale")
            if not isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer):
                d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer, initial_scale=1.0, name="d_loss_scale")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Built here (not lazily inside the step) so that a conditional update
        # never creates variables inside a tf.cond.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, hr, training=False):
        """SR for a batch of HR images (the LR input is made by bicubic downscaling)."""
        return self.generator(downscale(hr, self.scale), training=training)

    # ----------------------------------------------------------------- losses
    def _content(self, hr, sr):
        phi_hr = self.feature_extractor(hr, training=False)
        phi_sr = self.feature_extractor(sr, training=False)
        return losses.content_loss(phi_hr, phi_sr, self.beta)

    def _loss_terms(self, hr, sr, training, pretraining=None):
        """All loss terms (float32 scalars, per-replica sums) as a dict keyed like the logs.

        While ``pretraining`` (a bool tensor) is true, D and the VGG are not run
        at all (``tf.cond``): the perceptual and discriminator terms are 0 and
        ``g_loss`` is the mse term alone.
        """
        zero = tf.constant(0.0, tf.float32)

        def gan_terms():
            d_real = self.discriminator(hr, training=training)
            d_fake = self.discriminator(sr, training=training)
            content = zero if self.feature_extractor is None else self._content(hr, sr)
            real, fake = losses.discriminator_losses(d_real, d_fake, self.adv_weight)
            return content, losses.adversarial_loss(d_fake, self.adv_weight), real, fake

        if pretraining is None:
            terms = gan_terms()
        else:
            terms = tf.cond(pretraining, lambda: (zero, zero, zero, zero), gan_terms)
        out = dict(zip(("content_loss", "adv_loss", "d_real", "d_fake"), terms))
        out["mse_loss"] = losses.mse_loss(hr, sr, self.alpha)
        out["g_loss"] = out["mse_loss"] + out["content_loss"] + out["adv_loss"]
        out["d_loss"] = out["d_real"] + out["d_fake"]
        return out

    def _update_trackers(self, values):
        for k, v in values.items():
            self.trackers[k].update_state(_global_sum(v) if k in LOSS_KEYS else v)

    def _apply_d(self, d_loss_scaled, tape, pretraining):
        """One D update; a no-op while pre-training.

        No ``tf.cond`` around ``apply`` (the gradient all-reduce of a distribution
        strategy cannot sit inside control flow): while pre-training, the gradients
        are zeroed, so Adam's moments stay 0 and the weights do not move, and the
        iteration count is restored, so the adversarial phase starts with the
        bias correction of a fresh Adam.
        """
        variables = self.discriminator.trainable_variables
        grads = tape.gradient(d_loss_scaled, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        if pretraining is not None:
            grads = [tf.where(pretraining, tf.zeros_like(g), g) for g in grads]
            before = tf.identity(self.d_optimizer.iterations)
        self.d_optimizer.apply(grads, variables)
        if pretraining is not None:
            self.d_optimizer.iterations.assign(tf.where(pretraining, before, self.d_optimizer.iterations))

    def _lrs(self):
        return {
            "g_lr": tf.cast(self.g_optimizer.learning_rate, tf.float32),
            "d_lr": tf.cast(self.d_optimizer.learning_rate, tf.float32),
        }

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _hr(data):
        return data[0] if isinstance(data, (tuple, list)) else data

    def train_step(self, data):
        hr = tf.cast(self._hr(data), tf.float32)
        lr = downscale(hr, self.scale)
        pretraining = self.step < self.pretrain_steps if self.pretrain_steps > 0 else None
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            sr = self.generator(lr, training=True)
            values = self._loss_terms(hr, sr, True, pretraining)
            g_scaled = self.g_optimizer.scale_loss(values["g_loss"])
            d_scaled = self.d_optimizer.scale_loss(values["d_loss"])
        g_grads = g_tape.gradient(g_scaled, self.generator.trainable_variables)
        self.g_optimizer.apply(g_grads, self.generator.trainable_variables)
        if self.d_steps > 0:
            self._apply_d(d_scaled, d_tape, pretraining)
            fake = tf.stop_gradient(sr)
            for _ in range(self.d_steps - 1):  # extra D updates on the same batch
                with tf.GradientTape() as tape:
                    real_i, fake_i = losses.discriminator_losses(
                        self.discriminator(hr, training=True), self.discriminator(fake, training=True), self.adv_weight
                    )
                    scaled = self.d_optimizer.scale_loss(real_i + fake_i)
                self._apply_d(scaled, tape, pretraining)
        self.step.assign_add(1)
        self._update_trackers(values)
        logs = {k: self.trackers[k].result() for k in LOSS_KEYS}
        logs.update(self._lrs())
        return logs

    def test_step(self, data):
        hr = tf.cast(self._hr(data), tf.float32)
        sr = self.generator(downscale(hr, self.scale), training=False)
        # the loss of the phase G was last trained in (the same terms as the training logs of that step): after
        # the last pre-training step (step == pretrain_steps) g_loss is still the mse term alone
        pretraining = self.step <= self.pretrain_steps if self.pretrain_steps > 0 else None
        values = self._loss_terms(hr, sr, False, pretraining)
        # The convention of msrgan.evaluate: 8-bit RGB, scikit-image PSNR/SSIM (data.metrics).
        sr8, hr8 = to_8bit(sr), to_8bit(hr)
        for key, per_image in (("psnr", psnr_8bit(hr8, sr8)), ("ssim", ssim_8bit(hr8, sr8))):
            # a per-image mean over the whole split (a short last batch gets its weight)
            self.trackers[key].update_state(per_image)
        self._update_trackers({k: v for k, v in values.items() if k in LOSS_KEYS})
        return {k: self.trackers[k].result() for k in LOSS_KEYS + EVAL_KEYS}

    # ----------------------------------------------------------------- images
    def sample_images(self, hr):
        """TensorBoard / figure images for HR (N, S, S, 3) in [-1, 1], each (N, H, W, 3) in [0, 1].

        Keys: ``lr_input`` (S/4), ``bicubic_4x``, ``sr_output``, ``hr_ground_truth`` (S),
        as the original's summaries ``lr_image``, ``Bicubic 4x``, ``hr_image``, ``original_image``.
        """
        hr = tf.convert_to_tensor(hr, tf.float32)
        lr = downscale(hr, self.scale)
        bicubic = tf.image.resize(lr, tf.shape(hr)[1:3], method="bicubic")
        sr = self.generator(lr, training=False)
        return {
            "lr_input": to_unit_range(lr).numpy(),
            "bicubic_4x": to_unit_range(bicubic).numpy(),
            "sr_output": to_unit_range(sr).numpy(),
            "hr_ground_truth": to_unit_range(hr).numpy(),
        }

"""The CycleGAN training model with the DCT low-pass between the generators.

Symbols (Zhu et al. 2017; Utz et al. 2023): domain A = masks (X), domain B =
nuclei images (Y); G = ``g_a2b`` : A -> B, F = ``g_b2a`` : B -> A;
D_A = ``d_a`` judges domain A (real a vs F(b)), D_B = ``d_b`` judges domain B
(real b vs G(a)); in the reference code these are netG_A, netG_B, netD_B,
netD_A. LP = ``DCTLowPass(dct_cutoff)``, lambda = ``lambda_cycle``.

One training step (as the reference: generators first, then discriminators
on pooled, detached fakes)::

    g_a2b_gan = mean((D_B(G(a)) - 1)^2)            D_B sees the unfiltered G(a)
    g_b2a_gan = mean((D_A(F(b)) - 1)^2)
    cycle_a   = lambda * mean|F(LP(G(a))) - a|       no LP when vanilla
    cycle_b   = lambda * mean|G(F(b)) - b|           G(LP(F(b))) with dct_both
    idt_a     = lambda * lambda_idt * mean|G(b) - b| (0 unless lambda_identity > 0)
    idt_b     = lambda * lambda_idt * mean|F(a) - a|
    polarity  = lambda_pol * mean(relu(0.5 - corr(a > 0, G(a))))  (0 unless lambda_polarity > 0)
    g_loss    = sum of the seven terms
    d_a_loss  = 0.5 * (mean((D_A(a) - 1)^2) + mean(D_A(pool_A(F(b)))^2))
    d_b_loss  = 0.5 * (mean((D_B(b) - 1)^2) + mean(D_B(pool_B(G(a)))^2))

``train_step`` returns these keys (the names used in TensorBoard, tests and
docs/running.md) plus ``lr``, the current learning rate.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.filtering import make_filter
from cyclegan_dct.networks import build_discriminator, build_generator
from cyclegan_dct.pool import ImagePool

LOSS_KEYS = ("g_a2b_gan", "g_b2a_gan", "cycle_a", "cycle_b", "idt_a", "idt_b", "polarity", "g_loss", "d_a_loss",
             "d_b_loss")
GENERATOR_TERMS = LOSS_KEYS[:7]

POLARITY_MARGIN = 0.5
"""Correlation below which ``polarity_loss`` acts: the real nuclei image that ``stardist`` ships correlates
0.75 with its labels (0.60-0.88 over random 128 px crops), so the anchor never asks for more than real data show."""


@keras.saving.register_keras_serializable(package="cyclegan_dct")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate ``initial`` for ``constant_steps`` steps, then linear decay towards 0 over ``decay_steps``.

    The reference's ``linear`` policy (``--n_epochs``, ``--n_epochs_decay``),
    ``lr = initial * (1 - max(0, s - C + 1) / (D + 1))`` at 0-based step s,
    applied per step where the reference steps it per epoch: the first decay
    step already uses ``initial * D / (D + 1)``, the last ``initial / (D + 1)``.
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps):
        self.initial_learning_rate = float(initial_learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        frac = ops.maximum(step - float(self.constant_steps) + 1.0, 0.0) / float(self.decay_steps + 1)
        return self.initial_learning_rate * ops.clip(1.0 - frac, 0.0, 1.0)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


def make_optimizer(config, name):
    """Adam(lr schedule, beta_1) of the reference; wrapped in a loss-scale optimizer under mixed_float16."""
    c = CycleGANConfig.from_dict(config)
    schedule = ConstantThenLinearDecay(c.lr, c.epochs * c.steps_per_epoch,
                                       c.epochs_decay * c.steps_per_epoch)
    opt = keras.optimizers.Adam(learning_rate=schedule, beta_1=c.beta_1, beta_2=0.999, name=name)
    if keras.mixed_precision.dtype_policy().name == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
    return opt


def lsgan_loss(scores, target):
    """Least-squares GAN loss: mean((D(x) - target)^2) over the patch scores."""
    return ops.mean(ops.square(ops.cast(scores, "float32") - target))


def l1_loss(x, y):
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(y, "float32")))


def polarity_loss(a, fake_b, margin=POLARITY_MARGIN):
    """mean over the batch of ``relu(margin - corr(a > 0, G(a)))``: Pearson correlation per image between
    the mask's foreground and the generated image, in float32. Zero once nuclei are clearly brighter than
    their surroundings; it penalises a contrast-inverted G (correlation < 0) most. (B, H, W, C) inputs."""
    fg = ops.cast(ops.cast(a, "float32") > 0, "float32")
    x = ops.cast(fake_b, "float32")
    axes = (1, 2, 3)
    fg = fg - ops.mean(fg, axis=axes, keepdims=True)
    x = x - ops.mean(x, axis=axes, keepdims=True)
    den = ops.sqrt(ops.sum(fg * fg, axis=axes) * ops.sum(x * x, axis=axes) + 1e-12)
    corr = ops.sum(fg * x, axis=axes) / den
    return ops.mean(ops.relu(margin - corr))


class CycleGAN(keras.Model):
    """G, F, D_A, D_B and their unpaired training (see the module docstring).

    Takes its networks (keras.io style, as :class:`msrgan.model.MSRGAN`):
    ``generator_g`` = G (A -> B), ``generator_f`` = F (B -> A), ``discriminator_a``
    = D_A, ``discriminator_b`` = D_B; ``config`` (a
    :class:`~cyclegan_dct.config.CycleGANConfig` or its dict) gives the loss
    weights, the filter and the image pools. :func:`build_cyclegan` builds
    all of it from a config. The image pools need the crop size, so training
    batches are (batch, crop, crop, channels).
    """

    def __init__(self, generator_g, generator_f, discriminator_a, discriminator_b, config, **kwargs):
        super().__init__(**kwargs)
        self.config = c = CycleGANConfig.from_dict(config)
        self.g_a2b = generator_g
        self.g_b2a = generator_f
        self.d_a = discriminator_a
        self.d_b = discriminator_b
        self.lowpass = make_filter(c)
        shape = (c.crop, c.crop, c.channels)
        self.pool_a = ImagePool(c.pool_size, shape, seed=c.seed + 101, name="pool_a")
        self.pool_b = ImagePool(c.pool_size, shape, seed=c.seed + 202, name="pool_b")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.trackers = {k: keras.metrics.Mean(name=k) for k in LOSS_KEYS}

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Adam 2e-4 / beta1 0.5 with the constant-then-linear-decay schedule unless optimizers are given."""
        super().compile(optimizer=None, **kwargs)  # no third optimizer: the default RMSprop would log a stray lr
        self.g_optimizer = g_optimizer or make_optimizer(self.config, "g_optimizer")
        self.d_optimizer = d_optimizer or make_optimizer(self.config, "d_optimizer")
        # Build the slots now, so a checkpoint restores into existing variables.
        self.g_optimizer.build(self.g_a2b.trainable_variables + self.g_b2a.trainable_variables)
        self.d_optimizer.build(self.d_a.trainable_variables + self.d_b.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        """G(a): masks (B, H, W, C) in [-1, 1] -> images (``inputs`` may be the training pair (a, b))."""
        a = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        return self.g_a2b(a, training=training)

    def filter(self, x):
        """LP(x) for a DCT model, x for a vanilla one."""
        return x if self.lowpass is None else self.lowpass(x)

    def translate(self, a, b):
        """Every image of both cycles (inference mode), as a dict of float32 tensors in [-1, 1]."""
        fake_b = self.g_a2b(a, training=False)
        filtered_b = self.filter(fake_b)
        fake_a = self.g_b2a(b, training=False)
        back_b = self.filter(fake_a) if self.config.dct_both else fake_a
        return {
            "fake_b": fake_b,
            "filtered_fake_b": filtered_b,
            "rec_a": self.g_b2a(filtered_b, training=False),
            "fake_a": fake_a,
            "rec_b": self.g_a2b(back_b, training=False),
        }

    def generator_losses(self, a, b, training=True):
        """(G(a), F(b), {g_a2b_gan, ..., idt_b, polarity}) of one batch (module docstring)."""
        c = self.config
        fake_b = self.g_a2b(a, training=training)
        rec_a = self.g_b2a(self.filter(fake_b), training=training)
        fake_a = self.g_b2a(b, training=training)
        rec_b = self.g_a2b(self.filter(fake_a) if c.dct_both else fake_a, training=training)
        losses = {
            "g_a2b_gan": lsgan_loss(self.d_b(fake_b, training=training), 1.0),
            "g_b2a_gan": lsgan_loss(self.d_a(fake_a, training=training), 1.0),
            "cycle_a": c.lambda_cycle * l1_loss(rec_a, a),
            "cycle_b": c.lambda_cycle * l1_loss(rec_b, b),
        }
        if c.lambda_identity > 0:
            w = c.lambda_cycle * c.lambda_identity
            losses["idt_a"] = w * l1_loss(self.g_a2b(b, training=training), b)
            losses["idt_b"] = w * l1_loss(self.g_b2a(a, training=training), a)
        else:
            losses["idt_a"] = losses["idt_b"] = tf.constant(0.0)
        losses["polarity"] = (c.lambda_polarity * polarity_loss(a, fake_b) if c.lambda_polarity > 0
                              else tf.constant(0.0))
        return fake_b, fake_a, losses

    def train_step(self, data):
        a, b = data
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        lr = self.g_optimizer.learning_rate
        g_vars = self.g_a2b.trainable_variables + self.g_b2a.trainable_variables
        with tf.GradientTape() as tape:
            fake_b, fake_a, losses = self.generator_losses(a, b, training=True)
            g_loss = tf.add_n([losses[k] for k in GENERATOR_TERMS])
            scaled = self.g_optimizer.scale_loss(g_loss / replicas)
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)

        pooled_a = self.pool_a.query(tf.stop_gradient(fake_a))
        pooled_b = self.pool_b.query(tf.stop_gradient(fake_b))
        d_vars = self.d_a.trainable_variables + self.d_b.trainable_variables
        with tf.GradientTape() as tape:
            d_a_loss = 0.5 * (lsgan_loss(self.d_a(a, training=True), 1.0)
                              + lsgan_loss(self.d_a(pooled_a, training=True), 0.0))
            d_b_loss = 0.5 * (lsgan_loss(self.d_b(b, training=True), 1.0)
                              + lsgan_loss(self.d_b(pooled_b, training=True), 0.0))
            scaled = self.d_optimizer.scale_loss((d_a_loss + d_b_loss) / replicas)
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
        self.step.assign_add(1)

        losses.update(g_loss=g_loss, d_a_loss=d_a_loss, d_b_loss=d_b_loss)
        for k in LOSS_KEYS:
            self.trackers[k].update_state(losses[k])
        logs = {k: t.result() for k, t in self.trackers.items()}
        logs["lr"] = ops.convert_to_tensor(lr, "float32")
        return logs

    def training_state(self):
        """The trackables of a full checkpoint: 4 networks, 2 optimizers, the step counter, the image pools (their
        images and RNG: a resumed run draws what an uninterrupted one would)."""
        return dict(
            g_a2b=self.g_a2b, g_b2a=self.g_b2a, d_a=self.d_a, d_b=self.d_b,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer, step=self.step,
            pools=[*self.pool_a.state(), *self.pool_b.state()],
        )


def build_cyclegan(config, g_optimizer=None, d_optimizer=None):
    """The compiled :class:`CycleGAN` of ``config``: G, F (ResNet), D_A, D_B (PatchGAN), Adam with its schedule."""
    c = CycleGANConfig.from_dict(config)
    model = CycleGAN(
        build_generator(c.channels, c.n_blocks, c.filters, name="generator_a2b", norm=c.norm),
        build_generator(c.channels, c.n_blocks, c.filters, name="generator_b2a", norm=c.norm),
        build_discriminator(c.channels, c.d_filters, c.disc_layers, name="discriminator_a", norm=c.norm),
        build_discriminator(c.channels, c.d_filters, c.disc_layers, name="discriminator_b", norm=c.norm),
        c,
    )
    model.compile(g_optimizer, d_optimizer)
    return model

"""BatchNormalization statistics that are right at inference (model-agnostic).

During training, BatchNormalization normalises with the statistics of the
current batch and keeps an exponential moving average of them (``momentum``,
0.99 in the originals) for inference. After a short run, or after weights that
moved fast (large learning rate), that average still remembers the early
weights: a model exported then carries *stale* statistics and scores far
below the same weights in batch-statistics mode (measured: the mSRGAN demo
generator, 20.0 dB vs 25.2 dB).

:func:`recalibrate` re-estimates the moving mean and variance of every
BatchNormalization layer with the *final* weights: it runs the model in
training mode (no gradient, dropout disabled) on ``n`` batches and sets the
momentum of the k-th batch to ``(k - 1) / k``, so the stored statistics become
the plain average over the n batches of the per-batch mean and variance (each
batch counts equally; the first batch overwrites the old values). This is
``torch.optim.swa_utils.update_bn`` (momentum ``None``). Only the
non-trainable moving statistics change; trainable weights are untouched, so
training itself, which normalises with batch statistics, is not affected.
"""

from __future__ import annotations

import itertools
import logging

import keras

log = logging.getLogger(__name__)


def _all_layers(model):
    """Every layer of ``model``, nested models included, each once."""
    seen, out, stack = set(), [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return out


def batchnorm_layers(model):
    """The ``keras.layers.BatchNormalization`` layers of ``model`` (nested models included)."""
    return [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def recalibrate(model, batches, n=None, call=None):
    """Re-estimate the BN moving mean/variance of ``model`` on ``n`` batches; return the batches used.

    Args:
        model: any Keras model (functional, sequential, subclassed, nested).
        batches: an iterable of model inputs (tensors or arrays), e.g. a
            ``tf.data`` iterator of training inputs. Use the inputs the model sees
            in training (for the mSRGAN generator: the LR images).
        n: number of batches (default: all of ``batches``; it must then be finite).
        call: optional ``call(model, batch)`` for models whose inputs need a
            transformation; default ``model(batch, training=True)``.

    Dropout layers are switched off (rate 0) during the pass, so the statistics
    are those of the inference-time activations; momentum, dropout rates and
    ``trainable`` flags are restored afterwards, also on error. A model without
    BatchNormalization returns 0 and consumes nothing.
    """
    bns = batchnorm_layers(model)
    if not bns:
        return 0
    dropouts = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Dropout)]
    saved = [(bn, bn.momentum, bn.trainable) for bn in bns]
    saved_rates = [(d, d.rate) for d in dropouts]
    call = call or (lambda m, x: m(x, training=True))
    used = 0
    try:
        for bn in bns:
            bn.trainable = True  # BN only updates its statistics when trainable (frozen feature extractors)
        for d in dropouts:
            d.rate = 0.0
        for k, batch in enumerate(itertools.islice(iter(batches), n), start=1):
            for bn in bns:
                bn.momentum = (k - 1) / k
            call(model, batch)
            used = k
    finally:
        for bn, momentum, trainable in saved:
            bn.momentum = momentum
            bn.trainable = trainable
        for d, rate in saved_rates:
            d.rate = rate
    if n is not None and used < n:
        log.warning("BN recalibration of %s: only %d of %d batches available", model.name, used, n)
    log.info("recalibrated %d BatchNormalization layers of %s on %d batches", len(bns), model.name, used)
    return used


class Recalibration(keras.callbacks.Callback):
    """Runs :func:`recalibrate` before each validation (``on_test_begin``) of a ``fit``.

    ``fit`` calls ``on_test_begin`` after the epoch's training steps, so the
    validation scores and everything done at the epoch end (exports,
    figures, checkpoints) see statistics of the epoch's final weights.

    Args:
        batches: ``batches(step) -> iterable`` of training batches for a pass at training step ``step``
            (e.g. a repeated ``tf.data`` dataset that starts at a batch derived from ``step``): stateless, so a
            resumed run recalibrates on the same batches as an uninterrupted one.
        n_batches: batches per pass; 0 disables the callback.
        model: the model to recalibrate (default: the model being fitted).
        prepare: optional ``prepare(batch) -> model input`` (e.g. drop labels, downscale).
        step: ``step() -> int``, the training step; :meth:`run` does nothing when called twice at the same
            step (exports may call it too).
    """

    def __init__(self, batches, n_batches, model=None, prepare=None, step=None):
        super().__init__()
        self.n_batches = int(n_batches)
        self.batches = batches
        self._target = model
        self.prepare = prepare or (lambda batch: batch)
        self.step = step
        self._done_at = None

    def run(self):
        """Recalibrate now (unless disabled or already done at this step); return the batches used."""
        if self.n_batches <= 0:
            return 0
        step = int(self.step())
        if step == self._done_at:
            return 0
        batches = (self.prepare(b) for b in self.batches(step))
        used = recalibrate(self._target or self.model, batches, self.n_batches)
        self._done_at = step
        return used

    def on_test_begin(self, logs=None):
        self.run()

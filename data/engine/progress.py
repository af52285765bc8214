"""A progress line every N steps when the output is not a terminal (the Keras progress bar covers terminals).

Keras' ``verbose=2`` (one line per epoch, the engine's choice off a terminal)
leaves a long epoch silent: a cluster log showed nothing for 20 minutes. The
:class:`ProgressLine` callback logs, every ``every`` steps::

    epoch 3/8, step 250 of 800 (batch 50/100): 2.91 steps/s, ETA 3 min 9 s, g_loss 0.0213

The rate is measured over the steps since the previous line or the epoch's
start (validation does not count; the first line of a run includes building the
graph), the ETA is the remaining steps of the run at that rate. The loss shown is
``loss``, else ``g_loss`` (the GANs' generator loss), else the first ``*loss*``.
"""

from __future__ import annotations

import logging
import time

import keras
import numpy as np

log = logging.getLogger(__name__)


def default_every(steps_per_epoch):
    """Ten lines per epoch (at least every step)."""
    return max(1, int(steps_per_epoch) // 10)


def duration(seconds):
    """``"1 h 2 min"``, ``"3 min 9 s"``, ``"42 s"``."""
    s = int(round(max(0.0, float(seconds))))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


class ProgressLine(keras.callbacks.Callback):
    """Log one line every ``every`` steps of the run: epoch, global step, step rate, ETA and the first loss.

    ``step()`` returns the global step (the recipe's counter), ``epochs`` and ``steps_per_epoch`` the run's
    length; the last batch of an epoch gets no line (Keras' epoch line follows).
    """

    def __init__(self, every, epochs, steps_per_epoch, step):
        super().__init__()
        self.every, self.epochs, self.steps_per_epoch, self.step = int(every), int(epochs), int(steps_per_epoch), step
        self.epoch = 0
        self._mark = None  # (time, step) at the previous line or the epoch's start

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._mark = (time.perf_counter(), int(np.asarray(self.step())))

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every or batch + 1 >= self.steps_per_epoch:
            return
        now, step = time.perf_counter(), int(np.asarray(self.step()))
        then, before = self._mark
        self._mark = (now, step)
        rate = (step - before) / (now - then) if now > then and step > before else float("nan")
        left = self.epochs * self.steps_per_epoch - step
        eta = f"ETA {duration(left / rate)}" if rate == rate and rate > 0 else "ETA unknown"
        logs = logs or {}
        key = next((k for k in ("loss", "g_loss") if k in logs), next((k for k in logs if "loss" in k), None))
        loss = None if key is None else (key, logs[key])
        tail = "" if loss is None else f", {loss[0]} {float(np.asarray(loss[1])):.4g}"
        log.info("epoch %d/%d, step %d of %d (batch %d/%d): %.3g steps/s, %s%s", self.epoch + 1, self.epochs, step,
                 self.epochs * self.steps_per_epoch, batch + 1, self.steps_per_epoch, rate, eta, tail)

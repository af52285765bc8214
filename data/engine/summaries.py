"""TensorBoard callbacks of the training scaffold (:mod:`data.engine.loop`): scalars and images on the global step axis.

Every trainer's curves come from here, so they read the same way:

``logdir/train``       ``batch_<key>``: the value of each training step (every ``log_every`` steps), with
                       the learning rate; ``epoch_<key>``: the mean over the epoch's steps
``logdir/validation``  ``epoch_<key>``: the validation value after the epoch (inference mode)
``logdir/images``      image panels

All at the global training step (epoch scalars at the epoch's last step, the
step of its checkpoint); each scalar's description in TensorBoard says which
of these it is. After a resume each step appears once: a killed run's events
beyond its last checkpoint are purged before training continues, and the
writers are flushed at each epoch end, before the checkpoint is saved.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.engine.multiworker import ChiefOnly
from data.io import atomic_path

log = logging.getLogger(__name__)


def scalar(value):
    """``float(value)``, or None for a value that is not a number."""
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


def _metric_names(model):
    """Names of the logs that Keras reports as running means since the epoch start (its metrics)."""
    names = set()
    for metric in model.metrics:
        names.add(metric.name)
        inner = getattr(metric, "metrics", None)  # CompileMetrics / CompileLoss containers
        if isinstance(inner, (list, tuple)):
            names.update(m.name for m in inner)
    return names


def purge_events(logdir, after_step, inclusive=False, tags=None):
    """Remove from the event files in ``logdir`` the summaries at steps > ``after_step`` (>= if ``inclusive``).

    With ``tags``, only summaries whose tags are all in ``tags``.

    What a killed run logged beyond its last checkpoint is replayed after the
    resume; purging it first leaves each step once. A record truncated by the
    kill ends the file. Files are rewritten atomically, only when they change.
    Returns the number of events removed.
    """
    removed = 0
    for path in sorted(Path(logdir).glob("events.out.tfevents.*")):
        kept, dropped = [], 0
        try:
            for record in tf.data.TFRecordDataset(str(path)):
                event = tf.compat.v1.Event.FromString(record.numpy())
                late = event.step >= after_step if inclusive else event.step > after_step
                ours = tags is None or {v.tag for v in event.summary.value} <= tags
                if late and event.HasField("summary") and ours:
                    dropped += 1
                else:
                    kept.append(record.numpy())
        except tf.errors.DataLossError:
            dropped += 1  # the truncated last record of a killed writer
        if dropped:
            with atomic_path(path) as tmp:
                with tf.io.TFRecordWriter(str(tmp)) as writer:
                    for record in kept:
                        writer.write(record)
            log.debug("%s: removed %d events after step %d (replayed after the resume)", path, dropped, after_step)
        removed += dropped
    return removed


_DESCRIPTIONS = {
    "batch": "{key} of this training step",
    "batch_raw": "{key} at this training step",
    "epoch": "{key}: mean over the epoch's training steps, at the epoch's last step",
    "epoch_raw": "{key} at the epoch's last step",
    "validation": "{key} on the validation data at the end of the epoch (inference mode), at the epoch's last step",
}


class StepSummary(ChiefOnly, keras.callbacks.Callback):
    """TensorBoard scalars with the public ``tf.summary`` API, on the global step axis (continued after a resume).

    ``logdir/train``: ``batch_<key>`` every ``every`` steps: the value of that
    step (Keras reports its metrics as running means since the epoch start, a
    sawtooth; they are differenced back to per-step values, exact for equal
    batches), and the learning rate; ``epoch_<key>`` (the epoch mean) at each
    epoch end; ``logdir/validation``: ``epoch_<key>`` of the ``val_<key>``
    logs, at the step of the epoch end. Each scalar carries a description
    saying this. The writers are flushed at each epoch end, before the
    checkpoint; on a resume, whatever a killed run logged beyond the
    checkpointed step is purged first (:func:`purge_events`), so each step appears once.
    ``step(model)`` gives the step counter (default ``model.optimizer.iterations``).
    """

    def __init__(self, logdir, step=None, every=1):
        super().__init__()
        self.logdir = Path(logdir)
        self.step_fn = step or (lambda model: model.optimizer.iterations)
        self.every = max(int(every), 1)
        self.step = 0
        self.writers = {}
        self._means = None
        self._previous = {}

    def _writer(self, name):
        if name not in self.writers:
            self.writers[name] = tf.summary.create_file_writer(str(self.logdir / name))
        return self.writers[name]

    def _write(self, name, prefix, values, kinds):
        with self._writer(name).as_default(step=self.step):
            for key, value in values.items():
                v = scalar(value)
                if v is not None:
                    tf.summary.scalar(f"{prefix}_{key}", v, description=_DESCRIPTIONS[kinds(key)].format(key=key))

    def on_train_begin(self, logs=None):
        self.step = int(np.asarray(self.step_fn(self.model)))
        for name in ("train", "validation"):  # only our runs: another trainer may share the parent folder
            purge_events(self.logdir / name, self.step)
        self._means = None

    def on_epoch_begin(self, epoch, logs=None):
        self._previous = {}

    def _per_step(self, batch, logs):
        """Per-step values from Keras' running means: n * mean_n - (n - 1) * mean_(n-1), n = batch + 1."""
        if self._means is None:
            self._means = _metric_names(self.model)
        values = {}
        for key, value in logs.items():
            v = scalar(value)
            if v is None:
                continue
            if key in self._means:
                previous = self._previous.get(key, 0.0) if batch > 0 else 0.0
                self._previous[key] = v
                v = (batch + 1) * v - batch * previous
            values[key] = v
        return values

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        values = self._per_step(batch, dict(logs or {}))
        if self.step % self.every == 0:
            means = self._means
            self._write("train", "batch", {**values, **_learning_rate(self.model)},
                        lambda key: "batch" if key in means else "batch_raw")

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        self._write("train", "epoch", {**{k: v for k, v in logs.items() if not k.startswith("val_")},
                                       **_learning_rate(self.model)},
                    lambda key: "epoch" if key in (self._means or ()) else "epoch_raw")
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            self._write("validation", "epoch", val, lambda key: "validation")
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


class ImageSummary(ChiefOnly, keras.callbacks.Callback):
    """TensorBoard images (``logdir/images``) at the start and every ``every`` training steps.

    ``make_images(model)`` returns ``{name: array (N, H, W, C) in [0, 1]}``;
    ``step(model)`` gives the step counter the images are written at. The
    images of the start step replace any a killed run left at that step.
    """

    def __init__(self, logdir, make_images, every=100, step=None, max_outputs=4):
        super().__init__()
        self.logdir = Path(logdir)
        self.make_images = make_images
        self.every = max(int(every), 1)
        self.step_fn = step or (lambda model: model.optimizer.iterations)
        self.step = 0
        self.max_outputs = max_outputs
        self.writer = None

    def _write(self, replace=False):
        images = self.make_images(self.model)
        if replace:  # the start of a run: images past the checkpoint (any callback's), ours at this step
            purge_events(self.logdir / "images", self.step)
            purge_events(self.logdir / "images", self.step, inclusive=True, tags=set(images))
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.logdir / "images"))
        with self.writer.as_default(step=self.step):
            for name, img in images.items():
                tf.summary.image(name, np.clip(np.asarray(img, np.float32), 0, 1), max_outputs=self.max_outputs)
        self.writer.flush()

    def on_train_begin(self, logs=None):
        self.step = int(np.asarray(self.step_fn(self.model)))
        self._write(replace=True)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self._write()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _learning_rate(model):
    """The current learning rate of ``model.optimizer`` (``{}`` when the model has no single optimizer)."""
    lr = getattr(getattr(model, "optimizer", None), "learning_rate", None)
    value = scalar(lr) if lr is not None else None
    return {} if value is None else {"learning_rate": value}

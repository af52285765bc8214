"""The full training state in ``run_dir/ckpt`` and the callback that saves it at each epoch end.

Checkpoints are written only at epoch ends with finite losses, so a
``kill -9`` at any moment loses at most the current epoch; a non-finite loss
raises :class:`data.engine.errors.NonFiniteLossError` and never overwrites the
last good checkpoint or export.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.engine.errors import NonFiniteLossError

log = logging.getLogger(__name__)


def check_finite(logs, where):
    """Raise :class:`NonFiniteLossError` if any value in ``logs`` is NaN or infinite."""
    for k, v in (logs or {}).items():
        try:
            f = float(np.asarray(v))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            raise NonFiniteLossError(f"{k} = {f} {where}; training stopped, the last good checkpoint is kept")


class TrainingState:
    """Full training state (networks, optimizers, epoch) in ``run_dir/ckpt``.

    ``trackables`` are the objects to save, e.g. ``generator=g, g_optimizer=opt``;
    ``keep`` checkpoints are kept (``max_to_keep``). ``scratch``: a multi-worker
    cluster's non-chief worker saves its copy there (a temporary folder, removed
    after each save) and restores from the chief's ``run_dir/ckpt``.
    """

    def __init__(self, run_dir, keep=1, scratch=None, **trackables):
        self.directory = Path(run_dir) / "ckpt"
        self.scratch = None if scratch is None else Path(scratch)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.scratch or self.directory), max_to_keep=keep, checkpoint_name="ckpt"
        )

    @property
    def latest(self):
        return tf.train.latest_checkpoint(str(self.directory)) if self.scratch else self.manager.latest_checkpoint

    def restore(self):
        """Restore the latest checkpoint if any; return the number of completed epochs."""
        if not self.latest:
            return 0
        try:
            self.checkpoint.restore(self.latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            raise ValueError(f"{self.latest}: cannot restore checkpoint ({e})") from e
        return int(self.epoch.numpy())

    def save(self, epoch):
        self.epoch.assign(epoch)
        path = self.manager.save(checkpoint_number=epoch)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        return path


class CheckpointCallback(keras.callbacks.Callback):
    """NaN guard per batch; at each epoch end: the exports first, then the checkpoint.

    ``before_save(epoch, logs)`` (optional; the exports) runs before the state
    is saved, and never with non-finite logs: a kill in between replays the
    epoch instead of losing its export. ``after_save()`` (multi-worker: a
    barrier) runs after each save. ``saved`` is the number of the last
    checkpoint this callback wrote (tests end the process there, see
    ``tests/kill_after_checkpoint.py``).
    """

    def __init__(self, state, before_save=None, initial_epoch=0, after_save=None):
        super().__init__()
        self.state = state
        self.before_save = before_save
        self.after_save = after_save
        self.epoch = initial_epoch
        self.saved = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        check_finite(logs, f"at epoch {self.epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        check_finite(logs, f"at the end of epoch {epoch + 1}")
        if self.before_save is not None:
            self.before_save(epoch + 1, dict(logs or {}))
        path = self.state.save(epoch + 1)
        log.debug("saved %s", path)
        if self.after_save is not None:
            self.after_save()
        self.saved = epoch + 1

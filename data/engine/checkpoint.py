"""The full training state in ``run_dir/ckpt`` and the callback that saves it.

A checkpoint (``ckpt-<global step>``) holds the networks, the optimizers, the
step, the completed epochs and the networks' random-number state (Keras seed
generators: dropout), so that a resumed run continues exactly as an
uninterrupted one (the data streams are stateless functions of the step). It is
written at each epoch end, every ``checkpoint_every`` steps when set, and at the
step where a stop signal arrives (:mod:`data.engine.preemption`); only with
finite losses: a non-finite loss raises
:class:`data.engine.errors.NonFiniteLossError` and never overwrites the last good
checkpoint or export. ``kill -9`` at any moment loses at most the steps since
the last checkpoint.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.engine.errors import NonFiniteLossError, TrainingStopped

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


def seed_states(trackables):
    """The state variables of the Keras seed generators (dropout...) in the networks among ``trackables``.

    ``tf.train.Checkpoint`` of a Keras 3 model does not save them, so without this a resumed run would draw
    other dropout masks than an uninterrupted one."""
    found = {}
    for obj in trackables.values():
        if isinstance(obj, keras.Model):
            for v in obj.variables:
                if v.path.endswith("seed_generator_state"):
                    found.setdefault(id(v), v.value)
    return list(found.values())


def _first_line(error, limit=200):
    text = str(getattr(error, "message", error)).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]


def _unreadable(prefix):
    """Why the checkpoint ``prefix`` cannot be read (its index or a data shard missing, cut short or failing its
    checksum), or None. Reads every saved tensor once."""
    if not Path(prefix + ".index").is_file():
        return "its index file is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as e:  # noqa: BLE001 - DataLossError, NotFoundError, OutOfRangeError...: the file is bad
        return _first_line(e)
    return None


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
        self.keep = int(keep)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        rng = seed_states(trackables)
        if rng:
            trackables = {**trackables, "seed_states": rng}
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **trackables)
        if self.scratch is None:
            self._repair_pointer()
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.scratch or self.directory), max_to_keep=keep, checkpoint_name="ckpt"
        )
        self.restored_from = None

    def _repair_pointer(self):
        """A ``ckpt/checkpoint`` pointer that is not a checkpoint state (garbage, cut short) is rewritten from the
        checkpoint files on disk, saying so (the manager would fail on it with a parse error)."""
        pointer = self.directory / "checkpoint"
        if not pointer.is_file():
            return
        tf_log = logging.getLogger("tensorflow")
        level = tf_log.level
        tf_log.setLevel(logging.ERROR)  # TensorFlow logs its parse error and ignores the file: we say it once
        try:
            state = tf.train.get_checkpoint_state(str(self.directory))
            reason = "not a checkpoint state" if state is None else None
        except Exception as e:  # noqa: BLE001 - text_format.ParseError and friends: any unreadable pointer
            reason = _first_line(e)
        finally:
            tf_log.setLevel(level)
        if reason is None:
            return
        found = self.on_disk()
        log.warning("%s: unreadable checkpoint pointer (%s); rebuilt from the files: %s", pointer, reason,
                    ", ".join(Path(p).name for p in found) or "no checkpoint")
        pointer.unlink()
        if found:
            tf.compat.v1.train.update_checkpoint_state(str(self.directory), found[0], list(reversed(found)))

    def on_disk(self):
        """The checkpoints in ``ckpt/`` whose index file exists, newest (highest number) first."""
        found = []
        for index in self.directory.glob("ckpt-*.index"):
            number = index.name[len("ckpt-"):-len(".index")]
            if number.isdigit():
                found.append((int(number), str(index)[:-len(".index")]))
        return [prefix for _, prefix in sorted(found, reverse=True)]

    @property
    def latest(self):
        """The checkpoint a resume starts from (after :meth:`restore`: the one it restored)."""
        if self.restored_from:
            return self.restored_from
        return tf.train.latest_checkpoint(str(self.directory)) if self.scratch else self.manager.latest_checkpoint

    def restore(self):
        """Restore the latest readable checkpoint if any; return the number of completed epochs.

        A checkpoint whose files are cut short, corrupt or missing raises ``ValueError`` naming it and saying what
        to do; with ``keep >= 2`` the previous readable checkpoint is restored instead, saying so.
        """
        pointed = self.latest
        candidates = self.on_disk()
        if pointed and pointed not in candidates:
            candidates.insert(0, pointed)  # named by the pointer, its index file is gone: reported below
        if not candidates:
            return 0
        newest = candidates[0]
        problem = _unreadable(newest)
        chosen = newest
        if problem:
            older = next((c for c in candidates[1:] if not _unreadable(c)), None) if self.keep >= 2 else None
            if older is None:
                raise ValueError(f"{newest}: the checkpoint is corrupt or incomplete ({problem}); start anew with "
                                 "--no-resume, or keep older checkpoints with --keep-checkpoints 2 so that a run "
                                 "can fall back to the previous one")
            log.warning("%s: the checkpoint is corrupt or incomplete (%s); resuming from the previous one, %s",
                        newest, problem, older)
            chosen = older
        try:
            self.checkpoint.restore(chosen).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            raise ValueError(f"{chosen}: cannot restore checkpoint ({_first_line(e)})") from e
        self.restored_from = chosen
        return int(self.epoch.numpy())

    def save(self, epoch, step):
        """Write ``ckpt-<step>`` with ``epoch`` completed epochs; return its path."""
        self.epoch.assign(epoch)
        path = self.manager.save(checkpoint_number=int(step))
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        return path


class CheckpointCallback(keras.callbacks.Callback):
    """NaN guard per batch; checkpoints at each epoch end (the exports first), every ``every`` steps and on a stop.

    ``before_save(epoch, logs)`` (optional; the exports) runs before the epoch-end
    save, and never with non-finite logs: a kill in between replays the
    epoch's end instead of losing its export. ``after_save()`` (multi-worker: a
    barrier) runs after each save. ``step()`` is the global step; an epoch has
    ``steps_per_epoch`` steps, so the position in the epoch is ``step - epoch *
    steps_per_epoch``. ``every`` (> 0): also save after every ``every``-th step
    (not at an epoch's last step: its end saves). ``stop``
    (:class:`data.engine.preemption.StopRequest`): once requested, save at the
    end of the current step (the epoch's end for its last step) and raise
    :class:`data.engine.errors.TrainingStopped`. ``saved`` is the number of
    epochs of the last epoch-end checkpoint this callback wrote (tests end the
    process there, see ``tests/kill_after_checkpoint.py``).
    """

    def __init__(self, state, step, steps_per_epoch, before_save=None, initial_epoch=0, after_save=None, every=0,
                 stop=None):
        super().__init__()
        self.state = state
        self.before_save = before_save
        self.after_save = after_save
        self.epoch = initial_epoch
        self.step = step
        self.steps_per_epoch = steps_per_epoch
        self.every = int(every or 0)
        self.stop = stop
        self.saved = None

    def _save(self, epoch, step):
        path = self.state.save(epoch, step)
        log.debug("saved %s", path)
        if self.after_save is not None:
            self.after_save()
        return path

    def _stopped(self, step, path, where):
        path = self.state.directory / Path(path).name  # a worker's scratch copy: name the chief's checkpoint
        raise TrainingStopped(f"stopped by {self.stop.name} at step {step} ({where}); checkpoint {path} written: "
                              "the same command resumes there", self.stop.stop_signum)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        check_finite(logs, f"at epoch {self.epoch + 1}, batch {batch + 1}")
        stopping = self.stop is not None and self.stop.poll()  # multi-worker: every worker polls at every step
        if not (stopping or self.every):
            return
        step = int(np.asarray(self.step()))
        position = step - self.epoch * self.steps_per_epoch
        if position >= self.steps_per_epoch:  # the epoch's last step: its end saves, after validation and exports
            return
        if stopping or step % self.every == 0:
            path = self._save(self.epoch, step)
            if stopping:
                self._stopped(step, path, f"epoch {self.epoch + 1}, batch {position} of {self.steps_per_epoch}")

    def on_epoch_end(self, epoch, logs=None):
        check_finite(logs, f"at the end of epoch {epoch + 1}")
        if self.before_save is not None:
            self.before_save(epoch + 1, dict(logs or {}))
        step = int(np.asarray(self.step()))
        path = self._save(epoch + 1, step)
        self.saved = epoch + 1
        if self.stop is not None and self.stop.poll():
            self._stopped(step, path, f"end of epoch {epoch + 1}")

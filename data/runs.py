"""Run folders and resumable training state, shared by the three trainers.

It lives in ``data`` because ``data`` is the one package every trainer may
depend on (``data`` <- ``vgg19`` <- ``msrgan``, ``data`` <- ``cyclegan_dct``).

A run folder (``backup/<package>/``) describes itself::

    config.json            the run's configuration (written atomically)
    ckpt/checkpoint        the ``latest`` pointer (as the original's backup dirs)
    ckpt/ckpt-<epoch>.*    full training state: networks, optimizers, epoch
    *.keras                exported models, opened by ``keras.models.load_model``

Checkpoints are written by ``tf.train.CheckpointManager`` (shards written
under temporary names, pointer file replaced atomically), only at epoch ends
and only while every logged loss is finite. A process killed at any moment
therefore resumes from the last complete epoch with optimizer state and step.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.config import PRECISIONS
from data.io import atomic_path, write_json


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def set_precision(name):
    """Set the global Keras dtype policy (``float32``, ``mixed_bfloat16`` or ``mixed_float16``)."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    keras.mixed_precision.set_global_policy(name)


def load_config(run_dir):
    """The ``config.json`` of a run folder, as a dict."""
    import json

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no config.json (is {run_dir} a run folder?)")
    return json.loads(path.read_text())


def prepare_run_dir(run_dir, config, resume=True, fixed_keys=()):
    """Create ``run_dir`` and write ``config.json``.

    With ``resume`` and an existing config, the values of ``fixed_keys`` (the
    architecture) must match, else ``ValueError`` names the differing keys.
    Without ``resume`` the old checkpoints are removed, so training starts anew.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    old_path = run_dir / "config.json"
    if resume and old_path.is_file() and (run_dir / "ckpt" / "checkpoint").is_file():
        old = load_config(run_dir)
        bad = [k for k in fixed_keys if k in old and old[k] != config.get(k)]
        if bad:
            diffs = ", ".join(f"{k}: saved {old[k]!r} vs now {config.get(k)!r}" for k in bad)
            raise ValueError(
                f"{old_path}: cannot resume, the architecture differs ({diffs}); "
                "use another --backup-dir or --no-resume"
            )
    if not resume and (run_dir / "ckpt").exists():
        shutil.rmtree(run_dir / "ckpt")
    write_json(old_path, config)
    return run_dir


def load_model_file(path, hint):
    """A ``.keras`` model without its training configuration; errors name the file.

    ``hint`` completes the missing-file message, e.g. "train one with python -m vgg19.train".
    The package that registers the model's custom layers must be imported first.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file ({hint})")
    try:
        return keras.models.load_model(str(path), compile=False)
    except Exception as e:
        raise ValueError(f"{path}: cannot load a Keras model ({e})") from e


def save_model(model, path):
    """Export a Keras model to ``.keras`` atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        model.save(str(tmp))


class TrainingState:
    """Full training state (networks, optimizers, epoch) in ``run_dir/ckpt``.

    ``trackables`` are the objects to save, e.g. ``generator=g, g_optimizer=opt``.
    """

    def __init__(self, run_dir, max_to_keep=3, **trackables):
        self.directory = Path(run_dir) / "ckpt"
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.directory), max_to_keep=max_to_keep, checkpoint_name="ckpt"
        )

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def restore(self):
        """Restore the latest checkpoint if any; return the number of completed epochs."""
        if not self.latest:
            return 0
        try:
            self.checkpoint.restore(self.latest).assert_existing_objects_matched()
        except Exception as e:
            raise RuntimeError(f"{self.latest}: cannot restore checkpoint ({e})") from e
        return int(self.epoch.numpy())

    def save(self, epoch):
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)


def check_finite(logs, where):
    """Raise :class:`NonFiniteLossError` if any value in ``logs`` is NaN or infinite."""
    for k, v in (logs or {}).items():
        try:
            f = float(np.asarray(v))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            raise NonFiniteLossError(f"{k} = {f} {where}; training stopped, the last good checkpoint is kept")


class CheckpointCallback(keras.callbacks.Callback):
    """Stops on a non-finite loss; at each epoch end saves the state, then calls ``export``.

    ``export(epoch, logs)`` (optional) writes the ``.keras`` files; it is only
    called after the state was saved, and never with non-finite logs.
    """

    def __init__(self, state, export=None, initial_epoch=0, steps_per_epoch=None):
        super().__init__()
        self.state = state
        self.export = export
        self.epoch = initial_epoch
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        check_finite(logs, f"at epoch {self.epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        check_finite(logs, f"at the end of epoch {epoch + 1}")
        self.state.save(epoch + 1)
        if self.export is not None:
            self.export(epoch + 1, dict(logs or {}))


class StepTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` whose per-step curves continue after a resume.

    Keras restarts its batch counter at 0 on every ``fit``; here it starts at
    ``step(model)`` (default: the optimizer's restored iteration count), so
    ``batch_<key>`` curves continue where a killed run stopped. It also logs
    the learning rate per step (Keras logs it per epoch only) and always
    records the epoch scalars (with an integer ``update_freq``, Keras leaves
    its batch-level ``record_if`` active at the epoch end and drops them).
    Relies on private members of Keras 3.x's TensorBoard callback.
    """

    def __init__(self, step=None, **kwargs):
        super().__init__(**kwargs)
        self._step_fn = step or (lambda model: model.optimizer.iterations)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._global_train_batch = int(np.asarray(self._step_fn(self.model)))
        self._pop_writer()
        self._push_writer(self._train_writer, self._global_train_batch)

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(logs, dict):
            logs = self._collect_learning_rate(dict(logs))
        super().on_train_batch_end(batch, logs)

    def _log_epoch_metrics(self, epoch, logs):
        with tf.summary.record_if(True):
            super()._log_epoch_metrics(epoch, logs)


class ImageSummary(keras.callbacks.Callback):
    """Writes TensorBoard images every ``every`` training steps.

    ``make_images(model)`` returns ``{name: array (N, H, W, C) in [0, 1]}``.
    """

    def __init__(self, logdir, make_images, every=100, initial_step=0, max_outputs=4):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(Path(logdir) / "images"))
        self.make_images = make_images
        self.every = max(int(every), 1)
        self.step = int(initial_step)
        self.max_outputs = max_outputs

    def _write(self):
        images = self.make_images(self.model)
        with self.writer.as_default(step=self.step):
            for name, img in images.items():
                tf.summary.image(name, np.clip(np.asarray(img, np.float32), 0, 1), max_outputs=self.max_outputs)
        self.writer.flush()

    def on_train_begin(self, logs=None):
        self._write()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self._write()


EXPECTED_ERRORS = (NonFiniteLossError, ValueError, FileNotFoundError, RuntimeError, tf.errors.OpError)
"""Failures a training CLI reports as a one-line message (``ImageError`` is a ``ValueError``)."""


def error_message(error):
    """One line for an expected training failure, or ``None`` for an unexpected one (a bug).

    A ``tf.errors.OpError`` raised inside a ``tf.data`` pipeline is reduced to
    the line that names the bad file (:func:`data.pipeline.pipeline_error_message`).
    """
    if isinstance(error, tf.errors.OpError):
        from data.pipeline import pipeline_error_message

        return pipeline_error_message(error)
    if isinstance(error, EXPECTED_ERRORS):
        return str(error)
    return None


def run_training(run):
    """Call ``run()`` for a training CLI; an expected failure becomes a one-line ``click`` error (exit 1).

    Unexpected exceptions (bugs) propagate with their traceback. Before the
    exit, the failed run is garbage-collected while the interpreter is intact:
    a tf.data iterator left with a pending ``numpy_function`` can otherwise
    deadlock the interpreter's shutdown.
    """
    import click

    error = None
    try:
        return run()
    except Exception as e:
        error = error_message(e)
        if error is None:
            raise
    import gc

    gc.collect()
    raise click.ClickException(error)

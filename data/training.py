"""The training scaffold shared by the three trainers (vgg19, msrgan, cyclegan_dct).

It lives in ``data`` because ``data`` is the one package every trainer may
depend on (``data`` <- ``vgg19`` <- ``msrgan``, ``data`` <- ``cyclegan_dct``).
A model provides a :class:`TrainingSpec` (its config, a function that builds
the compiled ``keras.Model`` with a ``train_step``, its datasets and the
networks to export) and :func:`train` does the rest:

run folder (``backup/<package>/``) ::

    config.json            the run's configuration (data.config.Config.save)
    ckpt/checkpoint        the ``latest`` pointer (as the original's backup dirs)
    ckpt/ckpt-<epoch>.*    full training state (tf.train.CheckpointManager):
                           networks, optimizers, step, epoch, best monitored value
    *.keras                float32 inference exports (data.export.export_model)
    export.json            which epoch / step / monitored value the exports hold

- resume: the same command continues from the last checkpoint (written only
  at epoch ends with finite losses, so a ``kill -9`` at any moment loses at
  most the current epoch); a different architecture or ``precision`` is refused, naming the keys;
  learning rates given on resume replace the checkpoint's (:mod:`data.resume`);
- NaN guard: a non-finite loss raises :class:`data.errors.NonFiniteLossError`
  and never overwrites the last good checkpoint or export;
- :class:`StepSummary`: TensorBoard scalars through the public ``tf.summary``
  API: ``train/batch_<key>`` (per-step values) every ``log_every`` steps,
  ``train/epoch_<key>`` and ``validation/epoch_<key>`` at each epoch end, all
  on the global step axis, which continues after a resume (each step once:
  what a killed run logged past its checkpoint is purged); :class:`ImageSummary`: image panels;
- exports: after each epoch (or only when ``monitor`` improves: the best
  epoch is exported while the checkpoint keeps the last one), preceded by the
  ``before_export`` hook;
- ``GANMICRO_KILL_AFTER_CHECKPOINT=N``: the process ends with
  ``os._exit(137)`` right after checkpoint N is saved (deterministic kill
  tests of resume); ``N@I``: only worker I of a multi-worker cluster; a
  comma-separated list: each of them;
- ``--strategy multiworker`` (:mod:`data.multiworker`): only the chief writes
  the run folder, the logs and the exports; the other workers save their
  checkpoint copies to temporary folders that are removed at once, and every
  worker restores from the chief's ``ckpt/``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from data.config import PRECISIONS, Config
from data.errors import NonFiniteLossError
from data.export import export_model
from data.io import check_can_create, write_json
from data.multiworker import (
    ChiefOnly,
    after_save_barrier,
    is_chief,
    make_multiworker_strategy,
    scratch_dir,
    shard_by_data,
)
from data.resume import apply_learning_rates, constant_learning_rates
from data.summaries import ImageSummary, StepSummary  # noqa: F401 - part of the scaffold's API
from data.summaries import scalar as _scalar

log = logging.getLogger(__name__)

KILL_ENV = "GANMICRO_KILL_AFTER_CHECKPOINT"
EXPORT_RECORD = "export.json"


def set_precision(name):
    """Set the global Keras dtype policy (``float32``, ``mixed_bfloat16`` or ``mixed_float16``)."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    keras.mixed_precision.set_global_policy(name)


def make_strategy(name="default"):
    """The ``tf.distribute`` strategy of ``--strategy`` (one function for every trainer).

    ``default``: the current one (one device). ``mirrored``: a replica on each
    GPU, or on each logical CPU when there is no GPU (as the tests configure).
    ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the
    processes of ``TF_CONFIG`` (or SLURM), see :mod:`data.multiworker`.
    """
    if name == "multiworker":
        return make_multiworker_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"unknown strategy {name!r} (default, mirrored, multiworker)")


def fit_verbosity():
    """Keras ``verbose``: a progress bar on a terminal, one line per epoch otherwise (no backspaces in logs)."""
    return 1 if sys.stdout.isatty() else 2


def check_finite(logs, where):
    """Raise :class:`NonFiniteLossError` if any value in ``logs`` is NaN or infinite."""
    for k, v in (logs or {}).items():
        try:
            f = float(np.asarray(v))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            raise NonFiniteLossError(f"{k} = {f} {where}; training stopped, the last good checkpoint is kept")


def check_resume(run_dir, config, resume=True, fixed_keys=()):
    """Refuse to resume ``run_dir`` with a different architecture (``ValueError`` naming the keys); writes nothing."""
    old_path = Path(run_dir) / "config.json"
    if not (resume and old_path.is_file() and (Path(run_dir) / "ckpt" / "checkpoint").is_file()):
        return
    old = type(config).load(old_path).to_dict()
    new = config.to_dict()
    bad = [k for k in fixed_keys if old.get(k) != new.get(k)]
    if bad:
        diffs = ", ".join(f"{k}: saved {old.get(k)!r} vs now {new.get(k)!r}" for k in bad)
        raise ValueError(f"{old_path}: cannot resume, the architecture differs ({diffs}); "
                         "use another --backup-dir or --no-resume")
    if "precision" in new and old.get("precision") != new["precision"]:
        raise ValueError(f"{old_path}: cannot resume, precision: saved {old.get('precision')!r} vs now "
                         f"{new['precision']!r} (the checkpoint holds that policy's variables); resume with "
                         f"--precision {old.get('precision')}, or use another --backup-dir or --no-resume")


def remove_stale_temporaries(run_dir):
    """Remove what a killed run of ours left half-written: ``data.io.atomic_path`` files, checkpoint ``*_temp*``."""
    run_dir = Path(run_dir)
    stale = list(run_dir.glob(".*.*.tmp*")) + list((run_dir / "ckpt").glob("*_temp*"))
    for path in stale:
        log.debug("removing stale temporary %s", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def start_run_dir(run_dir, config, resume=True):
    """Create ``run_dir``, clear stale temporaries (and ``ckpt/`` unless ``resume``), write ``config.json``.

    If ``config.json`` cannot be written (no space left...), a ``run_dir`` created here is removed again.
    """
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run_dir)
    if not resume and (run_dir / "ckpt").exists():
        shutil.rmtree(run_dir / "ckpt")
    try:
        config.save(run_dir / "config.json")
    except OSError:
        if created:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir


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


def _kill_after(checkpoint):
    """Whether ``KILL_ENV`` ends this process after ``checkpoint``: a comma-separated list of ``N`` (checkpoint N)
    or ``N@I`` (checkpoint N, only on worker I of ``TF_CONFIG``)."""
    import json

    for entry in filter(None, os.environ.get(KILL_ENV, "").split(",")):
        number, _, worker = entry.partition("@")
        if int(number) != checkpoint:
            continue
        # TF_CONFIG is read only for an N@I entry: a run without the test hook never parses it
        if not worker or int(worker) == json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {}).get("index"):
            return True
    return False


class CheckpointCallback(keras.callbacks.Callback):
    """NaN guard per batch; at each epoch end: ``on_epoch_saved`` work first, then the checkpoint.

    ``before_save(epoch, logs)`` (optional; the exports) runs before the state
    is saved, and never with non-finite logs: a kill in between replays the
    epoch instead of losing its export. After checkpoint N, ``KILL_ENV=N``
    ends the process (``os._exit(137)``). ``after_save()`` (multi-worker: a
    barrier) runs after each save, before the kill hook.
    """

    def __init__(self, state, before_save=None, initial_epoch=0, after_save=None):
        super().__init__()
        self.state = state
        self.before_save = before_save
        self.after_save = after_save
        self.epoch = initial_epoch

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
        if _kill_after(epoch + 1):
            logging.shutdown()
            os._exit(137)


def learning_rate(model):
    """The current learning rate of ``model.optimizer`` (``{}`` when the model has no single optimizer)."""
    opt = getattr(model, "optimizer", None)
    lr = getattr(opt, "learning_rate", None)
    value = _scalar(lr) if lr is not None else None
    return {} if value is None else {"learning_rate": value}


@dataclass
class TrainingSpec:
    """What a model gives the scaffold; :func:`train` does the rest.

    Required:
      ``config``: a :class:`data.config.Config` with ``epochs``, ``seed``, ``precision`` (and
      optionally ``strategy``); saved as ``config.json``.
      ``build_model()``: the compiled ``keras.Model`` (called inside the strategy scope).
      ``make_datasets(initial_epoch)``: ``(train, validation or None)`` tf.data; the training
      set repeats; built once per run (reading it checks every input file before anything is written).
      ``steps_per_epoch``.
      ``exports(model)``: ``{file name: network}`` or ``{file name: (network, input_shape)}``, written
      as float32 ``.keras`` in the run folder.
    Optional hooks:
      ``architecture_keys``: config fields a resumed run must keep.
      ``trackables(model)``: the checkpointed objects (default: ``model`` and ``model.optimizer``).
      ``step(model)``: the global step counter (default ``model.optimizer.iterations``).
      ``monitor``, ``mode``: export only the best epoch by this epoch log (``"max"`` or ``"min"``),
      e.g. ``"val_accuracy"``; the checkpoint still holds the last epoch. ``None``: export every epoch.
      ``eligible(model)``: with ``monitor``, whether the epoch just ended may be exported at all (e.g.
      only epochs past a pre-training phase); ``export_rule``: a sentence saying which epoch the exports
      hold, written to ``export.json``.
      ``before_export(model)``: runs before each export (e.g. re-estimating BatchNorm statistics);
      its changes to the model are checkpointed too.
      ``make_images(model)`` with ``image_every``: TensorBoard image panels.
      ``callbacks(model, validation)``: extra Keras callbacks (e.g. figures); those deriving from
      :class:`data.multiworker.ChiefOnly` (they only write files) run on the chief alone.
      ``keep_checkpoints``: ``max_to_keep`` of the checkpoint manager.
      ``log_every``: steps between ``batch_*`` scalars.
      ``validation_steps``; ``epochs`` (default ``config.epochs``).
    """

    config: Config
    build_model: Callable[[], keras.Model]
    make_datasets: Callable[[int], tuple]
    steps_per_epoch: int
    exports: Callable[[keras.Model], dict]
    architecture_keys: tuple = ()
    trackables: Callable[[keras.Model], dict] | None = None
    step: Callable[[keras.Model], Any] | None = None
    monitor: str | None = None
    mode: str = "max"
    eligible: Callable[[keras.Model], bool] | None = None
    export_rule: str | None = None
    before_export: Callable[[keras.Model], None] | None = None
    make_images: Callable[[keras.Model], dict] | None = None
    image_every: int = 100
    callbacks: Callable[[keras.Model, Any], list] | None = None
    keep_checkpoints: int = 1
    log_every: int = 1
    validation_steps: int | None = None
    epochs: int | None = None

    def __post_init__(self):
        if self.mode not in ("max", "min"):
            raise ValueError(f"mode={self.mode!r} (must be 'max' or 'min')")
        if int(self.keep_checkpoints) < 1:
            raise ValueError(f"keep_checkpoints={self.keep_checkpoints!r} (must be >= 1)")


class _Exporter:
    """Writes the exports (all epochs, or the best by ``monitor``) and ``export.json``.

    With ``chief=False`` (a multi-worker cluster's other workers) the same
    decisions and ``before_export`` run, but no file is written.
    """

    def __init__(self, spec, model, run_dir, best, chief=True):
        self.spec = spec
        self.model = model
        self.run_dir = Path(run_dir)
        self.best = best
        self.chief = chief

    def _improves(self, value):
        best = float(self.best.numpy())
        return value > best if self.spec.mode == "max" else value < best

    def __call__(self, epoch, logs):
        spec = self.spec
        value = None
        if spec.monitor is not None:
            if spec.monitor not in logs:
                raise ValueError(f"no {spec.monitor!r} in the epoch logs (keys: {', '.join(sorted(logs))})")
            value = float(logs[spec.monitor])
            if spec.eligible is not None and not spec.eligible(self.model):
                log.info("epoch %d: %s %.4f; not eligible for export (see export_rule)", epoch, spec.monitor, value)
                return
            if not self._improves(value):
                return
        self.export(epoch, logs, value)

    def export(self, epoch, logs, value=None):
        spec = self.spec
        if spec.before_export is not None:
            spec.before_export(self.model)
        if not self.chief:
            if value is not None:
                self.best.assign(value)
            return
        files = []
        for name, net in spec.exports(self.model).items():
            net, shape = net if isinstance(net, tuple) else (net, None)
            files.append(export_model(net, self.run_dir / name, input_shape=shape).name)
        step = int(np.asarray(_step(spec, self.model)))
        write_json(self.run_dir / EXPORT_RECORD, {
            "epoch": epoch, "step": step, "monitor": spec.monitor, "mode": spec.mode if spec.monitor else None,
            "value": value, "logs": {k: _scalar(v) for k, v in logs.items()}, "files": files,
            **({"rule": spec.export_rule} if spec.export_rule else {}),
        })
        if value is not None:
            self.best.assign(value)
            log.info("epoch %d: %s %.4f is the best so far; exported %s", epoch, spec.monitor, value, ", ".join(files))


def _step(spec, model):
    return spec.step(model) if spec.step is not None else model.optimizer.iterations


def train(spec, backup_dir, logdir, resume=True, verbose=None, keep_checkpoints=None):
    """Train (or resume) the run of ``spec`` in ``backup_dir``; return a summary dict.

    ``keep_checkpoints`` (``--keep-checkpoints``), when given, replaces ``spec.keep_checkpoints``.

    ``{"run_dir", "epoch", "step", "logs", "exports": [paths], "export": the export.json record or None}``.
    Bad input (config, data, a different architecture) raises ``ValueError`` /
    ``ImageError`` / ``FileNotFoundError`` before anything is written; a NaN or
    infinite loss raises :class:`NonFiniteLossError` (the last good checkpoint and exports stay).
    """
    if keep_checkpoints is not None:
        spec = replace(spec, keep_checkpoints=keep_checkpoints)
    config = spec.config
    run_dir = Path(backup_dir)
    set_precision(config.precision)
    check_resume(run_dir, config, resume, spec.architecture_keys)
    strategy = make_strategy(getattr(config, "strategy", "default"))
    keras.utils.set_random_seed(config.seed)  # after the strategy: a multi-worker one resets TensorFlow's seed
    chief, scratch = is_chief(strategy), scratch_dir(strategy)
    try:
        return _train(spec, strategy, chief, scratch, run_dir, logdir, resume, verbose)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _train(spec, strategy, chief, scratch, run_dir, logdir, resume, verbose):
    config = spec.config
    with strategy.scope():
        model = spec.build_model()
        model.jit_compile = bool(getattr(config, "jit_compile", False))  # XLA: the config's option
        best = tf.Variable(-math.inf if spec.mode == "max" else math.inf, dtype=tf.float64, trainable=False,
                           name="best_monitored")
    trackables = spec.trackables(model) if spec.trackables else {"model": model, "optimizer": model.optimizer}
    state = TrainingState(run_dir, keep=spec.keep_checkpoints, scratch=scratch, best_monitored=best, **trackables)
    rates = constant_learning_rates(trackables)  # the config's, read before the restore
    initial_epoch = state.restore() if resume else 0
    apply_learning_rates(rates)
    step = int(np.asarray(_step(spec, model)))
    if initial_epoch:
        log.info("resuming from %s: epoch %d done, step %d", state.latest, initial_epoch, step)
    train_ds, val_ds = spec.make_datasets(initial_epoch)  # reads (and checks) the data before anything is written
    train_ds, val_ds = shard_by_data(train_ds, strategy), shard_by_data(val_ds, strategy)
    if chief:
        check_can_create(run_dir, logdir)
        start_run_dir(run_dir, config, resume)
    exporter = _Exporter(spec, model, run_dir, best, chief=chief)
    result = {"run_dir": str(run_dir), "epoch": initial_epoch, "step": step, "logs": {},
              "exports": [str(run_dir / name) for name in spec.exports(model)], "export": None}
    epochs = spec.epochs or config.epochs
    if initial_epoch >= epochs:
        log.info("nothing to do: %d of %d epochs already done", initial_epoch, epochs)
        if chief and not (run_dir / EXPORT_RECORD).is_file():
            exporter.export(initial_epoch, {})
        result["export"] = _read_record(run_dir)
        return result

    step_fn = spec.step or (lambda m: m.optimizer.iterations)
    callbacks = [StepSummary(logdir, step=step_fn, every=spec.log_every)]
    if spec.make_images is not None:
        callbacks.append(ImageSummary(logdir, spec.make_images, every=spec.image_every, step=step_fn))
    if spec.callbacks is not None:
        callbacks += list(spec.callbacks(model, val_ds))
    if not chief:
        callbacks = [c for c in callbacks if not isinstance(c, ChiefOnly)]
    callbacks.append(CheckpointCallback(state, before_save=exporter, initial_epoch=initial_epoch,
                                        after_save=after_save_barrier(strategy)))
    log.info("training: epoch %d of %d, from step %d", initial_epoch + 1, epochs, int(np.asarray(_step(spec, model))))
    # shuffle=False: the datasets shuffle themselves; Keras 3's default shuffle=True only warns for a tf.data input
    history = model.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
                        steps_per_epoch=spec.steps_per_epoch, validation_data=val_ds,
                        validation_steps=spec.validation_steps if val_ds is not None else None,
                        callbacks=callbacks, verbose=fit_verbosity() if verbose is None else verbose)
    result.update(epoch=int(state.epoch.numpy()), step=int(np.asarray(_step(spec, model))),
                  logs={k: float(v[-1]) for k, v in history.history.items() if v}, export=_read_record(run_dir))
    return result


def _read_record(run_dir):
    import json

    path = Path(run_dir) / EXPORT_RECORD
    return json.loads(path.read_text()) if path.is_file() else None

"""The training loop shared by every model: :func:`train` a :class:`data.engine.recipe.Recipe`.

One function, readable top to bottom (as BasicSR's ``train.py``): precision
and strategy, the model built in the strategy's scope, the checkpoint
restored, the data read (and checked) before anything is written, the run
folder started, then ``model.fit`` with the engine's callbacks:

- :class:`data.engine.summaries.StepSummary` / ``ImageSummary``: TensorBoard on the global step axis;
- the recipe's own callbacks (figures, BatchNorm re-estimation...);
- :class:`data.engine.checkpoint.CheckpointCallback`: NaN guard, exports
  (:class:`data.engine.exports.Exporter`) then the checkpoint at each epoch end;
- off a terminal, :class:`data.engine.progress.ProgressLine`: a line with the step
  rate and the ETA ten times per epoch (Keras prints one line per epoch there).

Resume: the same command continues from the last checkpoint, mid-epoch too
(the rest of that epoch first, then the following ones: the same batches,
the same dropout masks as an uninterrupted run); a different
architecture or ``precision`` is refused, naming the keys
(:func:`data.engine.run_folder.check_resume`); learning rates given on resume
replace the checkpoint's (:mod:`data.engine.resume`). ``--strategy
multiworker`` (:mod:`data.engine.multiworker`): only the chief writes the run
folder, the logs and the exports. SIGTERM, SIGINT and SIGUSR1 stop training at
the end of the current step with a checkpoint (:mod:`data.engine.preemption`;
under ``multiworker`` every worker at the same step, whichever got the signal).
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.engine.checkpoint import CheckpointCallback, TrainingState
from data.engine.distribute import make_strategy, set_precision
from data.engine.errors import TrainingStopped
from data.engine.exports import Exporter, read_record
from data.engine.lock import RunLock
from data.engine.multiworker import (
    ChiefOnly,
    after_save_barrier,
    is_chief,
    scratch_dir,
    shard_by_data,
    stop_agreement,
)
from data.engine.preemption import StopRequest
from data.engine.progress import ProgressLine, default_every
from data.engine.recipe import Recipe
from data.engine.resume import apply_learning_rates, constant_learning_rates
from data.engine.run_folder import check_resume, start_run_dir
from data.engine.summaries import ImageSummary, StepSummary
from data.io import check_can_create

log = logging.getLogger(__name__)


def fit_verbosity():
    """Keras ``verbose``: a progress bar on a terminal, one line per epoch otherwise (no backspaces in logs)."""
    return 1 if sys.stdout.isatty() else 2


def train(recipe, backup_dir, logdir, resume=True, verbose=None, keep_checkpoints=1, callbacks=()):
    """Train (or resume) ``recipe`` in the run folder ``backup_dir``; return a summary dict.

    ``keep_checkpoints``: checkpoints kept in ``backup_dir/ckpt``. ``callbacks``: extra Keras callbacks
    appended after the engine's (the checkpoint callback is first among them, so they see each save).

    ``{"run_dir", "epoch", "step", "logs", "exports": [paths], "export": the export.json record or None}``.
    Bad input (config, data, a different architecture) raises ``ValueError`` /
    ``ImageError`` / ``FileNotFoundError`` before anything is written; a NaN or
    infinite loss raises :class:`NonFiniteLossError` (the last good checkpoint and exports stay).
    """
    if int(keep_checkpoints) < 1:
        raise ValueError(f"keep_checkpoints={keep_checkpoints!r} (must be >= 1)")
    config = recipe.config
    run_dir = Path(backup_dir)
    set_precision(config.precision)
    check_resume(run_dir, config, resume, recipe.architecture_keys)
    strategy = make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)  # after the strategy: a multi-worker one resets TensorFlow's seed
    chief, scratch = is_chief(strategy), scratch_dir(strategy)
    lock = RunLock(run_dir)
    try:
        if chief and run_dir.is_dir():
            lock.acquire()  # before the checkpoint is read: a second trainer on this folder stops here
        with StopRequest(agree=stop_agreement(strategy)) as stop:
            return _train(recipe, strategy, chief, scratch, run_dir, logdir, resume, verbose, keep_checkpoints,
                          list(callbacks), lock, stop)
    finally:
        lock.release()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _train(recipe, strategy, chief, scratch, run_dir, logdir, resume, verbose, keep, extra_callbacks, lock, stop):
    config = recipe.config
    with strategy.scope():
        model = recipe.build_model()
        model.jit_compile = bool(config.jit_compile)  # XLA: the config's option
        best = tf.Variable(-math.inf if recipe.mode == "max" else math.inf, dtype=tf.float64, trainable=False,
                           name="best_monitored")
    trackables = recipe.trackables(model)
    state = TrainingState(run_dir, keep=keep, scratch=scratch, best_monitored=best, **trackables)
    rates = constant_learning_rates(trackables)  # the config's, read before the restore
    initial_epoch = state.restore() if resume else 0
    apply_learning_rates(rates)
    step = int(np.asarray(recipe.step(model)))
    steps_per_epoch = recipe.steps_per_epoch
    done = step - initial_epoch * steps_per_epoch  # steps of the epoch in progress (a mid-epoch checkpoint)
    done = done if 0 < done < steps_per_epoch else 0
    if step:
        log.info("resuming from %s: epoch %d done, step %d%s", state.latest, initial_epoch, step,
                 f" ({done} of {steps_per_epoch} steps into epoch {initial_epoch + 1})" if done else "")
    recipe.initial_epoch = initial_epoch
    # the training batches from this step on, as an uninterrupted run draws them; reads (and checks) the data
    train_ds, val_ds = recipe.make_datasets(step)
    train_ds, val_ds = shard_by_data(train_ds, strategy), shard_by_data(val_ds, strategy)
    if chief:
        check_can_create(run_dir, logdir)
        start_run_dir(run_dir, config, resume, lock=lock)
    exporter = Exporter(recipe, model, run_dir, best, chief=chief)
    result = {"run_dir": str(run_dir), "epoch": initial_epoch, "step": step, "logs": {},
              "exports": [str(run_dir / name) for name in recipe.exports(model)], "export": None}
    epochs = recipe.epochs
    if initial_epoch >= epochs:
        log.info("nothing to do: %d of %d epochs already done", initial_epoch, epochs)
        if chief and read_record(run_dir) is None:
            exporter.export(initial_epoch, {})
        result["export"] = read_record(run_dir)
        return result

    callbacks = [StepSummary(logdir, step=recipe.step, every=recipe.log_every)]
    if type(recipe).images is not Recipe.images:  # the recipe draws panels
        callbacks.append(ImageSummary(logdir, recipe.images, every=recipe.image_every, step=recipe.step))
    callbacks += list(recipe.callbacks(model, val_ds))
    if not chief:
        callbacks = [c for c in callbacks if not isinstance(c, ChiefOnly)]
    callbacks.append(CheckpointCallback(state, lambda: recipe.step(model), steps_per_epoch, before_save=exporter,
                                        initial_epoch=initial_epoch, after_save=after_save_barrier(strategy),
                                        every=config.checkpoint_every, stop=stop))
    callbacks += extra_callbacks
    verbose = fit_verbosity() if verbose is None else verbose
    if verbose == 2 and chief:  # one Keras line per epoch: say how the epoch goes in between
        callbacks.append(ProgressLine(default_every(recipe.steps_per_epoch), epochs, recipe.steps_per_epoch,
                                      step=lambda: recipe.step(model)))
    log.info("training: epoch %d of %d, from step %d", initial_epoch + 1, epochs, int(np.asarray(recipe.step(model))))
    try:
        history = _fit(model, recipe, train_ds, val_ds, initial_epoch, done, callbacks, verbose)
    except TrainingStopped:
        for callback in callbacks:  # the TensorBoard events of every step trained so far reach the disk
            if isinstance(callback, (StepSummary, ImageSummary)):
                callback.on_train_end()
        raise
    result.update(epoch=int(state.epoch.numpy()), step=int(np.asarray(recipe.step(model))),
                  logs={k: float(v[-1]) for k, v in history.history.items() if v}, export=read_record(run_dir))
    return result


def _fit(model, recipe, train_ds, val_ds, initial_epoch, done, callbacks, verbose):
    """``model.fit`` from epoch ``initial_epoch``, ``done`` of whose steps are already trained: the rest of that
    epoch first (a ``fit`` of one shorter epoch), then the following epochs. ``train_ds`` starts at the next
    step either way. Returns the last ``fit``'s history."""
    steps, epochs = recipe.steps_per_epoch, recipe.epochs
    validation = dict(validation_data=val_ds, validation_steps=recipe.validation_steps if val_ds is not None else None)
    # shuffle=False: the datasets shuffle themselves; Keras 3's default shuffle=True only warns for a tf.data input
    common = dict(shuffle=False, callbacks=callbacks, verbose=verbose, **validation)
    if done:
        rest = steps - done
        history = model.fit(train_ds.take(rest), epochs=initial_epoch + 1, initial_epoch=initial_epoch,
                            steps_per_epoch=rest, **common)
        if initial_epoch + 1 >= epochs:
            return history
        train_ds, initial_epoch = train_ds.skip(rest), initial_epoch + 1
    return model.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps, **common)

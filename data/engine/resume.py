"""What a resumed run takes from its new config rather than from the checkpoint: the learning rates.

A Keras optimizer keeps a constant learning rate in a variable, which the
checkpoint restores: ``--lr`` / ``--g-lr`` / ``--d-lr`` given on resume would
be ignored while ``config.json`` recorded them. :func:`data.engine.loop.train`
reads the rates before the restore (:func:`constant_learning_rates`) and sets
them again after it (:func:`apply_learning_rates`, logging each change), so
``config.json`` always describes what runs. Schedules (msrgan's ``--g-lr-decay``,
cyclegan_dct's linear decay) are built from the config and the restored step
counter and are not checkpointed: they follow the new config by themselves.
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np

log = logging.getLogger(__name__)


def constant_learning_rates(trackables):
    """``{name: (optimizer, rate)}`` of the checkpointed optimizers whose learning rate is a constant.

    Read before a restore, the rates are this run's config's; a schedule (computed from the config and the
    step, never checkpointed) is left out: it follows the config by itself.
    """
    rates = {}
    for name, obj in trackables.items():
        opt = getattr(obj, "inner_optimizer", obj)  # a LossScaleOptimizer's wrapped optimizer
        lr = getattr(opt, "_learning_rate", None)
        if isinstance(opt, keras.optimizers.Optimizer) and isinstance(lr, keras.Variable):
            rates[name] = (opt, float(np.asarray(lr.numpy())))
    return rates


def apply_learning_rates(rates):
    """After a restore: set the config's learning rates (:func:`constant_learning_rates`) over the restored ones.

    So ``--lr`` / ``--g-lr`` / ``--d-lr`` given on resume apply, and ``config.json`` says what runs; each
    change is logged. Returns ``{name: (restored, applied)}`` of the changed rates.
    """
    changed = {}
    for name, (opt, rate) in rates.items():
        restored = float(np.asarray(opt._learning_rate.numpy()))
        if not math.isclose(restored, rate, rel_tol=1e-6):
            opt._learning_rate.assign(rate)
            changed[name] = (restored, rate)
            log.info("%s: learning rate %.6g (this run's config) replaces %.6g (the checkpoint's)",
                     name, rate, restored)
    return changed

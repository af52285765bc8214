"""``--precision`` and ``--strategy``: the Keras dtype policy and the ``tf.distribute`` strategy of a run."""

from __future__ import annotations

import keras
import tensorflow as tf

from data.engine.config import PRECISIONS
from data.engine.multiworker import make_multiworker_strategy


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
    processes of ``TF_CONFIG`` (or SLURM), see :mod:`data.engine.multiworker`.
    """
    if name == "multiworker":
        return make_multiworker_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"unknown strategy {name!r} (default, mirrored, multiworker)")

"""The training engine shared by the three models (vgg19, msrgan, cyclegan_dct) and any fourth one.

A model subclasses :class:`data.engine.recipe.Recipe` (what to build, which
data, what to export) with a :class:`data.engine.config.RunConfig` dataclass;
:func:`data.engine.loop.train` does the rest. One module per concept::

    config.py       Config (the one config idiom) and RunConfig (the run fields every trainer shares)
    recipe.py       Recipe: the base class a model subclasses
    loop.py         train(): the loop (fit with the engine's callbacks)
    run_folder.py   the run folder: config.json, resume checks, stale temporaries
    checkpoint.py   TrainingState (tf.train.CheckpointManager) and the epoch-end checkpoint callback
    exports.py      Exporter: float32 .keras exports of the best (or every) epoch and export.json
    summaries.py    TensorBoard scalars and images on the global step axis
    distribute.py   precision policy and tf.distribute strategy of --precision / --strategy
    multiworker.py  MultiWorkerMirroredStrategy: chief-only writes, scratch checkpoints, SLURM
    batchnorm.py    re-estimating BatchNorm statistics before validation and export
    resume.py       learning rates given on resume replace the checkpoint's
    errors.py       the expected failures and their one-line messages

``config`` and ``errors`` are pure Python; the other modules import TensorFlow.
"""

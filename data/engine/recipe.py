"""The base class a model subclasses to be trained by the engine (:func:`data.engine.loop.train`).

As BasicSR's ``BaseModel`` and CSBDeep's ``BaseModel``: the per-model
lifecycle lives in one small class, the loop in one function. A recipe holds
its :class:`data.engine.config.RunConfig` and whatever state it builds
(datasets, sample images) as attributes. Required::

    class MyRecipe(Recipe):
        config_class = MyConfig            # a RunConfig dataclass, saved as config.json
        architecture_keys = ("width",)     # config fields a resumed run must keep

        def build_model(self):             # the compiled keras.Model (inside the strategy scope)
        def make_datasets(self, start):    # (train from global step `start`, validation or None) tf.data
        def exports(self, model):          # {file name: network or (network, input_shape)}

Everything else has a default (see each method). ``docs/engine.md`` shows a
fourth model plugged in this way.
"""

from __future__ import annotations

import math


class Recipe:
    """What a model gives the engine; :func:`data.engine.loop.train` does the rest.

    Class attributes: ``config_class``; ``architecture_keys``; ``monitor``
    and ``mode`` (export only the best epoch by this epoch log, ``"max"`` or
    ``"min"``, e.g. ``"val_accuracy"``; the checkpoint still holds the last
    epoch; ``None``: export every epoch); ``export_rule`` (a sentence saying
    which epoch the exports hold, written to ``export.json``); ``validation_steps``;
    ``inference_forms`` (custom layer type -> its built-in inference form, applied to every export,
    see :func:`data.packaging.keras_export.float32_copy`).
    """

    config_class = None
    architecture_keys = ()
    monitor = None
    mode = "max"
    export_rule = None
    validation_steps = None
    inference_forms = {}
    """Validation batches per epoch (``None``: the whole validation set)."""

    def __init__(self, config):
        if self.config_class is None:
            raise TypeError(f"{type(self).__name__}.config_class is not set")
        self.config = self.config_class.from_dict(config)
        if self.mode not in ("max", "min"):
            raise ValueError(f"mode={self.mode!r} (must be 'max' or 'min')")
        self.initial_epoch = 0

    # required -------------------------------------------------------------------------------------------------
    def build_model(self):
        """The compiled ``keras.Model`` (called inside the strategy scope)."""
        raise NotImplementedError

    def make_datasets(self, start):
        """``(train, validation or None)`` tf.data; the training set repeats and yields, from global step ``start``
        on, the batches an uninterrupted run trains on at those steps (a stateless function of the seed and the
        step, so that a resumed run, even mid-epoch, continues exactly).

        Built once per run, before anything is written (reading it checks every input file).
        """
        raise NotImplementedError

    def exports(self, model):
        """``{file name: network}`` or ``{file name: (network, input_shape)}``, written as float32 ``.keras``."""
        raise NotImplementedError

    # optional -------------------------------------------------------------------------------------------------
    @property
    def epochs(self):
        """Total epochs of the run (a resumed run stops at the same total)."""
        return self.config.epochs

    @property
    def steps_per_epoch(self):
        """Training steps per epoch (``config.steps_per_epoch``, or one pass over :meth:`n_train` images)."""
        steps = self.config.steps_per_epoch
        return steps if steps else math.ceil(self.n_train() / self.config.batch_size)

    def n_train(self):
        """Number of training images (needed only when ``steps_per_epoch`` is not set)."""
        raise NotImplementedError(f"{type(self).__name__}: set steps_per_epoch or define n_train()")

    @property
    def log_every(self):
        """Steps between the ``batch_*`` TensorBoard scalars (``config.log_every``)."""
        return self.config.log_every

    @property
    def image_every(self):
        """Steps between TensorBoard image panels (:meth:`images`)."""
        return getattr(self.config, "image_every", 100)

    def trackables(self, model):
        """The checkpointed objects (default: the model and its optimizer)."""
        return {"model": model, "optimizer": model.optimizer}

    def step(self, model):
        """The global step counter (default ``model.optimizer.iterations``)."""
        return model.optimizer.iterations

    def eligible(self, model):
        """With ``monitor``: whether the epoch just ended may be exported at all (e.g. past a pre-training phase)."""
        return True

    def before_export(self, model):
        """Runs before each export (e.g. re-estimating BatchNorm statistics); its changes are checkpointed too."""

    def images(self, model):
        """TensorBoard image panels ``{name: (N, H, W, C) in [0, 1]}``; ``None``: no panels."""
        return None

    def callbacks(self, model, validation):
        """Extra Keras callbacks; those deriving from :class:`data.engine.multiworker.ChiefOnly` run on the chief."""
        return []

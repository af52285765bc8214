"""StarDist2D trained on our data: the segmenter of the downstream evaluations.

``cyclegan_dct.evaluate`` and ``msrgan.evaluate --segmentation`` use it.

Schmidt et al. 2018, the ``stardist`` package, with the 2D example's
normalisation (percentiles 1 / 99.8, ``csbdeep.utils.normalize``) and
augmenter. ``config`` is any object with StarDist's budget and architecture
fields (``n_rays``, ``grid``, ``unet_depth``, ``unet_filters``, ``patch_size``,
``batch_size``, ``epochs``, ``steps_per_epoch``, ``val_fraction``,
``optimize_thresholds``, ``seed``): :class:`StarDistConfig`.
StarDist and TensorFlow are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np

from data.engine.config import Config, param, positive

MAX_AUTO_PATCH = 256
"""The largest training patch :func:`fit_patch_size` picks (StarDist's 256 for images >= 256 px)."""


@dataclass
class StarDistConfig(Config):
    """StarDist training budget and architecture of ``cyclegan_dct.evaluate`` and ``msrgan.evaluate --segmentation``
    (defaults: StarDist's
    ``Config2D`` and its example notebook, grid 2: 32 rays, U-Net depth 3 with 32 base filters, 256x256 patches,
    batch 4, 400 epochs of 100 steps, lr 3e-4). ``patch_size=None`` (the default): fitted to the training
    images by :func:`data.stardist_training.fit_patch_size`, the largest multiple of 16 and of
    ``grid * 2**unet_depth`` that fits the smallest one, at most 256 (StarDist's 256 for images >= 256 px)."""

    n_rays: int = param(32, "StarDist rays.")
    grid: int = param(2, "StarDist grid (subsampling of the prediction).")
    unet_depth: int = param(3, "U-Net depth.")
    unet_filters: int = param(32, "U-Net filters of the first level.")
    patch_size: int | None = param(None, "Training patch size (divisible by grid * 2**unet_depth); None: the largest "
                                         "multiple of 16 that fits the smallest training image, at most 256.")
    batch_size: int = param(4, "StarDist batch size.")
    epochs: int = param(400, "StarDist epochs.")
    steps_per_epoch: int = param(100, "StarDist steps per epoch.")
    val_fraction: float = param(0.1, "Fraction of the training pairs held out to tune the thresholds.")
    optimize_thresholds: bool = param(True, "Tune StarDist's prob/NMS thresholds on the validation pairs.")
    seed: int = param(0, "Seed of the StarDist training.")

    CLI_FIELDS = ("epochs", "steps_per_epoch", "batch_size", "n_rays", "grid", "unet_depth",
                  "unet_filters", "val_fraction", "optimize_thresholds")
    """The fields the commands expose as options (the seed is shared with the command's own;
    ``patch_size``, whose default is None, has its own option in each)."""

    def problems(self):
        bad = positive(self, "n_rays", "grid", "unet_depth", "unet_filters", "batch_size", "epochs",
                       "steps_per_epoch")
        bad += positive(self, "patch_size", allow_none=True)
        if not 0.0 < self.val_fraction < 1.0:
            bad.append(f"val_fraction={self.val_fraction!r} (must be in (0, 1))")
        if not bad:
            div = self.grid * 2**self.unet_depth
            if self.patch_size is not None and self.patch_size % div:
                bad.append(f"patch_size={self.patch_size} (must be divisible by grid * 2**unet_depth = {div})")
        return bad


def fit_patch_size(smallest, grid=2, unet_depth=3, cap=MAX_AUTO_PATCH, multiple=16):
    """The largest StarDist training patch that fits an image of ``smallest`` px: a multiple of
    ``multiple`` and of ``grid * 2**unet_depth`` (StarDist's divisibility rule), at most ``cap``.

    ``fit_patch_size(64) == 64``, ``fit_patch_size(100) == 96``, ``fit_patch_size(512) == 256``.
    """
    step = math.lcm(int(multiple), int(grid) * 2 ** int(unet_depth))
    size = min(int(smallest), int(cap)) // step * step
    if size < step:
        raise ValueError(f"the smallest training image ({smallest} px) is smaller than the smallest StarDist "
                         f"patch ({step} px for grid {grid}, U-Net depth {unet_depth})")
    return size


def _normalize(img):
    from csbdeep.utils import normalize

    return normalize(np.asarray(img, np.float32), 1, 99.8, axis=(0, 1)).astype(np.float32)


def _augment(x, y):
    """StarDist's 2D example augmenter: random axis permutation and flips of image and labels, a random
    intensity change ``x * U(0.6, 2) + U(-0.2, 0.2)`` and Gaussian noise of std ``0.02 * U(0, 1)``."""
    perm = tuple(np.random.permutation(2))
    x = x.transpose(perm + tuple(range(2, x.ndim)))
    y = y.transpose(perm)
    for ax in (0, 1):
        if np.random.rand() > 0.5:
            x, y = np.flip(x, axis=ax), np.flip(y, axis=ax)
    x = x * np.random.uniform(0.6, 2) + np.random.uniform(-0.2, 0.2)
    x = x + 0.02 * np.random.uniform(0, 1) * np.random.normal(0, 1, x.shape)
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y)


def batches_as_dataset(iterator, n):
    """A ``tf.data.Dataset`` of the first ``n`` batches of a Python ``iterator`` of (inputs, targets) numpy
    structures, drawn in order by one ``tf.numpy_function`` call per batch.

    Keras 3 wraps a Python iterator given to ``fit`` with ``Dataset.from_generator``, whose per-element
    Python hand-offs cost about as much as the whole step of a small StarDist on 64 px patches
    (docs/measurements.md, the same effect as in the CycleGAN pipeline)."""
    import tensorflow as tf

    first = next(iterator)
    spec = tf.nest.map_structure(lambda a: tf.TensorSpec(np.shape(a), tf.as_dtype(np.asarray(a).dtype)), first)
    flat_spec = tf.nest.flatten(spec)
    pending = [first]

    def pull(_):
        batch = pending.pop() if pending else next(iterator)
        return [np.asarray(a, s.dtype.as_numpy_dtype) for a, s in zip(tf.nest.flatten(batch), flat_spec)]

    def call(k):
        flat = tf.numpy_function(pull, [k], [s.dtype for s in flat_spec], stateful=True)
        return tf.nest.pack_sequence_as(spec, [tf.ensure_shape(t, s.shape) for t, s in zip(flat, flat_spec)])

    return tf.data.Dataset.range(int(n)).map(call).prefetch(2)


@contextlib.contextmanager
def _stardist_fit(keras_model):
    """StarDist calls ``fit(iter(data), verbose=1)``: use our verbosity instead (one line per epoch when stdout is
    not a terminal), and feed its batches through :func:`batches_as_dataset`.

    And ``shuffle=False``: Keras ignores its default ``shuffle=True`` for an iterator or a dataset, with a
    warning (StarDist's data class shuffles itself).
    """
    from data.engine.loop import fit_verbosity

    fit = keras_model.fit

    def quiet_fit(data, *args, **kwargs):
        n = kwargs["epochs"] * kwargs["steps_per_epoch"]
        return fit(batches_as_dataset(data, n), *args, **{**kwargs, "verbose": fit_verbosity(), "shuffle": False})

    keras_model.fit = quiet_fit
    try:
        yield
    finally:
        del keras_model.fit


def train_stardist(images, labels, config, basedir, name="model"):
    """Train a StarDist2D on (images, labels); the last ``val_fraction`` of the pairs (at least one)
    validate and tune the thresholds. Returns (model, {"n_train", "n_val", "train_s", "thresholds_s"})."""
    import keras
    from stardist import fill_label_holes
    from stardist.models import Config2D, StarDist2D

    if len(images) < 2:
        raise ValueError(f"need at least 2 training pairs (one for validation), got {len(images)}")
    small = min(min(x.shape[:2]) for x in images)
    if config.patch_size > small:
        raise ValueError(f"patch_size {config.patch_size} is larger than the smallest training image ({small} px)")
    keras.utils.set_random_seed(config.seed)
    X = [_normalize(x) for x in images]
    Y = [fill_label_holes(np.asarray(y).astype(np.int32)) for y in labels]
    n_val = max(1, int(round(config.val_fraction * len(X))))
    Xt, Yt, Xv, Yv = X[:-n_val], Y[:-n_val], X[-n_val:], Y[-n_val:]
    conf = Config2D(
        n_rays=config.n_rays,
        grid=(config.grid, config.grid),
        n_channel_in=1,
        unet_n_depth=config.unet_depth,
        unet_n_filter_base=config.unet_filters,
        train_patch_size=(config.patch_size, config.patch_size),
        train_batch_size=config.batch_size,
        train_epochs=config.epochs,
        train_steps_per_epoch=config.steps_per_epoch,
        use_gpu=False,
    )
    model = StarDist2D(conf, name=name, basedir=str(basedir))
    t0 = time.perf_counter()
    with _stardist_fit(model.keras_model):
        model.train(Xt, Yt, validation_data=(Xv, Yv), augmenter=_augment, seed=config.seed)
    t1 = time.perf_counter()
    if config.optimize_thresholds:
        model.optimize_thresholds(Xv, Yv, optimize_kwargs={"verbose": False})  # no tqdm bars in logs
    t2 = time.perf_counter()
    return model, {"n_train": len(Xt), "n_val": len(Xv), "train_s": t1 - t0, "thresholds_s": t2 - t1}


def predict_labels(model, images, border=2):
    """StarDist instance labels (int32 (H, W)) for each image.

    ``border``: StarDist's ``b``, candidate pixels closer than that many grid
    cells to the image edge are not used (StarDist's default 2). Its own
    comment says this "can suppress small/cropped objects at the image
    boundary": on the 96 px demo fields, where about a third of the nuclei
    touch the edge, ``msrgan.evaluate --segmentation`` uses 0.
    """
    return [model.predict_instances(_normalize(x), show_tile_progress=False, predict_kwargs={"b": int(border)})[0]
            for x in images]

"""The recipe base of the trainers on image folders (``DIR/train``, ``DIR/test``) or the embedded demo data.

vgg19 (miniVGG19) and msrgan (mSRGAN and SRCNN) train on the same data and
the same :class:`data.engine.config.ImageRunConfig` fields; what they share
lives here once: the split labels, the training / validation datasets, and
the batches that re-estimate BatchNorm statistics.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from data.engine.recipe import Recipe

RECALIBRATION_SEED_OFFSET = 1000
"""BatchNorm re-estimation batches come from the training set shuffled with ``seed + this``: training images in
another order than the training batches."""


def split_labels(config, split):
    """Class labels (int64) of a split (demo data or ``config.data_dir``); ``ValueError`` when it has no images."""
    if config.data_dir is None:
        from data.synthetic import demo_split

        labels = demo_split(split, n=config.demo_n)[1]
        where = f"demo data ({split} split)"
    else:
        from data.layout import list_split

        labels = list_split(config.data_dir, split)[1]
        where = str(Path(config.data_dir) / split)
    if len(labels) == 0:
        raise ValueError(f"{where}: no images")
    return np.asarray(labels)


class ImageRecipe(Recipe):
    """A :class:`Recipe` whose data are the ``train`` / ``test`` splits of ``config.data_dir`` (or the demo data).

    Subclasses set ``dataset`` to the pipeline function (``data.pipeline.hr_dataset`` or
    ``classification_dataset``, called with the config's data fields). Both splits are checked on
    construction (before anything is written).
    """

    @staticmethod
    def dataset(**kwargs):
        raise NotImplementedError

    def __init__(self, config):
        super().__init__(config)
        self.n_train_images = len(self.labels("train"))
        self.n_test_images = len(self.labels("test"))

    def labels(self, split):
        return split_labels(self.config, split)

    def n_train(self):
        return self.n_train_images

    @property
    def validation_steps(self):
        return self.config.val_steps or math.ceil(self.n_test_images / self.config.batch_size)

    def _dataset(self, split, **kwargs):
        c = self.config
        return self.dataset(data_dir=c.data_dir, split=split, batch_size=c.batch_size,
                                  image_size=c.image_size, demo_n=c.demo_n, **kwargs)

    def training_set(self, start=0, seed_offset=0):
        """The shuffled, repeated training batches (augmented with ``config.augment``) from batch ``start`` on: the
        same stream whether a run started at 0 or resumed at ``start``."""
        return self._dataset("train", augment=self.config.augment, shuffle=True, repeat=True,
                             seed=self.config.seed + seed_offset, start=start)

    def make_datasets(self, start):
        validation = self._dataset("test", augment=False, shuffle=False, repeat=False, seed=self.config.seed)
        return self.training_set(start), validation

    def recalibration_set(self, step):
        """Training batches for a BatchNorm re-estimation at training step ``step``: another order than the
        training batches, starting at batch ``step`` of it (stateless: a resumed run uses the same batches)."""
        return self.training_set(step, seed_offset=RECALIBRATION_SEED_OFFSET)

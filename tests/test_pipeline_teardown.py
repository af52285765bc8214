"""Every training/validation pipeline runs without tf.data's autotune model thread.

With it, deleting an iterator (``fit``/``evaluate``/``predict`` do on return)
waits for the thread's next wake-up, up to tens of seconds
(``data.pipeline.without_autotune_thread``; measured by
``benchmarks/probe_fit_return.py``). Timing is not asserted here; the option
that removes the thread is, together with the pipelines still delivering batches.
"""

import numpy as np
import tensorflow as tf

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.pipeline import make_dataset
from data import pipeline


def _autotune(ds):
    return ds.options().autotune.enabled


def test_data_pipelines_have_no_autotune_thread():
    datasets = [
        pipeline.classification_dataset(batch_size=4, image_size=32, demo_n=26),
        pipeline.classification_dataset(split="test", batch_size=4, image_size=32, demo_n=26, repeat=False),
        pipeline.hr_dataset(batch_size=4, image_size=32, demo_n=26),
        pipeline.sr_pair_dataset(batch_size=4, image_size=32, demo_n=26),
    ]
    for ds in datasets:
        assert _autotune(ds) is False
        first = tf.nest.flatten(next(iter(ds)))[0]
        assert 1 <= first.shape[0] <= 4 and np.isfinite(first.numpy()).all()
    # a transformation applied by a caller keeps the option
    assert _autotune(datasets[2].map(lambda x: (x, x))) is False


def test_cyclegan_pipeline_has_no_autotune_thread():
    config = CycleGANConfig(crop=32, n_blocks=1, filters=4, d_filters=4, steps_per_epoch=1, epochs=1, epochs_decay=0)
    ds = make_dataset(config)
    assert _autotune(ds) is False
    a, b = next(iter(ds))
    assert a.shape == b.shape == (1, 32, 32, 1)


def test_helper_switches_off_only_autotune():
    ds = pipeline.without_autotune_thread(tf.data.Dataset.range(5).batch(2))
    assert _autotune(ds) is False
    assert [x.tolist() for x in ds.as_numpy_iterator()] == [[0, 1], [2, 3], [4]]
    assert _autotune(tf.data.Dataset.range(5)) is not False  # TensorFlow's default (None = on)

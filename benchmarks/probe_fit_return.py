"""Probe: how long ``fit`` takes to return after ``on_train_end``, per input pipeline, with and without the fix.

``python benchmarks/probe_fit_return.py [--repeats 3] [--steps 6] [--cases plain,hr,hr_val,cls_val,cyclegan]``

For each case, a small model is trained ``--repeats`` times by ``fit`` (each
call a fresh iterator, as every training run, validation pass and
``evaluate``/``predict`` call makes) on the same dataset twice, interleaved:

- ``autotune_on``: the dataset with ``tf.data`` autotuning forced on
  (``options.autotune.enabled = True``, the TensorFlow default: the behaviour before the fix);
- ``shipped``: the dataset as the project builds it (``data.pipeline`` and
  ``cyclegan_dct.pipeline`` switch autotuning off, see
  ``data.pipeline.without_autotune_thread``; the ``plain`` case applies it itself).

Measured per ``fit`` call (``time.perf_counter``): ``return_gap_s`` = ``fit``
returned minus ``on_train_end``; ``overhead_s`` = the call's wall time minus the
time spent inside training and validation batches (callback begin/end), i.e.
set-up plus teardown, including the validation iterators that ``fit`` drops
before ``on_train_end``. With ``--dump-after S`` a ``faulthandler`` dump of
every Python thread is written to stderr when ``fit`` has not returned S seconds
after ``on_train_end`` (for the native stack use ``py-spy dump --native`` or
gdb on the process while it waits).

Cases: ``plain`` (``from_tensor_slices`` of random 96x96x32 batches, two conv
layers), ``hr`` (``data.pipeline.hr_dataset`` on the demo data, 96 px, batch 4,
augmented, a small conv net learning the identity), ``hr_val`` (the same with
``validation_data`` = the test split, 2 epochs), ``cls_val``
(``data.pipeline.classification_dataset`` with validation, 2 epochs),
``cyclegan`` (``cyclegan_dct.pipeline.make_dataset``: a ``tf.numpy_function``
pipeline over the numpy samplers, a reduced CycleGAN: 64 px, 2 blocks, 8 filters).
Prints one line per fit and one JSON line per (case, variant) with the median and maximum.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's packages first


class Clock:
    """A Keras callback recording the times of the events that matter here."""

    def __new__(cls, dump_after=None):
        import keras

        class _Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.in_batches = 0.0
                self.t_end = None
                self._t = None

            def _begin(self, *args, **kwargs):
                self._t = time.perf_counter()

            def _end(self, *args, **kwargs):
                self.in_batches += time.perf_counter() - self._t

            on_train_batch_begin = on_test_batch_begin = _begin
            on_train_batch_end = on_test_batch_end = _end

            def on_train_end(self, logs=None):
                self.t_end = time.perf_counter()
                if dump_after:
                    faulthandler.dump_traceback_later(dump_after, exit=False)

        return _Clock()


def _autotune(ds, enabled):
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = enabled
    return ds.with_options(options)


def _conv_net(shape, out_channels, classes=None):
    import keras

    x = inp = keras.Input(shape)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    if classes:
        x = keras.layers.Dense(classes)(keras.layers.GlobalAveragePooling2D()(x))
        model = keras.Model(inp, x)
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    else:
        model = keras.Model(inp, keras.layers.Conv2D(out_channels, 3, padding="same")(x))
        model.compile("adam", "mse")
    return model


def build_case(name, steps):
    """(model, dataset, fit kwargs) of a case; the dataset as shipped."""
    import numpy as np
    import tensorflow as tf

    from data import pipeline

    if name == "plain":
        x = np.random.default_rng(0).random((8, 96, 96, 32), np.float32)
        ds = pipeline.without_autotune_thread(tf.data.Dataset.from_tensor_slices((x, x)).batch(4).repeat())
        return _conv_net((96, 96, 32), 32), ds, {}
    if name in ("hr", "hr_val"):
        ds = pipeline.hr_dataset(None, batch_size=4, demo_n=60).map(lambda im: (im, im))
        kw = {}
        if name == "hr_val":
            val = pipeline.hr_dataset(None, split="test", batch_size=4, demo_n=60, repeat=False)
            val = val.map(lambda im: (im, im))
            kw = dict(validation_data=val, epochs=2)
        return _conv_net((96, 96, 3), 3), ds, kw
    if name == "cls_val":
        ds = pipeline.classification_dataset(None, batch_size=4, demo_n=60)
        val = pipeline.classification_dataset(None, split="test", batch_size=4, demo_n=60, repeat=False)
        return _conv_net((96, 96, 3), 0, classes=13), ds, dict(validation_data=val, epochs=2)
    if name == "cyclegan":
        from cyclegan_dct.model import build_cyclegan
        from cyclegan_dct.pipeline import make_dataset
        from cyclegan_dct.recipe import build_config

        config = build_config(crop=64, n_blocks=2, filters=8, d_filters=8, epochs=1, epochs_decay=0,
                              steps_per_epoch=steps, like="default", precision="float32")
        model = build_cyclegan(config)
        return model, make_dataset(config), {}
    raise SystemExit(f"unknown case {name!r}")


def probe(case, steps, repeats, dump_after):
    model, shipped, kw = build_case(case, steps)
    variants = {"autotune_on": _autotune(shipped, True), "shipped": shipped}
    val = kw.pop("validation_data", None)
    vals = {"autotune_on": None if val is None else _autotune(val, True), "shipped": val}
    epochs = kw.pop("epochs", 1)
    # one untimed fit per variant: tracing
    for v, ds in variants.items():
        model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, validation_data=vals[v], validation_steps=1,
                  shuffle=False)
    rows = {v: [] for v in variants}
    for _ in range(repeats):
        for v, ds in variants.items():
            clock = Clock(dump_after)
            t0 = time.perf_counter()
            model.fit(ds, epochs=epochs, steps_per_epoch=steps, verbose=0, validation_data=vals[v], callbacks=[clock],
                      shuffle=False)
            t1 = time.perf_counter()
            faulthandler.cancel_dump_traceback_later()
            row = {"return_gap_s": t1 - clock.t_end, "overhead_s": (t1 - t0) - clock.in_batches, "fit_s": t1 - t0}
            rows[v].append(row)
            print(f"{case:<9} {v:<12} fit {row['fit_s']:7.3f} s  on_train_end -> return {row['return_gap_s']:7.3f} s  "
                  f"outside batches {row['overhead_s']:7.3f} s", flush=True)
    out = []
    for v, rs in rows.items():
        gaps = [r["return_gap_s"] for r in rs]
        over = [r["overhead_s"] for r in rs]
        out.append({"probe": "fit_return", "case": case, "variant": v, "fits": len(rs), "steps": steps,
                    "epochs": epochs, "validation": val is not None,
                    "median_return_gap_s": round(statistics.median(gaps), 4), "max_return_gap_s": round(max(gaps), 4),
                    "median_overhead_s": round(statistics.median(over), 4), "max_overhead_s": round(max(over), 4),
                    "load_avg_1min": round(os.getloadavg()[0], 2)})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="plain,hr,hr_val,cls_val,cyclegan")
    p.add_argument("--steps", type=int, default=6, help="training steps per epoch")
    p.add_argument("--repeats", type=int, default=3, help="timed fit calls per variant")
    p.add_argument("--dump-after", type=float, default=None,
                   help="faulthandler dump if fit has not returned this many seconds after on_train_end")
    args = p.parse_args(argv)
    results = []
    for case in args.cases.split(","):
        results += probe(case, args.steps, args.repeats, args.dump_after)
    for r in results:
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())

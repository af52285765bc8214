"""Where a training step's time goes: TensorFlow profiler trace of a few steps, summed per op type.

``python benchmarks/profile_step.py cyclegan --size 128 --n-blocks 9 --filters 64``
(or ``msrgan --size 96``: the faithful G + D + miniVGG19 of ``msrgan_train.py``,
batch 16). Builds the model exactly as the matching benchmark
(``cyclegan_train.py``, ``msrgan_train.py``), runs
``--warmup`` untimed steps, then traces ``--steps`` steps with
``tf.profiler.experimental`` and reads the trace (``*.xplane.pb``, the
profiler's own protobuf) back: the host CPU plane's TensorFlow op events are
grouped by op type (``Conv2DBackpropFilter``, ``MirrorPad``, ...) and printed
with their share of the summed op time, largest first, then one JSON line
(``{"benchmark": "profile_...", "ops": {type: seconds per step}, ...}``).
Op events run on two inter-op threads in parallel, so the shares are of op
time, not of wall time. ``--option NAME`` builds the model with a speed option
(e.g. ``instance_norm=groupnorm`` to profile the old instance normalisation).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's packages first
import harness  # noqa: E402  (benchmarks/harness.py, next to this script)

_KINDS = ("lrelu", "relu", "norm", "pad", "conv", "crop", "add", "tanh", "score", "dense", "bn", "shuffle")


def layer_kind(name):
    """``fwd``/``bwd`` and the layer kind (conv, norm, pad, ...) of an op event named ``scope/.../op:Type``."""
    path = name.split(":", 1)[0].lower()
    direction = "bwd" if "gradient_tape" in path or "grad" in path.rsplit("/", 1)[-1] else "fwd"
    if "adam" in path or "optimizer" in path:
        return "optimizer"
    if "pool" in path and "image" not in path:
        return "image pool"
    for part in path.split("/"):
        stem = re.sub(r"(_\d+)+$", "", part)
        for kind in _KINDS:
            if stem.endswith("_" + kind) or stem == kind or re.search(rf"_{kind}\d+$", stem):
                return f"{direction} {kind}"
    if "d_c_t" in path or "dct" in path or "lowpass" in path:
        return f"{direction} dct"
    return f"{direction} other"


def build(args):
    """(model, iterator, flop per step) of the benchmark configuration named by ``args.model``."""
    import keras
    import numpy as np

    from data.engine.distribute import set_precision

    set_precision(args.precision)
    keras.utils.set_random_seed(0)
    options = dict(o.split("=", 1) for o in args.option)
    if args.model == "cyclegan":
        import cyclegan_train

        from cyclegan_dct.model import build_cyclegan
        from cyclegan_dct.pipeline import make_samplers
        from cyclegan_dct.recipe import build_config

        config = build_config(crop=args.size, n_blocks=args.n_blocks, filters=args.filters,
                              d_filters=args.filters, precision=args.precision, **options)
        sa, sb = make_samplers(config)
        a = np.stack([sa.sample() for _ in range(4)])
        b = np.stack([sb.sample() for _ in range(4)])
        import tensorflow as tf

        it = iter(tf.data.Dataset.from_tensor_slices((a, b)).batch(1).repeat())
        model = build_cyclegan(config)
        return model, it, cyclegan_train.step_flops(model, args.size)
    if args.model == "msrgan":
        import msrgan_train

        gan, hr, flop = msrgan_train.build(args.batch_size, args.size)
        return gan, harness.fixed_batches(hr), flop
    raise SystemExit(f"unknown model {args.model!r}")


def _xplane_module():
    for name in ("tsl.profiler.protobuf.xplane_pb2", "tensorflow.tsl.profiler.protobuf.xplane_pb2",
                 "xla.tsl.profiler.protobuf.xplane_pb2"):
        try:
            return __import__(name, fromlist=["XSpace"])
        except ImportError:
            continue
    raise SystemExit("no xplane_pb2 in this TensorFlow")


def op_times(logdir):
    """({op type: seconds}, {layer kind: seconds}) summed over the op events of the executor threads
    (``tf_Compute`` lines of the host CPU plane; one event per executed op, named ``scope/op:Type``)."""
    xplane = _xplane_module()
    by_type, by_kind = collections.Counter(), collections.Counter()
    for path in glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")):
        space = xplane.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            meta = plane.event_metadata
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):
                    continue
                for ev in line.events:
                    name = meta[ev.metadata_id].name
                    if ":" not in name or name.startswith("Executor"):
                        continue
                    seconds = ev.duration_ps * 1e-12
                    by_type[name.rsplit(":", 1)[1].split("#", 1)[0]] += seconds
                    by_kind[layer_kind(name)] += seconds
    return by_type, by_kind


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=["cyclegan", "msrgan"])
    p.add_argument("--size", type=int, default=128, help="crop (cyclegan) or HR side (msrgan: use 96)")
    p.add_argument("--batch-size", type=int, default=16, help="msrgan only (cyclegan: 1)")
    p.add_argument("--precision", default="float32")
    p.add_argument("--n-blocks", type=int, default=9)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--option", action="append", default=[], help="config field=value of a speed option")
    args = p.parse_args(argv)
    import tensorflow as tf

    model, it, flop = build(args)
    times, _ = harness.time_steps(model, it, 1, args.warmup)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir, options=tf.profiler.experimental.ProfilerOptions(host_tracer_level=3))
        t0 = time.perf_counter()
        for _ in range(args.steps):
            logs = model.train_function(it)
            float(next(iter(logs.values())))
        wall = (time.perf_counter() - t0) / args.steps
        tf.profiler.experimental.stop()
        by_type, by_kind = op_times(logdir)
    per_step = {k: v / args.steps for k, v in by_type.most_common()}
    kinds = {k: v / args.steps for k, v in by_kind.most_common()}
    op_sum = sum(per_step.values())
    print(f"{args.model} {args.size} px {args.precision} {args.n_blocks} blocks {args.filters} filters "
          f"{args.option}: {wall:.3f} s/step traced (untraced {times[0]:.3f} s), op time {op_sum:.3f} s/step, "
          f"load {harness.load_average()}")
    for title, table in (("by op type", per_step), ("by layer kind", kinds)):
        print(f" {title}:")
        for k, v in list(table.items())[:args.top]:
            print(f"  {k:<40} {v * 1e3:9.1f} ms  {100 * v / op_sum:5.1f} %")
    print(json.dumps({"benchmark": f"profile_{args.model}_{args.size}", "precision": args.precision,
                      "options": args.option, "traced_step_s": round(wall, 4), "op_s_per_step": round(op_sum, 4),
                      "gflop_per_step": round(flop / 1e9, 2), "load_avg_1min": harness.load_average(),
                      "kinds": {k: round(v, 5) for k, v in kinds.items()},
                      "ops": {k: round(v, 5) for k, v in per_step.items()}}))


if __name__ == "__main__":
    main()

"""CycleGAN-DCT training step time against the CPU's peak, and peak memory: ``python benchmarks/cyclegan_train.py``.

Full training steps (G and F update, D_A and D_B update, DCT low-pass, image
pools; batch 1) of the default networks (ResNet-9, 64 filters, PatchGAN) at
256x256 and 128x128 crops, in float32 and mixed_bfloat16 (and with
``--jit off,on`` with and without XLA). Each configuration runs in a fresh
subprocess with the shared harness (``benchmarks/harness.py``): the conv/matmul
peak first, then ``--warmup`` untimed and ``--steps`` timed calls of the
compiled train step, each timed alone, on 8 pre-sampled (mask, image) pairs
from the real domains, repeated (input sampling is not part of the figure).
Reported: median and minimum step time, FLOP per step from the layers
(``benchmarks/flops.py``: G(a) and F(b) trained on data; F(LP(G(a))) and G(F(b)) trained
with input gradients; D_B(G(a)) and D_A(F(b)) forward + input gradient in the
generators' update; D_A and D_B trained on real and pooled images), the
fraction of the conv peak of the same precision, peak RSS. The last lines are
one JSON object per configuration.

Example::

    python benchmarks/cyclegan_train.py --steps 5 --warmup 2
    python benchmarks/cyclegan_train.py --sizes 128 --precisions float32 --n-blocks 2 --filters 16 --jit off,on
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's packages first
import harness  # noqa: E402  (benchmarks/harness.py, next to this script)


def step_flops(model, size):
    """FLOP of one training step of a :class:`cyclegan_dct.model.CycleGAN` at batch 1 (rule: ``flops.py``)."""
    import flops

    c = model.config
    shape = (size, size, c.channels)
    g, d = flops.layer_costs(model.g_a2b, shape), flops.layer_costs(model.d_a, shape)
    n = c.batch_size
    total = (2 * flops.application_flops(model.g_a2b, shape, n, costs=g)  # G(a), F(b)
             + 2 * flops.application_flops(model.g_a2b, shape, n, input_grad=True, costs=g)  # F(LP(G(a))), G(F(b))
             + 2 * flops.application_flops(model.d_a, shape, n, train=False, input_grad=True, costs=d)  # G/F losses
             + 4 * flops.application_flops(model.d_a, shape, n, costs=d))  # D_A, D_B on real and pooled
    if c.lambda_identity > 0:  # G(b), F(a)
        total += 2 * flops.application_flops(model.g_a2b, shape, n, costs=g)
    return total


def parse_variant(text):
    """``"precision=mixed_bfloat16,jit=on,norm=groupnorm"`` -> dict (defaults: float32, jit off, norm instance)."""
    v = {"precision": "float32", "jit": "off", "norm": "instance"}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in v:
            raise SystemExit(f"variant {text!r}: unknown key {key!r} (known: {', '.join(v)})")
        v[key] = value
    return v


def _build(size, variant, n_blocks, filters):
    """(model, iterator, config) of one variant: its precision policy, norm and XLA setting."""
    import numpy as np
    import tensorflow as tf

    from cyclegan_dct.model import build_cyclegan
    from cyclegan_dct.pipeline import make_samplers
    from cyclegan_dct.recipe import build_config
    from data.engine.distribute import set_precision

    set_precision(variant["precision"])
    config = build_config(crop=size, n_blocks=n_blocks, filters=filters, d_filters=filters, epochs=1,
                          epochs_decay=0, steps_per_epoch=1, precision=variant["precision"], like="stardist",
                          norm=variant["norm"], jit_compile=variant["jit"] == "on")
    mask_sampler, image_sampler = make_samplers(config)
    a = np.stack([mask_sampler.sample() for _ in range(8)])
    b = np.stack([image_sampler.sample() for _ in range(8)])
    iterator = iter(tf.data.Dataset.from_tensor_slices((a, b)).batch(1, drop_remainder=True).repeat())
    import keras

    keras.utils.set_random_seed(0)
    model = build_cyclegan(config)
    model.jit_compile = config.jit_compile
    return model, iterator, config


def run_one(size, precision, n_blocks, filters, steps, warmup, jit, norm="instance"):
    """Benchmark one configuration in this process; returns the harness's result dict."""
    from cyclegan_dct.pipeline import make_dataset

    peak = harness.measure_peak()
    model, iterator, config = _build(size, dict(precision=precision, jit=jit, norm=norm), n_blocks, filters)
    flop = step_flops(model, size)
    times, logs = harness.time_steps(model, iterator, steps, warmup, jit_compile=(jit == "on"))
    rate = harness.pipeline_rate(make_dataset(config))
    return harness.result(f"cyclegan_train_{size}", precision, times, flop, peak, jit_compile=jit == "on", size=size,
                          n_blocks=n_blocks, filters=filters, norm=norm, g_loss=logs["g_loss"],
                          input_batches_per_s=round(rate, 1),
                          input_headroom=round(rate * sorted(times)[len(times) // 2], 1))


def run_interleaved(size, variants, n_blocks, filters, steps, warmup):
    """All ``variants`` built in this process and timed in turn (A B A B ...); one result per variant.

    Peak RSS is the process's, shared by all variants (``peak_rss_mib`` of a single-variant run is the
    figure per configuration). Each result carries ``ratio_to_first``: its median step over the first's.
    """
    peak = harness.measure_peak()
    entries, flop = [], None
    for text in variants:
        model, iterator, _ = _build(size, parse_variant(text), n_blocks, filters)
        flop = flop or step_flops(model, size)
        entries.append((text, model, iterator))
    timed = harness.time_interleaved(entries, steps, warmup)
    results, first = [], None
    for text, _, _ in entries:
        times, logs = timed[text]
        v = parse_variant(text)
        r = harness.result(f"cyclegan_train_{size}", v["precision"], times, flop, peak, jit_compile=v["jit"] == "on",
                           norm=v["norm"], variant=text, interleaved=[e[0] for e in entries], size=size,
                           n_blocks=n_blocks, filters=filters, g_loss=logs["g_loss"])
        first = first or r["median_step_s"]
        r["ratio_to_first"] = round(r["median_step_s"] / first, 3)
        results.append(r)
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="256,128", help="comma-separated crop sizes")
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--jit", default="off", help="comma-separated XLA settings to measure: off, on")
    p.add_argument("--n-blocks", type=int, default=9)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--steps", type=int, default=5, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing)")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--norm", default="instance", help="instance-norm layer: instance or groupnorm")
    p.add_argument("--compare", default=None,
                   help="semicolon-separated variants timed in turn in one process per size, e.g. "
                        "'norm=groupnorm;norm=instance' or 'precision=float32;precision=mixed_bfloat16' "
                        "(keys precision, jit, norm); replaces --precisions/--jit/--norm")
    p.add_argument("--one", nargs=3, metavar=("SIZE", "PRECISION", "JIT"), help=argparse.SUPPRESS)
    p.add_argument("--interleaved", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        harness.emit(run_one(int(args.one[0]), args.one[1], args.n_blocks, args.filters, args.steps, args.warmup,
                             args.one[2], args.norm))
        return
    if args.interleaved:
        harness.emit({"results": run_interleaved(int(args.interleaved), args.compare.split(";"), args.n_blocks,
                                                 args.filters, args.steps, args.warmup)})
        return
    results = []
    if args.compare:
        for size in [int(s) for s in args.sizes.split(",")]:
            out = harness.spawn(__file__, ["--interleaved", size, "--compare", args.compare, "--n-blocks",
                                           args.n_blocks, "--filters", args.filters, "--steps", args.steps,
                                           "--warmup", args.warmup])
            for r in out["results"]:
                results.append(r)
                print(harness.summary_line(r) + f"  [{r['variant']}] x{r['ratio_to_first']:.3f} of the first",
                      flush=True)
        args.sizes = ""  # done
    for size in [int(s) for s in args.sizes.split(",") if s]:
        for precision in args.precisions.split(","):
            for jit in args.jit.split(","):
                try:
                    r = harness.spawn(__file__, ["--one", size, precision, jit, "--norm", args.norm,
                                                 "--n-blocks", args.n_blocks,
                                                 "--filters", args.filters, "--steps", args.steps,
                                                 "--warmup", args.warmup])
                except RuntimeError as e:
                    print(f"cyclegan_train_{size} {precision} jit={jit}: failed: {str(e).strip().splitlines()[-1]}",
                          flush=True)
                    continue
                results.append(r)
                print(harness.summary_line(r) + f"  jit={jit}", flush=True)
    if args.out:
        from data.io import write_json

        write_json(args.out, {"results": results, "args": vars(args)})
    harness.print_json_lines(results)


if __name__ == "__main__":
    main()

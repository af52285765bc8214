"""CycleGAN-DCT training speed and peak memory: ``python benchmarks/cyclegan_train.py``.

Measures full training steps (G and F update, D_A and D_B update, DCT
low-pass, image pools; batch 1) per second and peak memory for the default
networks (ResNet-9, 64 filters, PatchGAN) at 256x256 and 128x128 crops, in
float32 and mixed_bfloat16. Each configuration runs in a fresh subprocess
(so the dtype policy, graph caches and the peak-memory counter start clean),
all in one invocation, so the ratios printed at the end compare like with like.

Timing: ``--warmup`` steps (graph tracing included) are not timed, then
``--steps`` steps are. The batches are 8 pre-sampled (mask, image) pairs
from the real domains, repeated, so input sampling is not part of the figure.
Memory: peak resident set size of the process (CPU; includes the TF runtime)
and, on a GPU, TensorFlow's peak device allocation.

Example::

    python benchmarks/cyclegan_train.py --steps 5 --warmup 2
    python benchmarks/cyclegan_train.py --sizes 128 --precisions float32 --n-blocks 2 --filters 16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def run_one(size, precision, n_blocks, filters, steps, warmup):
    """Benchmark one configuration in this process; returns a dict of figures."""
    import numpy as np
    import tensorflow as tf

    from cyclegan_dct.config import CycleGANConfig
    from cyclegan_dct.model import build_cyclegan
    from cyclegan_dct.pipeline import make_samplers
    from cyclegan_dct.recipe import build_config
    from data.training import set_precision

    set_precision(precision)
    gpus = tf.config.list_physical_devices("GPU")
    config = build_config(crop=size, n_blocks=n_blocks, filters=filters, disc_filters=filters, epochs=1,
                          epochs_decay=0, steps_per_epoch=1, precision=precision, like="stardist")
    assert isinstance(config, CycleGANConfig)
    mask_sampler, image_sampler = make_samplers(config)
    a = np.stack([mask_sampler.sample() for _ in range(8)])
    b = np.stack([image_sampler.sample() for _ in range(8)])
    ds = tf.data.Dataset.from_tensor_slices((a, b)).batch(1, drop_remainder=True).repeat()
    model = build_cyclegan(config)
    t0 = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=warmup, verbose=0, shuffle=False)
    warm_s = time.perf_counter() - t0
    if gpus:
        tf.config.experimental.reset_memory_stats("GPU:0")
    t0 = time.perf_counter()
    hist = model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0).history
    elapsed = time.perf_counter() - t0
    return {
        "size": size,
        "precision": precision,
        "n_blocks": n_blocks,
        "filters": filters,
        "steps": steps,
        "steps_per_s": steps / elapsed,
        "s_per_step": elapsed / steps,
        "warmup_s": warm_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_gpu_mib": tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 if gpus else None,
        "device": gpus[0].name if gpus else f"CPU ({os.cpu_count()} cores)",
        "g_loss": float(hist["g_loss"][-1]),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="256,128", help="comma-separated crop sizes")
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--n-blocks", type=int, default=9)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--steps", type=int, default=5, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing)")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--one", nargs=2, metavar=("SIZE", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        result = run_one(int(args.one[0]), args.one[1], args.n_blocks, args.filters, args.steps, args.warmup)
        print("RESULT " + json.dumps(result), flush=True)
        return
    results = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for size in [int(s) for s in args.sizes.split(",")]:
        for precision in args.precisions.split(","):
            cmd = [sys.executable, os.path.abspath(__file__), "--one", str(size), precision,
                   "--n-blocks", str(args.n_blocks), "--filters", str(args.filters),
                   "--steps", str(args.steps), "--warmup", str(args.warmup)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not lines:
                sys.exit(f"{size} {precision} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(lines[-1][7:])
            results.append(r)
            gpu = "" if r["peak_gpu_mib"] is None else f", peak GPU {r['peak_gpu_mib']:.0f} MiB"
            print(f"{size}x{size} {precision:15s} {r['steps_per_s']:7.3f} steps/s ({r['s_per_step']:.3f} s/step), "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB{gpu}, warm-up {r['warmup_s']:.0f} s", flush=True)
    print(f"\ndevice: {results[0]['device']}; networks: ResNet-{args.n_blocks}, {args.filters} filters, "
          f"PatchGAN; batch 1; {args.steps} timed steps after {args.warmup} warm-up steps")
    print("| crop | precision | steps/s | s/step | peak RSS MiB | peak GPU MiB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        gpu = "-" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}"
        print(f"| {r['size']} | {r['precision']} | {r['steps_per_s']:.3f} | {r['s_per_step']:.3f} | "
              f"{r['peak_rss_mib']:.0f} | {gpu} |")
    by = {(r["size"], r["precision"]): r for r in results}
    for size in sorted({r["size"] for r in results}, reverse=True):
        if (size, "float32") in by and (size, "mixed_bfloat16") in by:
            ratio = by[(size, "mixed_bfloat16")]["steps_per_s"] / by[(size, "float32")]["steps_per_s"]
            print(f"{size}x{size}: mixed_bfloat16 / float32 speed = {ratio:.2f}x")
    if args.out:
        from data.io import write_json

        write_json(args.out, {"results": results, "args": vars(args)})


if __name__ == "__main__":
    main()

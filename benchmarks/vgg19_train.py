"""Training step time of the faithful miniVGG19 (96x96x3, 55.7 M parameters) against the CPU's peak, and peak memory.

Each configuration (precision x XLA on/off) runs in a fresh subprocess with the
shared harness (``benchmarks/harness.py``): the conv/matmul peak first, then a
worker builds and compiles the model exactly as ``python -m vgg19.train`` does,
runs ``--warmup`` untimed and ``--steps`` timed calls of the compiled train
step on a fixed in-memory batch (so the figure is the network's own speed, not
the input pipeline's), each step timed alone. Reported: median and minimum step
time, FLOP per step from the layers (``benchmarks/flops.py``: every conv/dense trained,
forward + input gradient + weight gradient, no input gradient for the first
convolution), the fraction of the conv peak of the same precision, peak RSS.
The last lines are one JSON object per configuration.

    python benchmarks/vgg19_train.py                      # batch 128 (the original), 3 timed steps
    python benchmarks/vgg19_train.py --batch-size 32 --steps 5 --jit off,on --json result/vgg19/benchmark.json
"""

from __future__ import annotations

import os
import sys

import click

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's packages first
import harness  # noqa: E402  (benchmarks/harness.py, next to this script)


def _worker(precision, batch_size, image_size, warmup, steps, jit):
    """One measurement in this process; returns the harness's result dict."""
    import flops
    import numpy as np

    from data.engine.distribute import set_precision
    from vgg19.config import VGG19Config
    from vgg19.recipe import compile_model

    peak = harness.measure_peak()
    set_precision(precision)
    config = VGG19Config(image_size=image_size, precision=precision, batch_size=batch_size)
    model = compile_model(config)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype(np.float32)
    y = rng.integers(0, config.n_classes, batch_size).astype(np.int32)
    flop = flops.application_flops(model, (image_size, image_size, 3), batch_size)
    times, logs = harness.time_steps(model, harness.fixed_batches(x, y), steps, warmup, jit_compile=(jit == "on"))
    from vgg19.recipe import make_datasets

    # the trainer's own input (demo data, augmentation on): must deliver >= 10x what the step consumes
    rate = harness.pipeline_rate(make_datasets(config.replace(demo_n=260), 0)[0])
    return harness.result("vgg19_train", precision, times, flop, peak, jit_compile=jit == "on", batch_size=batch_size,
                          image_size=image_size, final_loss=logs["loss"], input_batches_per_s=round(rate, 1),
                          input_headroom=round(rate * sorted(times)[len(times) // 2], 1))


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Images per step (the original: 128).")
@click.option("--image-size", type=click.IntRange(min=8), default=96, help="Input size (the original: 96).")
@click.option("--warmup", type=click.IntRange(min=1), default=2, help="Untimed steps first.")
@click.option("--steps", type=click.IntRange(min=1), default=3, help="Timed training steps per configuration.")
@click.option("--precisions", default="float32,mixed_bfloat16", help="Comma-separated Keras dtype policies.")
@click.option("--jit", default="off", help="Comma-separated XLA settings to measure: off, on.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the results here.")
@click.option("--worker", hidden=True, default=None)
def main(batch_size, image_size, warmup, steps, precisions, jit, json_path, worker):
    """Measure per-step training time, fraction of peak and peak memory per configuration, each in a fresh process."""
    if worker:
        precision, j = worker.split(":")
        harness.emit(_worker(precision, batch_size, image_size, warmup, steps, j))
        return
    results = []
    for precision in precisions.split(","):
        for j in jit.split(","):
            try:
                r = harness.spawn(__file__, ["--worker", f"{precision}:{j}", "--batch-size", batch_size,
                                             "--image-size", image_size, "--warmup", warmup, "--steps", steps])
            except RuntimeError as e:
                click.echo(f"vgg19_train {precision} jit={j}: failed: {str(e).strip().splitlines()[-1]}")
                continue
            results.append(r)
            click.echo(harness.summary_line(r) + f"  jit={j}")
    if json_path:
        from data.io import write_json

        write_json(json_path, {"results": results})
    harness.print_json_lines(results)


if __name__ == "__main__":
    main()

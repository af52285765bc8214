"""Training speed and peak memory of the faithful miniVGG19 (96x96x3, 55.7 M parameters), float32 vs mixed_bfloat16.

Each precision runs in a fresh subprocess (a clean dtype policy and an
honest peak RSS from ``resource.getrusage``). A worker builds and compiles the
model exactly as ``python -m vgg19.train`` does, runs ``--warmup`` training
steps (graph tracing, oneDNN kernel selection) and then times ``--steps``
steps on a fixed in-memory batch, so the figure is the network's own
throughput, not the input pipeline's. Prints a table and the bf16/fp32 ratios.

    python benchmarks/vgg19_train.py                      # batch 128 (the original), 3 timed steps
    python benchmarks/vgg19_train.py --batch-size 32 --steps 5 --json result/vgg19/benchmark.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click


def _worker(precision, batch_size, image_size, warmup, steps):
    """One measurement in this process; returns a dict."""
    import resource
    import time

    import numpy as np

    from data.training import set_precision
    from vgg19.config import VGG19Config
    from vgg19.recipe import compile_model

    set_precision(precision)
    config = VGG19Config(image_size=image_size, precision=precision, batch_size=batch_size)
    model = compile_model(config)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype(np.float32)
    y = rng.integers(0, config.n_classes, batch_size).astype(np.int32)
    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "precision": precision, "batch_size": batch_size, "image_size": image_size, "steps": steps,
        "seconds": seconds, "images_per_s": steps * batch_size / seconds,
        "peak_rss_gib": peak_kib / 2**20, "final_loss": float(np.asarray(loss[0] if isinstance(loss, list) else loss)),
    }


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Images per step (the original: 128).")
@click.option("--image-size", type=click.IntRange(min=8), default=96, help="Input size (the original: 96).")
@click.option("--warmup", type=click.IntRange(min=1), default=2, help="Untimed steps first.")
@click.option("--steps", type=click.IntRange(min=1), default=3, help="Timed training steps per precision.")
@click.option("--precisions", default="float32,mixed_bfloat16", help="Comma-separated Keras dtype policies.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the results here.")
@click.option("--worker", hidden=True, default=None)
def main(batch_size, image_size, warmup, steps, precisions, json_path, worker):
    """Measure training images/s and peak memory per precision, each in a fresh process."""
    if worker:
        print("RESULT " + json.dumps(_worker(worker, batch_size, image_size, warmup, steps)), flush=True)
        return
    results = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    for precision in precisions.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", precision, "--batch-size", str(batch_size),
               "--image-size", str(image_size), "--warmup", str(warmup), "--steps", str(steps)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise click.ClickException(f"{precision} worker failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        results.append(json.loads(lines[-1][len("RESULT "):]))
    click.echo(f"miniVGG19 training, input {image_size}x{image_size}x3, batch {batch_size}, "
               f"{warmup} warm-up + {steps} timed steps, {os.cpu_count()} CPUs visible")
    click.echo(f"{'precision':<16}{'images/s':>10}{'s/step':>9}{'peak RSS GiB':>14}")
    for r in results:
        click.echo(f"{r['precision']:<16}{r['images_per_s']:>10.2f}{r['seconds'] / r['steps']:>9.2f}"
                   f"{r['peak_rss_gib']:>14.2f}")
    base = results[0]
    for r in results[1:]:
        click.echo(f"{r['precision']} / {base['precision']}: speed x{r['images_per_s'] / base['images_per_s']:.2f}, "
                   f"peak memory x{r['peak_rss_gib'] / base['peak_rss_gib']:.2f}")
    if json_path:
        from data.io import write_json

        write_json(json_path, {"results": results})


if __name__ == "__main__":
    main()

"""Benchmark mSRGAN: training images/s and peak memory (float32 vs mixed_bfloat16), prediction megapixels/s.

Faithful configuration: batch 16 HR 96x96 (LR 24x24), the faithful generator
(15 blocks, 64 filters, dropout 0.5), discriminator (64 filters, dense 1024) and
a faithful-size miniVGG19 feature extractor (base 64 filters, random weights:
speed does not depend on the values), both networks updated every step
(``d_steps=1``), losses as the defaults (alpha 0.4, beta 0.8, w_adv 1e-5).
Each measurement runs in a fresh subprocess, so the peak resident memory
(``resource.getrusage``) and the dtype policy of one do not leak into another.
Prediction: the faithful generator (float32, input (None, None, 3)) on a
512x512 RGB input, tiled 128 with overlap 16, batch 4 tiles, as
``python -m msrgan.predict`` does.

Usage::

    nice -n 5 python benchmarks/msrgan_train.py [--steps 3] [--warmup 1] [--size 512] [--json out.json]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import click

PRECISIONS = ("float32", "mixed_bfloat16")


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def worker_train(precision, steps, warmup, batch_size=16, image_size=96):
    """Time ``steps`` training steps of the faithful MSRGAN after ``warmup`` steps (graph tracing)."""
    import keras
    import numpy as np
    import tensorflow as tf

    import vgg19
    from data import training
    from msrgan.model import MSRGAN
    from msrgan.networks import build_discriminator, build_generator

    training.set_precision(precision)
    keras.utils.set_random_seed(0)
    t0 = time.perf_counter()
    lr = image_size // 4
    generator = build_generator((lr, lr, 3), n_blocks=15, filters=64, dropout=0.5)
    discriminator = build_discriminator((image_size, image_size, 3), filters=64, dense_units=1024)
    classifier = vgg19.build_model((image_size, image_size, 3), n_classes=13, base_filters=64, dense_units=4096)
    phi = vgg19.build_feature_extractor(classifier, input_shape=(image_size, image_size, 3))
    del classifier
    gan = MSRGAN(generator, discriminator, phi, alpha=0.4, beta=0.8, adv_weight=1e-5, d_steps=1)
    gan.compile(keras.optimizers.Adam(1e-4, epsilon=1e-8), keras.optimizers.Adam(1e-3, epsilon=1e-8))
    hr = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype("float32"))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(warmup):
        logs = gan.train_on_batch(hr, return_dict=True)
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        logs = gan.train_on_batch(hr, return_dict=True)
    float(logs["g_loss"])  # wait for the last step
    elapsed = time.perf_counter() - t0
    return {
        "precision": precision,
        "steps": steps,
        "step_s": elapsed / steps,
        "images_per_s": batch_size * steps / elapsed,
        "build_s": build_s,
        "warmup_s": warmup_s,
        "peak_rss_mib": _peak_rss_mib(),
        "g_loss_finite": bool(np.isfinite(float(logs["g_loss"]))),
        "generator_params": int(generator.count_params()),
    }


def worker_predict(size, tile=128, overlap=16, batch_size=4, repeats=1):
    """Megapixels/s of tiled prediction with the faithful generator on a size x size RGB input."""
    import keras
    import numpy as np

    from msrgan.inference import SuperResolver
    from msrgan.networks import build_generator

    keras.utils.set_random_seed(0)
    g = build_generator((None, None, 3), n_blocks=15, filters=64, dropout=0.5)
    resolver = SuperResolver(g, tile=tile, overlap=overlap, batch_size=batch_size)
    img = np.random.default_rng(0).uniform(-1, 1, (size, size, 3)).astype("float32")
    resolver.predict_batch(img[None, :tile, :tile].repeat(batch_size, 0))  # trace + warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = resolver(img)
    elapsed = (time.perf_counter() - t0) / repeats
    return {
        "input": f"{size}x{size}x3",
        "tiles": resolver.n_tiles(img.shape),
        "seconds": elapsed,
        "input_mpix_per_s": size * size / 1e6 / elapsed,
        "output_mpix_per_s": out.shape[0] * out.shape[1] / 1e6 / elapsed,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _spawn(args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise click.ClickException(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@click.command()
@click.option("--steps", default=3, show_default=True, help="Timed training steps per precision.")
@click.option("--warmup", default=1, show_default=True, help="Untimed steps first (tracing, allocation).")
@click.option("--size", default=512, show_default=True, help="Prediction input side (pixels).")
@click.option("--json", "json_path", default=None, help="Also write the results to this JSON file.")
def main(steps, warmup, size, json_path):
    """Training images/s and peak memory per precision, then prediction megapixels/s."""
    train = [_spawn(["train", p, steps, warmup]) for p in PRECISIONS]
    pred = _spawn(["predict", size])
    click.echo(f"mSRGAN training, batch 16, HR 96x96, faithful G/D/miniVGG19 ({steps} steps after {warmup} warm-up)")
    click.echo(f"{'precision':<16}{'images/s':>10}{'s/step':>10}{'peak RSS MiB':>14}{'build s':>9}{'warm-up s':>11}")
    for r in train:
        click.echo(f"{r['precision']:<16}{r['images_per_s']:>10.2f}{r['step_s']:>10.2f}{r['peak_rss_mib']:>14.0f}"
                   f"{r['build_s']:>9.1f}{r['warmup_s']:>11.1f}")
    ratio = train[1]["images_per_s"] / train[0]["images_per_s"]
    click.echo(f"bf16/fp32 training throughput ratio: {ratio:.2f}")
    click.echo(f"prediction (float32, tile 128, overlap 16, {pred['tiles']} tiles): {pred['input']} "
               f"in {pred['seconds']:.1f} s = {pred['input_mpix_per_s']:.3f} input MP/s, "
               f"{pred['output_mpix_per_s']:.2f} output MP/s, "
               f"peak RSS {pred['peak_rss_mib']:.0f} MiB")
    if json_path:
        from data.io import write_json

        write_json(json_path, {"train": train, "bf16_fp32_ratio": ratio, "predict": pred})


def _worker_entry(argv):
    kind = argv[0]
    if kind == "train":
        result = worker_train(argv[1], int(argv[2]), int(argv[3]))
    elif kind == "predict":
        result = worker_predict(int(argv[1]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_entry(sys.argv[2:])
    else:
        main()

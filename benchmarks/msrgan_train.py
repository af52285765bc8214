"""Benchmark mSRGAN: per-step training time against the CPU's peak, peak memory; prediction megapixels/s.

Faithful configuration: batch 16 HR 96x96 (LR 24x24), the faithful generator
(15 blocks, 64 filters, dropout 0.5), discriminator (64 filters, dense 1024) and
a faithful-size miniVGG19 feature extractor (base 64 filters, random weights:
speed does not depend on the values), both networks updated every step
(``d_steps=1``), losses as the defaults (alpha 0.4, beta 0.8, w_adv 1e-5).
Each configuration (precision x XLA on/off) runs in a fresh subprocess with the
shared harness (``benchmarks/harness.py``): the conv/matmul peak first, then
``--warmup`` untimed and ``--steps`` timed calls of the compiled train step,
each timed alone; median and minimum step time, FLOP per step counted from the
layers (``benchmarks/flops.py``: G trained on the LR batch; D trained on HR and on SR,
with the input gradient of D(SR) for G; the frozen miniVGG19 forward on HR and
forward + input gradient on SR), fraction of the conv peak of the same
precision, peak RSS. Prediction: the faithful generator (float32, input
(None, None, 3)) on a 512x512 RGB input, tiled 128 with overlap 16, batch 4
tiles, as ``python -m msrgan.predict`` does (``--size 0`` skips it).
The last lines are one JSON object per training configuration.

Usage::

    nice -n 10 python benchmarks/msrgan_train.py [--steps 5] [--warmup 2] [--jit off,on] [--size 0] [--json out.json]
"""

from __future__ import annotations

import os
import sys
import time

import click

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's packages first
import harness  # noqa: E402  (benchmarks/harness.py, next to this script)

PRECISIONS = ("float32", "mixed_bfloat16")


def step_flops(generator, discriminator, phi, batch_size, image_size):
    """FLOP of one training step (rule: ``benchmarks/flops.py``)."""
    import flops

    lr, hr = (image_size // 4, image_size // 4, 3), (image_size, image_size, 3)
    d_costs = flops.layer_costs(discriminator, hr)
    p_costs = flops.layer_costs(phi, hr)
    return (flops.application_flops(generator, lr, batch_size)
            + flops.application_flops(discriminator, hr, batch_size, costs=d_costs)
            + flops.application_flops(discriminator, hr, batch_size, input_grad=True, costs=d_costs)
            + flops.application_flops(phi, hr, batch_size, train=False, costs=p_costs)
            + flops.application_flops(phi, hr, batch_size, train=False, input_grad=True, costs=p_costs))


def build(batch_size=16, image_size=96):
    """(the faithful MSRGAN compiled as the trainer, HR batch, FLOP per step): G 15 blocks, D, miniVGG19 phi."""
    import keras
    import numpy as np

    import vgg19
    from msrgan.model import MSRGAN
    from msrgan.networks import build_discriminator, build_generator

    lr = image_size // 4
    generator = build_generator((lr, lr, 3), n_blocks=15, filters=64, dropout=0.5)
    discriminator = build_discriminator((image_size, image_size, 3), filters=64, dense_units=1024)
    classifier = vgg19.build_model((image_size, image_size, 3), n_classes=13, base_filters=64, dense_units=4096)
    phi = vgg19.build_feature_extractor(classifier, input_shape=(image_size, image_size, 3))
    del classifier
    gan = MSRGAN(generator, discriminator, phi, alpha=0.4, beta=0.8, adv_weight=1e-5, d_steps=1)
    gan.compile(keras.optimizers.Adam(1e-4, epsilon=1e-8), keras.optimizers.Adam(1e-3, epsilon=1e-8))
    hr = np.random.default_rng(0).uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype("float32")
    return gan, hr, step_flops(generator, discriminator, phi, batch_size, image_size)


def worker_train(precision, steps, warmup, jit="off", batch_size=16, image_size=96):
    """Peak, then ``steps`` timed training steps of the faithful MSRGAN after ``warmup`` steps."""
    import keras
    import numpy as np

    from data.engine.distribute import set_precision

    peak = harness.measure_peak()
    set_precision(precision)
    keras.utils.set_random_seed(0)
    t0 = time.perf_counter()
    gan, hr, flop = build(batch_size, image_size)
    generator = gan.generator
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    times, logs = harness.time_steps(gan, harness.fixed_batches(hr), steps, warmup, jit_compile=(jit == "on"))
    warm_s = time.perf_counter() - t0 - sum(times)
    from msrgan.config import MSRGANConfig
    from msrgan.recipe import make_datasets

    # the trainer's own input (demo data, its default augmentation, batch 16): must deliver >= 10x the step's use
    rate = harness.pipeline_rate(make_datasets(MSRGANConfig(batch_size=batch_size, demo_n=260), 0)[0])
    return harness.result(
        "msrgan_train", precision, times, flop, peak, jit_compile=jit == "on", batch_size=batch_size,
        image_size=image_size, build_s=round(build_s, 1), warmup_s=round(warm_s, 1),
        g_loss_finite=bool(np.isfinite(logs["g_loss"])), generator_params=int(generator.count_params()),
        input_batches_per_s=round(rate, 1), input_headroom=round(rate * sorted(times)[len(times) // 2], 1))


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
        "peak_rss_mib": harness.peak_rss_mib(),
    }


@click.command()
@click.option("--steps", default=5, show_default=True, help="Timed training steps per configuration.")
@click.option("--warmup", default=2, show_default=True, help="Untimed steps first (tracing, allocation).")
@click.option("--precisions", default=",".join(PRECISIONS), show_default=True, help="Comma-separated dtype policies.")
@click.option("--jit", default="off", show_default=True, help="Comma-separated XLA settings to measure: off, on.")
@click.option("--size", default=512, show_default=True, help="Prediction input side (pixels); 0 skips prediction.")
@click.option("--json", "json_path", default=None, help="Also write the results to this JSON file.")
def main(steps, warmup, precisions, jit, size, json_path):
    """Per-step training time and fraction of peak per precision, then prediction megapixels/s."""
    train = []
    for p in precisions.split(","):
        for j in jit.split(","):
            try:
                r = harness.spawn(__file__, ["--worker", "train", p, steps, warmup, j])
            except RuntimeError as e:
                click.echo(f"msrgan_train {p} jit={j}: failed: {str(e).strip().splitlines()[-1]}")
                continue
            train.append(r)
            click.echo(harness.summary_line(r) + f"  jit={j}")
    pred = harness.spawn(__file__, ["--worker", "predict", size]) if size else None
    if pred:
        click.echo(f"prediction (float32, tile 128, overlap 16, {pred['tiles']} tiles): {pred['input']} "
                   f"in {pred['seconds']:.1f} s = {pred['input_mpix_per_s']:.3f} input MP/s, "
                   f"{pred['output_mpix_per_s']:.2f} output MP/s, peak RSS {pred['peak_rss_mib']:.0f} MiB")
    if json_path:
        from data.io import write_json

        write_json(json_path, {"train": train, "predict": pred})
    harness.print_json_lines(train)


def _worker_entry(argv):
    kind = argv[0]
    if kind == "train":
        result = worker_train(argv[1], int(argv[2]), int(argv[3]), argv[4])
    elif kind == "predict":
        result = worker_predict(int(argv[1]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    harness.emit(result)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_entry(sys.argv[2:])
    else:
        main()

"""Compare saved generators with nearest and bicubic upscaling (the library of ``python -m msrgan.evaluate``).

Example::

    python -m msrgan.evaluate backup/msrgan/generator.keras                 # embedded demo test split
    python -m msrgan.evaluate --data-dir DIR --out result/eval a.keras b.keras

For each test image (``DIR/test/NN_<id>.png``, or the demo test split) the
low-resolution input is made exactly as in training: the HR image in [-1, 1]
downscaled 4x by :func:`data.pipeline.downscale` (bicubic ``tf.image.resize``,
not quantised). Nearest and bicubic baselines upscale that same input with
``tf.image.resize``; every output is converted to 8-bit RGB before scoring
(:mod:`msrgan.comparison`). Writes ``report.json`` (mean, std and per-image
values), ``report.md`` (table) and ``comparison.png`` (LR | bicubic | each
model | HR for the first ``--n-show`` images).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data import io
from msrgan import comparison
from msrgan.config import SCALE

LR_NOTE = "LR = bicubic 4x downscale of the HR image in [-1, 1] (data.pipeline.downscale, as in training)"


def load_test_images(data_dir=None):
    """``(names, images)``: the test images as uint8 RGB (H, W, 3), H and W multiples of 4.

    ``data_dir=None`` gives the embedded demo test split. Grayscale images are
    replicated to RGB; images whose sides are not multiples of 4 are cropped at
    the bottom/right. Raises :class:`data.io.ImageError` naming a bad file.
    """
    if data_dir is None:
        from data import synthetic

        images, _ = synthetic.demo_split("test")
        return [f"demo_test_{i:04d}" for i in range(len(images))], list(images)
    from data import layout

    paths, _ = layout.list_split(data_dir, "test")
    names, images = [], []
    for path in paths:
        img = io.read_image(path)
        if img.dtype != np.uint8:
            raise io.ImageError(path, f"evaluation expects 8-bit images, got {img.dtype}")
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        if img.shape[2] != 3:
            raise io.ImageError(path, f"evaluation expects grayscale or RGB, got {img.shape[2]} channels")
        h, w = (img.shape[0] // SCALE) * SCALE, (img.shape[1] // SCALE) * SCALE
        if h == 0 or w == 0:
            raise io.ImageError(path, f"image {img.shape[:2]} is smaller than the scale factor {SCALE}")
        names.append(path.name)
        images.append(np.ascontiguousarray(img[:h, :w]))
    return names, images


def _batches(images, batch_size):
    """Index lists of same-shape images, at most ``batch_size`` each, in first-seen order."""
    groups = {}
    for i, img in enumerate(images):
        groups.setdefault(img.shape, []).append(i)
    for idx in groups.values():
        for k in range(0, len(idx), batch_size):
            yield idx[k : k + batch_size]


def evaluate(resolvers, images, n_show=4, batch_size=16, on_batch=None):
    """Score nearest, bicubic and each generator on ``images`` (uint8 RGB HR).

    Args:
        resolvers: dict name -> :class:`msrgan.inference.SuperResolver`.
        n_show: how many images (the first ones) to keep for the figure.

    Returns:
        ``(scores, shown)``: a :class:`msrgan.comparison.Scores` and, for the
        first ``n_show`` images, dicts with uint8 ``LR``, each method and ``HR``.
    """
    import tensorflow as tf

    from data.pipeline import downscale

    methods = ["nearest", "bicubic", *resolvers]
    scores = comparison.Scores(methods)
    per_image = [None] * len(images)
    shown = {}
    for idx in _batches(images, batch_size):
        hr8 = np.stack([images[i] for i in idx])
        h, w = hr8.shape[1:3]
        lr = tf.cast(downscale(tf.constant(io.to_model_range(hr8)), SCALE), tf.float32)
        outputs = {m: tf.image.resize(lr, (h, w), method=m).numpy() for m in ("nearest", "bicubic")}
        lr = lr.numpy()
        for name, res in resolvers.items():
            if lr.shape[1] <= res.tile and lr.shape[2] <= res.tile:
                outputs[name] = res.predict_batch(lr)
            else:
                outputs[name] = np.stack([res(x) for x in lr])
        outputs = {m: io.from_model_range(v, np.uint8) for m, v in outputs.items()}
        for k, i in enumerate(idx):
            per_image[i] = (hr8[k], {m: outputs[m][k] for m in methods})
            if i < n_show:
                shown[i] = {"LR": io.from_model_range(lr[k], np.uint8), **per_image[i][1], "HR": hr8[k]}
        if on_batch is not None:
            on_batch(len(idx))
    for hr, outs in per_image:  # score in image order so per-image values line up with the names
        scores.add(hr, outs)
    return scores, [shown[i] for i in sorted(shown)]


def compare(models, data_dir=None, n_show=4, batch_size=16, tile=128, overlap=16, on_images=None, on_batch=None):
    """Score the generator files ``models`` against nearest and bicubic upscaling on the test images.

    Returns the report dict (as ``report.json``) and the comparison figure (uint8 RGB).
    ``on_images(n)`` is called once the ``n`` test images are read, ``on_batch(k)``
    after each batch of ``k`` images (a progress bar).
    """
    import msrgan
    from msrgan import inference

    names, images = load_test_images(data_dir)
    labels = comparison.unique_names(models)
    resolvers = {
        label: inference.SuperResolver(msrgan.load_generator(path), tile, overlap)
        for label, path in zip(labels, models)
    }
    if on_images is not None:
        on_images(len(images))
    scores, shown = evaluate(resolvers, images, n_show, batch_size, on_batch=on_batch)
    summary = scores.summary()
    columns = ["LR", "bicubic", *resolvers, "HR"]
    captions = [
        {m: f"{summary[m]['psnr']['values'][i]:.2f} dB / {summary[m]['ssim']['values'][i]:.3f}" for m in columns[1:-1]}
        for i in range(len(shown))
    ]
    figure = comparison.comparison_figure(shown, columns, captions)
    report = {
        "n_images": len(images),
        "data": str(data_dir) if data_dir is not None else "embedded demo test split (data.synthetic.demo_split)",
        "lr": LR_NOTE,
        "metrics": "scikit-image PSNR and SSIM, data_range 255, on 8-bit RGB; std is the population std",
        "models": {label: str(path) for label, path in zip(labels, models)},
        "images": names,
        "methods": summary,
        "method_order": list(summary),  # write_json sorts keys; this keeps the table's order
    }
    return report, figure


def write_report(out_dir, report, figure):
    """``report.json``, ``report.md`` and ``comparison.png`` in ``out_dir`` (atomic); returns the table."""
    out_dir = Path(out_dir)
    table = comparison.markdown_table(report["methods"], report["n_images"], LR_NOTE)
    io.write_json(out_dir / "report.json", report)
    io.write_text(out_dir / "report.md", table)
    io.write_png(out_dir / "comparison.png", figure)
    return table

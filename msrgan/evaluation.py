"""Compare saved generators with nearest and bicubic upscaling (the library of ``python -m msrgan.evaluate``).

Example::

    python -m msrgan.evaluate backup/msrgan/generator.keras                 # embedded demo test split
    python -m msrgan.evaluate --data-dir DIR --out result/eval a.keras b.keras
    python -m msrgan.evaluate backup/msrgan/generator.keras --compare other/generator.keras,x.keras

Methods, in the report's order: nearest, bicubic, SRCNN (``--srcnn PATH``, or
``backup/srcnn/srcnn.keras`` when it exists), the MSE-only pre-trained generator
(``generator_pretrained.keras`` beside a MODEL), each MODEL, each ``--compare``
model (``--no-siblings`` skips the files found by default). Every model must be
a 4x generator (:func:`msrgan.load_generator`): (B, h, w, 3) in [-1, 1] -> (B, 4h, 4w, 3).

For each test image (``DIR/test/NN_<id>.png``, or the demo test split) the
low-resolution input is made exactly as in training: the HR image in [-1, 1]
downscaled 4x by :func:`data.pipeline.downscale` (bicubic ``tf.image.resize``,
not quantised). Nearest and bicubic baselines upscale that same input with
``tf.image.resize``; every output is converted to 8-bit RGB before scoring
(:mod:`msrgan.comparison`). Writes ``report.json`` (mean, std and per-image
values, roles, paired Wilcoxon tests of each method against bicubic),
``report.md`` (tables) and ``comparison.png`` (LR | bicubic | each model | HR |
SSIM map | absolute-error map of the first MODEL, for the first ``--n-show`` images).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from data import io
from msrgan import comparison
from msrgan.config import SCALE

PRETRAINED_FILE = "generator_pretrained.keras"  # the MSE-only pre-trained generator, beside generator.keras
DEFAULT_SRCNN = "backup/srcnn/srcnn.keras"  # python -m msrgan.train --model srcnn's default export
LR_NOTE = "LR = bicubic 4x downscale of the HR image in [-1, 1] (data.pipeline.downscale, as in training)"


def load_images(data_dir=None, split="test"):
    """``(names, images)``: the ``split`` images as uint8 RGB (H, W, 3), H and W multiples of 4.

    ``data_dir=None`` gives the embedded demo split. Grayscale images are
    replicated to RGB; images whose sides are not multiples of 4 are cropped at
    the bottom/right. Raises :class:`data.io.ImageError` naming a bad file.
    """
    if data_dir is None:
        from data import synthetic

        images, _ = synthetic.demo_split(split)
        return [f"demo_{split}_{i:04d}" for i in range(len(images))], list(images)
    from data import layout

    paths, _ = layout.list_split(data_dir, split)
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


def evaluate(resolvers, images, n_show=4, batch_size=16, on_batch=None, on_image=None):
    """Score nearest, bicubic and each generator on ``images`` (uint8 RGB HR).

    Args:
        resolvers: dict name -> :class:`msrgan.inference.SuperResolver`.
        n_show: how many images (the first ones) to keep for the figure.
        on_image: called as ``on_image(i, hr, outputs)`` for each image ``i`` (uint8 HR, ``{method: uint8}``),
            e.g. :class:`msrgan.segmentation.Collector`.

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
            if on_image is not None:
                on_image(i, *per_image[i])
            if i < n_show:
                shown[i] = {"LR": io.from_model_range(lr[k], np.uint8), **per_image[i][1], "HR": hr8[k]}
        if on_batch is not None:
            on_batch(len(idx))
    for hr, outs in per_image:  # score in image order so per-image values line up with the names
        scores.add(hr, outs)
    return scores, [shown[i] for i in sorted(shown)]


def collect_models(models, compare=(), srcnn=None, siblings=True, default_srcnn=DEFAULT_SRCNN):
    """The models to evaluate as ``[(path, role)]`` in report order, each file once.

    Roles: ``srcnn`` (``srcnn``, else with ``siblings`` ``default_srcnn`` when
    it is a file), ``pretrained`` (with ``siblings``, ``generator_pretrained.keras``
    beside a model), ``model`` (each of ``models``), ``compare`` (each of
    ``compare``). A file found by default never replaces one listed in ``models``
    or ``compare``; a file listed twice keeps its first role.
    """
    listed = {os.path.realpath(p) for p in [*models, *compare]}
    entries = []
    if srcnn is not None:
        entries.append((Path(srcnn), "srcnn"))
    elif siblings and default_srcnn is not None and Path(default_srcnn).is_file():
        if os.path.realpath(default_srcnn) not in listed:
            entries.append((Path(default_srcnn), "srcnn"))
    for m in map(Path, models):
        path = m.parent / PRETRAINED_FILE
        if siblings and path.is_file() and os.path.realpath(path) not in listed:
            entries.append((path, "pretrained"))
        entries.append((m, "model"))
    entries += [(Path(c), "compare") for c in compare]
    seen, out = set(), []
    for path, role in entries:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append((path, role))
    return out


def split_paths(values):
    """``--compare`` values: comma-separated lists, the option possibly repeated; empty items dropped."""
    return [Path(p.strip()) for v in values for p in v.split(",") if p.strip()]


def load_resolvers(entries, tile=128, overlap=16):
    """``(labels, {label: SuperResolver})`` for ``(path, role)`` entries (labels:
    :func:`msrgan.comparison.unique_names` of the paths). Each file goes through
    :func:`msrgan.load_generator`: a missing, unreadable or not-4x-RGB model raises one line naming it."""
    import msrgan
    from msrgan import inference

    labels = comparison.unique_names([p for p, _ in entries])
    resolvers = {
        label: inference.SuperResolver(msrgan.load_generator(path), tile, overlap)
        for label, (path, _) in zip(labels, entries)
    }
    return labels, resolvers


def compare(models, data_dir=None, n_show=4, batch_size=16, tile=128, overlap=16, on_images=None, on_batch=None,
            compare_with=(), srcnn=None, siblings=True, max_images=None, default_srcnn=DEFAULT_SRCNN, on_image=None):
    """Score the generator files ``models`` (and the baselines, see :func:`collect_models`) against nearest and
    bicubic upscaling on the test images (the first ``max_images`` when given).

    Returns the report dict (as ``report.json``) and the comparison figure (uint8 RGB).
    ``on_images(n)`` is called once the ``n`` test images are read and the models
    loaded, ``on_batch(k)`` after each batch of ``k`` images (a progress bar), ``on_image`` as in :func:`evaluate`.
    """
    entries = collect_models(models, compare_with, srcnn, siblings, default_srcnn)
    names, images = load_images(data_dir)
    if max_images is not None:
        names, images = names[:max_images], images[:max_images]
    labels, resolvers = load_resolvers(entries, tile, overlap)
    if on_images is not None:
        on_images(len(images), len(resolvers))
    scores, shown = evaluate(resolvers, images, n_show, batch_size, on_batch=on_batch, on_image=on_image)
    summary = scores.summary()
    tests = scores.paired_tests(comparison.REFERENCE)
    qc_label = labels[[role for _, role in entries].index("model")]
    figure = comparison.report_figure(shown, summary, list(summary), qc_method=qc_label)
    report = {
        "n_images": len(images),
        "data": str(data_dir) if data_dir is not None else "embedded demo test split (data.synthetic.demo_split)",
        "lr": LR_NOTE,
        "metrics": "scikit-image PSNR and SSIM, data_range 255, on 8-bit RGB; std is the population std",
        "models": {label: str(path) for label, (path, _) in zip(labels, entries)},
        "roles": {label: role for label, (_, role) in zip(labels, entries)},
        "images": names,
        "methods": summary,
        "method_order": list(summary),  # write_json sorts keys; this keeps the table's order
        "paired_tests": {
            "reference": comparison.REFERENCE,
            "test": "Wilcoxon signed-rank, two-sided, per image (data.stats.paired_wilcoxon); "
                    "median_difference = method - reference",
            "methods": tests,
        },
        "qc_maps": {"method": qc_label, "images": names[: len(shown)]},
    }
    return report, figure


def write_report(out_dir, report, figure):
    """``report.json``, ``report.md`` and ``comparison.png`` in ``out_dir`` (atomic); returns the table."""
    out_dir = Path(out_dir)
    order = report["method_order"]  # report.json's keys are sorted when written; the table keeps this order
    summary = {m: report["methods"][m] for m in order}
    tests = report.get("paired_tests", {}).get("methods")
    tests = None if tests is None else {m: tests[m] for m in order if m in tests}
    table = comparison.markdown_table(summary, report["n_images"], LR_NOTE, tests)
    io.write_json(out_dir / "report.json", report)
    io.write_text(out_dir / "report.md", table)
    io.write_png(out_dir / "comparison.png", figure)
    return table

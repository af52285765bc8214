"""Synthetic training pairs from a trained model: ``python -m cyclegan_dct.generate``.

For ``--n`` fresh random ellipse masks m (the run's fitted statistics,
``config.mask_stats``) writes into ``--out``::

    images/NNNN.tif         G(m), uint16 (model range [-1, 1] -> 0..65535)
    masks/NNNN.tif          m, the input instance labels (uint16)
    cycled_masks/NNNN.tif   instance labels of F(LP(G(m))) (F(G(m)) for a vanilla model)
    summary.json            count, Dice(m, cycled) per image and mean, model facts

Cycled labels: foreground ``F(...) > 0``, touching nuclei split by a
distance-transform watershed seeded by the input instances
(``domains.output_to_labels``), so a cycled nucleus keeps its input's label
where it overlaps it. Dice is computed on the foreground (binary) masks.

Example::

    python -m cyclegan_dct.generate --model-dir backup/cyclegan_dct --n 200 --out result/synthetic
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from data.io import from_model_range, write_json, write_tiff
from data.masks import random_ellipse_labels
from data.metrics import dice


def synthesize(config, g_a2b, g_b2a, n, size=256, seed=0, batch_size=4):
    """Yield (index, mask uint16, image uint16, cycled labels uint16, dice) for n random masks.

    Pure computation, no files: G(m), then F(filter(G(m))) thresholded and split.
    """
    from cyclegan_dct import domains
    from cyclegan_dct.filtering import back_to_a, predict

    if size < 8 or size % 4:
        raise ValueError(f"--size must be a multiple of 4 and >= 8, got {size}")
    stats = config.stats
    rng = np.random.default_rng(seed)
    for start in range(0, n, batch_size):
        masks = [random_ellipse_labels((size, size), stats, rng) for _ in range(min(batch_size, n - start))]
        a = np.stack([domains.labels_to_input(m) for m in masks])
        if config.channels > 1:
            a = np.repeat(a, config.channels, axis=-1)
        fake = predict(g_a2b, a, batch_size)
        cycled = back_to_a(config, g_b2a, fake, batch_size)
        for j, m in enumerate(masks):
            labels = domains.output_to_labels(cycled[j, ..., :1], seeds=m)
            image = from_model_range(fake[j] if config.channels > 1 else fake[j, ..., 0], np.uint16)
            yield start + j, m, image, labels, float(dice(m > 0, labels > 0))


def generate(model_dir, n=200, out="result/synthetic", size=256, seed=0):
    """Write the synthetic dataset (see module docstring); returns the summary dict."""
    from cyclegan_dct import load_models

    config, g_a2b, g_b2a = load_models(model_dir)
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    out = Path(out)
    start = time.time()
    dices = []
    for i, mask, image, labels, d in synthesize(config, g_a2b, g_b2a, n, size, seed):
        name = f"{i:04d}.tif"
        write_tiff(out / "images" / name, image)
        write_tiff(out / "masks" / name, mask.astype(np.uint16))
        write_tiff(out / "cycled_masks" / name, labels)
        dices.append({"file": name, "dice": d, "n_input": int(len(np.unique(mask)) - 1),
                      "n_cycled": int(labels.max())})
    summary = {
        "count": n,
        "mean_dice": float(np.mean([d["dice"] for d in dices])),
        "dice": dices,
        "model_dir": str(model_dir),
        "vanilla": bool(config.vanilla),
        "dct_cutoff": None if config.vanilla else float(config.dct_cutoff),
        "size": size,
        "seed": seed,
        "cycled_labels": "F(lowpass(G(m))) > 0, watershed seeded by the input instances",
        "seconds": round(time.time() - start, 1),
    }
    write_json(out / "summary.json", summary)
    return summary

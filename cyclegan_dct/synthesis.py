"""Synthetic training pairs from a trained model: ``python -m cyclegan_dct.generate``.

For ``--n`` fresh random ellipse masks m (the run's fitted statistics,
``config.mask_stats``) writes into ``--out``::

    images/NNNN.tif         the synthetic image, uint16 (model range [-1, 1] -> 0..65535): LP(G(m)) for a
                            DCT model, the image F read (G(m) for a vanilla model, where LP is the identity)
    images_unfiltered/      G(m) of a DCT model, only with ``also_unfiltered`` (``--also-unfiltered``)
    masks/NNNN.tif          m, the input instance labels (uint16)
    cycled_masks/NNNN.tif   instance labels of F(LP(G(m))) (F(G(m)) for a vanilla model)
    summary.json            count, Dice(m, cycled) per image and mean, which image was written, model facts

Why LP(G(m)) and not G(m): the cycled mask F(LP(G(m))) was computed from
LP(G(m)), and the low-pass is part of the generation pipeline (Utz et al.); the
high frequencies it removes are where CycleGAN steganography hides the mask, so
a pair (G(m), cycled mask) would pair the cycled mask with an image carrying
detail F never saw.

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


def synthesize(config, g_a2b, g_b2a, n, size=256, seed=0, batch_size=8):
    """Yield one dict per random mask m: ``index``, ``mask`` (uint16 labels), ``image`` (LP(G(m)), uint16; G(m)
    for a vanilla model), ``unfiltered`` (G(m), uint16), ``cycled`` (labels of F(LP(G(m))), uint16), ``dice``.

    Pure computation, no files.
    """
    from cyclegan_dct import domains
    from cyclegan_dct.filtering import low_pass, predict

    if size < 8 or size % 4:
        raise ValueError(f"--size must be a multiple of 4 and >= 8, got {size}")
    stats = config.stats
    rng = np.random.default_rng(seed)

    def to_uint16(x):
        return from_model_range(x if config.channels > 1 else x[..., 0], np.uint16)

    for start in range(0, n, batch_size):
        masks = [random_ellipse_labels((size, size), stats, rng) for _ in range(min(batch_size, n - start))]
        a = np.stack([domains.labels_to_input(m) for m in masks])
        if config.channels > 1:
            a = np.repeat(a, config.channels, axis=-1)
        fake = predict(g_a2b, a, batch_size)
        read = low_pass(config, fake, batch_size)
        cycled = predict(g_b2a, read, batch_size)
        for j, m in enumerate(masks):
            labels = domains.output_to_labels(cycled[j, ..., :1], seeds=m)
            yield {"index": start + j, "mask": m, "image": to_uint16(read[j]), "unfiltered": to_uint16(fake[j]),
                   "cycled": labels, "dice": float(dice(m > 0, labels > 0))}


def generate(model_dir, n=200, out="result/synthetic", size=256, seed=0, also_unfiltered=False):
    """Write the synthetic dataset (see module docstring); returns the summary dict."""
    from cyclegan_dct import load_models

    config, g_a2b, g_b2a = load_models(model_dir)
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    out = Path(out)
    start = time.time()
    dices = []
    unfiltered = also_unfiltered and not config.vanilla
    for pair in synthesize(config, g_a2b, g_b2a, n, size, seed):
        name = f"{pair['index']:04d}.tif"
        write_tiff(out / "images" / name, pair["image"])
        if unfiltered:
            write_tiff(out / "images_unfiltered" / name, pair["unfiltered"])
        write_tiff(out / "masks" / name, pair["mask"].astype(np.uint16))
        write_tiff(out / "cycled_masks" / name, pair["cycled"])
        dices.append({"file": name, "dice": pair["dice"], "n_input": int(len(np.unique(pair["mask"])) - 1),
                      "n_cycled": int(pair["cycled"].max())})
    summary = {
        "count": n,
        "mean_dice": float(np.mean([d["dice"] for d in dices])),
        "dice": dices,
        "model_dir": str(model_dir),
        "vanilla": bool(config.vanilla),
        "dct_cutoff": None if config.vanilla else float(config.dct_cutoff),
        "images": "G(m)" if config.vanilla else f"LP(G(m)), DCT low-pass cutoff {config.dct_cutoff:g}",
        "images_unfiltered": "G(m)" if unfiltered else None,
        "size": size,
        "seed": seed,
        "cycled_labels": "F(lowpass(G(m))) > 0, watershed seeded by the input instances",
        "seconds": round(time.time() - start, 1),
    }
    write_json(out / "summary.json", summary)
    return summary

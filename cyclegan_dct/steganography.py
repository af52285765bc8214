"""Steganography report of a trained CycleGAN: does G show the mask, or hide it?

``python -m cyclegan_dct.stego --model-dir DIR [--n 50] [--size 256] [--seed 0] [--out DIR]``

For n fresh random masks m (ellipses with the model's own mask statistics),
G = ``generator_a2b`` makes images G(m), and F = ``generator_b2a`` reads them
back through the model's own filter (``DCTLowPass(cutoff)`` for a DCT model,
none for a vanilla one), exactly as in the A->B->A training cycle:

1. **Visibility** (``stego.png``): one row per sample (at most 4) with
   m | G(m) | CLAHE(G(m)) | CLAHE(G(m) - DCTLowPass(G(m))) | CLAHE(real crop).
   CLAHE makes a faint signal visible; the high-pass residual is what the DCT
   filter removes, taken at the model's cutoff (0.5 for a vanilla model, as
   stated in ``stego.json``).
2. **Sensitivity** (Chu et al. 2017): Gaussian noise of sigma in
   {0, 1, 2, 4, 8} grey levels of 255 added to G(m); Dice between the
   thresholded F(filter(G(m) + noise)) and m. A generator that hides the mask
   in a low-amplitude signal loses it under tiny noise; visible nuclei survive.
3. **High-frequency energy**: the fraction of the (non-DC) DCT energy above
   the cutoff in G(m) and in real crops, and the RMS of the removed residual
   in grey levels of 255.
4. **Agreement**: Dice/IoU between m, the cycled mask (F(filter(G(m))) > 0) and
   an independent Otsu + connected-components segmentation of G(m).
5. **Polarity** (:mod:`cyclegan_dct.polarity`): Pearson correlation between
   m's foreground and G(m) (negative = contrast-inverted nuclei), the share of
   inverted images, and Dice(m, Otsu(G(m))).

Writes ``stego.json`` and ``stego.png`` into ``--out``.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from cyclegan_dct import measures, polarity
from cyclegan_dct.filtering import back_to_a, predict
from data.io import ImageError, list_images, read_image, to_unit, write_json, write_png

SIGMAS = (0, 1, 2, 4, 8)
VANILLA_RESIDUAL_CUTOFF = 0.5
PANEL_COLUMNS = ("mask m", "G(m)", "CLAHE G(m)", "CLAHE high-pass", "CLAHE real")
PANEL_ROWS = 4


def real_crops(n, size, rng, real_images=None):
    """n random (size, size) crops in [-1, 1] of real images (a folder, or stardist's nuclei image).

    Each image is percentile-normalised as a whole (as domain B in training), then cropped.
    """
    from cyclegan_dct.domains import default_real_image, image_to_input, random_crop

    if real_images is None:
        images, source = [image_to_input(default_real_image()[0])[..., 0]], "stardist.data.test_image_nuclei_2d"
    else:
        paths = list_images(real_images)
        if not paths:
            raise ImageError(real_images, "no PNG/TIFF images in this folder")
        images, source = [], str(real_images)
        for p in paths:
            img = read_image(p)
            if min(img.shape[:2]) < size:
                raise ImageError(p, f"size {img.shape[0]}x{img.shape[1]} is smaller than --size {size}")
            images.append(image_to_input(img)[..., 0])
    for img in images:
        if min(img.shape) < size:
            raise ValueError(f"{source}: image of size {img.shape[0]}x{img.shape[1]} is smaller than --size {size}")
    crops = [random_crop(images[int(rng.integers(len(images)))], size, rng) for _ in range(n)]
    return np.stack(crops).astype(np.float32), source


def _tile(x):
    """float [0, 1] (H, W) -> uint8."""
    return np.clip(np.rint(np.asarray(x, np.float64) * 255.0), 0, 255).astype(np.uint8)


def visibility_panel(masks, fake, real, cutoff, rows=PANEL_ROWS, gap=4, header=18):
    """uint8 (H', W') panel: per sample m | G(m) | CLAHE G(m) | CLAHE high-pass residual | CLAHE real crop.

    ``masks`` (N, H, W) labels, ``fake`` and ``real`` (N, H, W) in [-1, 1]; a titled header row on top.
    """
    rows = min(rows, len(fake))
    h, w = fake.shape[1:3]
    cols = len(PANEL_COLUMNS)
    panel = np.full((header + rows * (h + gap), cols * (w + gap) - gap), 128, np.uint8)
    panel[:header] = 0
    for j, title in enumerate(PANEL_COLUMNS):
        cv2.putText(panel, title, (j * (w + gap) + 2, header - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 255, 1, cv2.LINE_AA)
    for i in range(rows):
        tiles = (
            (masks[i] > 0).astype(np.float64),
            to_unit(fake[i]),
            measures.clahe(fake[i]),
            measures.clahe(measures.highpass_residual(fake[i], cutoff)),
            measures.clahe(real[i]),
        )
        y = header + i * (h + gap)
        for j, t in enumerate(tiles):
            panel[y:y + h, j * (w + gap):j * (w + gap) + w] = _tile(t)
    return panel


def stego_report(config, g, f, n=50, size=256, seed=0, real_images=None):
    """Compute the four measures for loaded models. Returns (report dict, panel uint8)."""
    from cyclegan_dct.domains import labels_to_input
    from data.masks import random_ellipse_labels

    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    if size < 8 or size % 4:
        raise ValueError(f"--size must be a multiple of 4 and >= 8 (the generator downsamples by 4), got {size}")
    rng = np.random.default_rng(seed)
    stats = config.stats
    masks = np.stack([random_ellipse_labels((size, size), stats, rng) for _ in range(n)])
    a = np.stack([labels_to_input(m) for m in masks])
    fake = predict(g, a)
    if config.vanilla:
        cutoff, source = VANILLA_RESIDUAL_CUTOFF, f"default {VANILLA_RESIDUAL_CUTOFF} (vanilla model, no filter)"
    else:
        cutoff, source = float(config.dct_cutoff), "model"
    truth = masks > 0

    noise_rng = np.random.default_rng(seed + 1)
    sensitivity, cycled0 = [], None
    for sigma in SIGMAS:
        cycled = back_to_a(config, f, measures.add_grey_noise(fake, sigma, noise_rng))[..., 0] > 0
        if sigma == 0:
            cycled0 = cycled
        d = measures.mean_std(measures.dice(t, c) for t, c in zip(truth, cycled))
        sensitivity.append({"sigma": sigma, "dice_mean": d["mean"], "dice_std": d["std"]})

    pairs = [measures.mask_agreement({"input": t, "cycled": c, "otsu": measures.otsu_segmentation(x[..., 0])})
             for t, c, x in zip(truth, cycled0, fake)]
    agreement = {
        k: {s: measures.mean_std(p[k][s] for p in pairs) for s in ("dice", "iou")} for k in pairs[0]
    }

    real, real_source = real_crops(n, size, rng, real_images)
    grey = 255.0 / 2.0  # model range [-1, 1] spans 255 grey levels

    def energy(images):
        return {
            "fraction": measures.mean_std(measures.high_frequency_fraction(x, cutoff) for x in images),
            "residual_rms_grey": measures.mean_std(
                grey * float(np.sqrt(np.mean(measures.highpass_residual(x, cutoff) ** 2))) for x in images),
        }

    report = {
        "n": int(n),
        "size": int(size),
        "seed": int(seed),
        "model": {"dct": bool(config.dct), "dct_cutoff": float(config.dct_cutoff), "dct_both": bool(config.dct_both),
                  "vanilla": bool(config.vanilla)},
        "filter": "none" if config.vanilla else f"DCTLowPass({float(config.dct_cutoff)})",
        "cutoff": cutoff,
        "cutoff_source": source,
        "sensitivity": sensitivity,
        "high_frequency_energy": {
            "cutoff": cutoff,
            "generated": energy(fake[..., 0]),
            "real": energy(real),
            "real_source": real_source,
        },
        "agreement": agreement,
        "polarity": {k: v for k, v in polarity.polarity_report(truth, fake[..., 0]).items() if k != "per_image"},
        "panel_columns": list(PANEL_COLUMNS),
    }
    panel = visibility_panel(masks, fake[..., 0], real, cutoff)
    return report, panel


def run_stego(model_dir, out, n=50, size=256, seed=0, real_images=None):
    """Load the models of ``model_dir``, compute the report, write ``stego.json`` and ``stego.png`` into ``out``."""
    from cyclegan_dct import load_models

    t0 = time.perf_counter()
    config, g, f = load_models(model_dir)
    report, panel = stego_report(config, g, f, n=n, size=size, seed=seed, real_images=real_images)
    out = Path(out)
    report = {"model_dir": str(model_dir), **report, "panel": "stego.png", "wall_time_s": time.perf_counter() - t0}
    write_png(out / "stego.png", panel)
    write_json(out / "stego.json", report)
    return report


def sensitivity_markdown(report):
    """The sensitivity row and the key figures of one report as a short Markdown table."""
    sig = report["sensitivity"]
    head = "| sigma (grey levels) | " + " | ".join(str(s["sigma"]) for s in sig) + " |"
    row = "| Dice(F(filter(G(m)+noise)) > 0, m) | " + " | ".join(f"{s['dice_mean']:.3f}" for s in sig) + " |"
    return "\n".join([head, "|" + " --- |" * (len(sig) + 1), row]) + "\n"

"""Steganography report of a trained CycleGAN: does G show the mask, or hide it?

``python -m cyclegan_dct.stego --model-dir DIR [--n 50] [--size 256] [--seed 0] [--out DIR]``

For n fresh random masks m (ellipses with the model's own mask statistics),
G = ``generator_a2b`` makes images G(m), and F = ``generator_b2a`` reads them
back through the model's own filter (``DCTLowPass(cutoff)`` for a DCT model,
none for a vanilla one), exactly as in the A->B->A training cycle:

1. **Visibility** (``stego.png``): one row per sample (at most 4) with
   m | G(m) | CLAHE(G(m)) | CLAHE(G(m) - DCTLowPass(G(m))) | F(G(m)) | F(G(m) + noise of 8 grey levels) |
   CLAHE(real crop), tiles under 128 px enlarged (nearest neighbour) to hold the titles.
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
4. **Agreement**: Dice/IoU and instance matching between m, the cycled mask
   (F(filter(G(m))) > 0) and independent segmentations of G(m): Otsu + connected
   components, and (``segment``) a StarDist trained on domain B's labels only.
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
from cyclegan_dct.domains import SIMULATED, domain_b_images, labels_to_input, output_to_labels, random_crop
from cyclegan_dct.filtering import back_to_a, predict
from data.io import to_unit, write_json, write_png

SIGMAS = (0, 1, 2, 4, 8)
PERTURBATIONS = {"jpeg75": lambda x: measures.jpeg(x, 75), "blur1": lambda x: measures.blur(x, 1.0)}
"""The sensitivity's other perturbations: 8-bit JPEG at quality 75, a Gaussian blur of 1 px."""
VANILLA_RESIDUAL_CUTOFF = 0.5
PANEL_COLUMNS = ("mask m", "G(m)", "CLAHE G(m)", "CLAHE high-pass", "F(G(m))", "F(G(m)+noise 8)", "CLAHE real")
PANEL_SIGMA = 8
PANEL_HEADER = 18
PANEL_ROWS = 4


def real_crops(n, size, rng, real_images=None):
    """n random (size, size) crops in [-1, 1] of domain-B images: ``real_images`` as ``--images`` takes it (a
    folder, ``"simulated"``, or None: stardist's nuclei image). Each image is percentile-normalised as a whole
    (as domain B in training), then cropped. An image smaller than ``size`` is refused, naming it."""
    source = str(real_images) if real_images else "stardist.data.test_image_nuclei_2d"
    images = [x[..., 0] for x in domain_b_images(real_images, 1, size)]
    for img in images:
        if min(img.shape) < size:
            raise ValueError(f"{source}: image of size {img.shape[0]}x{img.shape[1]} is smaller than --size {size}")
    crops = [random_crop(images[int(rng.integers(len(images)))], size, rng) for _ in range(n)]
    return np.stack(crops).astype(np.float32), source


def _tile(x):
    """float [0, 1] (H, W) -> uint8."""
    return np.clip(np.rint(np.asarray(x, np.float64) * 255.0), 0, 255).astype(np.uint8)


def visibility_panel(masks, fake, real, cutoff, cycled, noisy, rows=PANEL_ROWS, gap=4, header=PANEL_HEADER):
    """uint8 (H', W') panel: per sample m | G(m) | CLAHE G(m) | CLAHE high-pass residual | F(G(m)) |
    F(G(m) + noise) | CLAHE real crop (the layout of Chu et al.'s and Utz et al.'s figures).

    ``masks`` (N, H, W) labels, ``fake`` and ``real`` (N, H, W) in [-1, 1], ``cycled`` and ``noisy`` (N, H, W)
    the masks read back (bool); a titled header row on top.
    """
    rows = min(rows, len(fake))
    zoom = max(1, 128 // fake.shape[1])
    h, w = fake.shape[1] * zoom, fake.shape[2] * zoom
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
            cycled[i].astype(np.float64),
            noisy[i].astype(np.float64),
            measures.clahe(real[i]),
        )
        y = header + i * (h + gap)
        for j, t in enumerate(tiles):
            panel[y:y + h, j * (w + gap):j * (w + gap) + w] = np.kron(_tile(t), np.ones((zoom, zoom), np.uint8))
    return panel


def stego_report(config, g, f, n=50, size=256, seed=0, real_images=None, segment=None):
    """Compute the measures for loaded models. ``segment``: a segmenter of G(m) that never saw synthetic data
    (images (N, H, W, 1) in [-1, 1] -> instance labels, e.g. :func:`cyclegan_dct.reference.segmenter`), matched
    against m and F(G(m)) beside Otsu (``agreement``/``instance_agreement`` keys ``..._vs_stardist``).
    Returns (report dict, panel uint8)."""
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

    def read(x):
        return back_to_a(config, f, x)[..., 0] > 0

    noise_rng = np.random.default_rng(seed + 1)
    sensitivity, cycled0 = [], read(fake)
    for sigma in SIGMAS:
        s = measures.sensitivity(read, fake, lambda x, s=sigma: measures.add_grey_noise(x, s, noise_rng), truth)
        sensitivity.append({"sigma": sigma, "dice_mean": s["vs_truth"]["mean"], "dice_std": s["vs_truth"]["std"],
                            "dice_vs_clean_mean": s["vs_clean"]["mean"], "dice_vs_clean_std": s["vs_clean"]["std"]})
    perturbations = {name: measures.sensitivity(read, fake, perturb, truth) for name, perturb in PERTURBATIONS.items()}

    segmented = {"otsu": [measures.otsu_segmentation(x[..., 0]) for x in fake]}
    if segment is not None:
        segmented["stardist"] = segment(fake)
    pairs = [measures.mask_agreement({"input": truth[i], "cycled": cycled0[i], **{k: v[i] for k, v in
                                                                                 segmented.items()}})
             for i in range(len(fake))]
    agreement = {
        k: {s: measures.mean_std(p[k][s] for p in pairs) for s in ("dice", "iou")} for k in pairs[0]
    }
    instances = measures.instance_agreement({"input": masks, "cycled": [output_to_labels(c[..., None]) for c in
                                                                         cycled0], **segmented})

    if real_images is None and config.images == SIMULATED:  # the model's own domain B
        real_images = SIMULATED
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
        "perturbations": perturbations,
        "agreement": agreement,
        "instance_agreement": instances,
        "polarity": {k: v for k, v in polarity.polarity_report(truth, fake[..., 0]).items() if k != "per_image"},
        "panel_columns": list(PANEL_COLUMNS),
        "panel_header": PANEL_HEADER,
        "panel_tile": int(size * max(1, 128 // size)),
    }
    noisy = read(measures.add_grey_noise(fake[:PANEL_ROWS], PANEL_SIGMA, np.random.default_rng(seed + 2)))
    panel = visibility_panel(masks, fake[..., 0], real, cutoff, cycled0, noisy)
    return report, panel


def run_stego(model_dir, out, n=50, size=256, seed=0, real_images=None, segment=None):
    """Load the models of ``model_dir``, compute the report, write ``stego.json`` and ``stego.png`` into ``out``."""
    from cyclegan_dct import load_models

    t0 = time.perf_counter()
    config, g, f = load_models(model_dir)
    report, panel = stego_report(config, g, f, n=n, size=size, seed=seed, real_images=real_images, segment=segment)
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

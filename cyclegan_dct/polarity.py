"""Pure-numpy measures of the polarity of G (masks -> images): bright nuclei, or contrast-inverted ones?

A CycleGAN whose G draws dark nuclei on a bright background (and whose F
inverts them back) has a perfect cycle but useless synthetic data. These
measures say which way G went, without TensorFlow:

- :func:`mask_correlation`: Pearson correlation between the foreground
  indicator of a mask m and the image G(m). Positive: nuclei brighter than
  their surroundings (fluorescence); negative: inverted; ~0: unrelated.
- :func:`otsu_dice`: Dice between m and an independent Otsu segmentation of
  G(m) (bright = foreground, :func:`cyclegan_dct.measures.otsu_segmentation`).
- :func:`polarity_report`: both, per image and as mean/std, plus the fraction
  of images with a negative correlation.

Images are float arrays (H, W) or (H, W, 1) in any range; masks are boolean
or label images (H, W).
"""

from __future__ import annotations

import numpy as np

from cyclegan_dct.measures import mean_std, otsu_segmentation
from data.metrics import dice

__all__ = ["mask_correlation", "otsu_dice", "polarity_report", "invert"]


def _image2d(img):
    img = np.asarray(img, np.float64)
    if img.ndim == 3:
        img = img.mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    return img


def _foreground(mask, shape):
    fg = np.asarray(mask)
    if fg.ndim == 3 and fg.shape[-1] == 1:
        fg = fg[..., 0]
    if fg.shape != shape:
        raise ValueError(f"mask shape {fg.shape} differs from the image's {shape}")
    return fg > 0


def mask_correlation(mask, img):
    """Pearson correlation in [-1, 1] between ``mask > 0`` and ``img``; 0 when either is constant."""
    img = _image2d(img)
    fg = _foreground(mask, img.shape).astype(np.float64)
    a, b = fg - fg.mean(), img - img.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def otsu_dice(mask, img, sigma=1.0, min_size=16):
    """Dice between ``mask > 0`` and the Otsu segmentation of ``img`` (bright = foreground)."""
    img = _image2d(img)
    fg = _foreground(mask, img.shape)
    return float(dice(fg, otsu_segmentation(img, sigma=sigma, min_size=min_size) > 0))


def invert(img):
    """The contrast-inverted image ``min + max - img`` (same range, dark <-> bright)."""
    img = np.asarray(img, np.float32)
    return (img.min() + img.max() - img).astype(np.float32)


def polarity_report(masks, images):
    """Polarity of a set of (mask, G(mask)) pairs.

    Returns ``{"correlation": {mean, std, n}, "otsu_dice": {mean, std, n},
    "inverted_fraction": share of pairs with negative correlation,
    "per_image": [{"correlation", "otsu_dice"}, ...]}``.
    """
    masks, images = list(masks), list(images)
    if len(masks) != len(images) or not masks:
        raise ValueError(f"need the same non-zero number of masks and images, got {len(masks)} and {len(images)}")
    per = [{"correlation": mask_correlation(m, x), "otsu_dice": otsu_dice(m, x)} for m, x in zip(masks, images)]
    corr = [p["correlation"] for p in per]
    return {
        "correlation": mean_std(corr),
        "otsu_dice": mean_std([p["otsu_dice"] for p in per]),
        "inverted_fraction": float(np.mean(np.asarray(corr) < 0)),
        "per_image": per,
    }

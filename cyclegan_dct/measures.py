"""Pure-numpy measures of CycleGAN steganography (no TensorFlow).

Used by ``cyclegan_dct.stego`` to ask whether the generator G (masks -> images)
shows the mask as visible nuclei or hides it in a faint high-frequency signal
that F (images -> masks) reads back (Chu et al. 2017, "CycleGAN, a master of
steganography"). Images are float arrays in the model range [-1, 1], shape
(H, W) or (H, W, C); masks are boolean or integer label images (H, W).

The DCT here is the one of ``cyclegan_dct.layers.DCTLowPass``: 2D DCT-II with
orthonormal scaling along H and W; the low-pass keeps the coefficients whose
row index is below ``cutoff * H`` and whose column index is below ``cutoff * W``.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import fft, ndimage
from skimage import exposure, filters, measure, segmentation

from data.metrics import dice, iou

__all__ = [
    "keep_count",
    "lowpass_mask",
    "dct_lowpass",
    "highpass_residual",
    "high_frequency_fraction",
    "clahe",
    "otsu_segmentation",
    "add_grey_noise",
    "mask_agreement",
    "mean_std",
    "dice",
    "iou",
]


def _check_cutoff(cutoff):
    cutoff = float(cutoff)
    if not 0.0 < cutoff <= 1.0:
        raise ValueError(f"cutoff must be in (0, 1], got {cutoff}")
    return cutoff


def lowpass_mask(shape, cutoff):
    """Boolean (H, W): True for the DCT coefficients the low-pass keeps (row < cutoff*H and col < cutoff*W)."""
    cutoff = _check_cutoff(cutoff)
    h, w = int(shape[0]), int(shape[1])
    rows = np.arange(h) < keep_count(h, cutoff)
    cols = np.arange(w) < keep_count(w, cutoff)
    return rows[:, None] & cols[None, :]


def keep_count(n, cutoff):
    """Coefficients kept along an axis of length n: ceil(cutoff * n), in [1, n] (as ``DCTLowPass.keep_count``)."""
    return int(np.clip(np.ceil(float(cutoff) * n - 1e-9), 1, n))


def _dct2(img):
    return fft.dctn(np.asarray(img, np.float64), type=2, norm="ortho", axes=(0, 1))


def dct_lowpass(img, cutoff):
    """Numpy twin of ``DCTLowPass(cutoff)`` for one image (H, W) or (H, W, C); float64 out."""
    img = np.asarray(img, np.float64)
    keep = lowpass_mask(img.shape, cutoff)
    if img.ndim == 3:
        keep = keep[..., None]
    return fft.idctn(_dct2(img) * keep, type=2, norm="ortho", axes=(0, 1))


def highpass_residual(img, cutoff):
    """``img - DCTLowPass(cutoff)(img)``: what the DCT filter removes (the hidden channel's room)."""
    return np.asarray(img, np.float64) - dct_lowpass(img, cutoff)


def high_frequency_fraction(img, cutoff):
    """Fraction of the image's DCT energy at or above the cutoff, in [0, 1].

    Energy is the sum of squared orthonormal DCT coefficients (Parseval: the
    pixel energy). The DC coefficient (the mean) is left out of the total,
    because it only says how bright the image is: a constant image gives 0,
    a pure DCT basis pattern above the cutoff gives 1.
    """
    coef = _dct2(img) ** 2
    if coef.ndim == 3:
        coef = coef.sum(axis=2)
    coef[0, 0] = 0.0
    total = coef.sum()
    if total <= 0.0:
        return 0.0
    high = coef[~lowpass_mask(coef.shape, cutoff)].sum()
    return float(high / total)


def clahe(img, clip_limit=0.01):
    """Contrast-limited adaptive histogram equalisation of one image (H, W), min-max scaled first.

    Makes a faint signal visible (``skimage.exposure.equalize_adapthist``); float [0, 1] out.
    """
    img = np.asarray(img, np.float64)
    lo, hi = float(img.min()), float(img.max())
    if hi - lo <= 0.0:
        return np.zeros(img.shape, np.float64)
    return exposure.equalize_adapthist((img - lo) / (hi - lo), clip_limit=clip_limit)


def otsu_segmentation(img, sigma=1.0, min_size=16):
    """Independent nuclei segmentation of an image (H, W): Gaussian smoothing, Otsu threshold,
    small objects removed, connected components. Returns uint16 instance labels (0 = background).

    Bright = foreground, as in fluorescence. A flat image has no foreground.
    """
    img = np.asarray(img, np.float64)
    if img.ndim == 3:
        img = img.mean(axis=2)
    smooth = ndimage.gaussian_filter(img, sigma) if sigma > 0 else img
    if smooth.max() - smooth.min() <= 1e-12:
        return np.zeros(img.shape, np.uint16)
    labels = measure.label(smooth > filters.threshold_otsu(smooth), connectivity=1)
    if min_size > 1 and labels.max() > 0:
        small = np.bincount(labels.ravel()) < min_size
        small[0] = False
        labels[small[labels]] = 0
        labels = segmentation.relabel_sequential(labels)[0]
    return labels.astype(np.uint16)


def add_grey_noise(x, sigma, rng):
    """Add Gaussian noise of ``sigma`` grey levels of 255 to an image in [-1, 1] (the model range
    spans 255 grey levels, so the std is ``2 * sigma / 255``); clipped to [-1, 1]. float32 out.
    """
    x = np.asarray(x, np.float32)
    if sigma < 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return x.copy()
    noise = rng.normal(0.0, 2.0 * float(sigma) / 255.0, size=x.shape).astype(np.float32)
    return np.clip(x + noise, -1.0, 1.0)


def jpeg(x, quality=75):
    """An image in [-1, 1] (H, W) or (N, H, W[, 1]) through 8-bit JPEG at ``quality`` (OpenCV) and back.

    The compression a shared image meets: it quantises the high DCT frequencies of 8x8 blocks first, where a
    low-amplitude hidden signal lives. float32 out, same shape.
    """
    x = np.asarray(x, np.float32)
    if x.ndim > 2:
        return np.stack([jpeg(one, quality) for one in x])
    grey = np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return (cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 127.5 - 1.0).reshape(x.shape)


def blur(x, sigma=1.0):
    """A Gaussian blur of ``sigma`` pixels over the two image axes of (H, W) or (N, H, W[, C]); float32."""
    x = np.asarray(x, np.float32)
    axes = [0.0] * x.ndim
    spatial = (0, 1) if x.ndim == 2 else (1, 2)
    for a in spatial:
        axes[a] = float(sigma)
    return ndimage.gaussian_filter(x, axes).astype(np.float32)


def sensitivity(read, images, perturb, truth=None):
    """Chu et al.'s test of a hidden signal: how much the mask read back moves under a small perturbation.

    ``read(x)`` -> bool masks (N, H, W) (e.g. ``F(LP(x)) > 0``); ``images`` (N, H, W, C) in [-1, 1]; ``perturb``
    maps ``images`` to perturbed images. Returns ``{"vs_clean": Dice(read(perturb(x)), read(x)) mean/std,
    "vs_truth": Dice(read(perturb(x)), truth)}`` (the second with ``truth``). A mask drawn visibly survives a
    perturbation of a few grey levels; a mask carried by a low-amplitude signal does not.
    """
    clean, moved = read(images), read(perturb(images))
    out = {"vs_clean": mean_std(dice(c, m) for c, m in zip(clean, moved))}
    if truth is not None:
        out["vs_truth"] = mean_std(dice(t, m) for t, m in zip(truth, moved))
    return out


def mask_agreement(masks):
    """Pairwise foreground Dice and IoU between named masks.

    ``masks``: ``{name: (H, W) bool or labels}``, e.g. ``{"input": m, "cycled": ..., "otsu": ...}``.
    Returns ``{"a_vs_b": {"dice": d, "iou": j}}`` for every pair in the given order.
    """
    names = list(masks)
    fg = {k: np.asarray(v) > 0 for k, v in masks.items()}
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out[f"{a}_vs_{b}"] = {"dice": float(dice(fg[a], fg[b])), "iou": float(iou(fg[a], fg[b]))}
    return out


def instance_agreement(labels):
    """Instance matching (``stardist.matching``, IoU >= 0.5, pooled over the images) between named label lists.

    ``labels``: ``{name: [(H, W) instance labels, ...]}`` in order, e.g. input m, cycled F(G(m)) and a
    segmentation of G(m). Returns ``{"a_vs_b": {"f1", "ap", "n_a", "n_b"}}`` (a as truth) for every pair.
    """
    from data.metrics import segmentation_scores

    names = list(labels)
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            s = segmentation_scores(labels[a], labels[b], thresholds=(0.5,))
            out[f"{a}_vs_{b}"] = {"f1": s["f1"], "ap": s["ap"], "n_a": s["n_true"], "n_b": s["n_pred"]}
    return out


def mean_std(values):
    """``{"mean": ..., "std": ..., "n": ...}`` of a list of numbers (population std)."""
    v = np.asarray(list(values), np.float64)
    if v.size == 0:
        raise ValueError("mean_std of an empty list")
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}

"""Image-quality and segmentation-overlap metrics (pure numpy + scikit-image).

PSNR and SSIM compare a reconstruction with its reference (super-resolution),
and :func:`ssim_map` / :func:`abs_error_map` show where they differ (quality-control maps);
Dice and IoU compare binary foreground masks (segmentation). Instance-level
matching (F1 at an IoU threshold) is ``stardist.matching``'s job.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def _pair(ref, test):
    ref, test = np.asarray(ref), np.asarray(test)
    if ref.shape != test.shape:
        raise ValueError(f"shape mismatch: reference {ref.shape} vs test {test.shape}")
    return ref.astype(np.float64), test.astype(np.float64)


def psnr(ref, test, data_range=255):
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``; ``inf`` for identical images."""
    ref, test = _pair(ref, test)
    if np.array_equal(ref, test):
        return float("inf")
    return float(peak_signal_noise_ratio(ref, test, data_range=data_range))


def ssim(ref, test, data_range=255):
    """Mean structural similarity (Wang et al. 2004, 7x7 window as scikit-image's default).

    ``(H, W, C)`` images are compared per channel (``channel_axis=-1``) and averaged;
    ``(H, W)`` images as grey. Images smaller than 7 px use the largest odd window that fits.
    """
    ref, test = _pair(ref, test)
    return float(structural_similarity(ref, test, data_range=data_range, win_size=_ssim_window(ref.shape),
                                       channel_axis=-1 if ref.ndim == 3 else None))


def _ssim_window(shape):
    """Side of the SSIM window: 7 (scikit-image's default), or the largest odd side that fits."""
    side = min(shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        raise ValueError(f"images of shape {shape} are too small for SSIM (need >= 3 x 3)")
    return win


def ssim_map(ref, test, data_range=255):
    """Local SSIM at every pixel, float64 (H, W), on the convention of :func:`ssim` (quality-control map).

    ``skimage.metrics.structural_similarity(..., full=True)`` with the same
    window and ``data_range``; for ``(H, W, C)`` images the per-channel maps
    are averaged. 1 where ``test`` equals ``ref`` locally. The mean of the map
    without its border of ``(win - 1) // 2`` pixels (3 for the 7 px window)
    is :func:`ssim`.
    """
    ref, test = _pair(ref, test)
    multichannel = ref.ndim == 3
    _, full = structural_similarity(ref, test, data_range=data_range, win_size=_ssim_window(ref.shape),
                                    channel_axis=-1 if multichannel else None, full=True)
    return full.mean(axis=-1) if multichannel else full


def abs_error_map(ref, test):
    """``|test - ref|`` at every pixel, float64 (H, W), in the images' units; averaged over channels for (H, W, C)."""
    ref, test = _pair(ref, test)
    err = np.abs(test - ref)
    return err.mean(axis=-1) if ref.ndim == 3 else err


def _masks(a, b):
    a, b = np.asarray(a).astype(bool), np.asarray(b).astype(bool)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    return a, b


def dice(a, b):
    """Dice coefficient ``2 |A n B| / (|A| + |B|)`` of two masks (nonzero = foreground); 1 when both are empty."""
    a, b = _masks(a, b)
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return 1.0 if total == 0 else 2.0 * np.count_nonzero(a & b) / total


def iou(a, b):
    """Intersection over union (Jaccard) ``|A n B| / |A u B|`` of two masks; 1 when both are empty."""
    a, b = _masks(a, b)
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union

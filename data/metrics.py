"""Image-quality and segmentation-overlap metrics (pure numpy + scikit-image).

PSNR and SSIM compare a reconstruction with its reference (super-resolution),
and :func:`ssim_map` / :func:`abs_error_map` show where they differ (quality-control maps);
Dice and IoU compare binary foreground masks (segmentation). Instance-level
matching (F1, AP, panoptic quality at IoU thresholds) is ``stardist.matching``'s, in
:func:`segmentation_scores`.
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


IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))
"""IoU thresholds 0.5, 0.55, ..., 0.9 for the mean F1 (as in the StarDist papers)."""

COCO_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
"""IoU thresholds 0.5, 0.55, ..., 0.95 (COCO's AP@[.5:.95]; ``msrgan.evaluate --segmentation``)."""


def segmentation_scores(y_true, y_pred, thresholds=IOU_THRESHOLDS):
    """Instance segmentation scores of predicted against true label images (lists of (H, W) ints).

    Uses ``stardist.matching.matching_dataset`` (objects matched one-to-one at
    IoU >= t, pooled over the images). Returns a dict:
    ``precision``, ``recall``, ``f1``, ``ap`` (StarDist's "accuracy"
    TP / (TP + FP + FN), the average precision of the DSB 2018 / StarDist
    papers), ``tp``, ``fp``, ``fn``, ``n_true``, ``n_pred``,
    ``mean_matched_iou`` and ``panoptic_quality`` (Kirillov et al. 2019, SQ x RQ) at the first threshold
    (0.5); ``mean_f1`` and ``mean_ap`` over all thresholds; and ``per_threshold``: ``{t: {precision, recall,
    f1, ap}}``. ``stardist.matching`` imports numba, not TensorFlow.
    """
    from stardist.matching import matching_dataset

    y_true = [np.asarray(y) for y in y_true]
    y_pred = [np.asarray(y) for y in y_pred]
    if len(y_true) != len(y_pred) or not y_true:
        raise ValueError(f"need the same non-zero number of true and predicted images, "
                         f"got {len(y_true)} and {len(y_pred)}")
    thresholds = tuple(float(t) for t in thresholds)
    stats = matching_dataset(y_true, y_pred, thresh=thresholds, show_progress=False)
    if hasattr(stats, "precision"):  # one result, not one per threshold (stardist: for a scalar threshold)
        stats = [stats]
    per = {
        f"{t:.2f}": {"precision": float(s.precision), "recall": float(s.recall), "f1": float(s.f1),
                     "ap": float(s.accuracy)}
        for t, s in zip(thresholds, stats)
    }
    first = stats[0]
    return {
        "iou_threshold": thresholds[0],
        "precision": float(first.precision),
        "recall": float(first.recall),
        "f1": float(first.f1),
        "ap": float(first.accuracy),
        "tp": int(first.tp),
        "fp": int(first.fp),
        "fn": int(first.fn),
        "n_true": int(first.n_true),
        "n_pred": int(first.n_pred),
        "mean_matched_iou": float(first.mean_matched_score),
        "panoptic_quality": float(first.panoptic_quality),
        "mean_f1": float(np.mean([s.f1 for s in stats])),
        "mean_ap": float(np.mean([s.accuracy for s in stats])),
        "per_threshold": per,
    }


INSTANCE_METRICS = ("f1", "precision", "recall", "ap50", "map", "pq")
"""Keys of :func:`instance_scores`."""


def instance_scores(y_true, y_pred, thresholds=COCO_THRESHOLDS):
    """Per-image instance scores of one predicted label image against the true one (``stardist.matching``).

    Returns ``{"f1", "precision", "recall", "ap50", "map", "pq"}``: F1, precision,
    recall, average precision TP / (TP + FP + FN) and panoptic quality at the
    first threshold (IoU 0.5), and ``map`` the AP averaged over ``thresholds``
    (0.5:0.95). Two images without objects agree perfectly (all 1, where
    ``stardist.matching`` divides 0 by 0 and says 0).
    """
    from stardist.matching import matching

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: true labels {y_true.shape} vs predicted {y_pred.shape}")
    if not y_true.any() and not y_pred.any():
        return dict.fromkeys(INSTANCE_METRICS, 1.0)
    stats = matching(y_true, y_pred, thresh=[float(t) for t in thresholds])
    stats = stats if isinstance(stats, (list, tuple)) else [stats]
    first = stats[0]
    return {"f1": float(first.f1), "precision": float(first.precision), "recall": float(first.recall),
            "ap50": float(first.accuracy), "map": float(np.mean([s.accuracy for s in stats])),
            "pq": float(first.panoptic_quality)}

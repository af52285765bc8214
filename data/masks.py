"""Synthetic nuclei instance masks: randomly placed, randomly rotated ellipses (pure numpy + skimage).

The shape model of Boehland et al. (CycleGAN with DCT low-pass for nuclei
segmentation): every nucleus is an ellipse whose area and axis ratio are drawn
from normal distributions (clipped to +-2 std), rotated uniformly at random and
placed uniformly at random, fully inside the image. The number of nuclei
follows a density (nuclei per pixel) with its own mean and std. The share of a
new nucleus that may lie under nuclei placed before it is bounded by
``max_overlap``; its hidden pixels keep the earlier label, as in a 2-D
projection of touching nuclei.

Statistics can be fitted from a real label image with :func:`fit_mask_stats`
(or :func:`fit_label_file`), which first checks that the image looks like
instance labels (:func:`label_image_problem`): a photograph passed by mistake
is refused instead of giving hundreds of tiny "nuclei".
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from skimage.draw import ellipse
from skimage.measure import label as connected_pieces
from skimage.measure import regionprops

from data.engine.config import Config
from data.io import ImageError, read_image


@dataclasses.dataclass(frozen=True)
class MaskStats(Config):
    """Distribution of nuclei in a label image; all sizes in pixels.

    Attributes:
        density: mean number of nuclei per pixel (x H x W = expected count).
        density_std: std of the density between images (0: fixed count).
        area_mean, area_std: nucleus area (px^2).
        axis_ratio_mean, axis_ratio_std: minor / major axis, in (0, 1].
        max_overlap: largest fraction of a nucleus' ellipse hidden under earlier nuclei, in [0, 1).
    """

    density: float
    density_std: float
    area_mean: float
    area_std: float
    axis_ratio_mean: float
    axis_ratio_std: float
    max_overlap: float = 0.1

    def problems(self):
        checks = (
            ("density", self.density >= 0), ("density_std", self.density_std >= 0),
            ("area_mean", self.area_mean >= 3), ("area_std", self.area_std >= 0),
            ("axis_ratio_mean", 0 < self.axis_ratio_mean <= 1), ("axis_ratio_std", self.axis_ratio_std >= 0),
            ("max_overlap", 0 <= self.max_overlap < 1),
        )
        return [f"{name}={getattr(self, name)!r}" for name, ok in checks if not ok]

    def to_dict(self):
        """Plain dict of floats (JSON-able); ``MaskStats.from_dict(d)`` rebuilds it."""
        return {k: float(v) for k, v in dataclasses.asdict(self).items()}


DEFAULT_STATS = MaskStats(
    density=4.8e-4, density_std=1.7e-4,
    area_mean=440.0, area_std=145.0,
    axis_ratio_mean=0.63, axis_ratio_std=0.14,
    max_overlap=0.1,
)
"""Defaults fitted (rounded) with :func:`fit_mask_stats` on the StarDist demo labels
(``stardist.data.test_image_nuclei_2d``, 512 x 512, density std over 128 px tiles):
about 31 nuclei of ~440 px^2 (~24 px across) in a 256 x 256 crop, minor/major axis
~0.63; at most 10 % of a
nucleus hidden under its neighbours."""


MIN_LABEL_AREA = 9
"""Smallest mean area (px) of a nucleus in a label image that :func:`label_image_problem` accepts."""

MAX_PIECES_PER_LABEL = 2
"""Largest mean number of separate (8-connected) pieces per label that :func:`label_image_problem` accepts."""


def label_image_problem(labels):
    """Why ``labels`` does not look like an instance label image, or ``None`` when it does.

    An instance label image is 2-D and integer, 0 is the background, and each
    nucleus is one connected region of one value: too many labels for the
    area (mean below :data:`MIN_LABEL_AREA` px) or labels scattered in many
    pieces (more than :data:`MAX_PIECES_PER_LABEL` per label) mean a
    photograph or a probability map, not labels.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        return f"labels must be a 2-D integer image, got {labels.dtype} {labels.shape}"
    values = np.unique(labels)
    n = int(np.count_nonzero(values))
    if n == 0:
        return "labels contain no nuclei (all zero)"
    area = np.count_nonzero(labels) / n
    if area < MIN_LABEL_AREA:
        return (f"does not look like instance labels: {n} labels of {area:.1f} px on average "
                f"(fewer than {MIN_LABEL_AREA}); is it a photograph?")
    if n > 1:
        pieces = int(connected_pieces(labels, background=0, connectivity=2).max())
        if pieces > MAX_PIECES_PER_LABEL * n:
            return (f"does not look like instance labels: {n} labels in {pieces} separate pieces "
                    f"(one connected region per nucleus expected); is it a photograph?")
    return None


def fit_label_file(path, max_overlap=DEFAULT_STATS.max_overlap):
    """:func:`fit_mask_stats` of the label image file ``path``; :class:`data.io.ImageError` naming it if unfit."""
    labels = read_image(path)
    if labels.ndim != 2:
        raise ImageError(path, f"expected a 2-D instance label image, got shape {labels.shape}")
    problem = label_image_problem(labels)
    if problem:
        raise ImageError(path, problem)
    return fit_mask_stats(labels, max_overlap=max_overlap)


def fit_mask_stats(labels, tile=128, max_overlap=DEFAULT_STATS.max_overlap):
    """Fit :class:`MaskStats` to a real instance label image (2-D int, 0 = background).

    Area and axis ratio (``regionprops`` minor / major axis length) come from the
    nuclei that do not touch the image border (border nuclei are cut); the density
    counts every nucleus, its std is taken over ``tile`` x ``tile`` tiles (counting
    a nucleus in the tile holding its centroid).
    """
    labels = np.asarray(labels)
    problem = label_image_problem(labels)
    if problem:
        raise ValueError(problem)
    props = regionprops(labels)
    h, w = labels.shape
    inner = [p for p in props
             if p.bbox[0] > 0 and p.bbox[1] > 0 and p.bbox[2] < h and p.bbox[3] < w and p.axis_major_length > 0]
    inner = inner or props
    area = np.array([p.area for p in inner], np.float64)
    ratio = np.array([p.axis_minor_length / max(p.axis_major_length, 1e-6) for p in inner], np.float64)
    ratio = np.clip(ratio, 1e-3, 1.0)
    density = len(props) / float(h * w)
    ty, tx = max(h // tile, 1), max(w // tile, 1)
    if ty * tx > 1:
        cy = np.array([p.centroid[0] for p in props])
        cx = np.array([p.centroid[1] for p in props])
        counts = np.zeros((ty, tx))
        rows = np.minimum(cy * ty // h, ty - 1).astype(int)
        cols = np.minimum(cx * tx // w, tx - 1).astype(int)
        np.add.at(counts, (rows, cols), 1)
        density_std = float(counts.std() / ((h / ty) * (w / tx)))
    else:
        density_std = 0.0
    return MaskStats(density=density, density_std=density_std,
                     area_mean=float(area.mean()), area_std=float(area.std()),
                     axis_ratio_mean=float(ratio.mean()), axis_ratio_std=float(ratio.std()),
                     max_overlap=max_overlap)


def _clipped_normal(rng, mean, std, lo=-math.inf, hi=math.inf, size=None):
    """Normal samples clipped to mean +- 2 std and to [lo, hi]."""
    x = rng.normal(mean, std, size) if std > 0 else np.full(size or (), float(mean))
    return np.clip(np.clip(x, mean - 2 * std, mean + 2 * std), lo, hi)


def random_ellipse_labels(shape, stats=None, rng=None, max_tries=50, return_ellipses=False):
    """Instance labels of random ellipse nuclei, uint16 ``shape`` (H, W), 0 = background, 1..n.

    Args:
        shape: (H, W).
        stats: :class:`MaskStats` (default :data:`DEFAULT_STATS`).
        rng: ``numpy.random.Generator`` or int seed (default: fresh entropy).
        max_tries: placements tried per nucleus before it is dropped (only at
            densities the overlap bound cannot meet).
        return_ellipses: also return the drawn ellipses, row k-1 = label k:
            float array (n, 5) of (centre row, centre col, row radius, col radius, rotation)
            as passed to ``skimage.draw.ellipse``.
    """
    stats = DEFAULT_STATS if stats is None else stats
    rng = np.random.default_rng(rng)
    h, w = (int(s) for s in shape)
    if h < 4 or w < 4:
        raise ValueError(f"shape must be at least 4 x 4, got {shape}")
    density = float(_clipped_normal(rng, stats.density, stats.density_std, lo=0.0))
    n = int(round(density * h * w))
    labels = np.zeros((h, w), np.uint16)
    max_area = 0.25 * h * w  # an ellipse must fit inside the image
    label = 0
    ellipses = []
    for _ in range(n):
        area = float(_clipped_normal(rng, stats.area_mean, stats.area_std, lo=3.0, hi=max_area))
        ratio = float(_clipped_normal(rng, stats.axis_ratio_mean, stats.axis_ratio_std, lo=0.1, hi=1.0))
        a = math.sqrt(area / (math.pi * ratio))  # semi-major axis; area = pi a b, b = ratio a
        b = ratio * a
        for _ in range(max_tries):
            theta = rng.uniform(-math.pi / 2, math.pi / 2)
            # half extents of the rotated ellipse's bounding box
            ey = math.sqrt((a * math.sin(theta)) ** 2 + (b * math.cos(theta)) ** 2)
            ex = math.sqrt((a * math.cos(theta)) ** 2 + (b * math.sin(theta)) ** 2)
            if 2 * ey + 1 > h or 2 * ex + 1 > w:
                a, b = a * 0.9, b * 0.9
                continue
            cy = rng.uniform(ey, h - 1 - ey)
            cx = rng.uniform(ex, w - 1 - ex)
            rr, cc = ellipse(cy, cx, b, a, shape=(h, w), rotation=theta)
            if rr.size == 0:
                continue
            hidden = np.count_nonzero(labels[rr, cc])
            if hidden <= stats.max_overlap * rr.size and hidden < rr.size:
                label += 1
                free = labels[rr, cc] == 0
                labels[rr[free], cc[free]] = label
                ellipses.append((cy, cx, b, a, theta))
                break
    if return_ellipses:
        return labels, np.array(ellipses, np.float64).reshape(-1, 5)
    return labels

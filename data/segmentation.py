"""Nuclei segmentation without training, and instance label files (pure numpy + scikit-image + tifffile).

:func:`read_instance_labels` reads a ground-truth label image and refuses
anything that is not one. :func:`watershed_nuclei` is the classical segmenter,
smoothing, Otsu, distance-transform watershed:

The textbook pipeline of fluorescence nuclei segmentation (e.g. the scikit-image
watershed example, CellProfiler's IdentifyPrimaryObjects with "shape"
declumping), every parameter derived from one number fixed before looking at
any result, the expected nucleus diameter ``d`` in pixels (:class:`WatershedParams`):

1. Gaussian smoothing of std ``d / 12`` (1 px for the demo's 12 px nuclei);
2. Otsu's threshold of the smoothed image, holes filled, objects smaller than
   a tenth of a nucleus (``0.1 * pi * d**2 / 4``) removed;
3. Euclidean distance transform of the foreground, smoothed like the image;
   its local maxima at least ``d / 3`` apart (one per nucleus; two touching
   nuclei keep two maxima, one nucleus' irregular outline does not make two);
4. marker-controlled watershed of the negated distance inside the foreground.

Used by ``msrgan.evaluate --segmentation`` as the segmenter that needs no training.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage import feature, filters, segmentation

from data.io import ImageError, read_image

DEMO_NUCLEUS_DIAMETER = 12.0
"""Median diameter in px of a whole nucleus in the demo's 96 px fields (``benchmarks/demo_realism.py``)."""


@dataclasses.dataclass(frozen=True)
class WatershedParams:
    """Parameters of :func:`watershed_nuclei`, all derived from ``nucleus_diameter`` (px)."""

    nucleus_diameter: float = DEMO_NUCLEUS_DIAMETER

    def __post_init__(self):
        if not (isinstance(self.nucleus_diameter, (int, float)) and 2.0 <= self.nucleus_diameter <= 1000.0):
            raise ValueError(f"nucleus_diameter={self.nucleus_diameter!r} (must be a number of px in [2, 1000])")

    @property
    def sigma(self):
        """Std of the Gaussian smoothing, px."""
        return self.nucleus_diameter / 12.0

    @property
    def min_size(self):
        """Smallest object kept, px (a tenth of a nucleus' area)."""
        return max(1, int(round(0.1 * math.pi * self.nucleus_diameter**2 / 4.0)))

    @property
    def min_distance(self):
        """Smallest distance between two watershed markers, px."""
        return max(1, int(round(self.nucleus_diameter / 3.0)))

    def to_dict(self):
        return {"nucleus_diameter": float(self.nucleus_diameter), "sigma": self.sigma, "min_size": self.min_size,
                "min_distance": self.min_distance, "threshold": "Otsu of the smoothed image"}


def watershed_nuclei(img, params=None):
    """Instance labels (int32 (H, W), 0 = background) of the bright nuclei in the grey image ``img`` (H, W).

    ``params``: :class:`WatershedParams` (default: the demo's 12 px nuclei).

    A flat image, or one whose Otsu foreground is empty after the size filter, gives no nuclei.
    """
    params = params or WatershedParams()
    img = np.asarray(img, np.float64)
    if img.ndim != 2:
        raise ValueError(f"watershed_nuclei expects one grey channel (H, W), got shape {img.shape}")
    smooth = ndimage.gaussian_filter(img, params.sigma)
    if float(smooth.max() - smooth.min()) <= 1e-9 * max(1.0, float(np.abs(smooth).max())):
        return np.zeros(img.shape, np.int32)
    fg = ndimage.binary_fill_holes(smooth > filters.threshold_otsu(smooth))
    components = ndimage.label(fg)[0]
    small = np.bincount(components.ravel()) < params.min_size
    small[0] = True
    fg = ~small[components]
    if not fg.any():
        return np.zeros(img.shape, np.int32)
    components[~fg] = 0
    dist = ndimage.gaussian_filter(ndimage.distance_transform_edt(fg), params.sigma)
    peaks = feature.peak_local_max(dist, min_distance=params.min_distance, labels=components, exclude_border=False)
    markers = np.zeros(img.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # a component without a peak (possible on a plateau) keeps one marker at its largest distance
    missing = np.setdiff1d(np.unique(components[fg]), np.unique(components[markers > 0]))
    for k, comp in enumerate(missing, start=len(peaks) + 1):
        where = np.flatnonzero((components == comp).ravel())
        markers.flat[where[np.argmax(dist.flat[where])]] = k
    labels = segmentation.watershed(-dist, markers, mask=fg)
    return segmentation.relabel_sequential(labels)[0].astype(np.int32)


def read_instance_labels(path, shape=None):
    """An instance label image (int32 (H, W), 0 = background) from a PNG or TIFF file.

    Raises :class:`data.io.ImageError` naming the file when it is missing or
    unreadable, has more than one channel, is not of an integer type (a float
    or a probability map is not a label image), or, when ``shape`` is given,
    is not ``shape`` (H, W).
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff") and path.is_file():
        try:
            raw = tifffile.imread(str(path))
        except Exception as e:  # tifffile raises many types for corrupt files
            raise ImageError(path, f"cannot read label image ({e})") from e
        if raw.dtype.kind not in "iub":
            raise ImageError(path, f"is not an integer instance label image (pixel type {raw.dtype})")
        if raw.size and raw.min() < 0:
            raise ImageError(path, f"is not an instance label image (negative value {raw.min()})")
    labels = read_image(path)
    if labels.ndim != 2:
        raise ImageError(path, f"is not an instance label image: shape {labels.shape}, expected one channel (H, W)")
    if shape is not None and labels.shape != tuple(shape):
        raise ImageError(path, f"label image is {labels.shape[0]} x {labels.shape[1]} px, its image "
                               f"{shape[0]} x {shape[1]}")
    return labels.astype(np.int32)

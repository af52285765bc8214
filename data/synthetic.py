"""Embedded demo data: class-balanced train/test splits of simulated HPA fields of view (pure numpy + cv2).

Each 96 x 96 RGB image is a field drawn by :mod:`data.simulation` (R =
microtubules, G = the protein whose localisation is the image's class, B =
DAPI; 10-30 touching cells, statistics in :class:`data.simulation.stats.FieldStats`),
with the exact nuclei and cell instance labels beside it (``with_labels=True``).

Image ``i`` of a set depends only on ``(seed, i)`` and has label ``i % 13``.
The train/test split is stratified by class (:func:`split_indices`): the
``round(n * test_fraction)`` test images are shared among the classes in
proportion to their sizes (largest remainders, ties broken by the seed), each
class giving its lowest indices; the train split is the rest. Both splits are
class-balanced (within one) and disjoint. ``benchmarks/demo_realism.py`` measures the
generation time and how hard and how HPA-like the fields are; results are cached in memory.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from data import N_CLASSES, TEST_FRACTION
from data.simulation.field import SIZE, render_field

log = logging.getLogger(__name__)

__all__ = ["SIZE", "clear_cache", "demo_nuclei", "demo_split", "render_field", "split_indices"]

NUCLEI_SEED = 2023
"""Seed of :func:`demo_nuclei`'s fields (a stream of its own: no demo HPA field repeats among them)."""

_TIE_STRIDE = 5  # coprime with 13: steps of 5 visit every class, neighbours in the order are far apart


def demo_split(split="train", n=1300, test_fraction=TEST_FRACTION, seed=0, with_labels=False):
    """Class-balanced demo images of one split (stratified by class, see :func:`split_indices`).

    Args:
        split: ``"train"`` or ``"test"``.
        n: images in both splits together (train gets ``n - n_test``).
        test_fraction: share of the ``n`` images in the test split.
        seed: the data set's seed; same arguments give identical arrays.
        with_labels: also return the instance labels.

    Returns:
        ``(images, labels)``: uint8 ``(N, 96, 96, 3)`` RGB and int64 ``(N,)`` class labels in 0..12; with
        ``with_labels``, ``(images, labels, nuclei, cells)`` with uint16 ``(N, 96, 96)`` instance labels
        (0 = background; nucleus ``i`` lies in cell ``i``). Fresh copies of an in-memory cache, safe to modify.
    """
    arrays = _cached_split(str(split), int(n), float(test_fraction), int(seed))
    return tuple(a.copy() for a in (arrays if with_labels else arrays[:2]))


def demo_nuclei(split="train", n=200):
    """Fluorescence nuclei images with exact instance labels: the DAPI channel of ``n`` simulated fields.

    ``(images uint8 (n, 96, 96), labels uint16 (n, 96, 96))``. Field ``i`` of a split depends only on
    ``(NUCLEI_SEED, split, i)``; ``"train"`` and ``"test"`` are disjoint streams, so the first ``n`` test
    fields are the same whatever ``n`` the training side used. Nuclei carry the simulator's blur (PSF),
    Poisson-Gaussian noise, uneven illumination and per-cell DNA content (brightness spread 0.55-1.6x).
    The domain B of ``cyclegan_dct``'s ``--images simulated`` (and its held-out labelled test images).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return _cached_nuclei(split, int(n))


@functools.lru_cache(maxsize=4)
def _cached_nuclei(split, n):
    images = np.empty((n, SIZE, SIZE), np.uint8)
    labels = np.empty((n, SIZE, SIZE), np.uint16)
    stream = ("train", "test").index(split)
    for i in range(n):
        field = render_field(i % N_CLASSES, np.random.default_rng((NUCLEI_SEED, stream, i)))
        images[i], labels[i] = field.image[..., 2], field.nuclei
    for a in (images, labels):
        a.setflags(write=False)
    return images, labels


def clear_cache():
    """Forget the cached splits (benchmarks time a fresh generation)."""
    _cached_split.cache_clear()
    _cached_nuclei.cache_clear()


def split_indices(split, n, test_fraction, seed=0):
    """Indices (into the seed's image sequence, ascending) that make up ``split``, stratified by class.

    The test split has ``round(n * test_fraction)`` images. Class ``c`` (indices
    ``c, c + 13, ...``) gives its first ``k_c`` indices, where ``k_c`` is its
    proportional share ``n_test * n_c / n`` rounded by largest remainders; classes
    with equal remainders are taken in steps of 5 classes from a start drawn from
    ``seed``, so a test split smaller than the 13 classes holds distinct classes spread
    over the 13 (e.g. 03, 08, 00) rather than always 00, 01, 02. When ``n_test`` is a multiple of 13 and every class has
    the same size this is the first ``n_test`` indices (as before the split was stratified).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    n_test = int(round(n * test_fraction))
    labels = np.arange(n) % N_CLASSES
    sizes = np.bincount(labels, minlength=N_CLASSES)
    quota = n_test * sizes / n
    take = np.floor(quota).astype(int)
    # ties: classes in a spread-out order (stride 5 on the 13 classes, a seed-chosen start), so a few
    # extra test images come from classes far apart, e.g. 00, 05, 10 rather than 00, 01, 02
    start = int(np.random.default_rng((int(seed), n, n_test)).integers(N_CLASSES))
    tie_order = (start + _TIE_STRIDE * np.arange(N_CLASSES)) % N_CLASSES
    rank = np.empty(N_CLASSES, int)
    rank[tie_order] = np.arange(N_CLASSES)
    extra = sorted(range(N_CLASSES), key=lambda c: (-(quota[c] - take[c]), rank[c]))[: n_test - int(take.sum())]
    take[extra] += 1
    if 0 < n_test < N_CLASSES:
        log.warning("demo test split of %d image(s) cannot hold all %d classes (n=%d, test_fraction=%g)",
                    n_test, N_CLASSES, n, test_fraction)
    order_in_class = np.arange(n) // N_CLASSES  # index i is the (i // 13)-th image of its class
    is_test = order_in_class < take[labels]
    return np.flatnonzero(is_test if split == "test" else ~is_test)


@functools.lru_cache(maxsize=8)
def _cached_split(split, n, test_fraction, seed):
    idx = split_indices(split, n, test_fraction, seed)
    images = np.empty((len(idx), SIZE, SIZE, 3), np.uint8)
    nuclei = np.empty((len(idx), SIZE, SIZE), np.uint16)
    cells = np.empty((len(idx), SIZE, SIZE), np.uint16)
    for k, i in enumerate(idx):
        images[k], nuclei[k], cells[k] = render_field(int(i) % N_CLASSES, np.random.default_rng((seed, int(i))))
    labels = (idx % N_CLASSES).astype(np.int64)
    out = (images, labels, nuclei, cells)
    for a in out:
        a.setflags(write=False)
    return out

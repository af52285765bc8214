"""Embedded demo data: deterministic HPA-like fluorescence fields of view (pure numpy + cv2).

Each 96 x 96 RGB image is a field of 3-5 cells stained as in the Human
Protein Atlas: blue = DAPI nuclei (chromatin texture, dim nucleoli), red =
microtubules (curved filaments from the perinuclear region to the cell edge), green = the
protein, whose localisation follows the image's class (``data.CLASS_NAMES``,
CYTO 2017 major13). Fields are drawn at 2x (192 px) and area-downsampled,
blurred by a Gaussian PSF and given shot + read noise, so that the 96 px
image has sub-pixel structure that a 4x super-resolution model must recover.

Image ``i`` of a set depends only on ``(seed, i)`` and has label ``i % 13``.
The train/test split is stratified by class (:func:`split_indices`): the
``round(n * test_fraction)`` test images are shared among the classes in
proportion to their sizes (largest remainders, ties broken by the seed), each
class giving its lowest indices; the train split is the rest. Both splits are
class-balanced (within one) and disjoint. Generation takes 2-3 ms per image on one core
(``benchmarks/data_synthetic.py``); results are cached in memory.
"""

from __future__ import annotations

import functools
import logging

import cv2
import numpy as np

from data import N_CLASSES, TEST_FRACTION

log = logging.getLogger(__name__)

SIZE = 96
"""Side of a demo image in pixels (the mSRGAN high-resolution size)."""

_TIE_STRIDE = 5  # coprime with 13: steps of 5 visit every class, neighbours in the order are far apart
_S = 2  # supersampling factor: drawing happens on a (2*SIZE)^2 canvas
_H = SIZE * _S
_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
_FP = 1 << _SHIFT


def demo_split(split="train", n=1300, test_fraction=TEST_FRACTION, seed=0):
    """Class-balanced demo images of one split (stratified by class, see :func:`split_indices`).

    Args:
        split: ``"train"`` or ``"test"``.
        n: images in both splits together (train gets ``n - n_test``).
        test_fraction: share of the ``n`` images in the test split.
        seed: the data set's seed; same arguments give identical arrays.

    Returns:
        ``(images, labels)``: uint8 ``(N, 96, 96, 3)`` RGB and int64 ``(N,)`` in 0..12.
        Fresh copies of an in-memory cache, safe to modify.
    """
    images, labels = _cached_split(str(split), int(n), float(test_fraction), int(seed))
    return images.copy(), labels.copy()


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
    for k, i in enumerate(idx):
        images[k] = render_field(int(i) % N_CLASSES, np.random.default_rng((seed, int(i))))
    labels = (idx % N_CLASSES).astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


# ---------------------------------------------------------------- geometry


def _noise(rng, sigma):
    """Smooth Gaussian noise on the canvas, unit std, correlation length ~ ``sigma`` px."""
    small = _H // 2
    z = rng.standard_normal((small, small), np.float32)
    z = cv2.GaussianBlur(z, (0, 0), sigma / 2)
    z = cv2.resize(z, (_H, _H), interpolation=cv2.INTER_LINEAR)
    return z / max(float(z.std()), 1e-6)


def _fp(points):
    """Float canvas coordinates (..., 2) as int32 fixed point for cv2 ``shift``."""
    return np.round(np.asarray(points) * _FP).astype(np.int32)


def _place_cells(rng):
    """Cell centres (k, 2), radii (k,) on the canvas; rejection-sampled, edge cells allowed."""
    k_target = int(rng.integers(3, 6))
    centres, radii = [], []
    for _attempt in range(60):
        r = rng.uniform(15, 21) * _S
        c = rng.uniform(0.3, 0.7, 2) * _H if not centres else rng.uniform(-0.05, 1.05, 2) * _H
        if all(np.hypot(*(c - c2)) > 0.85 * (r + r2) for c2, r2 in zip(centres, radii)):
            centres.append(c)
            radii.append(r)
            if len(centres) == k_target:
                break
    return np.array(centres, np.float32), np.array(radii, np.float32)


def _cell_polygon(rng, c, r):
    """Irregular closed outline: ellipse plus low harmonics, 40 vertices."""
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rad = r * (1 + rng.uniform(0.05, 0.2) * np.cos(2 * (t - rng.uniform(0, np.pi))))
    for h in (3, 4, 5):
        rad *= 1 + rng.uniform(0, 0.06) * np.cos(h * t + rng.uniform(0, 2 * np.pi))
    return c + np.stack([rad * np.cos(t), rad * np.sin(t)], 1)


def _curves(rng, starts, angles, n_steps, step, wiggle):
    """Random-walk polylines (m, n_steps + 1, 2) from ``starts`` (m, 2) heading ``angles`` (m,)."""
    m = len(starts)
    turn = rng.normal(0, wiggle, (m, n_steps))
    theta = angles[:, None] + np.cumsum(turn, 1)
    steps = np.stack([np.cos(theta), np.sin(theta)], -1) * step
    pts = np.concatenate([starts[:, None, :], starts[:, None, :] + np.cumsum(steps, 1)], 1)
    return pts


def _polylines(canvas, pts, thickness=1):
    if len(pts):
        cv2.polylines(canvas, list(_fp(pts)), False, 255, thickness, cv2.LINE_AA, _SHIFT)


def _dots(canvas, centres, radii, value=255):
    for (x, y), r in zip(_fp(centres), np.atleast_1d(radii) * np.ones(len(centres))):
        cv2.circle(canvas, (int(x), int(y)), max(int(round(r * _FP)), 1), value, -1, cv2.LINE_AA, _SHIFT)


def _annulus_points(rng, m, c, r_in, r_out, bias=1.0):
    """``m`` random points around ``c`` at radii in [r_in, r_out]; ``bias`` > 1 favours the inside."""
    ang = rng.uniform(0, 2 * np.pi, m)
    rad = r_in + (r_out - r_in) * rng.uniform(0, 1, m) ** bias
    return c + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)


# ---------------------------------------------------------------- rendering


def render_field(label, rng):
    """One demo field of class ``label`` (0..12) as uint8 (96, 96, 3) RGB."""
    if not 0 <= label < N_CLASSES:
        raise ValueError(f"label must be in 0..{N_CLASSES - 1}, got {label}")
    centres, radii = _place_cells(rng)
    k = len(centres)
    cells = np.zeros((_H, _H), np.uint8)  # cell index + 1
    nuclei = np.zeros((_H, _H), np.uint8)
    mt = np.zeros((_H, _H), np.uint8)  # microtubule filaments (red; green for class 9)
    spots = np.zeros((_H, _H), np.uint8)  # class-specific drawn green structures
    dapi_dim = np.zeros((_H, _H), np.uint8)  # nucleoli: dim in DAPI
    for j in range(k):
        c, r = centres[j], radii[j]
        cv2.fillPoly(cells, [_fp(_cell_polygon(rng, c, r))], j + 1, cv2.LINE_8, _SHIFT)
    for j in range(k):
        c, r = centres[j], radii[j]
        a = r * rng.uniform(0.42, 0.52)
        b = a * rng.uniform(0.72, 0.95)
        phi = rng.uniform(0, 180)
        nc = c + rng.uniform(-0.12, 0.12, 2) * r
        cv2.ellipse(nuclei, (_fp(nc)[0].item(), _fp(nc)[1].item()), (int(a * _FP), int(b * _FP)),
                    phi, 0, 360, j + 1, -1, cv2.LINE_8, _SHIFT)
        # nucleoli: 1-3 spots inside the nucleus
        m = int(rng.integers(1, 4))
        nl = _annulus_points(rng, m, nc, 0, 0.5 * b)
        nl_r = rng.uniform(1.2, 2.0, m) * _S
        _dots(dapi_dim, nl, nl_r)
        # microtubules: a meshwork of curved filaments leaving the perinuclear region for the cell edge,
        # organised by the centrosome beside the nucleus
        towards = rng.uniform(0, 2 * np.pi)
        cs = nc + (a + 1.5 * _S) * np.array([np.cos(towards), np.sin(towards)])
        n_mt = int(rng.integers(16, 26))
        ang = rng.uniform(0, 2 * np.pi, n_mt)
        starts = nc + np.stack([a * 1.05 * np.cos(ang), b * 1.05 * np.sin(ang)], 1)
        heading = ang + rng.normal(0, 0.7, n_mt)
        _polylines(mt, _curves(rng, starts, heading, 10, (r - 0.7 * a) / 8, 0.28), 1)
        _draw_green(label, rng, spots, c, r, nc, a, b, cs, nl, nl_r)
    in_cell = (cells > 0).astype(np.float32)
    nuc = (nuclei > 0).astype(np.float32) * in_cell
    cyto = in_cell - nuc
    tex = _noise(rng, 3.0 * _S)
    u = np.float32(1 / 255)
    mt_f, dim_f = mt * u, dapi_dim * u

    # per-cell variability (cell cycle, expression): lookup by cell index
    dapi_level = np.r_[0, rng.uniform(0.6, 1.0, k)].astype(np.float32)
    expr = np.r_[0, rng.uniform(0.35, 1.0, k)].astype(np.float32)
    rgb = np.empty((_H, _H, 3), np.float32)
    rgb[..., 2] = nuc * dapi_level[cells] * (0.8 + 0.12 * tex) * (1 - 0.55 * dim_f)
    rgb[..., 0] = mt_f * (0.7 * in_cell - 0.49 * nuc) + cyto * (0.18 + 0.054 * tex)
    green = _green_field(label, rng, spots * u, mt_f, dim_f, nuc, cyto, cells, tex, radii)
    rgb[..., 1] = green * expr[cells] * in_cell

    gains = np.array([rng.uniform(0.6, 0.9), rng.uniform(0.55, 0.95), rng.uniform(0.6, 0.9)], np.float32)
    rgb = cv2.resize(rgb * gains, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.9)  # optical PSF, sigma 0.9 px
    # background + shot noise (Gaussian approximation of Poisson) + read noise
    rgb += rng.uniform(0.01, 0.04, 3).astype(np.float32)
    photons = rng.uniform(150, 400)
    noise = rng.standard_normal(rgb.shape, np.float32)
    rgb += noise * np.sqrt(np.maximum(rgb, 0) / photons + 0.006**2)
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def _draw_green(label, rng, canvas, c, r, nc, a, b, cs, nl, nl_r):
    """Draw the per-cell, class-specific green structures of one cell onto ``canvas`` (uint8)."""
    if label == 1:  # nucleoli
        _dots(canvas, nl, nl_r * 1.1)
    elif label == 3:  # Golgi: compact perinuclear cluster on one side
        ang = np.arctan2(*(cs - nc)[::-1])
        m = int(rng.integers(6, 12))
        spread = rng.uniform(-0.6, 0.6, m) + ang
        rad = a + rng.uniform(1.0, 5.0, m) * _S
        pts = nc + np.stack([rad * np.cos(spread), rad * np.sin(spread)], 1)
        _dots(canvas, pts, rng.uniform(0.8, 1.7, m) * _S)
    elif label == 5:  # vesicles: many small dots in the cytoplasm
        m = int(rng.integers(18, 36))
        _dots(canvas, _annulus_points(rng, m, c, a * 1.1, r * 0.92), rng.uniform(0.6, 1.1, m) * _S)
    elif label == 7:  # mitochondria: short worms, denser near the nucleus
        m = int(rng.integers(22, 40))
        starts = _annulus_points(rng, m, nc, a * 1.05, r * 0.9, bias=1.6)
        _polylines(canvas, _curves(rng, starts, rng.uniform(0, 2 * np.pi, m), 4, 1.1 * _S, 0.35), 2)
    elif label == 10:  # centrosome: one or two bright dots at the aster's centre
        pts = cs[None] + (rng.normal(0, 0.8, (int(rng.integers(1, 3)), 2)) * _S)
        _dots(canvas, pts, 1.3 * _S)
    elif label == 11:  # actin: straight parallel stress fibres across the cell
        m = int(rng.integers(6, 11))
        ang = rng.uniform(0, np.pi) + rng.normal(0, 0.08, m)
        off = rng.uniform(-0.85, 0.85, m) * r
        normal = np.stack([-np.sin(ang), np.cos(ang)], 1)
        along = np.stack([np.cos(ang), np.sin(ang)], 1)
        mid = c + normal * off[:, None]
        half = np.sqrt(np.maximum(r**2 - off**2, 1.0))[:, None] * 1.1
        _polylines(canvas, np.stack([mid - along * half, mid + along * half], 1), 1)
    elif label == 12:  # intermediate filaments: wavy arcs wrapping the nucleus (perinuclear cage)
        m = int(rng.integers(9, 15))
        rad = a + rng.uniform(0.5, 1.0, m) ** 1.5 * (r - a) * 0.85
        ang = rng.uniform(0, 2 * np.pi, m)
        starts = nc + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
        steps = 12
        step = rad * rng.uniform(0.12, 0.2, m)
        heading = ang + np.pi / 2 * rng.choice([-1, 1], m)
        # curvature 1/rad so that each filament follows a circle around the nucleus, plus wiggle
        turn = np.sign(np.sin(heading - ang))[:, None] * (step / rad)[:, None] + rng.normal(0, 0.18, (m, steps))
        theta = heading[:, None] + np.cumsum(turn, 1)
        pts = starts[:, None] + np.cumsum(np.stack([np.cos(theta), np.sin(theta)], -1) * step[:, None, None], 1)
        _polylines(canvas, np.concatenate([starts[:, None], pts], 1), 1)


def _rim(mask, width):
    """Inner rim of a boolean mask, ``width`` px wide."""
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), iterations=width)).astype(np.float32)


def _green_field(label, rng, spots, mt, dim, nuc, cyto, cells, tex, radii):
    """The float green channel (before per-cell expression) of class ``label`` on the canvas."""
    r_mean = float(radii.mean())
    if label == 0:  # nucleoplasm: whole nucleus, textured, nucleoli excluded
        return nuc * (0.75 + 0.2 * tex) * (1 - 0.8 * dim)
    if label == 1:
        return spots + 0.06 * nuc
    if label == 2:  # nuclear envelope
        return _rim(nuc, 2 * _S) * 1.0 + 0.05 * nuc
    if label == 4:  # ER: reticular network of thin tubules, perinuclear, continuous with the envelope
        q = _noise(rng, 1.6 * _S)
        net = np.exp(-((q / 0.35) ** 2))
        dist_nuc = cv2.distanceTransform((nuc == 0).astype(np.uint8), cv2.DIST_L2, 3)
        falloff = np.exp(-dist_nuc / np.float32(0.5 * r_mean))
        return cyto * net * (0.3 + 0.7 * falloff) + 0.6 * _rim(nuc, _S) + 0.06 * cyto
    if label == 6:  # plasma membrane: cell outline, including contacts between cells
        edges = (cells != cv2.erode(cells, np.ones((3, 3), np.uint8))) | (cells != cv2.dilate(cells, np.ones((3, 3))))
        edges = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=_S - 1) > 0
        return edges * (cells > 0) * 0.9 + 0.05 * cyto
    if label == 8:  # cytosol: diffuse, fills the cytoplasm, thinner towards the edge
        edge = cv2.distanceTransform((cells > 0).astype(np.uint8), cv2.DIST_L2, 3)
        return cyto * (0.55 + 0.1 * tex) * np.minimum(1.0, 0.3 + edge / (0.25 * r_mean))
    if label == 9:
        return mt * 0.9 + 0.05 * cyto
    if label == 11:  # stress fibres plus the cortical actin rim
        return spots * 0.9 + 0.5 * _rim(cells > 0, _S) + 0.04 * cyto
    if label == 12:
        return spots + 0.05 * cyto
    # 3 Golgi, 5 vesicles, 7 mitochondria, 10 centrosome: drawn spots plus faint cytosol
    return spots + 0.04 * cyto

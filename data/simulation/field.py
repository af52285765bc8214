"""One simulated field of view: channels, illumination, cross-talk, area resize to the output size, noise.

R = microtubules, G = the protein (its pattern is the class), B = DAPI, as
``data.prepare hpa`` merges HPA stains. The field is drawn on a canvas of
``SCALE`` x the output size and area-resized (``cv2.INTER_AREA``, as the HPA
merge), so the output has the sub-pixel structure a 4x super-resolution model
must recover; then a small residual blur, background, shot and read noise.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from data import N_CLASSES
from data.simulation import draw, geometry, patterns
from data.simulation.draw import SCALE
from data.simulation.stats import DEFAULT_STATS

SIZE = 96
"""Side of a demo field in pixels (the mSRGAN high-resolution size)."""


class Field(NamedTuple):
    """A rendered field: ``image`` uint8 (S, S, 3) RGB; ``nuclei`` and ``cells`` uint16 (S, S) instance labels.

    Nucleus ``i`` lies in cell ``i``; 0 is background (for ``nuclei``: everything that is not a nucleus).
    """

    image: np.ndarray
    nuclei: np.ndarray
    cells: np.ndarray


def render_field(label, rng, stats=DEFAULT_STATS, size=SIZE):
    """One field of class ``label`` (0..12), drawn with ``rng`` (a ``numpy.random.Generator``) from ``stats``."""
    if not 0 <= label < N_CLASSES:
        raise ValueError(f"label must be in 0..{N_CLASSES - 1}, got {label}")
    lay = geometry.layout(rng, size, stats)
    h = size * SCALE
    k = len(lay.centres)
    in_cell = (lay.cells > 0).astype(np.float32)
    nuc = (lay.nuclei > 0).astype(np.float32)
    cyto = in_cell - nuc
    nucleoli = np.zeros((h, h), np.uint8)
    mt = np.zeros((h, h), np.uint8)
    for j in range(k):
        _draw_interior(rng, lay, j, stats, nucleoli, mt)
    u = np.float32(1 / 255)
    parts = patterns.Parts(nuc, cyto, nucleoli * u, mt * u, draw.smooth_noise(rng, (h, h), 1.5 * SCALE), lay.cells)

    # per-cell variability (cell cycle, expression), looked up by cell id
    dna = np.r_[0, rng.uniform(0.55, 1.0, k) * np.where(lay.mitotic, 1.6, 1.0)].astype(np.float32)
    expression = np.r_[0, rng.uniform(0.3, 1.0, k)].astype(np.float32)
    chromatin = draw.smooth_noise(rng, (h, h), 0.8 * SCALE)
    rgb = np.empty((h, h, 3), np.float32)
    rgb[..., 2] = _nucleus_thickness(lay) * dna[lay.nuclei] * np.maximum(1 + stats.chromatin_texture * chromatin, 0.1) \
        * (1 - 0.6 * parts.nucleoli)
    c = stats.microtubule_contrast
    tubulin = (1 - c) * (0.6 + 0.1 * parts.texture) + c * 1.6 * parts.microtubules
    # a cell thins out towards its edge (a flat cell's height profile), so the cytoplasm's signal fades there
    depth = cv2.distanceTransform((lay.cells > 0).astype(np.uint8), cv2.DIST_L2, 3)
    rgb[..., 0] = tubulin * (cyto * np.minimum(1.0, 0.4 + depth / np.float32(3 * SCALE)) + 0.35 * nuc)
    protein = patterns.green(label, rng, lay, parts)
    # each HPA field's protein channel is exposed for its own brightness: the pattern's bright end is ~1
    protein /= max(float(np.percentile(protein, 99.5)), 0.05)
    rgb[..., 1] = protein * expression[lay.cells] * in_cell

    rgb *= _illumination(rng, h, stats)[..., None]
    t = rng.uniform(*stats.crosstalk, 3).astype(np.float32)
    rgb[..., 1] += t[0] * rgb[..., 2] + t[1] * rgb[..., 0]
    rgb[..., 0] += t[2] * rgb[..., 1]
    gains = np.array([rng.uniform(0.45, 0.8), rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.9)], np.float32)
    rgb = cv2.resize(rgb * gains, (size, size), interpolation=cv2.INTER_AREA)
    if stats.psf_sigma > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), stats.psf_sigma)
    rgb += rng.uniform(*stats.background, 3).astype(np.float32)
    photons = rng.uniform(*stats.photons)
    noise = rng.standard_normal(rgb.shape, np.float32)
    rgb += noise * np.sqrt(np.maximum(rgb, 0) / photons + stats.read_noise**2)
    image = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    nuclei, cells = geometry.output_labels(lay.nuclei), geometry.output_labels(lay.cells)
    cells[nuclei > 0] = nuclei[nuclei > 0]  # a block split between two cells goes to the one whose nucleus it holds
    return Field(image, nuclei, cells)


def _draw_interior(rng, lay, j, stats, nucleoli, mt):
    """Cell ``j``'s nucleoli (onto ``nucleoli``) and microtubules (onto ``mt``), uint8 canvases."""
    nc, (a, b), r, cs = lay.centres[j], lay.axes[j], lay.radii[j], lay.centrosomes[j]
    if not lay.mitotic[j]:
        m = int(rng.integers(stats.nucleoli_per_nucleus[0], stats.nucleoli_per_nucleus[1] + 1))
        draw.dots(nucleoli, draw.scatter(rng, m, nc, 0, 0.5 * b), rng.uniform(*stats.nucleolus_diameter, m) / 2 * SCALE)
    # microtubules: curved filaments from around the centrosome and the nucleus out to the cell edge
    n = int(rng.integers(stats.microtubules_per_cell[0], stats.microtubules_per_cell[1] + 1))
    ang = rng.uniform(0, 2 * np.pi, n)
    from_cs = rng.uniform(size=n) < 0.4
    starts = np.where(from_cs[:, None], cs + rng.normal(0, 0.5 * SCALE, (n, 2)),
                      nc + np.stack([a * np.cos(ang), b * np.sin(ang)], 1))
    length = max(r - 0.5 * a, 2 * SCALE) * rng.uniform(0.8, 1.5, n)
    draw.polylines(mt, draw.random_walks(rng, starts, ang + rng.normal(0, 0.5, n), 8, length / 8, 0.25), 1)


def _nucleus_thickness(lay):
    """DNA along the optical axis through each nucleus pixel: an ellipsoid's height, sqrt(1 - rho^2), >= 0.3.

    The projection of a 3-D nucleus is brightest at its centre and falls off towards its rim, as in real DAPI.
    """
    out = np.zeros(lay.nuclei.shape, np.float32)
    ys, xs = np.nonzero(lay.nuclei)
    j = lay.nuclei[ys, xs] - 1
    dx, dy = xs + 0.5 - lay.centres[j, 0], ys + 0.5 - lay.centres[j, 1]
    t = np.radians(lay.angles[j])
    u = (np.cos(t) * dx + np.sin(t) * dy) / np.maximum(lay.axes[j, 0], 1)
    v = (np.cos(t) * dy - np.sin(t) * dx) / np.maximum(lay.axes[j, 1], 1)
    out[ys, xs] = np.sqrt(np.clip(1 - (u * u + v * v), 0.09, 1))
    return out


def _illumination(rng, h, stats):
    """Multiplicative vignetting: 1 at a random point near the centre, ``1 - falloff`` at the far corners."""
    falloff = rng.uniform(*stats.illumination_falloff)
    cy, cx = rng.uniform(0.3, 0.7, 2) * h
    yy, xx = np.mgrid[0:h, 0:h].astype(np.float32)
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / np.float32(2 * (0.7 * h) ** 2)
    return (1 - falloff * np.minimum(r2, 1)).astype(np.float32)

"""The 13 protein-localisation patterns of the green channel (CYTO 2017 major13, ``data.CLASS_NAMES`` order).

Each pattern is what the class looks like in an HPA field at 96 px: the
nucleus class fills nuclei, the nucleoli class lights 1-4 spots per nucleus,
the nuclear membrane a thin ring, the Golgi a compact perinuclear body on one
side, the ER a reticulum fading from the nucleus, vesicles and the centrosome
dots, the plasma membrane the cell outlines (contacts included), mitochondria
short punctate threads, the cytosol a diffuse fill, microtubules the red
channel's filaments, actin straight stress fibres and a cortical rim,
intermediate filaments a perinuclear cage of wavy arcs.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from data.simulation import draw
from data.simulation.draw import SCALE


class Parts(NamedTuple):
    """Masks and structures of one field on the canvas that the patterns are made of (float32 in [0, 1])."""

    nucleus: np.ndarray  # nuclei
    cytoplasm: np.ndarray  # cells minus nuclei
    nucleoli: np.ndarray  # the nucleoli (dark in DAPI)
    microtubules: np.ndarray  # the filaments of the red channel
    texture: np.ndarray  # smooth unit-std noise, ~1.5 output px
    cells: np.ndarray  # int32 cell ids


def green(label, rng, layout, parts):
    """The green channel of class ``label`` (0..12) on the canvas, before per-cell expression (float32)."""
    spots = np.zeros(parts.cells.shape, np.uint8)
    for j in range(len(layout.centres)):
        _draw_cell(label, rng, spots, layout, j)
    spots = spots.astype(np.float32) / 255
    nuc, cyto, tex = parts.nucleus, parts.cytoplasm, parts.texture
    if label == 0:  # nucleoplasm: the whole nucleus, textured, nucleoli excluded
        return nuc * (0.75 + 0.2 * tex) * (1 - 0.85 * parts.nucleoli)
    if label == 1:  # nucleoli
        return spots + 0.05 * nuc
    if label == 2:  # nuclear envelope: a thin ring
        return draw.inner_rim(nuc > 0, SCALE) + 0.05 * nuc
    if label == 4:  # ER: reticulum of thin tubules, densest around the nucleus, continuous with the envelope
        q = draw.smooth_noise(rng, nuc.shape, 1.2 * SCALE)
        net = np.exp(-((q / 0.3) ** 2))
        dist = cv2.distanceTransform((nuc == 0).astype(np.uint8), cv2.DIST_L2, 3)
        falloff = np.exp(-dist / np.float32(4 * SCALE))
        return cyto * net * (0.25 + 0.75 * falloff) + 0.5 * draw.inner_rim(nuc > 0, 1) + 0.05 * cyto
    if label == 6:  # plasma membrane: cell outlines, including contacts between cells
        return 0.9 * draw.outlines(parts.cells, 1) + 0.05 * cyto
    if label == 8:  # cytosol: diffuse, fills the cytoplasm, thinner towards the edge
        edge = cv2.distanceTransform((parts.cells > 0).astype(np.uint8), cv2.DIST_L2, 3)
        return cyto * (0.55 + 0.1 * tex) * np.minimum(1.0, 0.35 + edge / (3.0 * SCALE))
    if label == 9:  # microtubules: the red filaments
        return 0.9 * parts.microtubules + 0.05 * cyto
    if label == 11:  # actin: stress fibres plus the cortical rim
        return 0.9 * spots + 0.4 * draw.inner_rim(parts.cells > 0, 1) + 0.04 * cyto
    # 3 Golgi, 5 vesicles, 7 mitochondria, 10 centrosome, 12 intermediate filaments: the drawn structures
    return spots + 0.04 * cyto


def _draw_cell(label, rng, canvas, layout, j):
    """Draw cell ``j``'s class-specific structures (classes 1, 3, 5, 7, 10, 11, 12) onto ``canvas`` (uint8)."""
    nc, (a, b), r, cs = layout.centres[j], layout.axes[j], layout.radii[j], layout.centrosomes[j]
    reach = max(r - 0.6 * a, SCALE)  # from the nucleus to the cell's edge
    if label == 1:
        m = int(rng.integers(1, 4))
        draw.dots(canvas, draw.scatter(rng, m, nc, 0, 0.5 * b), rng.uniform(0.6, 1.4, m) * SCALE)
    elif label == 3:  # Golgi: a compact cluster beside the nucleus, on the centrosome's side
        ang = np.arctan2(*(cs - nc)[::-1])
        m = int(rng.integers(5, 10))
        spread = ang + rng.uniform(-0.6, 0.6, m)
        rad = a + rng.uniform(0.3, 2.5, m) * SCALE
        draw.dots(canvas, nc + np.stack([rad * np.cos(spread), rad * np.sin(spread)], 1),
                  rng.uniform(0.5, 1.0, m) * SCALE)
    elif label == 5:  # vesicles: many small dots in the cytoplasm
        m = int(rng.integers(8, 20))
        draw.dots(canvas, draw.scatter(rng, m, nc, a * 1.1, a + reach), rng.uniform(0.35, 0.7, m) * SCALE)
    elif label == 7:  # mitochondria: short punctate threads, denser near the nucleus
        m = int(rng.integers(12, 25))
        starts = draw.scatter(rng, m, nc, a * 1.05, a + reach, bias=1.6)
        draw.polylines(canvas, draw.random_walks(rng, starts, rng.uniform(0, 2 * np.pi, m), 3, 0.7 * SCALE, 0.4), 1)
    elif label == 10:  # centrosome: one or two bright dots at the microtubule aster's centre
        pts = cs[None] + rng.normal(0, 0.4, (int(rng.integers(1, 3)), 2)) * SCALE
        draw.dots(canvas, pts, 0.8 * SCALE)
    elif label == 11:  # actin: straight, nearly parallel stress fibres across the cell
        m = int(rng.integers(4, 8))
        ang = rng.uniform(0, np.pi) + rng.normal(0, 0.08, m)
        off = rng.uniform(-0.85, 0.85, m) * r
        normal = np.stack([-np.sin(ang), np.cos(ang)], 1)
        along = np.stack([np.cos(ang), np.sin(ang)], 1)
        mid = nc + normal * off[:, None]
        half = np.sqrt(np.maximum(r**2 - off**2, 1.0))[:, None] * 1.1
        draw.polylines(canvas, np.stack([mid - along * half, mid + along * half], 1), 1)
    elif label == 12:  # intermediate filaments: wavy arcs wrapping the nucleus (a perinuclear cage)
        m = int(rng.integers(6, 11))
        rad = a + rng.uniform(0.3, 1.0, m) ** 1.5 * reach * 0.85
        ang = rng.uniform(0, 2 * np.pi, m)
        starts = nc + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
        steps, step = 10, rad * rng.uniform(0.15, 0.25, m)
        heading = ang + np.pi / 2 * rng.choice([-1, 1], m)
        # curvature 1/rad: each filament follows a circle around the nucleus, plus a wiggle
        turn = np.sign(np.sin(heading - ang))[:, None] * (step / rad)[:, None] + rng.normal(0, 0.18, (m, steps))
        theta = heading[:, None] + np.cumsum(turn, 1)
        pts = starts[:, None] + np.cumsum(np.stack([np.cos(theta), np.sin(theta)], -1) * step[:, None, None], 1)
        draw.polylines(canvas, np.concatenate([starts[:, None], pts], 1), 1)

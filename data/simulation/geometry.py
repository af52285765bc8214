"""Where the cells and nuclei of a field are: touching, irregular cells and their nuclei (the instance labels).

Cells are the regions of a noisy, anisotropic power diagram of random seeds
(seeds outside the field give the cells cut by its border): each pixel
belongs to the seed nearest in a cell-specific elongated metric, perturbed by
smooth noise so that outlines are irregular, and only as far as the field's
confluence lets the cell reach, so that sparse fields have gaps of background.
Each cell holds one elliptic nucleus at its innermost point (interphase), or a
smaller, rounder, brighter one (mitosis). Nucleus ``i`` lies inside cell
``i``: the two label images share their ids.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from scipy import ndimage

from data.simulation.draw import SCALE, ellipse, smooth_noise

MIN_NUCLEUS_AREA = 4
"""Smallest visible part of a nucleus kept (output px); a smaller sliver at the field's edge is dropped."""


class Layout(NamedTuple):
    """The geometry of one field on the canvas (``SCALE`` x the output size); per-cell arrays by id - 1."""

    cells: np.ndarray  # int32 (H, W): cell id, 0 = background
    nuclei: np.ndarray  # int32 (H, W): id of the cell whose nucleus covers the pixel, 0 elsewhere
    centres: np.ndarray  # (k, 2) nucleus centres (x, y), canvas px
    axes: np.ndarray  # (k, 2) nucleus semi-axes (major, minor), canvas px
    angles: np.ndarray  # (k,) nucleus orientation, degrees
    radii: np.ndarray  # (k,) equivalent radius of each cell's visible area, canvas px
    mitotic: np.ndarray  # (k,) bool
    centrosomes: np.ndarray  # (k, 2) beside each nucleus, canvas px


def _seeds(rng, n, size, spacing):
    """``n`` seeds over the field and a margin (cells cut by the border count), no two closer than ``0.6 * spacing``."""
    pad = 0.4 * spacing
    lo, hi = -pad, size + pad
    n_pad = n
    pts = []
    for _ in range(n_pad * 30):
        p = rng.uniform(lo, hi, 2)
        if not pts or np.min(np.hypot(*(np.array(pts) - p).T)) > 0.6 * spacing:
            pts.append(p)
            if len(pts) == n_pad:
                break
    return np.array(pts, np.float32)


class _Metric(NamedTuple):
    """Each seed's elongated, noise-perturbed distance, in units of how far its cell reaches."""

    seeds: np.ndarray
    reach: np.ndarray
    elong: np.ndarray
    theta: np.ndarray
    mix: np.ndarray  # (k, 2) weights of the two wobble fields

    def dist2(self, x, y, j, wobble):
        """Squared distance of points (x, y) to seeds ``j`` (broadcast together), float32."""
        table = np.column_stack([self.seeds, np.cos(self.theta) / self.reach, np.sin(self.theta) / self.reach,
                                 np.sqrt(self.elong), self.mix]).astype(np.float32)
        sx, sy, c, s, e, m0, m1 = np.moveaxis(table[j], -1, 0)  # one gather for all seven parameters
        dx, dy = x - sx, y - sy
        u = (c * dx + s * dy) / e
        v = (c * dy - s * dx) * e
        return (u * u + v * v) * np.square(1 + m0 * wobble[0] + m1 * wobble[1])


def layout(rng, size, stats):
    """The cells and nuclei of one field of ``size`` output px, drawn from ``stats`` (:class:`FieldStats`)."""
    h = size * SCALE
    n = int(rng.integers(stats.cells_per_field[0], stats.cells_per_field[1] + 1))
    spacing = (h + 0.8 * h / np.sqrt(n)) / np.sqrt(n)  # mean distance between cell centres, margin included
    seeds = _seeds(rng, n, h, spacing)
    k = len(seeds)
    reach = rng.uniform(*stats.confluence) * 0.75 * spacing * rng.uniform(0.85, 1.15, k)
    elong = rng.uniform(*stats.cell_elongation, k)
    theta = rng.uniform(0, np.pi, k)
    wobble = np.stack([smooth_noise(rng, (h, h), 3.0 * SCALE) for _ in range(2)])
    phase = rng.uniform(0, 2 * np.pi, k)
    metric = _Metric(seeds, reach, elong, theta, 0.1 * np.stack([np.cos(phase), np.sin(phase)], 1))
    # the two nearest seeds of every output pixel are the candidates of its canvas pixels (4x less work)
    coarse = (np.arange(size, dtype=np.float32) + 0.5) * SCALE
    wobble_coarse = np.stack([cv2.resize(w, (size, size), interpolation=cv2.INTER_AREA) for w in wobble])
    every = np.arange(k)[:, None, None]
    d_coarse = metric.dist2(coarse[None, None, :], coarse[None, :, None], every, wobble_coarse)
    first = np.argmin(d_coarse, 0)
    np.put_along_axis(d_coarse, first[None], np.inf, 0)
    candidates = np.stack([first, np.argmin(d_coarse, 0) if k > 1 else first])
    candidates = candidates.repeat(SCALE, 1).repeat(SCALE, 2)
    fine = np.arange(h, dtype=np.float32) + 0.5
    d = metric.dist2(fine[None, None, :], fine[None, :, None], candidates, wobble)
    nearest = np.argmin(d, 0)[None]
    owner = np.take_along_axis(candidates, nearest, 0)[0]
    inside = np.take_along_axis(d, nearest, 0)[0] < 1.0
    cells = np.where(inside, owner + 1, 0).astype(np.int32)
    return _nuclei(rng, cells, k, elong, theta, stats)


def _nuclei(rng, cells, k, elong, theta, stats):
    """Place one nucleus per visible cell at its innermost point; relabel cells 1..k' in order."""
    ids = np.unique(cells)
    ids = ids[ids > 0]
    # separate touching cells by a 1 px gap for the distance transform, so the innermost point is the cell's own
    gaps = (cells > 0) & (cells == cv2.erode(cells.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32))
    depth = cv2.distanceTransform(gaps.astype(np.uint8), cv2.DIST_L2, 5)
    boxes = ndimage.find_objects(cells)
    where, inner, areas = [], [], []
    for i in ids:
        box = boxes[i - 1]
        d = np.where(cells[box] == i, depth[box], -1)
        yy, xx = np.unravel_index(int(np.argmax(d)), d.shape)
        where.append((yy + box[0].start, xx + box[1].start))
        inner.append(max(float(d[yy, xx]), 1.0))
        areas.append(int(np.count_nonzero(cells[box] == i)))
    nuclei = np.zeros_like(cells)
    rows = []
    mitotic_p = stats.mitotic_fraction
    for new_id, (old, (yy, xx), r_in, area) in enumerate(zip(ids, where, inner, areas), 1):
        j = old - 1
        mitotic = bool(rng.uniform() < mitotic_p)
        diameter = rng.uniform(*stats.nucleus_diameter) * SCALE
        a = min(diameter / 2, 0.85 * r_in * np.sqrt(elong[j]))
        b = min(a * rng.uniform(*stats.nucleus_axis_ratio), 0.85 * r_in)
        if mitotic:
            a, b = 0.7 * a, 0.7 * a * rng.uniform(0.35, 0.6)  # a condensed metaphase plate
        centre = np.array([xx + 0.5, yy + 0.5]) + rng.normal(0, 0.1 * r_in, 2)
        angle = np.degrees(theta[j]) + rng.normal(0, 15)
        box = boxes[old - 1]
        sub = np.zeros((box[0].stop - box[0].start, box[1].stop - box[1].start), np.uint8)
        ellipse(sub, centre - (box[1].start, box[0].start), (max(a, 1.0), max(b, 1.0)), angle, 1, cv2.LINE_8)
        nuclei[box][(sub > 0) & (cells[box] == old)] = new_id
        towards = rng.uniform(0, 2 * np.pi)
        cs = centre + (a + 1.5 * SCALE) * np.array([np.cos(towards), np.sin(towards)])
        rows.append((centre, (a, b), angle, np.sqrt(area / np.pi), mitotic, cs))
    relabel = np.zeros(int(cells.max()) + 1, np.int32)
    relabel[ids] = np.arange(1, len(ids) + 1)
    cells = relabel[cells]
    counts = np.bincount(nuclei.ravel(), minlength=len(ids) + 1)
    nuclei[counts[nuclei] < MIN_NUCLEUS_AREA * SCALE**2] = 0
    if not rows:
        z2 = np.zeros((0, 2), np.float32)
        return Layout(cells, nuclei, z2, z2, np.zeros(0), np.zeros(0), np.zeros(0, bool), z2)
    centre, axes, angle, radius, mitotic, cs = (np.array(v) for v in zip(*rows))
    return Layout(cells, nuclei, centre, axes, angle, radius, mitotic.astype(bool), cs)


def output_labels(canvas_labels):
    """Instance labels at the output size: a pixel takes the id covering most of its canvas block, and is
    background when less than half of the block is labelled."""
    h, w = canvas_labels.shape
    blocks = canvas_labels.reshape(h // SCALE, SCALE, w // SCALE, SCALE).transpose(0, 2, 1, 3).reshape(
        h // SCALE, w // SCALE, SCALE * SCALE)
    votes = (blocks[..., :, None] == blocks[..., None, :]).sum(-1) - 1000 * (blocks == 0)
    mode = np.take_along_axis(blocks, votes.argmax(-1)[..., None], -1)[..., 0]
    return np.where((blocks > 0).mean(-1) >= 0.5, mode, 0).astype(np.uint16)

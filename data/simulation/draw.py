"""Sub-pixel drawing on the supersampled canvas (cv2 fixed point, anti-aliased), and smooth noise.

Fields are drawn at :data:`SCALE` times the output size and area-resized, so
that a filament drawn one canvas pixel wide is half an output pixel wide.
"""

from __future__ import annotations

import cv2
import numpy as np

SCALE = 2
"""Supersampling factor: a 96 px field is drawn on a 192 px canvas."""

_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
_FP = 1 << _SHIFT


def smooth_noise(rng, shape, sigma):
    """Gaussian noise of unit std, correlation length ~ ``sigma`` canvas px (drawn at half size, then resized)."""
    h, w = shape
    small = (max(h // 2, 1), max(w // 2, 1))
    z = rng.standard_normal(small, np.float32)
    if sigma > 1:
        z = cv2.GaussianBlur(z, (0, 0), sigma / 2)
    z = cv2.resize(z, (w, h), interpolation=cv2.INTER_LINEAR)
    return (z - z.mean()) / max(float(z.std()), 1e-6)


def fixed_point(points):
    """Float canvas coordinates (..., 2) as int32 fixed point for cv2's ``shift``."""
    return np.round(np.asarray(points) * _FP).astype(np.int32)


def random_walks(rng, starts, angles, n_steps, step, wiggle):
    """Random-walk polylines (m, n_steps + 1, 2) from ``starts`` (m, 2) heading ``angles`` (m,).

    ``step`` is a scalar or (m,) step length, ``wiggle`` the std of the turn per step (radians).
    """
    m = len(starts)
    turn = rng.normal(0, wiggle, (m, n_steps))
    theta = np.asarray(angles)[:, None] + np.cumsum(turn, 1)
    steps = np.stack([np.cos(theta), np.sin(theta)], -1) * np.reshape(step, (-1, 1, 1))
    return np.concatenate([starts[:, None, :], starts[:, None, :] + np.cumsum(steps, 1)], 1)


def polylines(canvas, pts, thickness=1, value=255):
    """Draw open polylines ``pts`` (m, n, 2) onto a uint8 canvas, anti-aliased."""
    if len(pts):
        cv2.polylines(canvas, list(fixed_point(pts)), False, value, thickness, cv2.LINE_AA, _SHIFT)


def dots(canvas, centres, radii, value=255):
    """Filled anti-aliased discs at ``centres`` (m, 2) with ``radii`` (scalar or (m,)) canvas px."""
    radii = np.broadcast_to(np.asarray(radii, np.float64), (len(centres),))
    for (x, y), r in zip(fixed_point(centres), radii):
        cv2.circle(canvas, (int(x), int(y)), max(int(round(r * _FP)), 1), value, -1, cv2.LINE_AA, _SHIFT)


def ellipse(canvas, centre, axes, angle_deg, value=255, line=cv2.LINE_AA):
    """A filled ellipse (semi-axes ``axes`` in canvas px) onto ``canvas``."""
    c = fixed_point(centre)
    cv2.ellipse(canvas, (int(c[0]), int(c[1])), (int(axes[0] * _FP), int(axes[1] * _FP)), float(angle_deg),
                0, 360, value, -1, line, _SHIFT)


def scatter(rng, m, centre, r_in, r_out, bias=1.0):
    """``m`` random points around ``centre`` at radii in [r_in, r_out]; ``bias`` > 1 favours the inside."""
    ang = rng.uniform(0, 2 * np.pi, m)
    rad = r_in + (r_out - r_in) * rng.uniform(0, 1, m) ** bias
    return centre + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)


def inner_rim(mask, width):
    """Inner rim of a boolean mask, ``width`` canvas px wide, as float32."""
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), iterations=width)).astype(np.float32)


def outlines(labels, width):
    """Float32 map of the boundaries of every labelled region (cell-cell contacts included), ``width`` px wide."""
    k = np.ones((3, 3), np.uint8)
    lab = labels.astype(np.float32)
    edges = (lab != cv2.erode(lab, k)) | (lab != cv2.dilate(lab, k))
    if width > 1:
        edges = cv2.dilate(edges.astype(np.uint8), k, iterations=width - 1) > 0
    return (edges & (labels > 0)).astype(np.float32)

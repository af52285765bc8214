"""Image grids for the epoch figures (pure numpy; written to disk by the callbacks)."""

from __future__ import annotations

import numpy as np


def nearest_upscale(images, size):
    """(N, h, w, C) -> (N, size, size', C) by pixel repetition (integer factor)."""
    images = np.asarray(images)
    fy, fx = size[0] // images.shape[1], size[1] // images.shape[2]
    if fy * images.shape[1] != size[0] or fx * images.shape[2] != size[1]:
        raise ValueError(f"cannot upscale {images.shape[1:3]} to {tuple(size)} by an integer factor")
    return images.repeat(fy, axis=1).repeat(fx, axis=2)


def row_grid(columns, pad=2, background=255):
    """uint8 grid with one row per sample and one column per entry of ``columns``.

    ``columns``: list of float arrays (N, h_i, w_i, C) in [0, 1]; smaller ones are
    enlarged by pixel repetition to the largest size (so LR input shows its pixels).
    """
    if not columns:
        raise ValueError("row_grid needs at least one column")
    h = max(c.shape[1] for c in columns)
    w = max(c.shape[2] for c in columns)
    cols = [nearest_upscale(c, (h, w)) for c in columns]
    n, ch = cols[0].shape[0], cols[0].shape[3]
    grid = np.full((n * h + (n + 1) * pad, len(cols) * w + (len(cols) + 1) * pad, ch), background, np.uint8)
    for j, col in enumerate(cols):
        tiles = np.clip(np.rint(np.asarray(col, np.float32) * 255.0), 0, 255).astype(np.uint8)
        for i in range(n):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[y : y + h, x : x + w] = tiles[i]
    return grid

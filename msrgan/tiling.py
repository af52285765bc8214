"""Overlapping tiles and seam-free blending for super-resolving large images (pure numpy).

A fully convolutional generator accepts any size, but its memory grows with
the image (a 512x512 input makes 2048x2048x64 float maps). So large inputs are
cut into tiles of ``tile`` x ``tile`` low-resolution pixels that overlap by at
least ``overlap`` pixels; each tile is super-resolved by ``scale`` (4 for
mSRGAN) and the outputs are blended back with weights that fall to zero across
the overlaps (:func:`ramp`). Near a tile's border the network sees zero
padding instead of the neighbouring pixels, so its output there is wrong:
those pixels get weight 0, the next ones a smooth raised-cosine ramp, and the
weights of neighbouring tiles sum to one, so no seam appears. At the image
borders (no neighbour) the weight stays one. The blend equals the untiled
prediction where a quarter of the overlap exceeds the network's effective
receptive field; raise ``overlap`` for deeper networks.

Tiles are spread evenly (``np.linspace``) so every overlap is at least
``overlap``; an image smaller than ``tile`` along an axis is one tile of the
image's size along it. All tiles of an image therefore have the same shape,
which lets them be batched.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np


class Tile(NamedTuple):
    """One tile: low-resolution slices ``rows``, ``cols`` into the input image."""

    rows: slice
    cols: slice


def check_tiling(tile, overlap):
    """Raise ``ValueError`` for a tile size / overlap that cannot tile anything."""
    if int(tile) != tile or tile < 1:
        raise ValueError(f"tile must be a positive integer, got {tile!r}")
    if int(overlap) != overlap or overlap < 0:
        raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
    if overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than tile ({tile})")


def tile_starts(size, tile, overlap):
    """Start offsets of tiles of length ``min(tile, size)`` covering ``[0, size)``.

    Consecutive tiles overlap by at least ``overlap`` pixels (more when the
    size does not divide evenly: the tiles are spread with ``np.linspace``).
    Returns an int64 array, first entry 0, last entry ``size - min(tile, size)``.
    """
    check_tiling(tile, overlap)
    if size < 1:
        raise ValueError(f"cannot tile an axis of size {size}")
    if size <= tile:
        return np.zeros(1, np.int64)
    n = math.ceil((size - overlap) / (tile - overlap))
    return np.round(np.linspace(0, size - tile, n)).astype(np.int64)


def tile_grid(shape, tile=128, overlap=16):
    """The tiles covering an image of ``shape`` (H, W, ...), row by row."""
    h, w = shape[:2]
    th, tw = min(tile, h), min(tile, w)
    return [
        Tile(slice(int(r), int(r) + th), slice(int(c), int(c) + tw))
        for r in tile_starts(h, tile, overlap)
        for c in tile_starts(w, tile, overlap)
    ]


def ramp(length, before, after):
    """1-D weights of a tile: 1 inside, falling to 0 across ``before`` / ``after`` pixels at its ends.

    Across an overlap of ``n`` pixels the outer quarter (nearest the tile's
    border, where zero padding corrupts the output) gets weight 0, the middle
    half a raised-cosine ramp ``sin^2``, the inner quarter 1. Two tiles that
    overlap by exactly ``n`` pixels have mirrored ramps (``sin^2 + cos^2 = 1``),
    so their weights sum to one with no kink.
    """
    w = np.ones(length, np.float32)
    for n, side in ((before, slice(None)), (after, slice(None, None, -1))):
        n = min(n, length)
        if not n:
            continue
        margin = n // 4
        k = n - 2 * margin
        edge = np.zeros(n, np.float32)
        edge[margin : margin + k] = np.sin(0.5 * np.pi * (np.arange(k) + 0.5) / k) ** 2
        edge[margin + k :] = 1.0
        view = w[side]
        view[:n] = np.minimum(view[:n], edge)
    return w


def tile_weights(tile_, shape, overlap, scale=4):
    """Blending weights (float32, (th*scale, tw*scale)) of a tile's output.

    Ramps (:func:`ramp`) of ``overlap * scale`` output pixels only on the sides
    that have a neighbouring tile; sides on the image border keep weight 1.
    """
    h, w = shape[:2]
    n = overlap * scale
    r, c = tile_.rows, tile_.cols
    wr = ramp((r.stop - r.start) * scale, n if r.start > 0 else 0, n if r.stop < h else 0)
    wc = ramp((c.stop - c.start) * scale, n if c.start > 0 else 0, n if c.stop < w else 0)
    return np.outer(wr, wc)


def predict_tiled(
    predict_batch: Callable[[np.ndarray], np.ndarray],
    image,
    tile=128,
    overlap=16,
    scale=4,
    batch_size=4,
    on_batch: Callable[[int], None] | None = None,
):
    """Super-resolve ``image`` tile by tile and blend the outputs.

    Args:
        predict_batch: maps float32 (B, th, tw, C) to (B, th*scale, tw*scale, C_out).
        image: float array (H, W, C), e.g. in [-1, 1].
        tile, overlap: low-resolution tile size and minimum overlap, in pixels.
        scale: the upscaling factor of ``predict_batch`` (4 for mSRGAN).
        batch_size: tiles per ``predict_batch`` call.
        on_batch: called with the number of tiles done after each batch (progress).

    Returns:
        float32 (H*scale, W*scale, C_out): the weighted mean of the tile outputs.
    """
    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise ValueError(f"expected an image (H, W, C), got shape {image.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    h, w = image.shape[:2]
    tiles = tile_grid(image.shape, tile, overlap)
    out = None
    total = np.zeros((h * scale, w * scale, 1), np.float32)
    for i in range(0, len(tiles), batch_size):
        group = tiles[i : i + batch_size]
        batch = np.stack([image[t.rows, t.cols] for t in group])
        pred = np.asarray(predict_batch(batch), np.float32)
        expected = (len(group), batch.shape[1] * scale, batch.shape[2] * scale)
        if pred.shape[:3] != expected:
            raise ValueError(f"model output shape {pred.shape[:3]} does not match {expected} (scale {scale})")
        if out is None:
            out = np.zeros((h * scale, w * scale, pred.shape[3]), np.float32)
        for t, p in zip(group, pred):
            wt = tile_weights(t, image.shape, overlap, scale)[..., None]
            rows = slice(t.rows.start * scale, t.rows.stop * scale)
            cols = slice(t.cols.start * scale, t.cols.stop * scale)
            out[rows, cols] += wt * p
            total[rows, cols] += wt
        if on_batch is not None:
            on_batch(len(group))
    return out / total

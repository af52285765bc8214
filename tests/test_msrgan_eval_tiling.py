"""Tile geometry and blending of msrgan.tiling (pure numpy, no TensorFlow)."""

import numpy as np
import pytest

from msrgan import tiling


@pytest.mark.parametrize(
    "size, tile, overlap",
    [(1, 8, 2), (7, 8, 2), (8, 8, 2), (9, 8, 2), (67, 24, 8), (101, 32, 16), (129, 128, 16), (513, 128, 16),
     (50, 10, 0)],
)
def test_tile_starts_cover_axis_with_min_overlap(size, tile, overlap):
    starts = tiling.tile_starts(size, tile, overlap)
    length = min(tile, size)
    assert starts[0] == 0 and starts[-1] + length == size
    assert np.all(np.diff(starts) > 0)
    assert np.all(starts[:-1] + length - starts[1:] >= overlap)  # every overlap is at least `overlap`
    covered = np.zeros(size, int)
    for s in starts:
        covered[s : s + length] += 1
    assert covered.min() >= 1


def test_tile_grid_odd_image_is_a_product_of_axes():
    grid = tiling.tile_grid((67, 45, 3), tile=24, overlap=8)
    rows, cols = tiling.tile_starts(67, 24, 8), tiling.tile_starts(45, 24, 8)
    assert len(grid) == len(rows) * len(cols) == 4 * 3
    assert {(t.rows.stop - t.rows.start, t.cols.stop - t.cols.start) for t in grid} == {(24, 24)}
    small = tiling.tile_grid((5, 40), tile=16, overlap=4)
    assert all(t.rows == slice(0, 5) for t in small)  # smaller than a tile: one tile of the image's size


@pytest.mark.parametrize("tile, overlap", [(0, 0), (8, 8), (8, 9), (8, -1), (2.5, 1)])
def test_invalid_tiling_raises(tile, overlap):
    with pytest.raises(ValueError):
        tiling.check_tiling(tile, overlap)


def test_ramp_zero_at_inner_edge_one_inside_and_mirrors_sum_to_one():
    w = tiling.ramp(64, 16, 16)
    assert w[0] == 0 and w[-1] == 0 and w[32] == 1
    assert np.all(np.diff(w[:16]) >= 0)
    np.testing.assert_allclose(w[:16] + w[:16][::-1], 1.0, atol=1e-6)
    assert np.all(tiling.ramp(10, 0, 0) == 1)


def test_weights_sum_to_one_when_overlaps_are_exact():
    # 56 = 24 + 2 * (24 - 8): three tiles per axis, each overlap exactly 8
    shape = (56, 56)
    total = np.zeros((56 * 4, 56 * 4))
    for t in tiling.tile_grid(shape, 24, 8):
        rows, cols = slice(t.rows.start * 4, t.rows.stop * 4), slice(t.cols.start * 4, t.cols.stop * 4)
        total[rows, cols] += tiling.tile_weights(t, shape, 8)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def _pointwise(batch):
    """A per-pixel 'network': nearest 4x upscaling of a nonlinear function, no boundary effects."""
    return np.repeat(np.repeat(np.sin(3 * batch) + batch**2, 4, axis=1), 4, axis=2)


def _blur(batch):
    """A 'network' with zero-padding boundary effects: 3x3 box blur (zero padded), then nearest 4x."""
    p = np.pad(batch, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = batch.shape[1:3]
    b = sum(p[:, i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9
    return np.repeat(np.repeat(b, 4, axis=1), 4, axis=2)


@pytest.mark.parametrize("shape, tile, overlap", [((37, 29, 3), 12, 4), ((67, 45, 2), 24, 8), ((5, 9, 3), 16, 4)])
def test_predict_tiled_reproduces_pointwise_map_exactly(shape, tile, overlap):
    img = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
    done = []
    out = tiling.predict_tiled(_pointwise, img, tile, overlap, scale=4, batch_size=3, on_batch=done.append)
    np.testing.assert_allclose(out, _pointwise(img[None])[0], atol=1e-5)
    assert sum(done) == len(tiling.tile_grid(shape, tile, overlap))


def test_blend_hides_zero_padding_of_tiles():
    img = np.random.default_rng(2).uniform(-1, 1, (50, 61, 3)).astype(np.float32)
    full = _blur(img[None])[0]
    blended = tiling.predict_tiled(_blur, img, tile=20, overlap=8)
    np.testing.assert_allclose(blended, full, atol=1e-5)
    # without overlap the tile borders differ from the untiled result (the test can fail)
    assert np.abs(tiling.predict_tiled(_blur, img, tile=20, overlap=0) - full).max() > 0.05


def test_predict_tiled_rejects_wrong_scale():
    with pytest.raises(ValueError, match="scale"):
        tiling.predict_tiled(_pointwise, np.zeros((8, 8, 3)), tile=8, overlap=2, scale=2)

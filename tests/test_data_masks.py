"""Random ellipse nuclei labels: statistics respected, overlap bounded, fitting recovers parameters."""

import dataclasses

import numpy as np
import pytest
from skimage.draw import ellipse
from skimage.measure import regionprops

from data.masks import DEFAULT_STATS, MaskStats, fit_mask_stats, random_ellipse_labels


def test_labels_type_and_determinism():
    a = random_ellipse_labels((128, 96), rng=5)
    assert a.dtype == np.uint16 and a.shape == (128, 96)
    np.testing.assert_array_equal(a, random_ellipse_labels((128, 96), rng=np.random.default_rng(5)))
    assert not np.array_equal(a, random_ellipse_labels((128, 96), rng=6))
    assert sorted(np.unique(a)) == list(range(a.max() + 1))  # consecutive labels, 0 = background


def test_count_and_size_follow_stats():
    stats = MaskStats(density=40 / 256**2, density_std=0.0, area_mean=300.0, area_std=60.0,
                      axis_ratio_mean=0.6, axis_ratio_std=0.1, max_overlap=0.0)
    labels = [random_ellipse_labels((256, 256), stats, rng=i) for i in range(6)]
    assert all(lab.max() == 40 for lab in labels)  # fixed count, all placed
    props = [p for lab in labels for p in regionprops(lab)]
    area = np.array([p.area for p in props])
    ratio = np.array([p.axis_minor_length / p.axis_major_length for p in props])
    assert area.mean() == pytest.approx(300, rel=0.08)
    assert area.std() == pytest.approx(60, rel=0.3)
    assert area.min() >= 300 - 2 * 60 - 15 and area.max() <= 300 + 2 * 60 + 15  # clipped to 2 std
    assert ratio.mean() == pytest.approx(0.6, abs=0.05)
    for p in props:  # every ellipse fully inside the image
        assert p.bbox[0] >= 0 and p.bbox[2] <= 256


def test_density_std_varies_counts():
    stats = DEFAULT_STATS.replace(density_std=DEFAULT_STATS.density * 0.3)
    counts = np.array([random_ellipse_labels((128, 128), stats, rng=i).max() for i in range(30)])
    expected = DEFAULT_STATS.density * 128 * 128
    assert counts.mean() == pytest.approx(expected, rel=0.2)
    assert counts.std() > 0.5
    assert counts.max() <= round(expected * 1.6) + 1


@pytest.mark.parametrize("max_overlap", [0.0, 0.1, 0.3])
def test_overlap_bounded(max_overlap):
    stats = DEFAULT_STATS.replace(density=2.5 * DEFAULT_STATS.density, density_std=0.0, max_overlap=max_overlap)
    lab, ell = random_ellipse_labels((160, 160), stats, rng=1, return_ellipses=True)
    assert lab.max() == len(ell) > 20
    hidden = []
    for k, (cy, cx, rr_, cr_, rot) in enumerate(ell, start=1):
        rr, cc = ellipse(cy, cx, rr_, cr_, shape=lab.shape, rotation=rot)
        full = np.zeros(lab.shape, bool)
        full[rr, cc] = True
        visible = lab == k
        assert not (visible & ~full).any()  # a label never leaks outside its ellipse
        hidden.append(1 - visible.sum() / full.sum())
    hidden = np.array(hidden)
    assert hidden.max() <= max_overlap + 1e-9
    if max_overlap > 0:
        assert hidden.max() > 0  # at this density some nuclei do overlap


def test_fit_recovers_generating_stats():
    stats = MaskStats(density=30 / 256**2, density_std=0.0, area_mean=350.0, area_std=50.0,
                      axis_ratio_mean=0.7, axis_ratio_std=0.08, max_overlap=0.0)
    lab = np.concatenate([random_ellipse_labels((256, 256), stats, rng=i) for i in range(2)], 1)
    lab[:, 256:] += np.where(lab[:, 256:] > 0, lab[:, :256].max(), 0).astype(np.uint16)
    fit = fit_mask_stats(lab)
    assert fit.density == pytest.approx(stats.density, rel=0.1)
    assert fit.area_mean == pytest.approx(350, rel=0.08)
    assert fit.axis_ratio_mean == pytest.approx(0.7, abs=0.04)
    again = random_ellipse_labels((256, 256), fit, rng=0)
    assert abs(int(again.max()) - 30) <= 8


def test_defaults_match_the_stardist_demo_labels():
    from stardist.data import test_image_nuclei_2d

    _, lab = test_image_nuclei_2d(return_mask=True)
    fit = fit_mask_stats(lab)
    for field in ("density", "area_mean", "axis_ratio_mean"):
        assert getattr(fit, field) == pytest.approx(getattr(DEFAULT_STATS, field), rel=0.05), field


def test_stats_validation_and_round_trip():
    assert MaskStats(**DEFAULT_STATS.to_dict()) == DEFAULT_STATS
    with pytest.raises(ValueError, match="axis_ratio_mean"):
        dataclasses.replace(DEFAULT_STATS, axis_ratio_mean=1.5)
    with pytest.raises(ValueError, match="max_overlap"):
        DEFAULT_STATS.replace(max_overlap=1.0)
    with pytest.raises(ValueError, match="no nuclei"):
        fit_mask_stats(np.zeros((8, 8), np.uint16))
    with pytest.raises(ValueError, match="2-D integer"):
        fit_mask_stats(np.zeros((8, 8), np.float32))

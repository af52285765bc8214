"""Embedded demo data: deterministic, balanced, 13 classes, separable, HPA-like channels."""

import numpy as np
import pytest

from benchmarks import separability
from data import N_CLASSES, synthetic


def test_shapes_balance_and_disjoint_splits():
    x, y = synthetic.demo_split("train", n=130, test_fraction=0.2, seed=3)
    xt, yt = synthetic.demo_split("test", n=130, test_fraction=0.2, seed=3)
    assert x.shape == (104, 96, 96, 3) and x.dtype == np.uint8
    assert y.dtype == np.int64 and xt.shape == (26, 96, 96, 3)
    assert set(y.tolist()) == set(range(N_CLASSES)) and set(yt.tolist()) == set(range(N_CLASSES))
    assert np.bincount(y).max() - np.bincount(y).min() <= 1
    assert np.bincount(yt, minlength=N_CLASSES).tolist() == [2] * N_CLASSES
    flat = {im.tobytes() for im in x}
    assert not any(im.tobytes() in flat for im in xt)


def test_deterministic_by_seed_and_cache_returns_copies():
    a, la = synthetic.demo_split("test", n=65, test_fraction=0.4, seed=7)
    a[:] = 0  # must not corrupt the cache
    b, lb = synthetic.demo_split("test", n=65, test_fraction=0.4, seed=7)
    synthetic.clear_cache()
    c, _ = synthetic.demo_split("test", n=65, test_fraction=0.4, seed=7)
    np.testing.assert_array_equal(b, c)
    assert b.any()
    d, _ = synthetic.demo_split("test", n=65, test_fraction=0.4, seed=8)
    assert not np.array_equal(b, d)
    np.testing.assert_array_equal(la, lb)


def test_image_i_does_not_depend_on_n():
    # image i depends on (seed, i) only, so a larger set extends a smaller one
    small, _ = synthetic.demo_split("train", n=30, test_fraction=0.0, seed=1)
    large, _ = synthetic.demo_split("train", n=40, test_fraction=0.0, seed=1)
    np.testing.assert_array_equal(small, large[:30])


def test_channels_look_like_hpa():
    x, y, nuclei, cells = synthetic.demo_split("train", n=130, test_fraction=0.0, seed=0, with_labels=True)
    x = x.astype(np.float32)
    # every field has cells: blue nuclei and red microtubules well above the background
    for ch in (0, 2):
        assert (np.percentile(x[..., ch], 99, axis=(1, 2)) > 60).all()
    assert (np.median(x[..., 2], axis=(1, 2)) < 40).all()  # nuclei cover a minority of the field
    # 10-30 touching cells per field (issue 22), nuclei ~10-20 px across
    n_cells = np.array([len(np.unique(c)) - 1 for c in cells])
    assert 8 <= n_cells.min() and n_cells.max() <= 40 and 14 <= n_cells.mean() <= 28
    areas = np.concatenate([np.bincount(m.ravel())[1:] for m in nuclei]).astype(float)
    assert 9 <= np.median(2 * np.sqrt(areas[areas > 0] / np.pi)) <= 16

    # nuclear classes put green where the blue is; the plasma membrane class does not
    def green_in_nucleus(img, m):
        return img[..., 1][m > 0].sum() / img[..., 1].sum()

    nucleus = np.mean([green_in_nucleus(im, m) for im, m in zip(x[y == 0], nuclei[y == 0])])
    membrane = np.mean([green_in_nucleus(im, m) for im, m in zip(x[y == 6], nuclei[y == 6])])
    assert nucleus > 0.5 and nucleus > 3 * membrane

    # microtubule class: green follows red; nucleus class: it does not
    def red_green_corr(imgs):
        return np.mean([np.corrcoef(im[..., 0].ravel(), im[..., 1].ravel())[0, 1] for im in imgs])

    assert red_green_corr(x[y == 9]) > 0.6 > 0.1 > red_green_corr(x[y == 0])
    # noise: the background is not flat
    background = x[..., 2][cells == 0]
    assert background.std() > 0.5


def test_labels_match_the_rendered_nuclei_and_cells():
    x, _, nuclei, cells = synthetic.demo_split("test", n=130, test_fraction=0.1, seed=0, with_labels=True)
    assert nuclei.dtype == cells.dtype == np.uint16 and nuclei.shape == cells.shape == x.shape[:3]
    dapi = x[..., 2].astype(np.float32)
    for img, m, c in zip(dapi, nuclei, cells):
        background = img[c == 0]
        assert background.size > 0 and np.percentile(background, 95) < 40
        for i in np.unique(m)[1:]:
            inside = m == i
            assert np.all(c[inside] == i)  # nucleus i lies in cell i
            # every labelled nucleus is bright in DAPI: far above the background, and brighter than its cytoplasm
            assert img[inside].mean() > np.median(background) + 25, i
            assert img[inside].mean() > 2 * img[(c == i) & (m == 0)].mean() if ((c == i) & (m == 0)).any() else True
        # the DAPI outside the nuclei is dark: the labels miss no nucleus
        assert np.percentile(img[m == 0], 90) < 0.5 * np.median(img[m > 0])


def test_each_class_pattern_differs_from_the_others():
    """A simple statistic per class pair: the classes' mean green-channel feature vectors are far apart."""
    x, y = synthetic.demo_split("train", n=260, test_fraction=0.0, seed=4)
    f = separability.green_features(x)
    f = (f - f.mean(0)) / (f.std(0) + 1e-9)
    centroids = np.array([f[y == k].mean(0) for k in range(N_CLASSES)])
    spread = np.array([f[y == k].std(0).mean() for k in range(N_CLASSES)])
    dist = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    # every class's nearest other class is at least half a within-class std (per feature, summed) away
    assert (dist.min(1) > 0.5 * spread).all(), dist.min(1) / spread


@pytest.mark.slow
def test_classes_are_separable_on_held_out_data():
    xtr, ytr = synthetic.demo_split("train", n=520, test_fraction=0.25, seed=11)
    xte, yte = synthetic.demo_split("test", n=520, test_fraction=0.25, seed=11)
    acc = separability.held_out_accuracy(xtr, ytr, xte, yte, N_CLASSES)
    assert acc > 0.6, acc  # chance is 1/13 = 0.077


@pytest.mark.parametrize("n, fraction, seed", [(26, 0.1, 0), (26, 0.1, 1), (39, 0.2, 2), (50, 0.1, 0),
                                                (200, 0.15, 4), (1300, 0.1, 0), (27, 0.5, 3)])
def test_split_is_stratified_by_class(n, fraction, seed):
    test = synthetic.split_indices("test", n, fraction, seed)
    train = synthetic.split_indices("train", n, fraction, seed)
    n_test = int(round(n * fraction))
    assert len(test) == n_test and np.array_equal(np.sort(np.r_[test, train]), np.arange(n))
    assert (np.diff(test) > 0).all() and (np.diff(train) > 0).all()
    sizes = np.bincount(np.arange(n) % N_CLASSES, minlength=N_CLASSES)
    per_class = np.bincount(test % N_CLASSES, minlength=N_CLASSES)
    assert (np.abs(per_class - n_test * sizes / n) < 1).all()  # each class's proportional share, rounded
    assert per_class.max() - per_class.min() <= 1 + (sizes.max() - sizes.min())
    for c in range(N_CLASSES):  # a class gives its first images to the test split
        mine = np.arange(c, n, N_CLASSES)
        assert np.array_equal(mine[: per_class[c]], test[test % N_CLASSES == c])
    if n_test < N_CLASSES:
        assert len(set(test % N_CLASSES)) == n_test  # distinct classes, not 00, 01, 02...
        assert not np.array_equal(test, np.arange(n_test))


def test_split_of_the_default_demo_is_unchanged():
    # the SR / VGG demos use n=1300, test_fraction=0.1: still the first 130 images, 10 per class
    assert np.array_equal(synthetic.split_indices("test", 1300, 0.1, seed=0), np.arange(130))
    assert np.array_equal(synthetic.split_indices("test", 1300, 0.1, seed=5), np.arange(130))


def test_field_statistics_are_validated():
    from data.simulation.stats import DEFAULT_STATS, FieldStats

    with pytest.raises(ValueError, match="cells_per_field"):
        FieldStats(cells_per_field=(30, 10))
    reasons = DEFAULT_STATS.reasons()
    assert reasons["nucleus_diameter"][0] == (10.0, 17.0) and all(len(r) > 20 for _, r in reasons.values())


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        synthetic.demo_split("val")
    with pytest.raises(ValueError, match="test_fraction"):
        synthetic.demo_split("test", test_fraction=1.0)
    with pytest.raises(ValueError, match="label"):
        synthetic.render_field(13, np.random.default_rng(0))

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
    synthetic._cached_split.cache_clear()
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
    x, y = synthetic.demo_split("train", n=130, test_fraction=0.0, seed=0)
    x = x.astype(np.float32)
    # every field has cells: blue nuclei and red microtubules well above the background
    for ch in (0, 2):
        assert (np.percentile(x[..., ch], 99, axis=(1, 2)) > 60).all()
    assert (np.median(x[..., 2], axis=(1, 2)) < 30).all()  # nuclei cover a minority of the field
    assert (x.min(axis=(1, 2)) < 20).all()  # dark background in every channel
    # nuclear classes put green where the blue is; the plasma membrane class does not
    def green_in_nucleus(img):
        nuc = img[..., 2] > 0.3 * img[..., 2].max()
        return img[..., 1][nuc].sum() / img[..., 1].sum()

    nucleus = np.mean([green_in_nucleus(im) for im in x[y == 0]])
    membrane = np.mean([green_in_nucleus(im) for im in x[y == 6]])
    assert nucleus > 0.4 and nucleus > 5 * membrane

    # microtubule class: green follows red; nucleus class: it does not
    def red_green_corr(imgs):
        return np.mean([np.corrcoef(im[..., 0].ravel(), im[..., 1].ravel())[0, 1] for im in imgs])

    assert red_green_corr(x[y == 9]) > 0.7 > 0.1 > red_green_corr(x[y == 0])
    # noise: the background is not flat
    background = x[..., 2][x[..., 0] + x[..., 2] < 25]
    assert background.std() > 0.5


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


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        synthetic.demo_split("val")
    with pytest.raises(ValueError, match="test_fraction"):
        synthetic.demo_split("test", test_fraction=1.0)
    with pytest.raises(ValueError, match="label"):
        synthetic.render_field(13, np.random.default_rng(0))

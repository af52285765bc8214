"""Pure-numpy steganography measures and the instance matching metrics (cyclegan_dct.measures)."""

import numpy as np
import pytest
from scipy import fft

from conftest import disks
from cyclegan_dct import measures


def _basis(n, k, l):
    """The orthonormal 2D DCT-II basis image with frequency indices (k, l)."""
    coef = np.zeros((n, n))
    coef[k, l] = 1.0
    return fft.idctn(coef, type=2, norm="ortho")


def test_energy_fraction_of_pure_high_frequency_basis_is_one():
    assert measures.high_frequency_fraction(_basis(32, 31, 31), 0.5) == pytest.approx(1.0, abs=1e-9)
    # only the row index is above the cutoff: still removed by the filter, so counted as high
    assert measures.high_frequency_fraction(_basis(32, 20, 1), 0.5) == pytest.approx(1.0, abs=1e-9)


def test_energy_fraction_of_low_frequency_and_constant_images_is_zero():
    assert measures.high_frequency_fraction(np.full((32, 32), 0.7), 0.5) == 0.0
    assert measures.high_frequency_fraction(_basis(32, 3, 5) + 2.0, 0.5) == pytest.approx(0.0, abs=1e-12)


def test_energy_fraction_of_a_mixture_and_of_noise():
    x = _basis(32, 2, 2) + 2.0 * _basis(32, 30, 4)  # energies 1 and 4
    assert measures.high_frequency_fraction(x, 0.5) == pytest.approx(0.8)
    # white noise spreads evenly over the band: 3/4 of the coefficients lie outside a 0.5 x 0.5 low band
    rng = np.random.default_rng(0)
    assert measures.high_frequency_fraction(rng.normal(size=(128, 128)), 0.5) == pytest.approx(0.75, abs=0.02)
    with pytest.raises(ValueError, match="cutoff"):
        measures.high_frequency_fraction(x, 0.0)


def test_keep_count_matches_the_layer_rule():
    assert measures.keep_count(256, 0.5) == 128
    assert measures.keep_count(30, 0.1) == 3  # 0.1 * 30 = 3.0000000000000004 in floating point
    assert measures.keep_count(7, 0.01) == 1  # at least the DC term
    assert measures.keep_count(64, 1.0) == 64
    assert measures.lowpass_mask((8, 4), 0.5).sum() == 4 * 2


def test_dct_lowpass_is_a_projection_and_residual_is_the_rest():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 20, 2))
    low = measures.dct_lowpass(x, 0.5)
    np.testing.assert_allclose(measures.dct_lowpass(low, 0.5), low, atol=1e-12)
    np.testing.assert_allclose(low + measures.highpass_residual(x, 0.5), x, atol=1e-12)
    np.testing.assert_allclose(low.mean(axis=(0, 1)), x.mean(axis=(0, 1)), atol=1e-12)
    np.testing.assert_allclose(measures.dct_lowpass(x, 1.0), x, atol=1e-12)
    assert measures.high_frequency_fraction(low, 0.5) == pytest.approx(0.0, abs=1e-12)


def test_dct_lowpass_matches_the_keras_layer():
    from cyclegan_dct.layers import DCTLowPass

    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(2, 20, 12, 1)).astype(np.float32)
    for cutoff in (0.5, 0.25, 0.3):
        ref = np.asarray(DCTLowPass(cutoff)(x))
        for i in range(2):
            np.testing.assert_allclose(measures.dct_lowpass(x[i], cutoff), ref[i], atol=2e-5)


def test_clahe_range_and_flat_image():
    rng = np.random.default_rng(3)
    out = measures.clahe(0.001 * rng.normal(size=(32, 32)))  # faint signal is stretched to the full range
    assert out.min() >= 0 and out.max() <= 1 and out.max() - out.min() > 0.5
    assert not measures.clahe(np.ones((16, 16))).any()


def test_otsu_segmentation_finds_drawn_nuclei():
    labels = disks((64, 64), [(16, 16), (16, 46), (46, 30)], 7)
    img = np.where(labels > 0, 0.6, -0.8) + np.random.default_rng(4).normal(0, 0.05, labels.shape)
    seg = measures.otsu_segmentation(img)
    assert seg.dtype == np.uint16 and seg.max() == 3
    assert measures.dice(seg > 0, labels > 0) > 0.9
    tiny = np.full((32, 32), -1.0)
    tiny[5:7, 5:7] = 1.0  # 4 px, below min_size
    tiny[15:25, 15:25] = 1.0
    assert measures.otsu_segmentation(tiny).max() == 1
    assert not measures.otsu_segmentation(np.zeros((16, 16))).any()


def test_add_grey_noise_scale_and_clipping():
    rng = np.random.default_rng(5)
    x = np.zeros((256, 256, 1), np.float32)
    noisy = measures.add_grey_noise(x, 4, rng)
    assert noisy.dtype == np.float32
    assert (noisy * 255 / 2).std() == pytest.approx(4.0, rel=0.02)  # 4 grey levels of 255
    np.testing.assert_array_equal(measures.add_grey_noise(x, 0, rng), x)
    assert measures.add_grey_noise(np.ones((8, 8)), 8, rng).max() <= 1.0
    with pytest.raises(ValueError):
        measures.add_grey_noise(x, -1, rng)


def test_mask_agreement_known_values():
    a = np.zeros((10, 10), bool)
    a[:, :5] = True  # 50 px
    b = np.zeros((10, 10), bool)
    b[:, :4] = True  # 40 px inside a
    out = measures.mask_agreement({"input": a, "cycled": a, "otsu": b})
    assert out["input_vs_cycled"] == {"dice": pytest.approx(1.0), "iou": pytest.approx(1.0)}
    assert out["input_vs_otsu"]["dice"] == pytest.approx(2 * 40 / 90)
    assert out["input_vs_otsu"]["iou"] == pytest.approx(40 / 50)
    assert list(out) == ["input_vs_cycled", "input_vs_otsu", "cycled_vs_otsu"]


def test_mean_std():
    assert measures.mean_std([1, 3]) == {"mean": 2.0, "std": 1.0, "n": 2}
    with pytest.raises(ValueError):
        measures.mean_std([])

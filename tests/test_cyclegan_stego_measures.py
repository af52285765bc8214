"""The steganography measures where the answer is known (issue 21): an image that carries a planted,
low-amplitude, high-frequency copy of a mask, read back by a decoder of that channel, must show a high
sensitivity to small perturbations and a high share of energy above the DCT cutoff; the same image low-passed
carries nothing, and a mask drawn visibly survives the same perturbations."""

import numpy as np
import pytest

from cyclegan_dct import measures
from data.masks import random_ellipse_labels

SIZE = 64
AMPLITUDE = 2.0 / 255.0  # one grey level of 255 in the model range [-1, 1]


def _masks(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([random_ellipse_labels((SIZE, SIZE), rng=rng) > 0 for _ in range(n)])


CARRIER = np.indices((SIZE, SIZE)).sum(axis=0) % 2 * 2.0 - 1.0  # (-1)^(i + j): the highest DCT frequency


def _planted(masks, seed=1):
    """A smooth, mask-free picture plus the mask, +-1 grey level, on the checkerboard carrier."""
    rng = np.random.default_rng(seed)
    base = measures.blur(rng.normal(0.0, 0.3, masks.shape).astype(np.float32), 6.0) - 0.4
    return (base + AMPLITUDE * CARRIER * np.where(masks, 1.0, -1.0))[..., None].astype(np.float32)


def _decode(x):
    """The hidden channel's reader: demodulate by the carrier, smooth away the (now high-frequency) picture."""
    return measures.blur(np.asarray(x)[..., 0] * CARRIER, 1.5) > 0


def _visible(masks):
    return measures.blur(np.where(masks, 0.6, -0.6).astype(np.float32), 1.0)[..., None]


def _threshold(x):
    return np.asarray(x)[..., 0] > 0


def _noise(sigma, seed=2):
    rng = np.random.default_rng(seed)
    return lambda x: measures.add_grey_noise(x, sigma, rng)


def test_planted_copy_is_read_exactly_and_lost_to_small_perturbations():
    m = _masks()
    x = _planted(m)
    clean = measures.sensitivity(_decode, x, lambda v: v, m)
    assert clean["vs_clean"]["mean"] == 1.0 and clean["vs_truth"]["mean"] > 0.97  # the channel carries m
    for perturb in (_noise(8), lambda v: measures.jpeg(v, 75)):
        s = measures.sensitivity(_decode, x, perturb, m)
        assert s["vs_clean"]["mean"] < 0.8 and s["vs_truth"]["mean"] < 0.8, s


def test_visible_mask_survives_the_same_perturbations():
    m = _masks()
    x = _visible(m)
    for perturb in (_noise(8), lambda v: measures.jpeg(v, 75), lambda v: measures.blur(v, 1.0)):
        s = measures.sensitivity(_threshold, x, perturb, m)
        assert s["vs_clean"]["mean"] > 0.97 and s["vs_truth"]["mean"] > 0.95, s


def test_high_frequency_energy_of_the_planted_copy_and_of_its_low_pass():
    m = _masks()
    x = _planted(m)[..., 0]
    planted = np.mean([measures.high_frequency_fraction(v, 0.5) for v in x])
    passed = np.stack([measures.dct_lowpass(v, 0.5) for v in x])
    picture = np.mean([measures.high_frequency_fraction(v, 0.5) for v in _planted(np.zeros_like(m))[..., 0]
                       - AMPLITUDE * CARRIER * -1.0])  # the same picture without the copy
    assert planted > 0.1 and planted > 20 * picture, (planted, picture)
    assert np.mean([measures.high_frequency_fraction(v, 0.5) for v in passed]) < 1e-10
    # the low-passed image no longer carries the mask: the reader finds chance agreement
    read = _decode(passed[..., None])
    assert np.mean([measures.dice(a, b) for a, b in zip(m, read)]) < 0.7
    assert np.mean([measures.dice(a, b) for a, b in zip(m, _decode(x[..., None]))]) > 0.97


def test_jpeg_and_blur_keep_shape_and_range():
    x = np.linspace(-1, 1, 2 * SIZE * SIZE, dtype=np.float32).reshape(2, SIZE, SIZE, 1)
    for y in (measures.jpeg(x, 90), measures.blur(x, 1.0)):
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.abs(y - x).max() < 0.05


def test_instance_agreement_known_values():
    a = np.zeros((32, 32), np.uint16)
    a[2:10, 2:10], a[20:28, 20:28] = 1, 2
    b = a.copy()
    b[b == 2] = 0  # one of two nuclei found
    out = measures.instance_agreement({"input": [a], "cycled": [b], "otsu": [a]})
    assert out["input_vs_cycled"] == {"f1": pytest.approx(2 / 3), "ap": pytest.approx(0.5), "n_a": 2, "n_b": 1}
    assert out["input_vs_otsu"]["f1"] == 1.0 and out["cycled_vs_otsu"]["n_b"] == 2

"""Contrast inversion: the polarity measures, and the symmetry of the CycleGAN loss that lets G invert.

The cause (docs/cyclegan_dct.md, "Why the mapping inverted"): with ``lambda_identity=0`` the
generators' cycle losses are exactly invariant under (G, F) -> (G o N, N o F),
N(a) = -a the negated mask, which turns bright nuclei into dark ones; only the
adversarial terms could tell the two apart. The identity loss breaks the symmetry.
"""

import keras
import numpy as np
import pytest

from cyclegan_dct import polarity
from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.model import CycleGAN, build_cyclegan
from cyclegan_dct.networks import build_discriminator


def _disk_pair(size=48, r=7):
    yy, xx = np.mgrid[:size, :size]
    mask = np.zeros((size, size), np.uint16)
    for k, (cy, cx) in enumerate(((12, 12), (30, 34), (36, 10))):
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = k + 1
    img = np.where(mask > 0, 0.6, -0.8) + np.random.default_rng(0).normal(0, 0.05, mask.shape)
    return mask, img.astype(np.float32)


def test_polarity_measures_tell_bright_from_inverted_nuclei():
    mask, img = _disk_pair()
    assert polarity.mask_correlation(mask, img) > 0.9
    assert polarity.mask_correlation(mask, polarity.invert(img)) < -0.9
    assert polarity.otsu_dice(mask, img) > 0.9
    assert polarity.otsu_dice(mask, polarity.invert(img)) < 0.2
    assert polarity.mask_correlation(mask, np.zeros_like(img)) == 0.0
    rep = polarity.polarity_report([mask, mask], [img, polarity.invert(img)])
    assert rep["inverted_fraction"] == 0.5 and rep["correlation"]["n"] == 2
    assert rep["correlation"]["mean"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="differs"):
        polarity.mask_correlation(mask[:10], img)


def _affine(scale, offset, before=None, after=None):
    """A fixed pixel-wise map as a Keras model: optional negation before/after ``scale * x + offset``."""
    inp = keras.Input((None, None, 1))
    x = keras.layers.Rescaling(-1.0)(inp) if before else inp
    x = keras.layers.Rescaling(scale, offset)(x)
    x = keras.layers.Rescaling(-1.0)(x) if after else x
    return keras.Model(inp, x)


def _losses(lambda_identity, inverted, dct, lambda_polarity=0.0):
    """Generator loss terms of a pair with bright nuclei (G(a) = 0.4 a - 0.5, F its inverse), or of its
    contrast-inverted twin (G o N, N o F); same masks, real images and discriminators."""
    keras.utils.set_random_seed(0)
    config = CycleGANConfig(crop=32, n_blocks=0, filters=4, d_filters=4, disc_layers=1, pool_size=0,
                            dct=dct, lambda_identity=lambda_identity, lambda_polarity=lambda_polarity, epochs=1,
                            epochs_decay=0, steps_per_epoch=1)
    g = _affine(0.4, -0.5, before=inverted)
    f = _affine(2.5, 1.25, after=inverted)
    d_a, d_b = build_discriminator(1, 4, 1), build_discriminator(1, 4, 1)
    model = CycleGAN(g, f, d_a, d_b, config)
    rng = np.random.default_rng(1)
    a = np.where(rng.random((2, 32, 32, 1)) < 0.2, 1.0, -1.0).astype(np.float32)
    b = np.clip(rng.normal(-0.75, 0.2, (2, 32, 32, 1)), -1, 1).astype(np.float32)
    _, _, losses = model.generator_losses(a, b, training=False)
    return {k: float(v) for k, v in losses.items()}


@pytest.mark.parametrize("dct", [False, True])
def test_cycle_loss_cannot_tell_inverted_generators_apart(dct):
    """The cause: without the identity loss, cycle_a, cycle_b and idt_* are the same for both polarities."""
    bright, inverted = _losses(0.0, False, dct), _losses(0.0, True, dct)
    for k in ("cycle_a", "cycle_b", "idt_a", "idt_b"):
        assert inverted[k] == pytest.approx(bright[k], abs=1e-5), k
    if not dct:
        assert bright["cycle_a"] == pytest.approx(0.0, abs=1e-5)  # the affine pair is an exact cycle


@pytest.mark.parametrize("dct", [False, True])
def test_identity_loss_penalises_the_inverted_generators(dct):
    """The fix (--lambda-identity 0.5, the reference's value): the inverted pair costs more (fails at 0)."""
    bright, inverted = _losses(0.5, False, dct), _losses(0.5, True, dct)
    non_adv = ("cycle_a", "cycle_b", "idt_a", "idt_b")
    assert sum(inverted[k] for k in non_adv) > sum(bright[k] for k in non_adv) + 10.0
    assert inverted["idt_a"] > 5 * bright["idt_a"] and inverted["idt_b"] > 2 * bright["idt_b"]


def _train_and_probe(lambda_identity, steps=100):
    """Train a 64 px, 2-block, 8-filter CycleGAN (DCT 0.5, seed 0) for ``steps`` steps on the default data;
    return the polarity report of G on 8 fixed masks."""
    from cyclegan_dct.pipeline import make_dataset, make_samplers
    from cyclegan_dct.recipe import build_config

    config = build_config(crop=64, n_blocks=2, filters=8, d_filters=8, epochs=1, epochs_decay=0,
                          steps_per_epoch=steps, lambda_identity=lambda_identity, seed=0, like="stardist")
    keras.utils.set_random_seed(0)
    model = build_cyclegan(config)
    model.fit(make_dataset(config), epochs=1, steps_per_epoch=steps, verbose=0)
    masks = make_samplers(config, epoch=10**6)[0]
    a = np.stack([masks.sample() for _ in range(8)])
    g = model.g_a2b(a, training=False).numpy()
    return polarity.polarity_report(a[..., 0], g[..., 0])


@pytest.mark.slow
def test_tiny_training_inverts_without_identity_loss_and_not_with_it():
    """The smallest reproduction found: 100 steps at 64 px. Without the identity loss G already draws
    dark nuclei (correlation about -0.3, seeds 0 and 1); with --lambda-identity 0.5 bright ones."""
    fixed = _train_and_probe(0.5)
    assert fixed["correlation"]["mean"] > 0.15 and fixed["inverted_fraction"] == 0.0
    assert fixed["otsu_dice"]["mean"] > 0.5
    old = _train_and_probe(0.0)
    assert old["correlation"]["mean"] < fixed["correlation"]["mean"] - 0.3


def test_polarity_loss_penalises_inverted_nuclei():
    """model.polarity_loss = mean(relu(0.5 - corr)), corr as the numpy measure; 0 for bright nuclei."""
    from cyclegan_dct.model import POLARITY_MARGIN, polarity_loss

    mask, img = _disk_pair()
    a = np.where(mask > 0, 1.0, -1.0).astype(np.float32)[None, ..., None]
    bright, dark = img[None, ..., None], polarity.invert(img)[None, ..., None]
    assert float(polarity_loss(a, bright)) == pytest.approx(0.0, abs=1e-6)
    corr = polarity.mask_correlation(mask, polarity.invert(img))
    assert float(polarity_loss(a, dark)) == pytest.approx(POLARITY_MARGIN - corr, abs=1e-4)
    weak = (0.1 * img + 0.9 * np.random.default_rng(3).normal(0, 1, img.shape)).astype(np.float32)
    both = np.concatenate([bright, weak[None, ..., None]])
    expected = max(0.0, POLARITY_MARGIN - polarity.mask_correlation(mask, weak)) / 2
    assert float(polarity_loss(np.concatenate([a, a]), both)) == pytest.approx(expected, abs=1e-4)


def test_polarity_anchor_is_a_named_option():
    """--lambda-polarity: 0 by default (the reference has no such term), logged as 'polarity'."""
    assert CycleGANConfig().lambda_polarity == 0.0
    with pytest.raises(ValueError, match="lambda_polarity"):
        CycleGANConfig(lambda_polarity=-1.0)
    off = _losses(0.0, True, False)
    assert off["polarity"] == 0.0
    # the exact mirror (G o N, N o F): G's output anti-correlates perfectly with the mask
    assert _losses(0.0, True, True, lambda_polarity=2.0)["polarity"] == pytest.approx(2.0 * 1.5, abs=1e-4)
    assert _losses(0.0, False, True, lambda_polarity=2.0)["polarity"] == pytest.approx(0.0, abs=1e-6)

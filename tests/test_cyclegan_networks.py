"""Generator and discriminator: reference parameter counts, shapes, dtypes, save/load."""

import keras
import numpy as np
import pytest

import cyclegan_dct
from cyclegan_dct import build_discriminator, build_generator


@pytest.mark.parametrize("channels,g_params,d_params", [(1, 11_365_633, 2_762_689), (3, 11_378_179, 2_764_737)])
def test_reference_parameter_counts(channels, g_params, d_params):
    assert build_generator(channels).count_params() == g_params
    assert build_discriminator(channels).count_params() == d_params


def test_generator_is_fully_convolutional_and_bounded():
    g = build_generator(1, n_blocks=2, filters=8)
    for h, w in [(32, 32), (36, 44)]:
        y = g(np.random.default_rng(0).normal(size=(2, h, w, 1)).astype("float32")).numpy()
        assert y.shape == (2, h, w, 1) and np.all(np.abs(y) <= 1)
    assert g.input_shape == (None, None, None, 1)


def test_generator_downsamples_like_the_reference():
    # PyTorch conv(k3, s2, p1) and convT(k3, s2, p1, output_padding 1): H -> H/2 -> H/4 -> H/2 -> H
    g = build_generator(1, n_blocks=1, filters=4)
    shapes = {layer.name: layer.output.shape[1] for layer in g.layers}
    g_fixed = keras.Model(g.input, [g.get_layer(n).output for n in ("down1_conv", "down2_conv", "up1_crop")])
    outs = g_fixed(np.zeros((1, 40, 40, 1), "float32"))
    assert [o.shape[1] for o in outs] == [20, 10, 20]
    assert shapes["out_tanh"] is None


def test_discriminator_patch_output():
    d = build_discriminator(1, filters=8)
    # 70x70 PatchGAN on 256: 256 -> 128 -> 64 -> 32 -> 31 -> 30
    assert d(np.zeros((1, 256, 256, 1), "float32")).shape == (1, 30, 30, 1)
    assert d(np.zeros((2, 64, 48, 1), "float32")).shape == (2, 6, 4, 1)


def test_instance_norm_without_affine_parameters():
    from cyclegan_dct.layers import InstanceNormalization

    g = build_generator(1, n_blocks=1, filters=4)
    norms = [layer for layer in g.layers if isinstance(layer, InstanceNormalization)]
    assert len(norms) == 7 and all(n.epsilon == 1e-5 and not n.weights for n in norms)
    old = build_generator(1, n_blocks=1, filters=4, norm="groupnorm")
    norms = [layer for layer in old.layers if isinstance(layer, keras.layers.GroupNormalization)]
    # groups=-1 resolves to one group per channel: instance normalisation
    assert len(norms) == 7 and all(n.groups == n.input.shape[-1] and not n.center and not n.scale and not n.weights
                                   for n in norms)


def test_mixed_precision_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    g, d = build_generator(1, 1, 4), build_discriminator(1, 4)
    x = np.zeros((1, 32, 32, 1), "float32")
    assert g(x).dtype == "float32" and d(x).dtype == "float32"
    assert g.get_layer("in_conv").compute_dtype == "bfloat16"


def test_save_load_same_output(tmp_path):
    g = build_generator(1, n_blocks=1, filters=4)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = cyclegan_dct.load_generator(path)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 48, 32, 1)).astype("float32")
    np.testing.assert_allclose(loaded(x).numpy(), g(x).numpy(), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        cyclegan_dct.load_generator(tmp_path / "missing.keras")


def test_invalid_arguments():
    with pytest.raises(ValueError):
        build_generator(0)
    with pytest.raises(ValueError):
        build_discriminator(1, n_layers=0)

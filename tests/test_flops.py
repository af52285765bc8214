"""benchmarks/flops.py: FLOP counts of tiny networks against hand-computed figures."""

import keras
import pytest

from benchmarks import flops


def _tiny():
    """8x8x2 -> conv 3x3 2->4 'same' -> conv 3x3 stride 2 4->4 'valid' -> transposed 2x2/2 4->3 -> dense 3->5."""
    x = inp = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same", name="c1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="valid", use_bias=False, name="c2")(x)  # 3x3 output
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2DTranspose(3, 2, strides=2, name="t1")(x)  # 6x6 output
    x = keras.layers.Dense(5, name="d1")(x)
    return keras.Model(inp, x)


# MACs per example, by hand:
C1 = 8 * 8 * (3 * 3 * 2 * 4)  # 64 output positions x 72 = 4608
C2 = 3 * 3 * (3 * 3 * 4 * 4)  # 9 output positions x 144 = 1296
T1 = 3 * 3 * (2 * 2 * 3 * 4)  # 9 INPUT positions x 48 = 432
D1 = 6 * 6 * (3 * 5)  # 36 rows x 15 = 540
FORWARD = 2 * (C1 + C2 + T1 + D1)  # 13752


def test_layer_costs_by_hand():
    costs = flops.layer_costs(_tiny(), (8, 8, 2))
    assert [(c.name, c.kind, c.macs) for c in costs] == [
        ("c1", "conv", C1), ("c2", "conv", C2), ("t1", "conv_transpose", T1), ("d1", "dense", D1)]
    assert flops.forward_flops(_tiny(), (8, 8, 2), batch_size=3) == 3 * FORWARD


def test_training_rule():
    model = _tiny()
    # trained, applied to data: 3x forward except the first layer's input gradient
    assert flops.application_flops(model, (8, 8, 2), batch_size=2) == 2 * (3 * FORWARD - 2 * C1)
    # trained, input gradient needed too (e.g. a discriminator on a generator's output): 3x
    assert flops.application_flops(model, (8, 8, 2), train=True, input_grad=True) == 3 * FORWARD
    # frozen (not trained in this application): forward only, or forward + input gradient
    assert flops.application_flops(model, (8, 8, 2), train=False) == FORWARD
    assert flops.application_flops(model, (8, 8, 2), train=False, input_grad=True) == 2 * FORWARD
    model.trainable = False  # frozen weights are never counted as trained
    assert flops.application_flops(model, (8, 8, 2), train=True) == FORWARD


def test_partly_frozen_and_nested():
    inner = _tiny()
    inner.get_layer("c1").trainable = False
    inp = keras.Input((None, None, 2))  # undefined spatial size: the count runs the model on the given shape
    outer = keras.Model(inp, keras.layers.Dense(1, use_bias=False, name="head")(inner(inp)))
    head = 6 * 6 * 5  # rows x (5 x 1)
    costs = flops.layer_costs(outer, (8, 8, 2))
    assert [c.name for c in costs] == ["c1", "c2", "t1", "d1", "head"]
    assert [c.trainable for c in costs] == [False, True, True, True, True]
    # c1 frozen on data: forward only; c2 trained but nothing trained before it: no input gradient
    expected = 2 * C1 + 2 * 2 * C2 + 3 * 2 * (T1 + D1 + head)
    assert flops.application_flops(outer, (8, 8, 2)) == expected
    # the model's own layers are left as they were (no recording wrapper stays behind)
    assert "call" not in vars(inner.get_layer("c1"))


@pytest.mark.parametrize("groups", [1, 2])
def test_grouped_and_depthwise(groups):
    x = inp = keras.Input((6, 6, 4))
    x = keras.layers.Conv2D(6, 3, padding="same", groups=groups)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)  # 4x4 output
    model = keras.Model(inp, x)
    assert flops.forward_flops(model, (6, 6, 4)) == 2 * (36 * 3 * 3 * (4 // groups) * 6 + 16 * 3 * 3 * 6)

"""Built-in Keras forms of our custom operations (data.packaging.builtin_forms): equal to what they replace."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from data.packaging.builtin_forms import reciprocal, reflection_padding


@pytest.mark.parametrize("channels,padding,size", [(1, 3, (10, 13)), (4, 1, (5, 7)), (3, (2, 1), (6, 4)),
                                                   (2, 3, (4, 4)), (2, (0, 2), (3, 5))])
def test_reflection_padding_is_tf_reflect_bit_for_bit(channels, padding, size):
    model = reflection_padding(channels, padding, "pad")
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = np.random.default_rng(0).normal(size=(2, *size, channels)).astype(np.float32)
    ref = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], "REFLECT").numpy()
    np.testing.assert_array_equal(np.asarray(model(x)), ref)
    assert not model.trainable_weights
    assert {type(layer).__module__.split(".")[0] for layer in model.layers} == {"keras"}


def test_reflection_padding_takes_any_size_in_one_graph():
    model = reflection_padding(2, 2, "pad")
    fn = tf.function(lambda t: model(t), input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)])
    for size in [(3, 3), (9, 4), (17, 31)]:
        x = np.random.default_rng(1).uniform(-1, 1, (1, *size, 2)).astype(np.float32)
        np.testing.assert_array_equal(fn(x).numpy(), np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect"))


def test_reciprocal_above_its_bound():
    inp = keras.Input((None, None, 1))
    model = keras.Model(inp, reciprocal(inp, 0.25, "r"))
    v = np.linspace(0.25, 3, 1000, dtype=np.float32).reshape(1, 10, 100, 1)
    np.testing.assert_allclose(np.asarray(model(v)), 1 / v, rtol=5e-7)

"""miniVGG19 network: exact parameter counts, feature taps, initialisers, precision, save/load, config, scores."""

import io
import zipfile

import h5py
import keras
import numpy as np
import pytest

import vgg19
from conftest import n_params
from data.packaging.keras_export import export_model
from vgg19.confusion import classification_report, confusion_matrix, format_table, report_to_dict

TINY = dict(input_shape=(32, 32, 3), n_classes=13, base_filters=4, dense_units=16)


def test_faithful_model_parameter_counts_names_and_feature_shapes():
    model = vgg19.build_model()
    assert n_params(model.trainable_weights) == 55_742_925
    assert n_params(model.non_trainable_weights) == 11_008
    assert model.output_shape == (None, 13)
    for name in ("block1_conv1", "block3_bn4", "block5_act4", "block5_pool", "flatten", "fc1", "fc2_act", "logits"):
        model.get_layer(name)
    extractor = vgg19.build_feature_extractor(model)
    assert [tuple(o.shape[1:]) for o in extractor.outputs] == [
        (96, 96, 64), (48, 48, 128), (24, 24, 256), (12, 12, 512), (6, 6, 512)]
    assert extractor.trainable_weights == []
    assert model.trainable and n_params(model.trainable_weights) == 55_742_925  # the classifier is left untouched


def test_small_feature_extractor_matches_classifier_in_inference_mode():
    model = vgg19.build_model(**TINY)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    model(x, training=True)  # one training-mode call moves the BN statistics away from (0, 1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.random.default_rng(1).normal(0, 0.3, layer.moving_mean.shape))
    extractor = vgg19.build_feature_extractor(model)
    assert [tuple(o.shape[1:]) for o in extractor.outputs] == [
        (32, 32, 4), (16, 16, 8), (8, 8, 16), (4, 4, 32), (2, 2, 32)]
    taps = keras.Model(model.input, [model.get_layer(n).output for n in vgg19.FEATURE_LAYERS])
    expected = taps(x, training=False)
    for training in (False, True):  # BN must use the moving statistics even with training=True
        got = extractor(x, training=training)
        for e, g in zip(expected, got):
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-5, atol=1e-5)
    # Fully convolutional taps: another input size works.
    any_size = vgg19.build_feature_extractor(model, layer_names=("block2_act2",), input_shape=(None, None, 3))
    assert tuple(any_size(np.zeros((1, 64, 48, 3), np.float32)).shape) == (1, 32, 24, 8)
    with pytest.raises(ValueError, match="not_a_layer"):
        vgg19.build_feature_extractor(model, layer_names=("not_a_layer",))


def test_initialisers_follow_the_original():
    keras.utils.set_random_seed(0)
    model = vgg19.build_model(**TINY)
    gamma = np.concatenate([keras.ops.convert_to_numpy(layer.gamma) for layer in model.layers
                            if isinstance(layer, keras.layers.BatchNormalization)])
    assert np.abs(gamma).max() <= 0.2 + 1e-6  # truncated normal, stddev 0.1, cut at 2 stddev
    assert abs(gamma.mean()) < 0.05 and 0.05 < gamma.std() < 0.1
    fc1 = keras.ops.convert_to_numpy(model.get_layer("fc1").kernel)
    assert np.abs(fc1).max() <= 0.2 + 1e-6 and 0.06 < fc1.std() < 0.1
    assert not keras.ops.convert_to_numpy(model.get_layer("fc1").bias).any()
    assert model.get_layer("block1_conv1").bias is None
    bn = model.get_layer("block4_bn3")
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    assert model.get_layer("fc2_act").negative_slope == pytest.approx(0.2)
    assert vgg19.build_model(**TINY, bn_momentum=0.9).get_layer("block4_bn3").momentum == 0.9
    ones = vgg19.build_model(**TINY, bn_scale_init="ones")
    assert np.all(keras.ops.convert_to_numpy(ones.get_layer("block1_bn1").gamma) == 1)


def test_mixed_precision_computes_low_and_outputs_float32_logits():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = vgg19.build_model(**TINY)
    assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("block1_conv1").kernel.dtype == "float32"
    out = model(np.zeros((2, 32, 32, 3), np.float32))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


@pytest.mark.slow
def test_save_load_gives_the_same_output(tmp_path):
    model = vgg19.build_model(**TINY)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    model.compile(keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, np.array([1, 2]), verbose=0)  # creates the optimizer state, which the export must leave out
    path = tmp_path / "minivgg19.keras"
    export_model(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["minivgg19.keras"]  # no temporary file left
    with zipfile.ZipFile(path) as z, z.open("model.weights.h5") as f, h5py.File(io.BytesIO(f.read()), "r") as h5:
        assert "optimizer" not in h5
    for loaded in (vgg19.load_model(path), keras.models.load_model(path)):
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        vgg19.load_model(tmp_path / "missing.keras")


def test_config_validation_names_bad_fields_and_round_trips():
    cfg = vgg19.VGG19Config(base_filters=4, dense_units=16, image_size=32)
    assert vgg19.VGG19Config.from_dict(cfg.to_dict()) == cfg
    assert vgg19.VGG19Config().input_shape == (96, 96, 3)
    with pytest.raises(ValueError, match="batch_size=0.*precision='fp8'"):
        vgg19.VGG19Config(batch_size=0, precision="fp8")
    with pytest.raises(ValueError, match="bn_scale_init.*bn_momentum|bn_momentum.*bn_scale_init"):
        vgg19.VGG19Config(bn_scale_init="zeros", bn_momentum=1.0)
    with pytest.raises(ValueError, match="unknown VGG19Config fields: width"):
        vgg19.VGG19Config.from_dict({"width": 3})


def test_confusion_matrix_and_report():
    labels = np.array([0, 0, 1, 1, 1, 2])
    preds = np.array([0, 1, 1, 1, 0, 1])
    cm = confusion_matrix(labels, preds, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    rep = classification_report(labels, preds, 3)
    assert rep.accuracy == pytest.approx(3 / 6)
    np.testing.assert_allclose(rep.recall, [0.5, 2 / 3, 0.0])
    np.testing.assert_allclose(rep.precision[:2], [0.5, 0.5])
    assert np.isnan(rep.precision[2])  # class 2 never predicted
    d = report_to_dict(rep, ["a", "b", "c"])
    assert d["precision"][2] is None and d["support"] == [2, 3, 1]
    table = format_table(rep, ["a", "b", "c"])
    assert "accuracy 0.5000 on 6 images" in table and "01 b    1    2    0     3  0.667" in table
    with pytest.raises(ValueError, match="labels outside 0..2: \\[5\\]"):
        confusion_matrix([5], [0], 3)

"""The one export and the one loader of inference models (``.keras``), for the three packages.

Exports are float32 whatever the training precision: :func:`float32_copy`
rebuilds the network from its config with every dtype policy set to
``float32`` and copies the weights (Keras keeps mixed-precision variables in
float32, so nothing is rounded), so ``keras.models.load_model`` gives float32
layers. The copy is uncompiled: the file holds no optimizer state. Written
atomically (temporary file, then rename).

:func:`load_model` is the one loader: a missing or unreadable file raises
one line naming it; ``input_shape`` / ``output_shape`` / ``channels`` check
the loaded network. Exports made with ``forms`` hold built-in layers only; for other files the module
that registers the custom layers must be imported first (``msrgan.load_generator`` and
``cyclegan_dct.load_generator`` do it).
"""

from __future__ import annotations

from pathlib import Path

import keras

from data.io import atomic_path

_MIXED = ("mixed_bfloat16", "mixed_float16", "bfloat16", "float16")


def _float32_config(obj):
    """``obj`` (a model config) with every dtype policy and tensor dtype set to float32."""
    if isinstance(obj, list):
        return [_float32_config(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: _float32_config(v) for k, v in obj.items()}
    if out.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(out.get("config"), dict):
        if out["config"].get("name") in _MIXED:
            out["config"] = {**out["config"], "name": "float32"}
    if out.get("dtype") in _MIXED:
        out["dtype"] = "float32"
    return out


def _with_input_shape(config, input_shape):
    """Functional ``config`` whose (single) input takes ``(None, *input_shape)``."""
    batch_shape = [None, *input_shape]
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = batch_shape
        layer.pop("build_config", None)
    return config


def _replace_layers(model, config, forms):
    """Swap, in the functional ``config``, each layer whose type is a key of ``forms`` for the built-in layer
    ``forms[type](layer)`` returns as ``(new_layer, weights)`` (``(None, None)``: keep it); return
    ``{name: weights}`` of the swapped layers."""
    replaced = {}
    for entry in config["layers"]:
        layer = model.get_layer(entry["name"])
        form = forms.get(type(layer))
        if form is None:
            continue
        new, weights = form(layer)
        if new is None:
            continue
        serialized = keras.saving.serialize_keras_object(new)
        entry.update({k: serialized[k] for k in ("module", "class_name", "config", "registered_name")})
        entry.pop("build_config", None)
        replaced[entry["name"]] = weights
    return replaced


def float32_copy(model, input_shape=None, forms=None):
    """An uncompiled float32 copy of a functional ``model`` with the same weights.

    ``input_shape`` (without the batch axis, e.g. ``(None, None, 3)`` for a
    fully convolutional generator) replaces the input shape of the copy.
    ``forms`` maps custom layer types to their built-in inference form (e.g.
    :data:`msrgan.layers.INFERENCE_FORMS`), so that the copy loads without
    the package that defines them.
    """
    config = _float32_config(model.get_config())
    if input_shape is not None:
        config = _with_input_shape(config, input_shape)
    replaced = _replace_layers(model, config, forms) if forms else {}
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = model.__class__.from_config(config)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    if replaced:
        for layer in copy.layers:
            weights = replaced.get(layer.name)
            layer.set_weights(weights if weights is not None else model.get_layer(layer.name).get_weights())
    else:
        copy.set_weights(model.get_weights())
    return copy


def export_model(model, path, input_shape=None, forms=None):
    """Write the float32 copy of ``model`` (:func:`float32_copy`) to ``path`` (``.keras``) atomically; return
    the path."""
    copy = float32_copy(model, input_shape, forms)
    with atomic_path(path) as tmp:
        copy.save(str(tmp))
    return Path(path)


def load_model(path, hint="", input_shape=None, output_shape=None, channels=None):
    """A ``.keras`` inference model; every failure raises one line naming ``path``.

    ``hint`` completes the missing-file message (e.g. "train one with python -m
    vgg19.train"). ``input_shape`` / ``output_shape`` (without the batch axis)
    must equal the model's when given, ``None`` included (``(None, None, 3)``:
    a fully convolutional RGB model that takes any size); ``channels`` checks
    the input's last axis only.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file" + (f" ({hint})" if hint else ""))
    try:
        model = keras.models.load_model(str(path), compile=False)
    except Exception as e:  # noqa: BLE001 - any failure of a corrupt or foreign file is reported as bad input
        raise ValueError(f"{path}: cannot load a Keras model ({e})") from e
    for what, want, got in (("input", input_shape, model.input_shape), ("output", output_shape, model.output_shape)):
        if want is not None and tuple(got[1:]) != tuple(want):
            raise ValueError(f"{path}: {what} shape {tuple(got[1:])}, expected {tuple(want)}")
    if channels is not None and model.input_shape[-1] != channels:
        raise ValueError(f"{path}: the model takes {model.input_shape[-1]} channels, expected {channels}")
    return model


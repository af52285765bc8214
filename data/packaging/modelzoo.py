"""bioimage.io model packages: a generic writer for any Keras 3 model of this project.

A package (BioImage Model Zoo, resource description format 0.5) is a folder::

    rdf.yaml                  the description: tensors, axes, pre/post-processing, weights, citations
    model.keras               ``keras_v3`` weights (needs the package that registers our custom layers)
    tf_saved_model.zip        ``tensorflow_saved_model_bundle`` weights: Keras 3 ``model.export()``,
                              runs with TensorFlow alone
    test_<input id>.npy       a real test image as the model receives it before pre-processing
    test_<output id>.npy      the Keras model's output on it after post-processing
    sample_<id>.png           the same as images, for viewers (optional)
    cover.png, README.md      the cover image and the documentation
    <attachments>             e.g. the training ``config.json``

``rdf.yaml`` is written in JSON syntax, which is valid YAML (1.2, and 1.1 for
this content), so no YAML library is needed; ``bioimageio.spec`` reads it as
YAML. Every file has its SHA-256 in ``rdf.yaml``.

The package is built in a hidden staging folder beside ``OUT_DIR`` and renamed
to ``OUT_DIR`` only when every file is written; on any error the staging
folder is removed and ``OUT_DIR`` is left as it was. An existing non-empty
``OUT_DIR`` is refused unless ``overwrite``.

The model-specific parts (tensors, processing, cover, README text) come from
each package: :mod:`msrgan.modelzoo` for the mSRGAN generator. TensorFlow is
imported only inside the functions that save or run a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data import io

log = logging.getLogger(__name__)

FORMAT_VERSION = "0.5.4"
"""The model RDF format version written (0.5.x; validated with bioimageio.spec 0.5.12)."""

KERAS_FILE = "model.keras"
SAVED_MODEL_FILE = "tf_saved_model.zip"
RDF_FILE = "rdf.yaml"


@dataclass
class TensorDescr:
    """One input or output tensor of a package (the spec's ``inputs[i]`` / ``outputs[i]``).

    ``axes`` are spec 0.5 axis dicts (``{"type": "batch"}``, ``{"type": "space", "id": "y", ...}``,
    ``{"type": "channel", "channel_names": [...]}``), in the order of ``test_tensor``'s dimensions.
    ``data`` is the spec's data description (e.g. ``{"type": "uint8"}``);
    ``processing`` is the pre-processing of an input or the post-processing of an output.
    """

    id: str
    description: str
    axes: list
    test_tensor: np.ndarray
    data: dict | None = None
    processing: list = field(default_factory=list)
    sample: np.ndarray | None = None
    """Optional uint8/uint16 image (H, W[, C]) of the same data, for viewers; written as ``sample_<id>.png``."""


@dataclass
class PackageDescr:
    """Everything of a package except the model itself; see :func:`write_package`."""

    name: str
    description: str
    authors: list
    license: str
    inputs: list
    outputs: list
    documentation: str
    cover: np.ndarray
    cite: list
    tags: list = field(default_factory=list)
    attachments: dict = field(default_factory=dict)
    """``{file name in the package: source path}``, copied as they are."""
    keras_comment: str = ""
    saved_model_comment: str = ""
    version: str = "0.1.0"


def export(model_path, out_dir, load, describe, overwrite=False, forms=None):
    """The steps every ``<package>.export`` CLI takes: check ``out_dir``, ``load(model_path)``,
    ``describe(model, model_path)`` -> :class:`PackageDescr`, :func:`write_package`.

    ``load`` and ``describe`` raise ``ValueError``/``OSError`` naming the file for a bad model (a
    multi-line message, as Keras' load errors are, is put on one line). The package holds the
    float32 copy of the model (:func:`data.packaging.keras_export.float32_copy`), whatever policy it was saved under,
    with the custom layers of ``forms`` replaced by their built-in inference forms.
    """
    from data.packaging.keras_export import float32_copy

    check_out_dir(out_dir, overwrite)
    try:
        model = float32_copy(load(model_path), forms=forms)
    except ValueError as e:
        raise ValueError(one_line(e)) from e
    descr = describe(model, model_path)
    return write_package(out_dir, model, descr, overwrite=overwrite)


def parse_authors(text):
    """``"Ada Lovelace, Alan Turing"`` -> ``["Ada Lovelace", "Alan Turing"]``."""
    return [a.strip() for a in str(text).split(",") if a.strip()]


def one_line(error):
    """An error message on one line (Keras' load errors span several)."""
    return " ".join(str(error).split())


def check_out_dir(out_dir, overwrite=False):
    """Refuse an existing non-empty ``out_dir`` (or a file) unless ``overwrite``; raises ``ValueError``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir}: folder exists and is not empty (use --overwrite to replace it)")


def sha256(path):
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def zip_folder(folder, zip_path):
    """Zip the contents of ``folder`` (paths relative to it, so ``saved_model.pb`` is at the root)."""
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, p.relative_to(folder))


def export_saved_model(model, path, output_ids):
    """A TensorFlow SavedModel of ``model`` by Keras 3's ``model.export()``, zipped to ``path``.

    The model is first wrapped (same layers and weights) so that it returns a
    dict ``{output id: tensor}``: the bioimage.io tools (``bioimageio.core``'s
    TensorFlow 2 adapter, a ``keras.layers.TFSMLayer`` on the ``serve``
    endpoint) require named outputs. The ``serve`` endpoint and the
    ``serving_default`` signature take the model's float32 input (any batch
    size, and any H, W when the model allows it).
    """
    import keras

    path = Path(path)
    outputs = model.outputs
    if len(outputs) != len(output_ids):
        raise ValueError(f"the model has {len(outputs)} outputs but {len(output_ids)} output ids were given")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # a bare tensor, not a list of one
    named = keras.Model(inputs, dict(zip(output_ids, outputs)), name=model.name)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        folder = Path(tmp) / "saved_model"
        named.export(str(folder), format="tf_saved_model", verbose=False)
        zip_folder(folder, path)


def _file_entry(root, name):
    return {"source": name, "sha256": sha256(Path(root) / name)}


def _tensor_rdf(root, t, kind):
    np.save(Path(root) / f"test_{t.id}.npy", np.asarray(t.test_tensor))
    entry = {
        "id": t.id,
        "description": t.description,
        "axes": t.axes,
        "test_tensor": _file_entry(root, f"test_{t.id}.npy"),
    }
    if t.sample is not None:
        io.write_png(Path(root) / f"sample_{t.id}.png", t.sample)
        entry["sample_tensor"] = _file_entry(root, f"sample_{t.id}.png")
    if t.data is not None:
        entry["data"] = t.data
    if t.processing:
        entry["preprocessing" if kind == "input" else "postprocessing"] = t.processing
    return entry


def build_rdf(root, descr, keras_version, tf_version):
    """The ``rdf.yaml`` content (a dict) for the files already written in ``root``."""
    return {
        "format_version": FORMAT_VERSION,
        "type": "model",
        "name": descr.name,
        "description": descr.description,
        "version": descr.version,
        "authors": [{"name": a} for a in descr.authors],
        "cite": descr.cite,
        "license": descr.license,
        "tags": descr.tags,
        "documentation": "README.md",
        "covers": ["cover.png"],
        "attachments": [_file_entry(root, name) for name in descr.attachments],
        "inputs": [_tensor_rdf(root, t, "input") for t in descr.inputs],
        "outputs": [_tensor_rdf(root, t, "output") for t in descr.outputs],
        "weights": {
            "keras_v3": {
                **_file_entry(root, KERAS_FILE),
                "keras_version": keras_version,
                "backend": ["tensorflow", tf_version],
                "comment": descr.keras_comment,
            },
            "tensorflow_saved_model_bundle": {
                **_file_entry(root, SAVED_MODEL_FILE),
                "tensorflow_version": tf_version,
                "parent": "keras_v3",
                "comment": descr.saved_model_comment,
            },
        },
    }


def write_package(out_dir, model, descr, overwrite=False):
    """Write the bioimage.io package of the Keras ``model`` described by ``descr`` to ``out_dir``.

    Returns ``out_dir`` as a Path. Raises ``ValueError`` for an existing
    non-empty ``out_dir`` without ``overwrite``; on any error nothing is left
    behind (``out_dir`` is untouched).
    """
    import keras
    import tensorflow as tf

    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        model.save(stage / KERAS_FILE)
        export_saved_model(model, stage / SAVED_MODEL_FILE, [t.id for t in descr.outputs])
        io.write_png(stage / "cover.png", descr.cover)
        (stage / "README.md").write_text(descr.documentation)
        for name, src in descr.attachments.items():
            shutil.copyfile(src, stage / name)
        rdf = build_rdf(stage, descr, keras.__version__, tf.__version__)
        (stage / RDF_FILE).write_text(json.dumps(rdf, indent=2) + "\n")
        stage.chmod(0o777 & ~_umask())
        _move_into_place(stage, out_dir, overwrite)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    log.info("wrote bioimage.io package %s", out_dir)
    return out_dir


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(stage, out_dir, overwrite):
    """Rename ``stage`` to ``out_dir``; an old ``out_dir`` (empty, or replaced with ``overwrite``) goes away."""
    check_out_dir(out_dir, overwrite)  # again: it may have appeared while the package was built
    old = None
    if out_dir.is_dir():
        old = out_dir.with_name(f".{out_dir.name}.old-{stage.name}")
        out_dir.rename(old)
    try:
        stage.rename(out_dir)
    except BaseException:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""The miniVGG19 classifier as a bioimage.io model package (written by :mod:`data.packaging.modelzoo`).

Input: one 96x96 8-bit RGB field of view (R = microtubules, G = protein,
B = DAPI nuclei), pre-processed by ``scale_linear`` gain 1/127.5, offset -1
(the model convention ``x / 127.5 - 1``). Output: the 13 CYTO 2017 class
probabilities (the model's logits through the spec's ``softmax``
post-processing along the channel axis, whose names are the classes). The
network has no custom layers, so both weight formats run without our code.
Test tensors: the first image of the demo data's test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data import CLASS_NAMES
from data.packaging import modelzoo, package_readme

CHANNEL_NAMES = ["microtubules", "protein", "nuclei"]

CITE = [
    {
        "text": "mSRGAN: A Generative Adversarial Network for single image super-resolution in high content "
                "screening microscopy images (master's thesis, whose miniVGG19 this is; original TensorFlow 1 code)",
        "url": "https://github.com/Saurabh23/mSRGAN-A-GAN-for-single-image-super-resolution-on-high-content-"
               "screening-microscopy-images.",
    },
    {
        "text": "Simonyan K., Zisserman A., Very Deep Convolutional Networks for Large-Scale Image Recognition, "
                "ICLR 2015",
        "doi": "10.48550/arXiv.1409.1556",
    },
]


def check_classifier(model, path):
    """Refuse a model that is not a miniVGG19-like classifier: one (B, H, W, 3) input, (B, 13) output."""
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4 or None in shape[1:]:
        raise ValueError(f"{path}: not a miniVGG19 classifier (expected one fixed-size image input, got {shape})")
    out = getattr(model, "output_shape", None)
    if not isinstance(out, tuple) or out[1:] != (len(CLASS_NAMES),):
        raise ValueError(f"{path}: not a miniVGG19 classifier (expected {len(CLASS_NAMES)} class outputs, "
                         f"got output shape {out})")


def _documentation(name, probs, label, image_size, config_lines):
    top = int(np.argmax(probs))
    return "\n".join([
        f"# {name}",
        "",
        "miniVGG19: VGG19 trained from scratch to classify 96x96 RGB fluorescence fields of view into the 13 "
        "protein localisations of CYTO 2017 (Human Protein Atlas); its features are mSRGAN's content loss.",
        "",
        "## Input and output",
        "",
        f"- input `image`: (batch, y, x, channel), {image_size}x{image_size} RGB with R = microtubules, "
        "G = protein, B = DAPI nuclei; 8-bit, mapped by `x / 127.5 - 1` (`scale_linear` gain 1/127.5, offset -1).",
        "- output `probabilities`: (batch, channel) over the classes "
        + ", ".join(f"{i:02d} {c}" for i, c in enumerate(CLASS_NAMES))
        + " (the network's logits through `softmax`).",
        "",
        "## Weights",
        "",
        "`model.keras` (`keras_v3`) and `tf_saved_model.zip` (`tensorflow_saved_model_bundle`, Keras 3's "
        "`model.export()`): the network has no custom layers, so both run without gan-microscopy.",
        "",
        "## Test image",
        "",
        f"`test_image.npy`: the first image of the demo data's test split (class {label:02d} "
        f"{CLASS_NAMES[label]}); the model gives {probs[label]:.3f} to that class and ranks {top:02d} "
        f"{CLASS_NAMES[top]} first ({probs[top]:.3f}). The cover shows that image.",
        "",
        "## Validation",
        "",
        "`bioimageio test rdf.yaml` (bioimageio.core) checks that both weight formats reproduce "
        "`test_probabilities.npy`; gan-microscopy's test suite (`tests/test_modelzoo_export.py`) checks that "
        "packages written by this exporter pass it.",
        "",
        *package_readme.readme_tail(config_lines, CITE),
    ])


def _training_lines(run_dir):
    """README lines from the run folder's config.json and export.json (each when present)."""
    config = package_readme.read_json_if_present(Path(run_dir) / "config.json")
    lines = ["No `config.json` was found beside the model."]
    if config is not None:
        lines = ["Training configuration (the attached `config.json`):", "",
                 package_readme.markdown_table(sorted(config.items()))]
    summary = package_readme.read_json_if_present(Path(run_dir) / "export.json")
    if summary is not None:
        lines += ["", "Exported model (`export.json`: epoch, step, monitored value, scores):", "",
                  package_readme.markdown_table(sorted(summary.items()))]
    return lines, (Path(run_dir) / "config.json" if config is not None else None)


def package_descr(model, model_path, name=None, authors=None, license="MIT", seed=0):
    """The :class:`data.packaging.modelzoo.PackageDescr` of the miniVGG19 ``model`` loaded from ``model_path``."""
    import tensorflow as tf

    from data import synthetic

    model_path = Path(model_path)
    check_classifier(model, model_path)
    size = int(model.input_shape[1])
    images, labels = synthetic.demo_split("test", n=1300, seed=seed)
    image, label = images[0], int(labels[0])
    if size != image.shape[0]:
        image = tf.image.resize(image, (size, size), method="area").numpy().round().clip(0, 255).astype(np.uint8)
    x = image[None].astype(np.float32) / np.float32(127.5) - 1
    logits = tf.cast(model(tf.constant(x), training=False), tf.float32).numpy()
    probs = tf.nn.softmax(logits, axis=-1).numpy().astype(np.float32)
    config_lines, config_path = _training_lines(model_path.parent)
    name = name or "miniVGG19 protein localisation classifier"
    pre = [
        {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
        {"id": "scale_linear", "kwargs": {"gain": 1 / 127.5, "offset": -1.0}},
        {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
    ]
    space = [{"type": "space", "id": a, "size": size} for a in ("y", "x")]
    cover = np.repeat(np.repeat(image, 2, 0), 2, 1)
    return modelzoo.PackageDescr(
        name=name,
        description="miniVGG19: classifies a 96x96 RGB fluorescence field of view into 13 protein localisations.",
        authors=list(authors or ["gan-microscopy contributors"]),
        license=license,
        inputs=[modelzoo.TensorDescr("image", "RGB field of view (microtubules, protein, nuclei)",
                                     [{"type": "batch"}, *space, {"type": "channel", "channel_names": CHANNEL_NAMES}],
                                     image[None], {"type": "uint8"}, pre, sample=image)],
        outputs=[modelzoo.TensorDescr("probabilities", "class probabilities (softmax of the logits)",
                                      [{"type": "batch"},
                                       {"type": "channel", "channel_names": [c.replace(" ", "_").lower()
                                                                             for c in CLASS_NAMES]}],
                                      probs, {"type": "float32", "range": [0.0, 1.0]},
                                      [{"id": "softmax", "kwargs": {"axis": "channel"}}])],
        documentation=_documentation(name, probs[0], label, size, config_lines),
        cover=cover,
        cite=CITE,
        tags=["classification", "vgg19", "protein-localization", "fluorescence-light-microscopy", "2d", "keras",
              "tensorflow"],
        attachments={"config.json": config_path} if config_path is not None else {},
        keras_comment="No custom layers: opens with keras.models.load_model alone.",
        saved_model_comment="Keras 3 model.export() of the keras_v3 weights; TensorFlow only, no custom code.",
    )

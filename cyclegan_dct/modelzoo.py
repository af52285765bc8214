"""The CycleGAN mask -> image generator G as a bioimage.io model package (written by :mod:`data.packaging.modelzoo`).

Input: a nuclei instance-label (or binary) image, uint16, any size that is a
multiple of 4 (two stride-2 stages), pre-processed as in training
(:func:`cyclegan_dct.domains.labels_to_input`): ``binarize`` at 0.5
(foreground = any label), then ``scale_linear`` gain 2, offset -1 (+1 nuclei,
-1 background). Output: the synthetic fluorescence image, same size, mapped
from [-1, 1] to [0, 1] (gain 0.5, offset 0.5, ``clip``), i.e. in the
percentile-normalised intensity scale of the training images. Test tensors:
random ellipse nuclei (:func:`data.masks.random_ellipse_labels`, seed 0,
statistics fitted to StarDist's real nuclei image), 128x128. The exported
generator holds built-in Keras layers only (:data:`cyclegan_dct.layers.INFERENCE_FORMS`),
so both weight formats open without our code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data import io
from data.packaging import modelzoo, package_readme

CITE = [
    {
        "text": "Zhu J.-Y., Park T., Isola P., Efros A. A., Unpaired Image-to-Image Translation using "
                "Cycle-Consistent Adversarial Networks, ICCV 2017",
        "doi": "10.1109/ICCV.2017.244",
    },
    {
        "text": "Chu C., Zhmoginov A., Sandler M., CycleGAN, a Master of Steganography, NIPS 2017 workshop "
                "(the hidden signal the DCT low-pass used in training removes)",
        "doi": "10.48550/arXiv.1712.02950",
    },
]

SIZE = 128
"""Side of the test mask."""


def check_generator(model, path):
    """Refuse a model that is not a CycleGAN generator: one (B, H, W, C) input of any size, same-shape output."""
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4 or shape[-1] is None or shape[1:3] != (None, None):
        raise ValueError(f"{path}: not a CycleGAN generator (expected one (B, H, W, C) input of any size, "
                         f"got {shape})")
    out = model.compute_output_shape((1, 64, 64, shape[-1]))
    if tuple(out) != (1, 64, 64, shape[-1]):
        raise ValueError(f"{path}: not a CycleGAN generator (a 64x64 input gives output shape {tuple(out)})")
    if Path(path).name == "generator_b2a.keras":
        raise ValueError(f"{path}: this is F (image -> mask); export G, generator_a2b.keras (mask -> image)")


def package_descr(model, model_path, name=None, authors=None, license="MIT", seed=0):
    """The :class:`data.packaging.modelzoo.PackageDescr` of the mask -> image generator ``model`` (``model_path``)."""
    import tensorflow as tf

    from cyclegan_dct.domains import labels_to_input
    from data.masks import random_ellipse_labels

    model_path = Path(model_path)
    check_generator(model, model_path)
    channels = int(model.input_shape[-1])
    note = package_readme.keras_note(model, "cyclegan_dct.layers")
    labels = random_ellipse_labels((SIZE, SIZE), rng=seed).astype(np.uint16)
    mask = np.repeat(labels[..., None], channels, axis=-1)
    x = np.repeat(labels_to_input(labels), channels, axis=-1)[None]
    y = tf.cast(model(tf.constant(x), training=False), tf.float32).numpy()
    image = np.clip(y * 0.5 + 0.5, 0, 1).astype(np.float32)
    pre = [
        {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
        {"id": "binarize", "kwargs": {"threshold": 0.5}},
        {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
        {"id": "scale_linear", "kwargs": {"gain": 2.0, "offset": -1.0}},
        {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
    ]
    post = [
        {"id": "scale_linear", "kwargs": {"gain": 0.5, "offset": 0.5}},
        {"id": "clip", "kwargs": {"min": 0.0, "max": 1.0}},
    ]
    names = ["nuclei"] if channels == 1 else [f"c{i}" for i in range(channels)]
    in_axes = [{"type": "batch"}, *[{"type": "space", "id": a, "size": {"min": 64, "step": 4}} for a in "yx"],
               {"type": "channel", "channel_names": ["mask"] if channels == 1 else names}]
    out_axes = [{"type": "batch"}, *[{"type": "space", "id": a, "size": {"tensor_id": "mask", "axis_id": a}}
                                     for a in "yx"], {"type": "channel", "channel_names": names}]
    image8 = io.from_model_range(y[0])
    mask8 = np.where(labels > 0, 255, 0).astype(np.uint8)
    cover = np.concatenate([np.repeat(mask8[..., None], 3, -1),
                            np.repeat(image8, 3, -1) if channels == 1 else image8[..., :3]], axis=1)
    config = package_readme.read_json_if_present(model_path.parent / "config.json")
    training = ["No `config.json` was found beside the model."]
    if config is not None:
        training = ["Training configuration (the attached `config.json`):", "",
                    package_readme.markdown_table(sorted(config.items()))]
    name = name or "CycleGAN-DCT nuclei mask to image generator"
    doc = "\n".join([
        f"# {name}",
        "",
        "CycleGAN generator G (masks -> fluorescence nuclei images) trained with a DCT low-pass between the two "
        "generators against CycleGAN steganography (gan-microscopy `cyclegan_dct`). It turns nuclei masks into "
        "realistic images: free training pairs for nuclei segmentation.",
        "",
        "## Input and output",
        "",
        "- input `mask`: (batch, y, x, channel) instance or binary labels (uint16), y and x multiples of 4 "
        "(at least 64); any label > 0 is foreground (`binarize` 0.5, then `scale_linear` to -1/+1).",
        "- output `image`: (batch, y, x, channel) the synthetic image in [0, 1] (percentile-normalised intensity).",
        "",
        "## Weights",
        "",
        f"- `model.keras` (`keras_v3`): {note}",
        "- `tf_saved_model.zip` (`tensorflow_saved_model_bundle`): unzip, then "
        "`tf.saved_model.load(folder).serve(x)['image']` with x in {-1, +1}.",
        "",
        "## Test image and validation",
        "",
        f"`test_mask.npy`: {SIZE}x{SIZE} random ellipse nuclei (seed {seed}); `test_image.npy`: G's output. "
        "The cover shows mask | image. `bioimageio test rdf.yaml` checks that the weights reproduce "
        "`test_image.npy`; "
        "gan-microscopy's test suite (`tests/test_modelzoo_export.py`) checks that packages written by this "
        "exporter pass it.",
        "",
        *package_readme.readme_tail(training, CITE),
    ])
    return modelzoo.PackageDescr(
        name=name,
        description="CycleGAN generator (with DCT low-pass training): nuclei masks -> synthetic fluorescence images.",
        authors=list(authors or ["gan-microscopy contributors"]),
        license=license,
        inputs=[modelzoo.TensorDescr("mask", "nuclei instance labels (0 = background)", in_axes, mask[None],
                                     {"type": "uint16"}, pre, sample=mask8)],
        outputs=[modelzoo.TensorDescr("image", "synthetic fluorescence image in [0, 1]", out_axes, image,
                                      {"type": "float32", "range": [0.0, 1.0]}, post)],
        documentation=doc,
        cover=cover,
        cite=CITE,
        tags=["cyclegan", "image-synthesis", "nuclei", "fluorescence-light-microscopy", "2d", "keras", "tensorflow"],
        attachments={"config.json": model_path.parent / "config.json"} if config is not None else {},
        keras_comment=note,
        saved_model_comment="Keras 3 model.export() of the keras_v3 weights; TensorFlow only, no custom code.",
    )

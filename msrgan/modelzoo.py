"""The mSRGAN generator G as a bioimage.io model package (written by :mod:`data.packaging.modelzoo`).

The package's input is an 8-bit RGB low-resolution image (R = microtubules,
G = protein, B = DAPI nuclei, as the demo and HPA data), any size; its output
is 4x larger in y and x. Pre-processing is the model convention of
:mod:`data.io` written as spec operations: ``scale_linear`` gain 1/127.5,
offset -1 (``x / 127.5 - 1``), ending with ``ensure_dtype`` float32
(without it the spec appends a cast back to the input's uint8); post-processing maps [-1, 1] back to
[0, 255] (gain 127.5, offset 127.5, then ``clip``), float32. With
``input_bits=16`` the input is uint16, pre-processed by per-image
percentiles (``scale_range`` 2 / 99.8, CSBDeep's) to [0, 1] then to [-1, 1],
and the output is returned in [0, 1] (percentile scaling cannot be inverted
by a fixed operation).

The test tensors come from a real test image: the first image of the
embedded demo data's test split (:func:`data.synthetic.demo_split`), made
low-resolution by the training's 4x bicubic downscale
(:func:`data.pipeline.downscale`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data import io, metrics
from data.packaging import modelzoo, package_readme
from msrgan.config import SCALE  # output / input size in y and x

CHANNEL_NAMES = ["microtubules", "protein", "nuclei"]
"""RGB order of the HPA-style images (R, G, B)."""

CITE = [
    {
        "text": "mSRGAN: A Generative Adversarial Network for single image super-resolution in high content "
                "screening microscopy images (master's thesis; original TensorFlow 1 code)",
        "url": "https://github.com/Saurabh23/mSRGAN-A-GAN-for-single-image-super-resolution-on-high-content-"
               "screening-microscopy-images.",
    },
    {
        "text": "Ledig C. et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                "Network, CVPR 2017",
        "doi": "10.1109/CVPR.2017.19",
    },
]

def keras_note(model):
    """What opening ``model.keras`` needs (:func:`data.packaging.package_readme.keras_note`)."""
    return package_readme.keras_note(model, "msrgan.layers")


def check_generator(model, path):
    """Refuse a model that is not an mSRGAN-like generator (one (B, H, W, C) input of any H, W, 4x output)."""
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4 or shape[-1] is None:
        raise ValueError(f"{path}: not an mSRGAN generator (expected one (B, H, W, C) image input, got {shape})")
    if shape[1] is not None or shape[2] is not None:
        raise ValueError(
            f"{path}: not an mSRGAN generator (fixed {shape[1]}x{shape[2]} input; the generator takes any size)"
        )
    out = model.compute_output_shape((1, 8, 8, shape[-1]))
    if tuple(out) != (1, 8 * SCALE, 8 * SCALE, shape[-1]):
        raise ValueError(f"{path}: not an mSRGAN generator (an 8x8 input gives output shape {tuple(out)})")


def test_images(seed=0, index=0, demo_n=1300):
    """``(lr, hr)`` uint8: test image ``index`` of the demo test split (96x96 RGB) and its 24x24 bicubic input."""
    from data import synthetic
    from data.pipeline import downscale

    hr = synthetic.demo_split("test", n=demo_n, seed=seed)[0][index]
    lr = downscale(io.to_model_range(hr)[None], SCALE).numpy()[0]
    return io.from_model_range(lr), hr


def processing(input_bits):
    """``(input data, preprocessing, output data, postprocessing)`` in spec 0.5 form."""
    if input_bits == 8:
        pre = [
            {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
            {"id": "scale_linear", "kwargs": {"gain": 1 / 127.5, "offset": -1.0}},
            {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
        ]
        post = [
            {"id": "scale_linear", "kwargs": {"gain": 127.5, "offset": 127.5}},
            {"id": "clip", "kwargs": {"min": 0.0, "max": 255.0}},
        ]
        return {"type": "uint8"}, pre, {"type": "float32", "range": [0.0, 255.0]}, post
    if input_bits == 16:
        pre = [
            {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
            {"id": "scale_range", "kwargs": {"axes": ["y", "x"], "min_percentile": 2.0, "max_percentile": 99.8}},
            {"id": "clip", "kwargs": {"min": 0.0, "max": 1.0}},
            {"id": "scale_linear", "kwargs": {"gain": 2.0, "offset": -1.0}},
            {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
        ]
        post = [
            {"id": "scale_linear", "kwargs": {"gain": 0.5, "offset": 0.5}},
            {"id": "clip", "kwargs": {"min": 0.0, "max": 1.0}},
        ]
        return {"type": "uint16"}, pre, {"type": "float32", "range": [0.0, 1.0]}, post
    raise ValueError(f"input_bits must be 8 or 16, got {input_bits}")


def _model_input(lr, input_bits):
    """What the pre-processing makes of the test input (numpy, as the spec's operations compute it)."""
    x = lr.astype(np.float32)
    if input_bits == 8:
        return x / np.float32(127.5) - 1
    lo, hi = np.percentile(x, [2.0, 99.8], axis=(1, 2), keepdims=True)
    return np.clip((x - lo) / (hi - lo + 1e-6), 0, 1) * 2 - 1


def _postprocess(y, input_bits):
    if input_bits == 8:
        return np.clip(y * 127.5 + 127.5, 0, 255).astype(np.float32)
    return np.clip(y * 0.5 + 0.5, 0, 1).astype(np.float32)


def _training_summary(run_dir):
    """README lines on the training data and run, from the run folder's config.json / export.json."""
    config = package_readme.read_json_if_present(Path(run_dir) / "config.json")
    if config is None:
        return ["No `config.json` was found beside the model, so the training run is not described here."], None
    if config.get("data_dir"):
        data = f"images in `{config['data_dir']}` (original layout: `train/NN_<id>.png`, 96x96 RGB)"
    else:
        data = (f"the embedded synthetic HPA-like demo data of gan-microscopy (`data.synthetic`, "
                f"{config.get('demo_n', 1300)} images, 90 % train / 10 % test, seed 0)")
    lines = [
        f"Trained on {data}: 96x96 high-resolution images, low-resolution inputs made by 4x bicubic downscaling.",
        "",
        "Training configuration (the attached `config.json`):",
        "",
        package_readme.markdown_table(sorted(config.items())),
    ]
    export = package_readme.read_json_if_present(Path(run_dir) / "export.json")
    if export is not None:
        lines += ["", "Export record (`export.json`):", "", package_readme.markdown_table(sorted(export.items()))]
    return lines, Path(run_dir) / "config.json"


def _documentation(name, summary_lines, scores, input_bits, note):
    pre = ("8-bit RGB, mapped by `x / 127.5 - 1` to [-1, 1] (`scale_linear` gain 1/127.5, offset -1)"
           if input_bits == 8 else
           "16-bit RGB, mapped per image by the 2 / 99.8 percentiles to [0, 1] (`scale_range`) and then to [-1, 1]")
    post = ("back to [0, 255] (`scale_linear` gain 127.5, offset 127.5, `clip` 0..255), float32: round for 8-bit"
            if input_bits == 8 else "to [0, 1] (`scale_linear` gain 0.5, offset 0.5, `clip`), float32")
    return "\n".join([
        f"# {name}",
        "",
        "mSRGAN generator: 4x single-image super-resolution of fluorescence microscopy fields of view "
        "(Keras 3 reimplementation in gan-microscopy of mSRGAN, an SRGAN for high-content screening images).",
        "",
        "## Input and output",
        "",
        f"- input `lr`: (batch, y, x, channel) RGB with R = microtubules, G = protein, B = DAPI nuclei, any y, x; "
        f"{pre}.",
        f"- output `sr`: (batch, 4y, 4x, channel), the same channels; {post}.",
        "- The network is fully convolutional; large images can be tiled with an overlap of 16 input pixels "
        "(`python -m msrgan.predict` does this).",
        "",
        "## Weights",
        "",
        f"- `{modelzoo.KERAS_FILE}` (`keras_v3`): {note}",
        f"- `{modelzoo.SAVED_MODEL_FILE}` (`tensorflow_saved_model_bundle`, unzip it first):",
        "",
        "```python",
        "import tensorflow as tf",
        "m = tf.saved_model.load('tf_saved_model')                 # the unzipped folder",
        "sr = m.serve(tf.constant(x, tf.float32))                  # x: (1, H, W, 3) in [-1, 1]",
        "```",
        "",
        "## Test image",
        "",
        "`test_lr.npy` / `test_sr.npy`: the first image of the demo data's test split, downscaled 4x (bicubic). "
        f"On it: SR PSNR {scores['psnr_sr']:.2f} dB / SSIM {scores['ssim_sr']:.3f}, bicubic "
        f"{scores['psnr_bicubic']:.2f} dB / {scores['ssim_bicubic']:.3f} (8-bit RGB against the 96x96 original). "
        "The cover shows LR (nearest) | SR | HR.",
        "",
        "## Validation",
        "",
        "`bioimageio test rdf.yaml` (bioimageio.core) checks that each weight format reproduces `test_sr.npy` "
        "from `test_lr.npy`; for `keras_v3` run it in a Python process that has imported `msrgan.layers` "
        "(`bioimageio.core.test_model`), see above. gan-microscopy's test suite "
        "(`tests/test_modelzoo_export.py`) checks that packages written by this exporter pass `bioimageio.spec`'s "
        "validation and `bioimageio.core`'s tests, and that the SavedModel run by TensorFlow alone matches the "
        "Keras model within 1e-5.",
        "",
        *package_readme.readme_tail(summary_lines, CITE),
    ])


def package_descr(model, model_path, name=None, authors=None, license="MIT", input_bits=8, seed=0):
    """The :class:`data.packaging.modelzoo.PackageDescr` of generator ``model`` loaded from ``model_path``.

    Runs ``model`` (Keras, inference mode) on the test image; the run folder
    is ``model_path``'s folder (its ``config.json`` is attached when present).
    """
    import tensorflow as tf

    model_path = Path(model_path)
    check_generator(model, model_path)
    lr, hr = test_images(seed=seed)
    if input_bits == 16:
        lr, hr = lr.astype(np.uint16) * 257, hr.astype(np.uint16) * 257
    x = _model_input(lr[None], input_bits)
    y = tf.cast(model(tf.constant(x), training=False), tf.float32).numpy()
    sr = _postprocess(y, input_bits)
    in_data, pre, out_data, post = processing(input_bits)

    sr8 = io.from_model_range(y[0])
    hr8 = io.from_model_range(io.to_model_range(hr)) if input_bits == 8 else (hr // 257).astype(np.uint8)
    lr8 = io.from_model_range(x[0])
    bicubic = tf.image.resize(x, (x.shape[1] * SCALE, x.shape[2] * SCALE), method="bicubic").numpy()[0]
    bic8 = io.from_model_range(bicubic)
    scores = {
        "psnr_sr": metrics.psnr(hr8, sr8), "ssim_sr": metrics.ssim(hr8, sr8),
        "psnr_bicubic": metrics.psnr(hr8, bic8), "ssim_bicubic": metrics.ssim(hr8, bic8),
    }
    cover = np.concatenate([np.repeat(np.repeat(lr8, SCALE, 0), SCALE, 1), sr8, hr8], axis=1)

    name = name or "mSRGAN 4x super-resolution generator"
    summary_lines, config_path = _training_summary(model_path.parent)
    space = [{"type": "space", "id": a, "size": {"min": 8, "step": 8}} for a in ("y", "x")]
    out_space = [{"type": "space", "id": a, "size": {"tensor_id": "lr", "axis_id": a}, "scale": 1 / SCALE}
                 for a in ("y", "x")]
    channel = {"type": "channel", "channel_names": CHANNEL_NAMES}
    return modelzoo.PackageDescr(
        name=name,
        description="mSRGAN generator: 4x super-resolution of RGB fluorescence microscopy images "
                    "(microtubules, protein, nuclei).",
        authors=list(authors or ["gan-microscopy contributors"]),
        license=license,
        inputs=[modelzoo.TensorDescr("lr", "low-resolution RGB image", [{"type": "batch"}, *space, channel],
                                     lr[None], in_data, pre, sample=lr)],
        outputs=[modelzoo.TensorDescr("sr", "4x super-resolved RGB image", [{"type": "batch"}, *out_space, channel],
                                      sr, out_data, post, sample=sr8)],
        documentation=_documentation(name, summary_lines, scores, input_bits, keras_note(model)),
        cover=cover,
        cite=CITE,
        tags=["super-resolution", "srgan", "gan", "fluorescence-light-microscopy", "2d", "keras", "tensorflow"],
        attachments={"config.json": config_path} if config_path is not None else {},
        keras_comment=keras_note(model),
        saved_model_comment="Keras 3 model.export() of the keras_v3 weights; TensorFlow only, no custom code.",
    )

"""mSRGAN: 4x super-resolution GAN for microscopy (Keras 3 rewrite of ``mSRGAN/src/srgan.py``).

Public API: :func:`build_generator`, :func:`build_discriminator`, :class:`PixelShuffle`,
:class:`MSRGAN`, :class:`MSRGANConfig`, :func:`load_generator`; the SRCNN baseline
:func:`build_srcnn` and its :class:`BicubicUpsampling`. Training:
``python -m msrgan.train`` (``--model srcnn`` for the baseline). Only the config is imported eagerly; the TensorFlow
parts load on first use, so ``import msrgan.tiling`` stays pure numpy.
Exported ``generator.keras`` and ``srcnn.keras`` hold built-in layers only
(plain ``keras.models.load_model``); ``load_generator`` (or ``import msrgan.layers``)
registers ``PixelShuffle`` and ``BicubicUpsampling`` for checkpoints and older files.
"""

from data import lazy_exports
from msrgan.config import MSRGANConfig

DEFAULT_BACKUP_DIR = "backup/msrgan"
DEFAULT_GENERATOR = "backup/msrgan/generator.keras"


def load_generator(path):
    """A 4x generator saved as ``.keras`` (float32, input (None, None, 3): LR in [-1, 1] -> SR, any size).

    ``data.packaging.keras_export.load_model`` checks the static shapes (RGB in and out, any
    size); as a fully convolutional model's output size is only known by
    running it, an 8 x 8 zero image must then give 32 x 32. Any other model
    (fixed input size, not RGB, not 4x) is refused with one line naming the file.
    """
    import numpy as np

    import msrgan.layers  # noqa: F401 - registers PixelShuffle and BicubicUpsampling
    from data.packaging.keras_export import load_model
    from msrgan.config import SCALE

    rgb = (None, None, 3)
    model = load_model(path, "train one with python -m msrgan.train", input_shape=rgb, output_shape=rgb)
    try:
        got = tuple(model(np.zeros((1, 8, 8, 3), np.float32), training=False).shape[1:3])
    except Exception as e:  # noqa: BLE001 - a foreign model failing on a small image is bad input
        raise ValueError(f"{path}: not a {SCALE}x generator: it fails on an 8 x 8 input ({type(e).__name__})") from e
    if got != (8 * SCALE, 8 * SCALE):
        raise ValueError(f"{path}: not a {SCALE}x generator: an 8 x 8 input gives {got[0]} x {got[1]}, "
                         f"expected {8 * SCALE} x {8 * SCALE}")
    return model


__all__ = [
    "DEFAULT_BACKUP_DIR",
    "DEFAULT_GENERATOR",
    "BicubicUpsampling",
    "MSRGAN",
    "MSRGANConfig",
    "PixelShuffle",
    "build_discriminator",
    "build_generator",
    "build_srcnn",
    "load_generator",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "PixelShuffle": "msrgan.layers",
    "BicubicUpsampling": "msrgan.layers",
    "MSRGAN": "msrgan.model",
    "build_discriminator": "msrgan.networks",
    "build_generator": "msrgan.networks",
    "build_srcnn": "msrgan.srcnn",
})

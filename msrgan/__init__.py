"""mSRGAN: 4x super-resolution GAN for microscopy (Keras 3 rewrite of ``mSRGAN/src/srgan.py``).

Public API: :func:`build_generator`, :func:`build_discriminator`, :class:`PixelShuffle`, :class:`BicubicUpsampling`,
:class:`MSRGAN`, :class:`MSRGANConfig`, :func:`load_generator`. Training:
``python -m msrgan.train``. Only the config is imported eagerly; the TensorFlow
parts load on first use, so ``import msrgan.tiling`` stays pure numpy.
``load_generator`` (or ``import msrgan.layers``) registers ``PixelShuffle`` and
``BicubicUpsampling``, which ``keras.models.load_model`` needs to open ``generator.keras``.
"""

from data import lazy_exports
from msrgan.config import MSRGANConfig

DEFAULT_BACKUP_DIR = "backup/msrgan"
DEFAULT_GENERATOR = "backup/msrgan/generator.keras"


def load_generator(path):
    """The generator saved as ``.keras`` (float32, input (None, None, 3): LR in [-1, 1] -> SR, any size).

    A model with a fixed input size, or not RGB, is refused with a message naming the file.
    """
    import msrgan.layers  # noqa: F401 - registers PixelShuffle and BicubicUpsampling
    from data.export import load_model

    return load_model(path, "train one with python -m msrgan.train", input_shape=(None, None, 3))


__all__ = [
    "DEFAULT_BACKUP_DIR",
    "DEFAULT_GENERATOR",
    "MSRGAN",
    "BicubicUpsampling",
    "MSRGANConfig",
    "PixelShuffle",
    "build_discriminator",
    "build_generator",
    "load_generator",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "PixelShuffle": "msrgan.layers",
    "BicubicUpsampling": "msrgan.layers",
    "MSRGAN": "msrgan.model",
    "build_discriminator": "msrgan.networks",
    "build_generator": "msrgan.networks",
})

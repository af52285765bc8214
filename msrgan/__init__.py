"""mSRGAN: 4x super-resolution GAN for microscopy (Keras 3 rewrite of ``mSRGAN/src/srgan.py``).

Public API: :func:`build_generator`, :func:`build_discriminator`, :class:`PixelShuffle`,
:class:`MSRGAN`, :class:`MSRGANConfig`, :func:`load_generator`. Training:
``python -m msrgan.train``. Importing this package registers ``PixelShuffle``,
which ``keras.models.load_model`` needs to open ``generator.keras``.
"""

from msrgan.config import MSRGANConfig
from msrgan.layers import PixelShuffle
from msrgan.model import MSRGAN
from msrgan.networks import build_discriminator, build_generator

DEFAULT_BACKUP_DIR = "backup/msrgan"
DEFAULT_GENERATOR = "backup/msrgan/generator.keras"


def load_generator(path):
    """The generator saved as ``.keras`` (float32, input (None, None, 3): LR in [-1, 1] -> SR)."""
    from data.runs import load_model_file

    return load_model_file(path, "train one with python -m msrgan.train")


__all__ = [
    "DEFAULT_BACKUP_DIR",
    "DEFAULT_GENERATOR",
    "MSRGAN",
    "MSRGANConfig",
    "PixelShuffle",
    "build_discriminator",
    "build_generator",
    "load_generator",
]

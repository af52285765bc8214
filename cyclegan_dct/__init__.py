"""cyclegan_dct: CycleGAN for nuclei masks <-> fluorescence images with a DCT low-pass between the generators.

Utz et al., ICCV 2023 BioImage Computing workshop; CycleGAN of Zhu et al. 2017
(reference: junyanz/pytorch-CycleGAN-and-pix2pix). Only the config is imported
eagerly; the TensorFlow parts load on first use (``import cyclegan_dct.measures``
stays pure numpy). Exported generators hold built-in layers only (plain
``keras.models.load_model``, any backend); the loaders also register the custom
layers, for checkpoints and older files::

    import cyclegan_dct
    config, g_a2b, g_b2a = cyclegan_dct.load_models("backup/cyclegan_dct")

Command lines: ``python -m cyclegan_dct.train``, ``python -m cyclegan_dct.generate``,
``python -m cyclegan_dct.stego``, ``python -m cyclegan_dct.evaluate``, ``python -m cyclegan_dct.ablate``.
"""

from pathlib import Path

from cyclegan_dct.config import CycleGANConfig
from data import lazy_exports

__all__ = [
    "CycleGANConfig",
    "DCTLowPass",
    "ReflectionPadding2D",
    "build_generator",
    "build_discriminator",
    "load_models",
    "load_generator",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DCTLowPass": "cyclegan_dct.layers",
    "ReflectionPadding2D": "cyclegan_dct.layers",
    "build_discriminator": "cyclegan_dct.networks",
    "build_generator": "cyclegan_dct.networks",
})


def load_generator(path):
    """A generator exported as ``.keras`` (G = generator_a2b.keras or F = generator_b2a.keras)."""
    import cyclegan_dct.layers  # noqa: F401 - registers DCTLowPass, ReflectionPadding2D
    from data.packaging.keras_export import load_model

    return load_model(path, "train one with python -m cyclegan_dct.train")


def load_models(model_dir):
    """(config, G, F) of a run folder: ``config.json``, ``generator_a2b.keras``, ``generator_b2a.keras``."""
    model_dir = Path(model_dir)
    config = CycleGANConfig.load(model_dir / "config.json")
    return config, load_generator(model_dir / "generator_a2b.keras"), load_generator(model_dir / "generator_b2a.keras")

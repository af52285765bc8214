"""cyclegan_dct: CycleGAN for nuclei masks <-> fluorescence images with a DCT low-pass between the generators.

Utz et al., ICCV 2023 BioImage Computing workshop; CycleGAN of Zhu et al. 2017
(reference: junyanz/pytorch-CycleGAN-and-pix2pix). Importing this package
registers its layers, so exported models load with plain
``keras.models.load_model``::

    import cyclegan_dct
    config, g_a2b, g_b2a = cyclegan_dct.load_models("backup/cyclegan_dct")

Command lines: ``python -m cyclegan_dct.train``, ``python -m cyclegan_dct.generate``,
``python -m cyclegan_dct.stego``, ``python -m cyclegan_dct.evaluate``, ``python -m cyclegan_dct.ablate``.
"""

from pathlib import Path

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.layers import DCTLowPass, ReflectionPadding2D
from cyclegan_dct.networks import build_discriminator, build_generator

__all__ = [
    "CycleGANConfig",
    "DCTLowPass",
    "ReflectionPadding2D",
    "build_generator",
    "build_discriminator",
    "load_models",
    "load_generator",
]


def load_generator(path):
    """A generator exported as ``.keras`` (G = generator_a2b.keras or F = generator_b2a.keras)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    return keras.models.load_model(str(path), compile=False)


def load_models(model_dir):
    """(config, G, F) of a run folder: ``config.json``, ``generator_a2b.keras``, ``generator_b2a.keras``."""
    from data.runs import load_config

    model_dir = Path(model_dir)
    config = CycleGANConfig.from_dict(load_config(model_dir))
    return config, load_generator(model_dir / "generator_a2b.keras"), load_generator(model_dir / "generator_b2a.keras")

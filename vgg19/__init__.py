"""miniVGG19: the mSRGAN classifier (13 CYTO 2017 classes) and its content-loss feature extractor.

Public API: :func:`build_model`, :data:`FEATURE_LAYERS`, :func:`build_feature_extractor`,
:func:`load_model`, :class:`VGG19Config`. Training: ``python -m vgg19.train``;
evaluation: ``python -m vgg19.evaluate``. Only the config is imported eagerly;
the TensorFlow parts load on first use (``import vgg19.confusion`` stays pure numpy).
"""

from data import lazy_exports
from vgg19.config import VGG19Config

DEFAULT_EXPORT = "backup/vgg19/minivgg19.keras"

__all__ = ["FEATURE_LAYERS", "DEFAULT_EXPORT", "VGG19Config", "build_feature_extractor", "build_model", "load_model"]

__getattr__, __dir__ = lazy_exports(__name__, {name: "vgg19.model" for name in (
    "FEATURE_LAYERS", "build_feature_extractor", "build_model", "load_model")})

"""Shared data tooling: image I/O, HPA channel merging, synthetic demo data,
ellipse nuclei masks, tf.data pipelines, pure-numpy metrics; and, as
sub-packages every trainer may depend on, the training engine
(:mod:`data.engine`), packaging (:mod:`data.packaging`) and the CLI layer
(:mod:`data.cli`). docs/engine.md draws the layout.

Submodules are imported explicitly (``from data import io``) so that the
numpy-only parts never pull in TensorFlow; the model packages export their
TensorFlow parts lazily with :func:`lazy_exports` (PEP 562), so that
``import msrgan.tiling`` does not load TensorFlow either.
"""

import importlib

CLASS_NAMES = (
    "Nucleus",
    "Nucleoli",
    "Nuclear membrane",
    "Golgi apparatus",
    "Endoplasmic reticulum",
    "Vesicles",
    "Plasma membrane",
    "Mitochondria",
    "Cytosol",
    "Microtubules",
    "Centrosome",
    "Actin filaments",
    "Intermediate filaments",
)
"""The 13 classes of CYTO 2017 "major13"; index = the two-digit file prefix."""

N_CLASSES = len(CLASS_NAMES)

TEST_FRACTION = 0.1
"""Share of the images in the test split (demo data, HPA preparation): the original's 90/10 split."""


def lazy_exports(package, names):
    """PEP 562 ``(__getattr__, __dir__)`` for a package: ``names`` maps an attribute to the submodule defining it.

    The submodule is imported on first access only (it may import TensorFlow).
    """
    module_globals = vars(importlib.import_module(package))

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name]), name)
        module_globals[name] = value
        return value

    def __dir__():
        return sorted(set(module_globals) | set(names))

    return __getattr__, __dir__

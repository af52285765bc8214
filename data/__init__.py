"""Shared data tooling: image I/O, HPA channel merging, synthetic demo data,
ellipse nuclei masks, tf.data pipelines, pure-numpy metrics, run folders.

Submodules are imported explicitly (``from data import io``) so that the
numpy-only parts never pull in TensorFlow.
"""

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

"""The reference segmenter: StarDist trained on domain B's own labelled images, never on synthetic data.

It plays two parts in the steganography experiment (``cyclegan_dct.ablate`` on a model whose domain B is
``--images simulated``, the only domain B here with exact instance labels):

- the **independent segmenter** of G(m): the cycled mask F(G(m)) is matched against what this StarDist finds
  in G(m) (``stego.json``'s ``instance_agreement.cycled_vs_stardist``; Otsu is the second opinion). A model
  that learned real nuclei from real labels sees in G(m) what a user's segmenter would see;
- the **"labelled B" arm** of the downstream study: a StarDist with the same budget as the ones trained on
  synthetic pairs, trained on the :data:`cyclegan_dct.domains.N_SIMULATED` labelled training fields instead,
  and scored on the same test sets (the ceiling the synthetic pairs try to reach).

One reference per seed (the seed of the StarDist training), kept in ``folder`` (``evaluation.json`` and
``stardist/model``): an interrupted ablation loads it instead of training it again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from cyclegan_dct.domains import N_SIMULATED, SIMULATED
from cyclegan_dct.downstream import REFERENCE
from cyclegan_dct.evaluation import named_tests, train_and_score

log = logging.getLogger(__name__)


def labelled_domain_b(images):
    """(images, labels) of a labelled domain B: only ``"simulated"`` has labels (refused otherwise, naming it)."""
    if images != SIMULATED:
        raise ValueError(f"--images {images}: the reference segmenter needs a domain B with instance labels "
                         f"(only --images {SIMULATED} has them)")
    from data.synthetic import demo_nuclei

    x, y = demo_nuclei("train", N_SIMULATED)
    return list(x), list(y)


def load_stardist(model_dir):
    """A trained StarDist2D from its folder (``.../stardist/model``), thresholds included."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"{model_dir}: not a StarDist model folder (no config.json)")
    from stardist.models import StarDist2D

    return StarDist2D(None, name=model_dir.name, basedir=str(model_dir.parent))


def reference(folder, config, test_sets, images=SIMULATED):
    """Train (or load, when ``folder/evaluation.json`` exists) StarDist on labelled domain B with ``config``
    (:class:`data.stardist_training.StarDistConfig`) and score it on ``test_sets`` (names of
    :data:`cyclegan_dct.evaluation.TEST_SETS`). Returns (evaluation dict, StarDist model)."""
    folder = Path(folder)
    done = folder / "evaluation.json"
    if done.is_file():
        result = json.loads(done.read_text())
        if result.get("budget", {}).get("seed") == config.seed and list(result.get("test_sets", {})) == list(test_sets):
            log.info("[reference] %s: trained earlier, loading it", folder)
            return result, load_stardist(result["stardist_model"])
    x, y = labelled_domain_b(images)
    log.info("[reference] training StarDist on %d labelled domain-B fields (seed %d) -> %s", len(x), config.seed,
             folder)
    about = {"training_data": f"labelled domain B ({len(x)} simulated fields with exact labels)", "masks": "labels"}
    return train_and_score(x, y, folder, config, named_tests(test_sets), REFERENCE, about)


def segmenter(model):
    """images (N, H, W) or (N, H, W, 1) in the model range [-1, 1] -> list of StarDist instance labels.

    No border exclusion (``b=0``): on 64 px crops many nuclei touch the edge
    (see :func:`data.stardist_training.predict_labels`)."""
    from data.stardist_training import predict_labels

    def segment(images):
        images = np.asarray(images, np.float32)
        if images.ndim == 4:
            images = images[..., 0]
        return predict_labels(model, list(images), border=0)

    return segment

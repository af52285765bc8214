"""Downstream value of a synthetic dataset: train StarDist on it, score it on real nuclei.

``python -m cyclegan_dct.evaluate --synthetic DIR [--masks {cycled,input}]
[--test-images DIR --test-masks DIR] [--epochs N] [--steps-per-epoch N] [--out DIR]``

trains a StarDist2D model (Schmidt et al. 2018, the ``stardist`` package) on
the pairs written by ``cyclegan_dct.generate`` (``DIR/images/*.tif`` with
``DIR/cycled_masks`` = F(filter(G(m))) or ``DIR/masks`` = the input m), picks
its probability/NMS thresholds on held-out *synthetic* pairs, and scores its
predictions on real annotated nuclei with ``stardist.matching``: precision,
recall, F1 and AP (TP / (TP + FP + FN)) at IoU 0.5 and the mean F1 over IoU
0.5:0.05:0.9, pooled over the test images (``matching_dataset``) and per image.
Default test data: the real fluorescence nuclei image with its labels that
``stardist`` ships (``test_image_nuclei_2d``), the only real annotated 2D
nuclei image in the installed packages (its 3D stack is synthetic);
``--test-images DIR --test-masks DIR`` takes several (masks paired by name).
Writes ``evaluation.json`` and ``evaluation.md`` (with wall time and training
budget, so runs are comparable); the StarDist model goes to ``OUT/stardist/``.

``python -m cyclegan_dct.evaluate --compare DIR1 DIR2 ... [--out DIR]`` puts
the ``evaluation.json`` of several runs side by side (``comparison.md/json``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from cyclegan_dct.domains import SIMULATED
from data.io import ImageError, list_images, read_image, write_json, write_text
from data.metrics import IOU_THRESHOLDS, segmentation_scores
from data.stardist_training import fit_patch_size, predict_labels, train_stardist

MASK_FOLDERS = {"cycled": "cycled_masks", "input": "masks"}
N_SIMULATED_TEST = 50

log = logging.getLogger(__name__)


def _read_pairs(image_dir, mask_dir):
    """Images and label masks paired by file name; errors name the folder or file."""
    image_dir, mask_dir = Path(image_dir), Path(mask_dir)
    for d in (image_dir, mask_dir):
        if not d.is_dir():
            raise ValueError(f"{d}: folder does not exist")
    paths = list_images(image_dir)
    if not paths:
        raise ValueError(f"{image_dir}: no PNG/TIFF images")
    images, labels = [], []
    for p in paths:
        mp = mask_dir / p.name
        if not mp.is_file():
            raise ValueError(f"{mp}: missing mask for image {p}")
        img, lab = read_image(p), read_image(mp)
        if img.ndim == 3:
            img = img.mean(axis=2)
        if lab.ndim != 2:
            raise ImageError(mp, f"a label mask must be 2D, got shape {lab.shape}")
        if lab.shape != img.shape[:2]:
            raise ImageError(mp, f"mask shape {lab.shape} differs from image shape {img.shape[:2]} of {p}")
        images.append(img)
        labels.append(lab)
    return images, labels, [p.name for p in paths]


IMAGE_FOLDERS = ("images", "images_unfiltered")


def load_synthetic(folder, masks="cycled", images="images"):
    """(images, instance labels, names) from a ``cyclegan_dct.generate`` folder; ``images="images_unfiltered"``
    takes G(m) of a DCT model (written by ``generate --also-unfiltered``) instead of LP(G(m))."""
    if masks not in MASK_FOLDERS:
        raise ValueError(f"masks must be one of {sorted(MASK_FOLDERS)}, got {masks!r}")
    if images not in IMAGE_FOLDERS:
        raise ValueError(f"images must be one of {IMAGE_FOLDERS}, got {images!r}")
    folder = Path(folder)
    return _read_pairs(folder / images, folder / MASK_FOLDERS[masks])


DEFAULT_TEST_SOURCE = "stardist.data.test_image_nuclei_2d"


def load_test_data(test_images=None, test_masks=None):
    """Annotated test data: given folders, the image ``stardist`` ships (the default), or ``test_images=
    "simulated"``: the held-out split of the simulated domain B (:data:`N_SIMULATED_TEST` fields with exact
    labels, never used in training; ``data.synthetic.demo_nuclei("test")``).

    Returns (images, labels, names, source)."""
    if test_images == SIMULATED:
        from data.synthetic import demo_nuclei

        images, labels = demo_nuclei("test", N_SIMULATED_TEST)
        return (list(images), list(labels), [f"simulated_test_{i:03d}" for i in range(len(images))],
                f"simulated domain B, held-out split ({N_SIMULATED_TEST} fields, exact labels)")
    if (test_images is None) != (test_masks is None):
        raise ValueError("give both --test-images and --test-masks, or neither")
    if test_images is not None:
        images, labels, names = _read_pairs(test_images, test_masks)
        return images, labels, names, f"{test_images} + {test_masks}"
    from cyclegan_dct.domains import default_real_image

    img, lab = default_real_image()
    return [img], [lab], ["nuclei_2d"], DEFAULT_TEST_SOURCE


def per_image_scores(y_true, y_pred, names):
    """One row per test image: its name, nuclei counts and precision/recall/F1/AP at IoU 0.5 and mean F1."""
    rows = []
    for name, t, p in zip(names, y_true, y_pred):
        s = segmentation_scores([t], [p], IOU_THRESHOLDS)
        rows.append({"name": name, **{k: s[k] for k in ("n_true", "n_pred", "tp", "fp", "fn", "precision", "recall",
                                                          "f1", "ap", "mean_f1")}})
    return rows


def _synthetic_info(folder):
    """Scalar entries of the generator's ``summary.json`` (model, cutoff, mask Dice...), if present."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    return {k: v for k, v in summary.items() if isinstance(v, (str, int, float, bool)) or v is None}


TEST_SETS = {"simulated": SIMULATED, "stardist": None}
"""Named annotated test sets (``--test-data``): the held-out simulated domain B and the real image stardist ships."""


def parse_test_sets(text):
    """"simulated,stardist" -> ["simulated", "stardist"]: names of :data:`TEST_SETS`, the first is the primary one."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    bad = [n for n in names if n not in TEST_SETS]
    if not names or bad or len(set(names)) != len(names):
        raise ValueError(f"--test-data must be comma-separated names among {sorted(TEST_SETS)} without repeats, "
                         f"got {text!r}")
    return names


def score_model(model, tests):
    """Predict and score a StarDist model on each test set of ``tests`` (``{name: (x, y, names, source)}``):
    ``{name: {"source", "n_images", "n_nuclei", "metrics", "per_image", "predict_s"}}``."""
    out = {}
    for name, (x, y, names, source) in tests.items():
        t0 = time.perf_counter()
        pred = predict_labels(model, x)
        scores = segmentation_scores(y, pred, IOU_THRESHOLDS)
        out[name] = {"source": source, "n_images": len(x), "n_nuclei": scores["n_true"], "metrics": scores,
                     "per_image": per_image_scores(y, pred, names), "predict_s": time.perf_counter() - t0}
    return out


def named_tests(names):
    """``{name: (x, y, names, source)}`` of the named :data:`TEST_SETS`."""
    return {n: load_test_data(TEST_SETS[n]) for n in names}


def train_and_score(images, labels, out, config, tests, label, about=None):
    """Train StarDist on (images, labels) into ``out/stardist``, score it on ``tests`` (``{name: (x, y, names,
    source)}``, e.g. :func:`named_tests`), write ``evaluation.json`` and ``evaluation.md``. Returns the result dict
    (``metrics``, ``test_data`` and ``per_image`` are the first test set's; ``test_sets`` has each named one)."""
    t0 = time.perf_counter()
    auto_patch = config.patch_size is None
    if auto_patch:
        smallest = min(min(x.shape[:2]) for x in images)
        config = config.replace(patch_size=fit_patch_size(smallest, config.grid, config.unet_depth))
        log.info("StarDist patch size %d (fits the smallest training image, %d px)", config.patch_size, smallest)
    out = Path(out)
    model, info = train_stardist(images, labels, config, out / "stardist")
    scored = score_model(model, tests)
    first = next(iter(scored.values()))
    result = {
        "label": label,
        **(about or {}),
        "test_data": {k: first[k] for k in ("source", "n_images", "n_nuclei")},
        "budget": {**config.to_dict(), "patch_size_auto": auto_patch, "n_train": info["n_train"],
                   "n_val": info["n_val"]},
        "thresholds": {"prob": float(model.thresholds.prob), "nms": float(model.thresholds.nms)},
        "metrics": first["metrics"],
        "per_image": first["per_image"],
        "test_sets": {k: {"source": v["source"], "n_images": v["n_images"], "metrics": v["metrics"]}
                      for k, v in scored.items()},
        "wall_time_s": {
            "train": info["train_s"],
            "optimize_thresholds": info["thresholds_s"],
            "predict": sum(v["predict_s"] for v in scored.values()),
            "total": time.perf_counter() - t0,
        },
        "stardist_model": str(out / "stardist" / "model"),
    }
    write_json(out / "evaluation.json", result)
    write_text(out / "evaluation.md", evaluation_markdown(result))
    return result, model


def run_evaluation(synthetic, out, config, masks="cycled", test_images=None, test_masks=None, label=None,
                   images_folder="images", test_sets=None):
    """Train on a generated folder, predict, score; write ``evaluation.json`` and ``evaluation.md`` into ``out``.
    ``test_sets``: names of :data:`TEST_SETS` (instead of ``test_images``/``test_masks``). Returns the result."""
    images, labels, _ = load_synthetic(synthetic, masks, images_folder)
    tests = named_tests(test_sets) if test_sets else {"given": load_test_data(test_images, test_masks)}
    about = {"synthetic": str(synthetic), "masks": masks, "images": images_folder,
             "synthetic_summary": _synthetic_info(synthetic)}
    return train_and_score(images, labels, out, config, tests, label or f"{Path(synthetic).name}/{masks}", about)[0]


def evaluation_markdown(r):
    """One run as Markdown: budget line, metrics at IoU 0.5 and the per-threshold table."""
    b, m, w = r["budget"], r["metrics"], r["wall_time_s"]
    trained = r.get("training_data") or f"`{r['synthetic']}` ({r['masks']} masks)"
    lines = [
        f"# StarDist: {r['label']}",
        "",
        f"Trained on {trained}: {b['n_train']} train, {b['n_val']} validation pairs; "
        f"tested on {r['test_data']['source']} ({r['test_data']['n_images']} image(s), "
        f"{r['test_data']['n_nuclei']} nuclei).",
        "",
        f"Budget: {b['epochs']} epochs x {b['steps_per_epoch']} steps, batch {b['batch_size']}, "
        f"patch {b['patch_size']}, {b['n_rays']} rays, grid {b['grid']}, U-Net depth {b['unet_depth']} / "
        f"{b['unet_filters']} filters, seed {b['seed']}. Wall time: train {w['train']:.1f} s, "
        f"thresholds {w['optimize_thresholds']:.1f} s, total {w['total']:.1f} s.",
        "",
        f"At IoU 0.5: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}, "
        f"AP {m['ap']:.3f} (TP {m['tp']}, FP {m['fp']}, FN {m['fn']}); "
        f"mean F1 over IoU 0.5:0.05:0.9 {m['mean_f1']:.3f}.",
        "",
        "| IoU | precision | recall | F1 | AP |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t, s in m["per_threshold"].items():
        lines.append(f"| {t} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['ap']:.3f} |")
    if len(r.get("test_sets") or {}) > 1:
        lines += ["", "Each test set:", "", "| test set | images | F1@0.5 | AP@0.5 | mean F1 |", "|" + " --- |" * 5]
        lines += [f"| {k} ({t['source']}) | {t['n_images']} | {t['metrics']['f1']:.3f} | {t['metrics']['ap']:.3f} | "
                  f"{t['metrics']['mean_f1']:.3f} |" for k, t in r["test_sets"].items()]
    if r.get("per_image"):
        lines += ["", "Per test image (the table above pools all images, `stardist.matching.matching_dataset`):", "",
                  "| image | nuclei | predicted | precision | recall | F1@0.5 | AP@0.5 | mean F1 |",
                  "|" + " --- |" * 8]
        lines += [f"| {p['name']} | {p['n_true']} | {p['n_pred']} | {p['precision']:.3f} | {p['recall']:.3f} | "
                  f"{p['f1']:.3f} | {p['ap']:.3f} | {p['mean_f1']:.3f} |" for p in r["per_image"]]
    return "\n".join(lines) + "\n"


def load_evaluation(path):
    """An ``evaluation.json`` (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "evaluation.json"
    if not path.is_file():
        raise ValueError(f"{path}: no evaluation.json")
    try:
        r = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    if "metrics" not in r or "budget" not in r:
        raise ValueError(f"{path}: not an evaluation.json (no 'metrics'/'budget')")
    return r


COMPARE_COLUMNS = ("precision", "recall", "f1", "ap", "mean_f1")


def comparison_rows(results):
    """One flat dict per run: label, masks, budget, metrics at IoU 0.5, mean F1, training seconds."""
    rows = []
    for r in results:
        b, m = r["budget"], r["metrics"]
        rows.append({
            "label": r["label"],
            "masks": r["masks"],
            "n_train": b["n_train"],
            "budget": f"{b['epochs']}x{b['steps_per_epoch']}x{b['batch_size']}",
            **{k: m[k] for k in COMPARE_COLUMNS},
            "train_s": r["wall_time_s"]["train"],
        })
    return rows


def comparison_markdown(rows):
    head = ("| run | masks | train pairs | epochs x steps x batch | precision | recall | F1@0.5 | AP@0.5 | mean F1 "
            "| train s |")
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        vals = " | ".join(f"{r[k]:.3f}" for k in COMPARE_COLUMNS)
        lines.append(f"| {r['label']} | {r['masks']} | {r['n_train']} | {r['budget']} | {vals} | {r['train_s']:.0f} |")
    return "\n".join(lines) + "\n"


def run_compare(paths, out):
    """Write ``comparison.json`` and ``comparison.md`` for several evaluations; return the Markdown."""
    rows = comparison_rows([load_evaluation(p) for p in paths])
    md = comparison_markdown(rows)
    write_json(Path(out) / "comparison.json", {"runs": [str(p) for p in paths], "rows": rows})
    write_text(Path(out) / "comparison.md", md)
    return md

"""Super-resolution as pre-processing before nuclei segmentation: the mSRGAN thesis's proof of concept.

Gawande (KTH 2018) segmented nuclei in super-resolved images and validated
statistically that SR is an effective pre-processing step. ``python -m
msrgan.evaluate MODEL --segmentation`` repeats that study:

1. every test field is upscaled by each method of ``msrgan.evaluate`` (nearest,
   bicubic, SRCNN, the pre-trained and each given generator) from the same LR
   input; the HR field is the upper bound;
2. nuclei are segmented in the nuclear channel (blue, HPA's DAPI; ``--dapi-channel``)
   of every version by two segmenters fixed before any result and applied
   unchanged to every version: ``classical`` (smoothing, Otsu, distance-transform
   watershed; :mod:`data.segmentation`) and ``stardist`` (StarDist trained on the
   HR nuclear channel of the training split with its labels; :mod:`data.stardist_training`);
3. each segmentation is scored per image against the ground-truth nuclei
   (:func:`data.metrics.instance_scores`: F1, precision, recall, AP at IoU 0.5,
   AP over 0.5:0.95, panoptic quality) and, by F1 at IoU 0.5, against the same
   segmenter's result on the HR field (``f1_vs_hr``);
4. per segmenter and metric each learned method is compared with bicubic and
   with nearest image by image (:func:`compare_methods`).

Ground truth: the demo fields' exact nuclei labels; for ``--data-dir DIR``,
``DIR/labels/nuclei/test/<stem>.tif`` (``python -m data.prepare demo OUT --labels``
writes them). Without that folder the HR segmentation of each segmenter stands
in (the report says so), and StarDist needs ``DIR/labels/nuclei/train``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from data import metrics, stats
from data.segmentation import WatershedParams, watershed_nuclei
from msrgan.segmentation_data import load_fields, nuclear_channel

log = logging.getLogger(__name__)

SEGMENTERS = ("classical", "stardist")
STARDIST_BORDER = 0
"""StarDist's ``b`` at prediction (its default 2 drops nuclei cut by the edge; see
:func:`data.stardist_training.predict_labels`)."""
REFERENCES = ("bicubic", "nearest")
"""Each learned method is compared with these, image by image."""
TESTED_METRICS = ("f1", "map", "pq", "f1_vs_hr")
"""The metrics tested (precision, recall and AP at 0.5 are reported only: AP and F1 at one IoU order
images identically, precision and recall are F1's two halves)."""


class Collector:
    """``on_image`` of :func:`msrgan.evaluation.evaluate`: keeps the nuclear channel of HR and of each output."""

    def __init__(self, channel):
        self.channel = int(channel)
        self.fields = {}

    def __call__(self, i, hr, outputs):
        grey = {"HR": hr, **outputs}
        self.fields[i] = {m: np.ascontiguousarray(nuclear_channel(v, self.channel, f"image {i}"))
                          for m, v in grey.items()}

    def versions(self):
        """``{version: [grey uint8 per image]}``, HR first, then the methods in evaluation order."""
        order = [self.fields[i] for i in sorted(self.fields)]
        return {m: [f[m] for f in order] for m in order[0]} if order else {}


def classical_segmenter(params=None):
    """The classical segmenter as ``f(list of grey images) -> list of labels`` (default :class:`WatershedParams`)."""
    params = params or WatershedParams()
    return lambda images: [watershed_nuclei(x, params) for x in images]


def stardist_segmenter(config, train, channel, model_dir, pretrained=None):
    """StarDist trained on the HR nuclear channel of ``train`` (:class:`Fields` with labels), as
    ``(f(list of grey images) -> list of labels, info)``; the model is saved under ``model_dir``.
    ``pretrained``: the folder of a StarDist2D model (``config.json``, ``weights_best.h5``) used instead."""
    from data.stardist_training import fit_patch_size, predict_labels, train_stardist

    if pretrained is not None:
        from stardist.models import StarDist2D

        pretrained = Path(pretrained)
        if not (pretrained / "config.json").is_file():
            raise ValueError(f"{pretrained}: not a StarDist2D model folder (no config.json)")
        model = StarDist2D(None, name=pretrained.name, basedir=str(pretrained.parent))
        return (lambda grey: predict_labels(model, grey, STARDIST_BORDER)), {
            "model_dir": str(pretrained), "trained": False, "border": STARDIST_BORDER,
            "thresholds": dict(model.thresholds._asdict())}
    if train is None or train.labels is None:
        raise ValueError("the stardist segmenter needs nuclei labels of the training split "
                         "(DIR/labels/nuclei/train/<stem>.tif); use --segmenters classical")
    images = [nuclear_channel(x, channel, name) for name, x in zip(train.names, train.images)]
    if config.patch_size is None:
        config = config.replace(patch_size=fit_patch_size(min(min(x.shape) for x in images), config.grid,
                                                          config.unet_depth))
    model_dir = Path(model_dir)
    log.info("training StarDist on %d HR fields (%d epochs of %d steps)", len(images), config.epochs,
             config.steps_per_epoch)
    model, info = train_stardist(images, train.labels, config, model_dir.parent, name=model_dir.name)
    info = {**info, "config": config.to_dict(), "model_dir": str(model_dir), "trained": True,
            "border": STARDIST_BORDER, "thresholds": dict(model.thresholds._asdict())}
    return (lambda grey: predict_labels(model, grey, STARDIST_BORDER)), info


def score_versions(segmented, truth=None):
    """Per-image scores ``{version: {metric: [values]}}`` of one segmenter's label images ``segmented``
    (``{version: [labels]}``, with ``"HR"``): :data:`data.metrics.INSTANCE_METRICS` against ``truth``
    (the HR segmentation when ``None``) and ``f1_vs_hr`` (not for HR itself, nor without ``truth``)."""
    reference = segmented["HR"] if truth is None else truth
    out = {}
    for version, labels in segmented.items():
        rows = [metrics.instance_scores(t, y) for t, y in zip(reference, labels)]
        out[version] = {k: [r[k] for r in rows] for k in metrics.INSTANCE_METRICS}
        if truth is not None and version != "HR":
            out[version]["f1_vs_hr"] = [metrics.instance_scores(h, y)["f1"]
                                        for h, y in zip(segmented["HR"], labels)]
    return out


def compare_methods(scores, methods, references=REFERENCES, tested=TESTED_METRICS):
    """Paired tests of each of ``methods`` against each reference, per segmenter and metric.

    ``scores``: ``{segmenter: score_versions(...)}``. Returns rows ``{"segmenter", "method", "reference",
    "metric", "wilcoxon", "rank_biserial", "t", "holm_p"}``; ``holm_p`` is the Wilcoxon p-value after
    Holm's correction over all rows (the family of this report).
    """
    rows = []
    for seg, per_version in scores.items():
        for method in methods:
            for ref in references:
                for metric in tested:
                    if metric not in per_version[method] or metric not in per_version[ref]:
                        continue
                    a, b = per_version[method][metric], per_version[ref][metric]
                    rows.append({"segmenter": seg, "method": method, "reference": ref, "metric": metric,
                                 "wilcoxon": stats.paired_wilcoxon(a, b).to_dict(),
                                 "rank_biserial": stats.rank_biserial(a, b), "t": stats.paired_t(a, b).to_dict()})
    for row, p in zip(rows, stats.holm([r["wilcoxon"]["pvalue"] for r in rows])):
        row["holm_p"] = p
    return rows


def summarise(scores):
    """``{segmenter: {version: {metric: {"mean", "std", "median", "values"}}}}`` (population std)."""
    return {seg: {v: {k: {"mean": float(np.mean(x)), "std": float(np.std(x)), "median": float(np.median(x)),
                          "values": [float(e) for e in x]} for k, x in per.items()}
                  for v, per in versions.items()}
            for seg, versions in scores.items()}


def run_study(versions, truth, segmenters, learned, names):
    """Segment every version with every segmenter, score and test.

    Args:
        versions: ``{version: [grey uint8]}`` (:meth:`Collector.versions`), ``"HR"`` first.
        truth: ground-truth labels per image, or ``None`` (the HR segmentation stands in).
        segmenters: ``{name: f(list of grey) -> list of labels}``.
        learned: the methods tested against :data:`REFERENCES` (the generators, SRCNN).

    Returns ``(report, segmented)``: the report dict (as ``segmentation.json``) and
    ``{segmenter: {version: [labels]}}`` for the figure.
    """
    segmented, scores, seconds = {}, {}, {}
    for name, segment in segmenters.items():
        t0 = time.perf_counter()
        segmented[name] = {v: segment(images) for v, images in versions.items()}
        seconds[name] = time.perf_counter() - t0
        scores[name] = score_versions(segmented[name], truth)
        log.info("segmented %d versions of %d images with %s in %.1f s", len(versions), len(names), name,
                 seconds[name])
    report = {
        "n_images": len(names),
        "images": names,
        "versions": list(versions),
        "learned": list(learned),
        "references": list(REFERENCES),
        "truth": "ground-truth nuclei labels" if truth is not None else
                 "none: each segmenter's HR segmentation stands in for the ground truth",
        "summary": summarise(scores),
        "tests": compare_methods(scores, learned, tested=TESTED_METRICS if truth is not None else
                                 TESTED_METRICS[:-1]),
        "segment_seconds": seconds,
    }
    return report, segmented


class SegmentationStudy:
    """The study as ``msrgan.evaluate --segmentation`` runs it: the data are checked on construction (before
    any long work), :attr:`collector` is the PSNR evaluation's ``on_image``, :meth:`run` segments and tests.

    Args:
        segmenters: names from :data:`SEGMENTERS`.
        params: :class:`data.segmentation.WatershedParams` of the classical segmenter.
        stardist_config: :class:`data.stardist_training.StarDistConfig` (training budget).
        model_dir: where StarDist is trained; ``stardist_model``: a trained StarDist2D folder used instead.
    """

    def __init__(self, data_dir, segmenters, channel, params, stardist_config, model_dir, stardist_model=None,
                 max_images=None):
        unknown = sorted(set(segmenters) - set(SEGMENTERS))
        if unknown or not segmenters:
            raise ValueError(f"--segmenters: unknown {', '.join(unknown) or '(none given)'} "
                             f"(choose from {', '.join(SEGMENTERS)})")
        self.segmenters, self.channel, self.params = list(segmenters), int(channel), params
        self.stardist_config, self.model_dir, self.stardist_model = stardist_config, model_dir, stardist_model
        self.test = load_fields(data_dir, "test", channel, max_images)
        self.train = None
        if "stardist" in self.segmenters and stardist_model is None:
            self.train = load_fields(data_dir, "train", channel)
            if self.train.labels is None:
                raise ValueError(f"{data_dir}/labels/nuclei/train: missing; the stardist segmenter trains on the "
                                 "training split's nuclei labels (or give --stardist-model, or --segmenters classical)")
        self.collector = Collector(channel)

    def run(self, psnr_report):
        """``(report, figure)`` once :attr:`collector` has seen every test image (``psnr_report``: the
        PSNR evaluation's report, for the data and LR descriptions)."""
        from msrgan import segmentation_report

        versions = self.collector.versions()
        if len(next(iter(versions.values()), [])) != len(self.test.names):
            raise RuntimeError("the PSNR evaluation did not pass every test image to the segmentation study")
        functions, described = {}, {}
        for name in self.segmenters:
            if name == "classical":
                functions[name] = classical_segmenter(self.params)
                described[name] = {"description": "Gaussian smoothing, Otsu threshold, holes filled, "
                                                  "distance-transform watershed (data.segmentation)",
                                   "params": self.params.to_dict()}
            else:
                functions[name], info = stardist_segmenter(self.stardist_config, self.train, self.channel,
                                                           self.model_dir, self.stardist_model)
                how = (f"trained on the HR nuclear channel of {info['n_train']} training fields "
                       f"({info['n_val']} for thresholds) in {info['train_s']:.0f} s"
                       if info["trained"] else "given by --stardist-model")
                described[name] = {"description": f"StarDist2D {how} (data.stardist_training)", **info}
        learned = [v for v in versions if v not in ("HR", "nearest", "bicubic")]
        report, segmented = run_study(versions, self.test.labels, functions, learned, self.test.names)
        report.update(data=psnr_report["data"], lr=psnr_report["lr"], dapi_channel=self.channel,
                      segmenters=described, models=psnr_report["models"])
        figure = segmentation_report.figure(versions, segmented, self.test.labels, report["summary"])
        return report, figure

"""Classification scores from predicted and true labels (pure numpy, no TensorFlow)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ClassificationReport(NamedTuple):
    """Scores of one evaluation.

    ``confusion[i, j]``: number of images of true class i predicted as j.
    ``recall[i]``, ``precision[i]``: per class; NaN where undefined (no image / no prediction).
    """

    accuracy: float
    confusion: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    support: np.ndarray


def confusion_matrix(labels, predictions, n_classes):
    """(n_classes, n_classes) int64 counts; rows are true classes, columns predictions."""
    labels = np.asarray(labels, np.int64).ravel()
    predictions = np.asarray(predictions, np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ in length")
    for name, v in (("labels", labels), ("predictions", predictions)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            bad = sorted(set(v[(v < 0) | (v >= n_classes)].tolist()))
            raise ValueError(f"{name} outside 0..{n_classes - 1}: {bad}")
    return np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_report(labels, predictions, n_classes):
    """Accuracy, confusion matrix, per-class recall and precision."""
    cm = confusion_matrix(labels, predictions, n_classes)
    diag = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, diag / support, np.nan)
        precision = np.where(predicted > 0, diag / predicted, np.nan)
    total = int(cm.sum())
    accuracy = float(diag.sum() / total) if total else float("nan")
    return ClassificationReport(accuracy, cm, recall, precision, support)


def format_table(report, class_names):
    """The confusion matrix as text: one row per true class, with support and recall."""
    n = len(class_names)
    width = max(len(c) for c in class_names)
    head = " " * (width + 4) + " ".join(f"{j:>4d}" for j in range(n)) + "     n  recall"
    lines = [f"accuracy {report.accuracy:.4f} on {int(report.support.sum())} images",
             "rows: true class, columns: predicted class", head]
    for i, name in enumerate(class_names):
        cells = " ".join(f"{int(c):>4d}" for c in report.confusion[i])
        rec = "   -" if np.isnan(report.recall[i]) else f"{report.recall[i]:.3f}"
        lines.append(f"{i:02d} {name:<{width}} {cells} {int(report.support[i]):>5d}  {rec}")
    return "\n".join(lines)


def report_to_dict(report, class_names):
    """JSON-ready dict (NaN -> None)."""
    def clean(a):
        return [None if np.isnan(v) else float(v) for v in a]

    return {
        "accuracy": report.accuracy,
        "n_images": int(report.support.sum()),
        "class_names": list(class_names),
        "confusion": report.confusion.tolist(),
        "recall": clean(report.recall),
        "precision": clean(report.precision),
        "support": report.support.tolist(),
    }

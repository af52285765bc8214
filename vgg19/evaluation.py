"""Evaluation of a trained miniVGG19 on one split: accuracy and confusion table (``python -m vgg19.evaluate``)."""

from __future__ import annotations

import numpy as np

from data import CLASS_NAMES
from data.pipeline import classification_dataset
from vgg19.confusion import classification_report, report_to_dict
from vgg19.model import load_model


def predict_split(model, data_dir=None, split="test", batch_size=128, demo_n=1300):
    """(labels, predictions) int64 arrays of ``model`` on one split (no augmentation)."""
    size = int(model.input_shape[1])
    ds = classification_dataset(data_dir=data_dir, split=split, batch_size=batch_size, image_size=size,
                                augment=False, shuffle=False, repeat=False, demo_n=demo_n)
    labels, preds = [], []
    for x, y in ds:
        logits = model(x, training=False)
        preds.append(np.argmax(np.asarray(logits), axis=-1))
        labels.append(np.asarray(y))
    if not labels:
        raise ValueError(f"{data_dir or 'demo data'} ({split}): no images")
    return np.concatenate(labels).astype(np.int64), np.concatenate(preds).astype(np.int64)


def evaluate(model_path, data_dir=None, split="test", batch_size=128, demo_n=1300):
    """``(report, class_names, result)``: the :class:`vgg19.confusion.Report` and its JSON-able dict."""
    model = load_model(model_path)
    n_classes = int(model.output_shape[-1])
    names = CLASS_NAMES if n_classes == len(CLASS_NAMES) else tuple(f"class {i}" for i in range(n_classes))
    labels, preds = predict_split(model, data_dir, split, batch_size, demo_n)
    report = classification_report(labels, preds, n_classes)
    result = {"model": str(model_path), "data_dir": data_dir, "split": split, **report_to_dict(report, names)}
    return report, names, result

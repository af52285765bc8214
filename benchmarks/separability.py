"""How separable the demo classes are on simple green-channel statistics (pure numpy + cv2).

A check of :mod:`data.synthetic` used by its test and by ``benchmarks/data_synthetic.py``:
10 hand-made statistics per image (no learned image features) and a softmax
regression fitted by gradient descent; :func:`held_out_accuracy` is its
accuracy on the test split (chance = 1/13).
"""

from __future__ import annotations

import cv2
import numpy as np


def green_features(x):
    """(N, 10) simple statistics of the green (protein) channel of uint8 RGB images (N, H, W, 3)."""
    x = x.astype(np.float32) / 255
    out = []
    for img in x:
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        nuc = b > 0.5 * b.max()
        cell = (r + b) > 0.08
        s = g.sum() + 1e-6
        lap = np.abs(cv2.Laplacian(g, cv2.CV_32F)).mean() / (g.mean() + 1e-6)
        q = np.percentile(g, [50, 90, 99]) / (g.max() + 1e-6)
        out.append([g[nuc].sum() / s, g[cell & ~nuc].sum() / s, np.corrcoef(g.ravel(), b.ravel())[0, 1],
                    np.corrcoef(g.ravel(), r.ravel())[0, 1], lap, *q, (g > 0.5 * g.max()).mean(),
                    g.std() / (g.mean() + 1e-6)])
    return np.nan_to_num(np.array(out))


def softmax_regression(x, y, k, steps=500, lr=0.5, l2=1e-3):
    """Weights ``(w, c)`` of a k-class softmax regression on features ``x`` (full-batch gradient descent)."""
    w, c, onehot = np.zeros((x.shape[1], k)), np.zeros(k), np.eye(k)[y]
    for _ in range(steps):
        z = x @ w + c
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= lr * (x.T @ (p - onehot) / len(x) + l2 * w)
        c -= lr * (p - onehot).mean(0)
    return w, c


def held_out_predictions(x_train, y_train, x_test, k):
    """Predicted classes of ``x_test`` by a softmax regression on standardised :func:`green_features`."""
    ftr, fte = green_features(x_train), green_features(x_test)
    mu, sd = ftr.mean(0), ftr.std(0) + 1e-9
    w, c = softmax_regression((ftr - mu) / sd, y_train, k)
    return (((fte - mu) / sd) @ w + c).argmax(1)


def held_out_accuracy(x_train, y_train, x_test, y_test, k):
    """Accuracy of :func:`held_out_predictions` on the test split."""
    return float(np.mean(held_out_predictions(x_train, y_train, x_test, k) == y_test))

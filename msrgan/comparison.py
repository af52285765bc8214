"""Scores, report table and comparison figure for super-resolution methods (numpy + matplotlib, no TF).

Every method's output and the ground truth HR are 8-bit RGB (uint8 (H, W, 3));
PSNR and SSIM are scikit-image's (via :mod:`data.metrics`) with
``data_range=255``, SSIM over the colour channels (``channel_axis=-1``).
The figure is returned as an array; writing files is the CLI's job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data import metrics

METRICS = ("psnr", "ssim")


def score(hr, sr):
    """``{"psnr": dB, "ssim": [-1, 1]}`` of ``sr`` against the ground truth ``hr`` (uint8 RGB)."""
    hr, sr = np.asarray(hr), np.asarray(sr)
    if hr.shape != sr.shape:
        raise ValueError(f"shape mismatch: HR {hr.shape} vs SR {sr.shape}")
    return {"psnr": float(metrics.psnr(hr, sr, data_range=255)), "ssim": float(metrics.ssim(hr, sr, data_range=255))}


class Scores:
    """Per-image scores of several methods, filled image by image."""

    def __init__(self, methods):
        self.methods = list(methods)
        self.values = {m: {k: [] for k in METRICS} for m in self.methods}

    def add(self, hr, outputs):
        """Score one image: ``outputs`` maps each method to its uint8 SR image."""
        for m in self.methods:
            for k, v in score(hr, outputs[m]).items():
                self.values[m][k].append(v)

    def summary(self):
        """``{method: {metric: {"mean", "std", "values"}}}`` (population std, as ``np.std``)."""
        out = {}
        for m in self.methods:
            out[m] = {}
            for k in METRICS:
                v = np.asarray(self.values[m][k], np.float64)
                out[m][k] = {"mean": float(v.mean()), "std": float(v.std()), "values": v.tolist()}
        return out


def markdown_table(summary, n_images, lr_note):
    """The report as Markdown: one row per method, mean +- std of PSNR (dB) and SSIM."""
    lines = [
        "# mSRGAN evaluation",
        "",
        f"{n_images} test images; {lr_note}. PSNR and SSIM (scikit-image, data_range 255) on 8-bit RGB, mean ± std.",
        "",
        "| Method | PSNR (dB) | SSIM |",
        "|---|---|---|",
    ]
    for m, s in summary.items():
        psnr, ssim = s["psnr"], s["ssim"]
        lines.append(f"| {m} | {psnr['mean']:.2f} ± {psnr['std']:.2f} | {ssim['mean']:.4f} ± {ssim['std']:.4f} |")
    return "\n".join(lines) + "\n"


def unique_names(paths):
    """Short column names for model files: the stem, with parent folders added until all differ."""
    paths = [Path(p) for p in paths]
    depth = 1
    while True:
        names = ["/".join(p.with_suffix("").parts[-depth:]) for p in paths]
        if len(set(names)) == len(names) or depth > max(len(p.parts) for p in paths):
            break
        depth += 1
    reserved = {"nearest", "bicubic", "LR", "HR"}
    return [f"model:{n}" if n in reserved else n for n in names]


def comparison_figure(rows, columns, captions=None, cell_inches=1.6):
    """A grid of images as uint8 RGB (H, W, 3): one row per image, one column per entry.

    Args:
        rows: list of dicts mapping each column name to a uint8 (h, w, 3) image;
            images of different sizes (LR vs HR) fill the same cell, LR shown with
            nearest-neighbour pixels.
        columns: column names, in order (the titles).
        captions: optional list of dicts column -> text shown under the cell.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cell_inches * len(columns), (cell_inches + 0.35) * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    for i, row in enumerate(rows):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(row[col], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(col, fontsize=8)
            if captions and captions[i].get(col):
                ax.set_xlabel(captions[i][col], fontsize=7)
    fig.tight_layout(pad=0.3)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

"""Scores, paired tests, report table and comparison figure for super-resolution methods (numpy + matplotlib, no TF).

Every method's output and the ground truth HR are 8-bit RGB (uint8 (H, W, 3));
PSNR and SSIM are scikit-image's (via :mod:`data.metrics`) with
``data_range=255``, SSIM over the colour channels (``channel_axis=-1``).
Each method is compared with the reference (bicubic) by a paired Wilcoxon
signed-rank test over the images (:mod:`data.stats`). The figure adds
quality-control maps (local SSIM, absolute error; :func:`data.metrics.ssim_map`)
of one method. It is returned as an array; writing files is the CLI's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from data import metrics, stats

METRICS = ("psnr", "ssim")
REFERENCE = "bicubic"


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

    def paired_tests(self, reference=REFERENCE):
        """``{method: {metric: PairedTest dict}}``: each other method against ``reference``, image by image.

        ``median_difference`` is method minus reference (positive: the method scores higher).
        """
        if reference not in self.methods:
            raise ValueError(f"reference method {reference!r} is not among {self.methods}")
        return {
            m: {k: stats.paired_wilcoxon(self.values[m][k], self.values[reference][k]).to_dict() for k in METRICS}
            for m in self.methods
            if m != reference
        }


def markdown_table(summary, n_images, lr_note, tests=None, reference=REFERENCE):
    """The report as Markdown: one row per method, mean +- std of PSNR (dB) and SSIM,
    then (with ``tests`` from :meth:`Scores.paired_tests`) the paired tests against ``reference``."""
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
    if tests:
        lines += [
            "",
            f"Paired Wilcoxon signed-rank test of each method against {reference}, image by image (two-sided; "
            f"median difference = method - {reference}; W = scipy's statistic, the smaller signed-rank sum; "
            "n = images, zero differences dropped from the test).",
            "",
            "| Method | median ΔPSNR (dB) | W (PSNR) | p (PSNR) | median ΔSSIM | W (SSIM) | p (SSIM) | n |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m, t in tests.items():
            p, q = t["psnr"], t["ssim"]
            lines.append(
                f"| {m} | {p['median_difference']:+.2f} | {_num(p['statistic'])} | {_pvalue(p['pvalue'])} "
                f"| {q['median_difference']:+.4f} | {_num(q['statistic'])} | {_pvalue(q['pvalue'])} | {p['n']} |"
            )
    return "\n".join(lines) + "\n"


def _num(x):
    return "-" if x is None else f"{x:g}"


def _pvalue(p):
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.1e}"


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


class Heatmap(NamedTuple):
    """A figure cell showing a 2-D map with a colour bar (see :func:`comparison_figure`)."""

    values: np.ndarray
    cmap: str
    vmin: float
    vmax: float
    label: str = ""


def qc_maps(hr, sr, error_max=None):
    """``(ssim, error)`` :class:`Heatmap` cells of ``sr`` against ``hr`` (uint8 RGB).

    Local SSIM (:func:`data.metrics.ssim_map`, shown on [0, 1]; lower values
    are drawn as 0) and the absolute error in 8-bit grey levels averaged over
    channels (:func:`data.metrics.abs_error_map`, shown on [0, ``error_max``],
    default its own maximum).
    """
    smap = metrics.ssim_map(hr, sr, data_range=255)
    emap = metrics.abs_error_map(hr, sr)
    top = float(error_max) if error_max is not None else max(float(emap.max()), 1.0)
    return (Heatmap(smap, "viridis", 0.0, 1.0, "local SSIM"),
            Heatmap(emap, "inferno", 0.0, top, "|SR - HR| (grey levels)"))


def report_figure(shown, summary, methods, qc_method=None):
    """comparison.png: LR | bicubic | each method | HR | SSIM map | |error| map of ``qc_method``.

    ``shown``: dicts with uint8 ``LR``, ``HR`` and each method's output (from
    ``msrgan.evaluation.evaluate``); ``summary``: :meth:`Scores.summary` (per-image
    PSNR/SSIM captions, in the order of ``shown``). The error maps of all rows
    share one colour scale (the largest 99.5th percentile, so rows compare).
    """
    methods = [m for m in methods if m != "nearest"]
    columns = ["LR", *methods, "HR"]
    captions = [
        {m: f"{summary[m]['psnr']['values'][i]:.2f} dB / {summary[m]['ssim']['values'][i]:.3f}" for m in methods}
        for i in range(len(shown))
    ]
    rows = [dict(r) for r in shown]
    if qc_method is not None:
        ssim_col, err_col = f"SSIM map\n{qc_method}", f"|SR - HR|\n{qc_method}"
        columns += [ssim_col, err_col]
        errs = [metrics.abs_error_map(r["HR"], r[qc_method]) for r in rows]
        top = max([float(np.percentile(e, 99.5)) for e in errs] + [1.0])
        for i, (row, caption) in enumerate(zip(rows, captions)):
            row[ssim_col], row[err_col] = qc_maps(row["HR"], row[qc_method], error_max=top)
            caption[ssim_col] = f"SSIM {summary[qc_method]['ssim']['values'][i]:.3f}"
            caption[err_col] = f"mean |error| {float(np.mean(row[err_col].values)):.2f}"
    return comparison_figure(rows, columns, captions)


def comparison_figure(rows, columns, captions=None, cell_inches=1.6):
    """A grid of images as uint8 RGB (H, W, 3): one row per image, one column per entry.

    Args:
        rows: list of dicts mapping each column name to a uint8 (h, w, 3) image
            or a :class:`Heatmap` (drawn with its colour map and a colour bar);
            images of different sizes (LR vs HR) fill the same cell, LR shown with
            nearest-neighbour pixels.
        columns: column names, in order (the titles).
        captions: optional list of dicts column -> text shown under the cell.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_maps = sum(isinstance(rows[0].get(c), Heatmap) for c in columns) if rows else 0
    width = cell_inches * len(columns) + 0.45 * n_maps
    fig = Figure(figsize=(width, (cell_inches + 0.35) * len(rows) + 0.2), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    for i, row in enumerate(rows):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            cell = row[col]
            if isinstance(cell, Heatmap):
                im = ax.imshow(cell.values, cmap=cell.cmap, vmin=cell.vmin, vmax=cell.vmax, interpolation="nearest")
                bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
                bar.ax.tick_params(labelsize=6)
                if cell.label:
                    bar.set_label(cell.label, fontsize=6)
            else:
                ax.imshow(cell, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(col, fontsize=8)
            if captions and captions[i].get(col):
                ax.set_xlabel(captions[i][col], fontsize=7)
    fig.tight_layout(pad=0.3)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

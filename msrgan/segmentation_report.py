"""segmentation.md and segmentation.png of ``msrgan.evaluate --segmentation`` (numpy + matplotlib, no TF).

The report dict is :func:`msrgan.segmentation.run_study`'s, with the
segmenters' descriptions added by the command.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

from data import io
from msrgan import comparison

COLUMNS = (("f1", "F1@0.5"), ("precision", "precision"), ("recall", "recall"), ("ap50", "AP@0.5"),
           ("map", "AP@[.5:.95]"), ("pq", "PQ"), ("f1_vs_hr", "F1 vs HR seg."))
TRUTH_COLOUR = (0, 255, 0)
SEGMENTATION_COLOUR = (255, 0, 255)
ZOOM = 2  # figure cells: the 96 px fields drawn at 2x so that contours stay thin


def _p(p):
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def markdown(report):
    """The report as Markdown: per segmenter, a table of means +- std, then the paired tests."""
    lines = ["# Nuclei segmentation of super-resolved fields (`msrgan.evaluate --segmentation`)", "",
             f"{report['n_images']} test images ({report['data']}). {report['lr']}. "
             f"Nuclei segmented in channel {report['dapi_channel']} of every version; "
             f"ground truth: {report['truth']}.", ""]
    for name, desc in report["segmenters"].items():
        lines.append(f"- **{name}**: {desc['description']}")
    lines.append("")
    for seg, versions in report["summary"].items():
        lines += [f"## {seg}", "", "Mean +- std over the images (per-image scores, `stardist.matching`).", "",
                  "| version | " + " | ".join(t for _, t in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for version, per in versions.items():
            cells = [f"{per[k]['mean']:.3f} +- {per[k]['std']:.3f}" if k in per else "-" for k, _ in COLUMNS]
            lines.append(f"| {version} | " + " | ".join(cells) + " |")
        lines.append("")
    tests = report["tests"]
    if tests:
        lines += ["## Paired tests", "",
                  f"Per image, method minus reference. Wilcoxon signed-rank (two-sided; r: matched-pairs "
                  f"rank-biserial correlation) and paired t-test (mean difference with its 95 % CI; d_z: mean / sd "
                  f"of the differences). Holm p: the Wilcoxon p after Holm's correction over all {len(tests)} "
                  "tests of this report.", "",
                  "| segmenter | method vs reference | metric | mean diff [95 % CI] | d_z | t p | Wilcoxon p | r "
                  "| Holm p |", "|---" * 9 + "|"]
        for row in tests:
            t, w = row["t"], row["wilcoxon"]
            dz = "-" if t["cohens_dz"] is None else f"{t['cohens_dz']:+.2f}"
            lines.append(f"| {row['segmenter']} | {row['method']} vs {row['reference']} | {row['metric']} | "
                         f"{t['mean_difference']:+.4f} [{t['ci_low']:+.4f}, {t['ci_high']:+.4f}] | {dz} | "
                         f"{_p(t['pvalue'])} | {_p(w['pvalue'])} | {row['rank_biserial']:+.2f} | "
                         f"{_p(row['holm_p'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _overlay(grey, labels, truth=None):
    """uint8 RGB of ``grey`` at :data:`ZOOM` x with the contours of ``labels`` (and ``truth``)."""
    big = np.kron(np.asarray(grey, np.float64), np.ones((ZOOM, ZOOM)))
    lo, hi = np.percentile(big, (0.5, 99.8))
    rgb = np.repeat((np.clip((big - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)[..., None], 3, -1)
    for lab, colour, mode in ((truth, TRUTH_COLOUR, "outer"), (labels, SEGMENTATION_COLOUR, "inner")):
        if lab is not None:  # truth just outside its objects, the segmentation just inside: both stay visible
            rgb[find_boundaries(np.kron(lab, np.ones((ZOOM, ZOOM), lab.dtype)), mode=mode)] = colour
    return rgb


def figure(versions, segmented, truth, summary, n_show=3):
    """segmentation.png: one row per (field, segmenter), one column per version; the nuclear channel with the
    segmentation's contours (magenta, inside) and the ground truth's (green, outside); captions F1@0.5 of that image."""
    n = min(n_show, len(next(iter(versions.values()))))
    columns = list(versions)
    rows, captions = [], []
    for i in range(n):
        for seg, labels in segmented.items():
            rows.append({v: _overlay(versions[v][i], labels[v][i], None if truth is None else truth[i])
                         for v in columns})
            captions.append({v: f"{seg} F1 {summary[seg][v]['f1']['values'][i]:.2f}" for v in columns})
    return comparison.comparison_figure(rows, columns, captions)


def write_segmentation(out_dir, report, figure):
    """``segmentation.json``, ``segmentation.md`` and ``segmentation.png`` in ``out_dir`` (atomic); returns the
    Markdown."""
    text = markdown(report)
    io.write_json(out_dir / "segmentation.json", report)
    io.write_text(out_dir / "segmentation.md", text)
    io.write_png(out_dir / "segmentation.png", figure)
    return text

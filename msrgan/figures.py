"""The per-epoch figure (numpy + matplotlib, no TF; written to disk by the callbacks)."""

from __future__ import annotations

import numpy as np


def _psnr_8bit(hr, sr):
    from data.metrics import psnr

    return psnr(_uint8(hr), _uint8(sr))


def _uint8(x):
    """[0, 1] floats -> uint8 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)


COLUMNS = (("lr_input", "LR input"), ("bicubic_4x", "bicubic"), ("sr_output", "SR"), ("hr_ground_truth", "HR"))


def epoch_figure(images, epoch, step=None, cell_inches=1.6):
    """The per-epoch figure as uint8 RGB: titled columns LR input | bicubic | SR | HR, one row per sample.

    ``images``: :meth:`msrgan.model.MSRGAN.sample_images` output (arrays in [0, 1]).
    Under bicubic and SR: the PSNR (dB, 8-bit RGB, as ``msrgan.evaluate``) against HR.
    The title gives the epoch, the step and the mean PSNRs.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = images["hr_ground_truth"].shape[0]
    scores = {k: [_psnr_8bit(images["hr_ground_truth"][i], images[k][i]) for i in range(n)]
              for k in ("bicubic_4x", "sr_output")}
    fig = Figure(figsize=(cell_inches * len(COLUMNS), (cell_inches + 0.3) * n + 0.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, len(COLUMNS), squeeze=False)
    for i in range(n):
        for j, (key, title) in enumerate(COLUMNS):
            ax = axes[i, j]
            ax.imshow(_uint8(images[key][i]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=9)
            if key in scores:
                ax.set_xlabel(f"{scores[key][i]:.2f} dB", fontsize=8)
    where = f"epoch {epoch}" + ("" if step is None else f", step {step}")
    fig.suptitle(f"{where}: PSNR SR {np.mean(scores['sr_output']):.2f} dB, "
                 f"bicubic {np.mean(scores['bicubic_4x']):.2f} dB", fontsize=9)
    fig.tight_layout(pad=0.3)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

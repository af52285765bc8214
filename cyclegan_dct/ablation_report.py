"""The report of a DCT cutoff ablation (``cyclegan_dct.ablation``): the Markdown table and the three-panel figure."""

from __future__ import annotations

from data.io import atomic_path


def _num(x):
    return "-" if x is None else f"{x:+.3f}"


def ablation_markdown(rows, budget):
    sigmas = list(rows[0]["sensitivity"])
    head = (["run", "cutoff", "train s"] + [f"Dice sigma={s}" for s in sigmas]
            + ["HF energy G(m) / real", "corr(m, G(m))", "Dice m/cycled", "Dice m/Otsu", "F1@0.5", "AP@0.5",
               "mean F1"])
    lines = [
        "# DCT cutoff ablation",
        "",
        f"Budget: {budget}",
        "",
        "Dice sigma=s: Dice between m and F(filter(G(m) + noise of s grey levels)) > 0. HF energy: fraction of "
        "non-DC DCT energy above the cutoff (the model's; 0.5 for vanilla). F1/AP: StarDist trained on the "
        "synthetic pairs, tested on real nuclei.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    lines[3:3] = [f"- {r['name']}: CycleGAN {r['cyclegan_budget']}" for r in rows]
    for r in rows:
        train = "-" if r["train_s"] is None else f"{r['train_s']:.0f}"
        vals = ([r["name"], f"{r['cutoff']:g}", train] + [f"{r['sensitivity'][s]:.3f}" for s in sigmas]
                + [f"{r['hf_generated']:.4f} / {r['hf_real']:.4f}", _num(r.get("polarity_corr")),
                   f"{r['dice_input_cycled']:.3f}",
                   f"{r['dice_input_otsu']:.3f}", f"{r['f1']:.3f}", f"{r['ap']:.3f}", f"{r['mean_f1']:.3f}"])
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def ablation_plot(rows, path):
    """Three panels: noise sensitivity per run, F1/AP vs cutoff, mask agreement vs cutoff (PNG, atomic)."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for r in rows:
        sig = [float(s) for s in r["sensitivity"]]
        axes[0].plot(sig, list(r["sensitivity"].values()), marker="o", label=r["name"])
    axes[0].set(xlabel="noise sigma (grey levels of 255)", ylabel="Dice(cycled, m)", title="Sensitivity",
                ylim=(0, 1.02))
    axes[0].legend()
    cut = sorted({r["cutoff"] for r in rows})

    def per_cutoff(ax, key, label):
        """Per-seed points and the mean over seeds at each cutoff."""
        line = ax.plot(cut, [np.mean([r[key] for r in rows if r["cutoff"] == c]) for c in cut], marker="o",
                       label=label)[0]
        ax.scatter([r["cutoff"] for r in rows], [r[key] for r in rows], s=12, alpha=0.5, color=line.get_color())

    for key, label in (("f1", "F1@0.5"), ("ap", "AP@0.5"), ("mean_f1", "mean F1")):
        per_cutoff(axes[1], key, label)
    axes[1].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="score on real nuclei", title="StarDist downstream")
    axes[1].legend()
    for key, label in (("dice_input_cycled", "m vs cycled"), ("dice_input_otsu", "m vs Otsu(G(m))"),
                       ("dice_cycled_otsu", "cycled vs Otsu")):
        per_cutoff(axes[2], key, label)
    axes[2].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="Dice", title="Agreement", ylim=(0, 1.02))
    axes[2].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

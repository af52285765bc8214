"""``python -m cyclegan_dct.stego`` (console script ``cyclegan-dct-stego``): the steganography report of a model.

The work is done by :func:`cyclegan_dct.steganography.run_stego` (see its module for what is measured).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli


@cli.command()
@click.option("--model-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder with config.json, generator_a2b.keras, generator_b2a.keras.")
@click.option("--n", type=int, default=50, help="Number of fresh random masks.")
@click.option("--size", type=int, default=256, help="Mask / image size (multiple of 4).")
@cli.seed_option(0, "Seed of the random masks and noise.")
@click.option("--real-images", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Real images for comparison [default: stardist's nuclei test image].")
@click.option("--segmenter", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A StarDist model folder (e.g. an ablation's reference/stardist/model) that segments G(m) for "
                   "the agreement measures beside Otsu.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("result/cyclegan_dct/stego"))
@cli.verbose_option
@cli.one_line_errors
def main(model_dir, n, size, seed, real_images, segmenter, out):
    """Steganography report: visibility panel, noise sensitivity, high-frequency energy, agreement."""
    from cyclegan_dct.steganography import run_stego, sensitivity_markdown

    segment = None
    if segmenter is not None:
        from cyclegan_dct import reference

        segment = reference.segmenter(reference.load_stardist(segmenter))
    report = run_stego(model_dir, out, n=n, size=size, seed=seed, real_images=real_images, segment=segment)
    cli.echo(sensitivity_markdown(report), nl=False)
    hf = report["high_frequency_energy"]
    ag = report["agreement"]
    cli.echo(
        f"high-frequency energy above {hf['cutoff']}: G(m) {hf['generated']['fraction']['mean']:.4f}, "
        f"real {hf['real']['fraction']['mean']:.4f}; Dice input/cycled {ag['input_vs_cycled']['dice']['mean']:.3f}, "
        f"input/otsu {ag['input_vs_otsu']['dice']['mean']:.3f} -> {Path(out) / 'stego.json'}"
    )


if __name__ == "__main__":
    main()

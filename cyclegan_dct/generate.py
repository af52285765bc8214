"""``python -m cyclegan_dct.generate`` (console script ``cyclegan-dct-generate``): synthetic training pairs.

The work is done by :func:`cyclegan_dct.synthesis.generate` (see its module for the files written). Example::

    python -m cyclegan_dct.generate --model-dir backup/cyclegan_dct --n 200 --out result/synthetic
"""

from __future__ import annotations

import click

from data import cli


@cli.command()
@click.option("--model-dir", type=click.Path(file_okay=False), default="backup/cyclegan_dct",
              help="Run folder with config.json, generator_a2b.keras, generator_b2a.keras.")
@click.option("--n", default=200, help="Number of image/mask pairs.")
@click.option("--out", type=click.Path(file_okay=False), default="result/cyclegan_dct/synthetic")
@click.option("--size", default=256, help="Image size (multiple of 4).")
@cli.seed_option(0, "Seed of the random masks.")
@click.option("--also-unfiltered", is_flag=True,
              help="DCT models: also write G(m) before the low-pass into images_unfiltered/ (images/ holds "
                   "LP(G(m)), the image the cycled mask was computed from).")
@cli.verbose_option
@cli.one_line_errors
def main(model_dir, n, out, size, seed, also_unfiltered):
    """Generate synthetic nuclei images (LP(G(m)) for a DCT model) with their input and cycled masks."""
    from cyclegan_dct.synthesis import generate

    summary = generate(model_dir, n=n, out=out, size=size, seed=seed, also_unfiltered=also_unfiltered)
    cli.echo(f"{summary['count']} pairs in {out}, mean Dice(mask, cycled mask) = {summary['mean_dice']:.4f}")


if __name__ == "__main__":
    main()

"""``python -m msrgan.evaluate`` (console script ``msrgan-evaluate``): compare generators with nearest and bicubic.

Example::

    python -m msrgan.evaluate backup/msrgan/generator.keras                 # embedded demo test split
    python -m msrgan.evaluate --data-dir DIR --out result/eval a.keras b.keras
    python -m msrgan.evaluate backup/msrgan/generator.keras --compare other/generator.keras,x.keras

The work is done by :mod:`msrgan.evaluation` (see it for the protocol and the files written).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli


@cli.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--compare", "compare_with", multiple=True, metavar="A.keras,B.keras",
              help="Further generators to compare (comma-separated; the option may be repeated).")
@click.option("--srcnn", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SRCNN model (python -m msrgan.train --model srcnn). "
                   "Default: backup/srcnn/srcnn.keras, when it exists.")
@click.option("--siblings/--no-siblings", default=True,
              help="Also evaluate backup/srcnn/srcnn.keras and generator_pretrained.keras beside each MODEL "
                   "when they exist.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data in the original layout; its test/ images are used. Default: the embedded demo test split.")
@click.option("--max-images", type=click.IntRange(min=1), default=None,
              help="Evaluate only the first N test images [default: all].")
@click.option("--out", "out_dir", default="result/msrgan_eval", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.json, report.md, comparison.png.")
@click.option("--n-show", default=4, type=click.IntRange(min=1), help="Images in comparison.png.")
@click.option("--batch-size", default=16, type=click.IntRange(min=1))
@click.option("--tile", default=128, type=click.IntRange(min=1), help="Tile size for large inputs.")
@click.option("--overlap", default=16, type=click.IntRange(min=0))
@cli.verbose_option
@cli.one_line_errors
def main(models, compare_with, srcnn, siblings, data_dir, max_images, out_dir, n_show, batch_size, tile, overlap):
    """Compare the generators MODELS (.keras) with nearest and bicubic upscaling, SRCNN and the pre-trained
    generator when found (PSNR, SSIM on 8-bit RGB; paired Wilcoxon tests against bicubic)."""
    from msrgan.evaluation import compare, split_paths, write_report

    bars = []

    def start(n_images, n_models):
        bars.append(click.progressbar(length=n_images, label=f"Evaluating {n_models} model(s) on {n_images} images"))
        bars[0].__enter__()

    try:
        report, figure = compare(models, data_dir, n_show, batch_size, tile, overlap, on_images=start,
                                 on_batch=lambda k: bars[0].update(k), compare_with=split_paths(compare_with),
                                 srcnn=srcnn, siblings=siblings, max_images=max_images)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    cli.echo(write_report(out_dir, report, figure))
    cli.echo(f"wrote report.json, report.md and comparison.png to {out_dir}")


if __name__ == "__main__":
    main()

"""``python -m msrgan.predict`` (console script ``msrgan-predict``): super-resolve image files with a generator.

Example::

    python -m msrgan.predict backup/msrgan/generator.keras cells.png stack.tif --out result/sr

The work is done by :mod:`msrgan.prediction` (file types, bit depths, channels, tiling).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; each result keeps its input's name, type and bit depth.")
@click.option("--tile", default=128, type=click.IntRange(min=1),
              help="Tile size in input pixels (memory grows with its square).")
@click.option("--overlap", default=16, type=click.IntRange(min=0),
              help="Minimum overlap of neighbouring tiles in input pixels; blended with raised-cosine weights.")
@click.option("--batch-size", default=4, type=click.IntRange(min=1), help="Tiles per forward pass.")
@cli.verbose_option
@cli.one_line_errors
def main(model, inputs, out_dir, tile, overlap, batch_size):
    """Super-resolve INPUTS (PNG/TIFF files or folders of them) 4x with the generator MODEL (.keras).

    8-bit images give 8-bit outputs, 16-bit TIFFs give 16-bit TIFFs (scaled by
    the full range of the type). Grayscale inputs are replicated to RGB for the
    model and averaged back to one channel. All inputs are checked before any
    output is written.
    """
    from msrgan.prediction import plan, predict_file, resolver

    sr = resolver(model, tile, overlap, batch_size)
    jobs = plan(inputs, out_dir, sr.channels)
    total = sum(sr.n_tiles(shape) for _, _, shape in jobs)
    with click.progressbar(length=total, label=f"Super-resolving {len(jobs)} image(s)") as bar:
        for path, out, _ in jobs:
            predict_file(sr, path, out, on_batch=bar.update)
    cli.echo(f"wrote {len(jobs)} image(s) to {out_dir}")


if __name__ == "__main__":
    main()

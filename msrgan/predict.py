"""``python -m msrgan.predict`` (console script ``msrgan-predict``): super-resolve image files with a generator.

Example (after ``python -m msrgan.train`` or ``make demo``, whose generator is the default ``--model``)::

    python -m msrgan.predict cells.png stack.tif --out result/sr

The work is done by :mod:`msrgan.prediction` (file types, bit depths, channels, tiling).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli

DEFAULT_MODEL = Path("backup/msrgan/generator.keras")
"""The generator ``python -m msrgan.train`` exports into its default run folder."""


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="Generator (.keras) to use; the default is the one msrgan.train exports.")
@click.option("--out", "out_dir", default=Path("result/msrgan_predict"),
              type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; each result keeps its input's name, type and bit depth.")
@click.option("--tile", default=128, type=click.IntRange(min=1),
              help="Tile size in input pixels (memory grows with its square).")
@click.option("--overlap", default=16, type=click.IntRange(min=0),
              help="Minimum overlap of neighbouring tiles in input pixels; blended with raised-cosine weights.")
@click.option("--batch-size", default=4, type=click.IntRange(min=1), help="Tiles per forward pass.")
@cli.verbose_option
@cli.one_line_errors
def main(model, inputs, out_dir, tile, overlap, batch_size):
    """Super-resolve INPUTS (PNG/TIFF files or folders of them) 4x with the generator --model (.keras).

    8-bit images give 8-bit outputs, 16-bit TIFFs give 16-bit TIFFs (scaled by
    the full range of the type). Grayscale inputs are replicated to RGB for the
    model and averaged back to one channel. All inputs are checked before any
    output is written.
    """
    models = [p for p in inputs if p.suffix == ".keras"]
    if models:
        raise click.UsageError(f"{models[0]}: a model, not an image; pass it as --model {models[0]}")
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

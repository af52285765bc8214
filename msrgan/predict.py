"""``python -m msrgan.predict`` (console script ``msrgan-predict``): super-resolve image files with a generator.

Example (after ``python -m msrgan.train`` or ``make demo``, whose generator is the default ``--model``)::

    python -m msrgan.predict cells.png stack.tif --out result/sr

The work is done by :mod:`msrgan.prediction` (file types, bit depths, channels, tiling).
"""

from __future__ import annotations

import sys
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
@click.option("--normalize", "normalisation", type=click.Choice(["auto", "full", "percentile"]), default="auto",
              show_default=True, help="Input to the model range and back: auto = the type's full range for 8-bit "
                                      "(the training data's convention), percentiles for 16-bit; full; percentile.")
@click.option("--pmin", default=3.0, show_default=True, type=click.FloatRange(0, 100),
              help="Low percentile (maps to the model's -1), CSBDeep's default.")
@click.option("--pmax", default=99.8, show_default=True, type=click.FloatRange(0, 100),
              help="High percentile (maps to +1), CSBDeep's default.")
@cli.verbose_option
@cli.one_line_errors
def main(model, inputs, out_dir, tile, overlap, batch_size, normalisation, pmin, pmax):
    """Super-resolve INPUTS (PNG/TIFF files or folders of them) 4x with the generator --model (.keras).

    8-bit images give 8-bit outputs (scaled by the full range, as in training), 16-bit TIFFs give
    16-bit TIFFs (scaled by the image's --pmin/--pmax percentiles and back; --normalize full for the
    type's full range). Grayscale inputs are replicated to RGB for the model and averaged back to one
    channel. All inputs are checked before any output is written; one line per image says what was done.
    """
    models = [p for p in inputs if p.suffix == ".keras"]
    if models:
        raise click.UsageError(f"{models[0]}: a model, not an image; pass it as --model {models[0]}")
    import time

    from msrgan.prediction import Normalisation, plan, predict_file, resolver

    norm = Normalisation(normalisation, pmin, pmax)
    sr = resolver(model, tile, overlap, batch_size)
    jobs = plan(inputs, out_dir, sr.channels)
    total = sum(sr.n_tiles(shape) for _, _, shape in jobs)
    with click.progressbar(length=total, label=f"Super-resolving {len(jobs)} image(s)", file=sys.stderr) as bar:
        for k, (path, out, shape) in enumerate(jobs, 1):
            start = time.perf_counter()
            span = predict_file(sr, path, out, on_batch=bar.update, normalisation=norm)
            scaled = "full range" if span is None else f"percentiles {pmin:g}/{pmax:g} = {span[0]:g}..{span[1]:g}"
            cli.echo(f"[{k}/{len(jobs)}] {path} -> {out} ({shape[1]}x{shape[0]} -> {4 * shape[1]}x{4 * shape[0]}, "
                     f"{scaled}, {time.perf_counter() - start:.1f} s)", err=True)
    cli.echo(f"wrote {len(jobs)} image(s) to {out_dir}")


if __name__ == "__main__":
    main()

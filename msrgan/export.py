"""Write a bioimage.io model package of a saved mSRGAN generator: ``python -m msrgan.export``.

Example::

    python -m msrgan.export backup/msrgan/generator.keras bioimageio/msrgan --authors "Ada Lovelace, Alan Turing"

The package (``rdf.yaml``, ``model.keras``, ``tf_saved_model.zip``, test
tensors, README, cover, the run's ``config.json``) is described in
:mod:`data.modelzoo` and :mod:`msrgan.modelzoo`. It is built in a hidden
folder beside OUT_DIR and moved in place only when complete.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from data import cli


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Model name in rdf.yaml [default: mSRGAN 4x super-resolution generator].")
@click.option("--authors", default="gan-microscopy contributors", help="Comma-separated author names.")
@click.option("--license", "license_", default="MIT", help="SPDX license identifier.")
@click.option("--input-bits", type=click.Choice(["8", "16"]), default="8",
              help="8: uint8 input scaled by x/127.5-1 (the training convention); 16: uint16 input scaled by "
                   "per-image percentiles 2/99.8.")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty OUT_DIR.")
@cli.verbose_option
@cli.one_line_errors
def main(model, out_dir, name, authors, license_, input_bits, overwrite):
    """Write the bioimage.io model package of the generator MODEL (.keras) to OUT_DIR."""
    from data import modelzoo
    from msrgan import load_generator
    from msrgan import modelzoo as msrgan_modelzoo

    modelzoo.export(model, out_dir, load_generator, functools.partial(
        msrgan_modelzoo.package_descr, name=name, authors=modelzoo.parse_authors(authors),
        license=license_, input_bits=int(input_bits)), overwrite=overwrite)
    cli.echo(f"wrote bioimage.io package {out_dir} (validate: bioimageio test {out_dir / modelzoo.RDF_FILE})")


if __name__ == "__main__":
    main()

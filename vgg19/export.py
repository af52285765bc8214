"""Write a bioimage.io model package of a saved miniVGG19: ``python -m vgg19.export``.

Example::

    python -m vgg19.export backup/vgg19/minivgg19.keras bioimageio/minivgg19 --authors "Ada Lovelace"

The package is described in :mod:`data.modelzoo` and :mod:`vgg19.modelzoo`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from data import cli


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None,
              help="Model name in rdf.yaml [default: miniVGG19 protein localisation classifier].")
@click.option("--authors", default="gan-microscopy contributors", help="Comma-separated author names.")
@click.option("--license", "license_", default="MIT", help="SPDX license identifier.")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty OUT_DIR.")
@cli.verbose_option
@cli.one_line_errors
def main(model, out_dir, name, authors, license_, overwrite):
    """Write the bioimage.io model package of the miniVGG19 classifier MODEL (.keras) to OUT_DIR."""
    from data import modelzoo
    from vgg19 import load_model
    from vgg19 import modelzoo as vgg_modelzoo

    modelzoo.export(model, out_dir, load_model, functools.partial(
        vgg_modelzoo.package_descr, name=name, authors=modelzoo.parse_authors(authors), license=license_),
        overwrite=overwrite)
    cli.echo(f"wrote bioimage.io package {out_dir} (validate: bioimageio test {out_dir / modelzoo.RDF_FILE})")


if __name__ == "__main__":
    main()

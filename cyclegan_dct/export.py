"""bioimage.io model package of a saved CycleGAN mask -> image generator: ``python -m cyclegan_dct.export``.

Example::

    python -m cyclegan_dct.export backup/cyclegan_dct/generator_a2b.keras bioimageio/cyclegan --authors "Ada Lovelace"

The package is described in :mod:`data.modelzoo` and :mod:`cyclegan_dct.modelzoo`.
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
              help="Model name in rdf.yaml [default: CycleGAN-DCT nuclei mask to image generator].")
@click.option("--authors", default="gan-microscopy contributors", help="Comma-separated author names.")
@click.option("--license", "license_", default="MIT", help="SPDX license identifier.")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty OUT_DIR.")
@cli.verbose_option
@cli.one_line_errors
def main(model, out_dir, name, authors, license_, overwrite):
    """Write the bioimage.io model package of the mask -> image generator MODEL (generator_a2b.keras) to OUT_DIR."""
    from cyclegan_dct import load_generator
    from cyclegan_dct import modelzoo as cyclegan_modelzoo
    from data import modelzoo

    modelzoo.export(model, out_dir, load_generator, functools.partial(
        cyclegan_modelzoo.package_descr, name=name, authors=modelzoo.parse_authors(authors), license=license_),
        overwrite=overwrite)
    cli.echo(f"wrote bioimage.io package {out_dir} (validate: bioimageio test {out_dir / modelzoo.RDF_FILE})")


if __name__ == "__main__":
    main()

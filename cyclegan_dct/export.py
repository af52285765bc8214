"""bioimage.io model package of a saved CycleGAN mask -> image generator: ``python -m cyclegan_dct.export``.

Example::

    python -m cyclegan_dct.export backup/cyclegan_dct/generator_a2b.keras bioimageio/cyclegan --authors "Ada Lovelace"

The package is described in :mod:`data.modelzoo` and :mod:`cyclegan_dct.modelzoo`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None,
              help="Model name in rdf.yaml [default: CycleGAN-DCT nuclei mask to image generator].")
@click.option("--authors", default="gan-microscopy contributors", show_default=True,
              help="Comma-separated author names.")
@click.option("--license", "license_", default="MIT", show_default=True, help="SPDX license identifier.")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty OUT_DIR.")
def main(model, out_dir, name, authors, license_, overwrite):
    """Write the bioimage.io model package of the mask -> image generator MODEL (generator_a2b.keras) to OUT_DIR."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import cyclegan_dct  # noqa: F401  (registers ReflectionPadding2D and DCTLowPass before loading)
    from cyclegan_dct import modelzoo as cyclegan_modelzoo
    from data import modelzoo
    from data.runs import load_model_file

    def load_generator(path):
        return load_model_file(path, "train one with python -m cyclegan_dct.train")

    try:
        modelzoo.export(model, out_dir, load_generator, functools.partial(
            cyclegan_modelzoo.package_descr, name=name, authors=modelzoo.parse_authors(authors), license=license_),
            overwrite=overwrite)
    except (ValueError, OSError) as e:
        raise click.ClickException(modelzoo.one_line(e)) from e
    click.echo(f"wrote bioimage.io package {out_dir} (validate: bioimageio test {out_dir / modelzoo.RDF_FILE})")


if __name__ == "__main__":
    main()

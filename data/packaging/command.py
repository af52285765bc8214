"""The one ``python -m <package>.export`` command: a bioimage.io package of a saved network.

Each model package builds its command with :func:`export_command`, giving
what differs (the default name, the loader, the package description and any
extra options); the arguments, the common options and the messages are the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli


def export_command(what, default_name, loader, describer, extra_options=(), forms=None):
    """A click command ``MODEL OUT_DIR [--name --authors --license --overwrite ...]``.

    ``what``: the network in the help text ("the generator MODEL (.keras)"); ``default_name``: the rdf.yaml
    name when ``--name`` is not given; ``loader`` and ``describer``: ``"module:attribute"`` strings, imported
    in the command body (so ``--help`` loads no TensorFlow): the network loader and the package description
    ``describe(model, model_path, name=..., authors=..., license=..., **extra)``; ``extra_options``:
    ``(click.option, keyword, convert)`` triples: the option's value, ``convert``-ed, goes to the description as
    ``keyword`` (e.g. ``--input-bits`` as ``input_bits=int(value)``); ``forms``: ``"module:attribute"`` of the
    custom layers' built-in inference forms (:func:`data.packaging.keras_export.float32_copy`).
    """

    def main(model, out_dir, name, authors, license_, overwrite, **extra):
        from data.packaging import modelzoo

        load, describe = _resolve(loader), _resolve(describer)
        convert = {keyword: fn for _, keyword, fn in extra_options}
        extra = {k: convert[k](v) for k, v in extra.items()}

        def descr(*args):
            return describe(*args, name=name, authors=modelzoo.parse_authors(authors), license=license_, **extra)

        modelzoo.export(model, out_dir, load, descr, overwrite=overwrite,
                        forms=_resolve(forms) if forms else None)
        cli.echo(f"wrote bioimage.io package {out_dir} (validate: bioimageio test {out_dir / modelzoo.RDF_FILE})")

    main.__doc__ = f"Write the bioimage.io model package of {what} to OUT_DIR."
    for option, _, _ in reversed(extra_options):
        main = option(main)
    for option in (click.option("--overwrite", is_flag=True, help="Replace an existing non-empty OUT_DIR."),
                   click.option("--license", "license_", default="MIT", help="SPDX license identifier."),
                   click.option("--authors", default="gan-microscopy contributors",
                                help="Comma-separated author names."),
                   click.option("--name", default=None, help=f"Model name in rdf.yaml [default: {default_name}]."),
                   click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path)),
                   click.argument("model", type=click.Path(dir_okay=False, path_type=Path))):
        main = option(main)
    return cli.command()(cli.verbose_option(cli.one_line_errors(main)))


def _resolve(spec):
    module, _, attribute = spec.partition(":")
    import importlib

    return getattr(importlib.import_module(module), attribute)

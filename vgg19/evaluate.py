"""``python -m vgg19.evaluate``: accuracy and per-class confusion table of a trained miniVGG19.

Example::

    python -m vgg19.evaluate --data-dir cyto backup/vgg19/minivgg19.keras --json result/vgg19/evaluate.json
    python -m vgg19.evaluate            # demo test split, default model
"""

from __future__ import annotations

import click

from data import cli
from vgg19 import DEFAULT_EXPORT


@cli.command()
@click.argument("model_path", metavar="[MODEL.keras]", type=click.Path(dir_okay=False), default=DEFAULT_EXPORT)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder in the original layout (DIR/<split>/NN_<id>.png). Default: the embedded demo data.")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", help="Split to evaluate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Images per batch.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default="result/vgg19/evaluate.json",
              help="Where to write the scores as JSON (written atomically).")
@click.option("--demo-n", type=click.IntRange(min=26), default=1300,
              help="Number of demo images (train + test) when --data-dir is not given.")
@cli.verbose_option
@cli.one_line_errors
def main(model_path, data_dir, split, batch_size, json_path, demo_n):
    """Evaluate MODEL.keras (default: backup/vgg19/minivgg19.keras) on a split: accuracy and confusion table."""
    from data.io import write_json
    from vgg19.confusion import format_table
    from vgg19.evaluation import evaluate

    report, names, result = evaluate(model_path, data_dir, split, batch_size, demo_n)
    cli.echo(f"model {model_path}, data {data_dir or 'demo'} ({split})")
    cli.echo(format_table(report, names))
    write_json(json_path, result)
    cli.echo(f"scores written to {json_path}")


if __name__ == "__main__":
    main()

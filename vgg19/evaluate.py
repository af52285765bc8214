"""``python -m vgg19.evaluate``: accuracy and per-class confusion table of a trained miniVGG19.

Example::

    python -m vgg19.evaluate --data-dir cyto backup/vgg19/minivgg19.keras --json result/vgg19/evaluate.json
    python -m vgg19.evaluate            # demo test split, default model
"""

from __future__ import annotations

import click

from vgg19 import DEFAULT_EXPORT


def predict_split(model, data_dir=None, split="test", batch_size=128, demo_n=1300):
    """(labels, predictions) int64 arrays of ``model`` on one split (no augmentation)."""
    import numpy as np

    from data.pipeline import classification_dataset

    size = int(model.input_shape[1])
    ds = classification_dataset(data_dir=data_dir, split=split, batch_size=batch_size, image_size=size,
                                augment=False, shuffle=False, repeat=False, demo_n=demo_n)
    labels, preds = [], []
    for x, y in ds:
        logits = model(x, training=False)
        preds.append(np.argmax(np.asarray(logits), axis=-1))
        labels.append(np.asarray(y))
    if not labels:
        raise ValueError(f"{data_dir or 'demo data'} ({split}): no images")
    return np.concatenate(labels).astype(np.int64), np.concatenate(preds).astype(np.int64)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("model_path", metavar="[MODEL.keras]", type=click.Path(dir_okay=False), default=DEFAULT_EXPORT)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder in the original layout (DIR/<split>/NN_<id>.png). Default: the embedded demo data.")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", help="Split to evaluate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Images per batch.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default="result/vgg19/evaluate.json",
              help="Where to write the scores as JSON (written atomically).")
@click.option("--demo-n", type=click.IntRange(min=26), default=1300,
              help="Number of demo images (train + test) when --data-dir is not given.")
def main(model_path, data_dir, split, batch_size, json_path, demo_n):
    """Evaluate MODEL.keras (default: backup/vgg19/minivgg19.keras) on a split: accuracy and confusion table."""
    from data import CLASS_NAMES
    from data.io import ImageError, write_json

    import tensorflow as tf

    from vgg19.confusion import classification_report, format_table, report_to_dict
    from vgg19.model import load_model

    try:
        model = load_model(model_path)
        n_classes = int(model.output_shape[-1])
        names = CLASS_NAMES if n_classes == len(CLASS_NAMES) else tuple(f"class {i}" for i in range(n_classes))
        labels, preds = predict_split(model, data_dir, split, batch_size, demo_n)
        report = classification_report(labels, preds, n_classes)
    except (ImageError, ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from e
    except tf.errors.OpError as e:
        raise click.ClickException(e.message.strip().splitlines()[0]) from e
    click.echo(f"model {model_path}, data {data_dir or 'demo'} ({split})")
    click.echo(format_table(report, names))
    result = {"model": str(model_path), "data_dir": data_dir, "split": split, **report_to_dict(report, names)}
    write_json(json_path, result)
    click.echo(f"scores written to {json_path}")


if __name__ == "__main__":
    main()

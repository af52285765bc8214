"""Data preparation CLI: ``python -m data.prepare {hpa,demo,masks} ...``.

Every command writes into a hidden folder beside ``OUT_DIR``
(:func:`data.io.staged_folder`) that is renamed to ``OUT_DIR`` only when
everything succeeded, so an error (named file, non-zero exit) or a kill leaves
no partial output. A non-empty ``OUT_DIR`` is refused unless ``--overwrite``
(which replaces it whole); ``--size`` is at most :data:`MAX_SIZE`.

Examples::

    python -m data.prepare hpa hpa_raw/ cyto/ --size 96 --labels train.csv
    python -m data.prepare demo demo_cyto/ --n 1300 --labels
    python -m data.prepare masks masks/ --n 100 --size 256 --like labels.tif
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from data import N_CLASSES, TEST_FRACTION
from data import cli as cli_layer

MAX_SIZE = 4096
"""Largest ``--size`` (pixels per side): 4096 x 4096 RGB is 48 MiB per image; beyond it a typo is more likely
than an intent, and memory grows without bound."""

overwrite_option = click.option("--overwrite", is_flag=True,
                                help="Replace a non-empty OUT_DIR whole (without it, a non-empty OUT_DIR is refused).")


def labels_csv(rows):
    """``labels.csv`` text: ``Id,Target,Split,File`` (Target = all labels, space-separated)."""
    lines = ["Id,Target,Split,File"] + [f"{i},{' '.join(map(str, t))},{s},{f}" for i, t, s, f in rows]
    return "\n".join(lines) + "\n"


@cli_layer.group()
@cli_layer.verbose_option
def main():
    """Prepare data sets: HPA channel merge, embedded demo data, synthetic nuclei masks."""


@main.command("hpa")
@click.argument("in_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--size", default=96, show_default=True, type=click.IntRange(min=1, max=MAX_SIZE),
              help="Output side in pixels.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None,
              help="Kaggle HPA train.csv (Id,Target); writes OUT_DIR/{train,test}/NN_<id>.png and labels.csv.")
@click.option("--test-fraction", default=TEST_FRACTION, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--seed", default=0, show_default=True, help="Seed of the train/test split.")
@click.option("--skip-bad", is_flag=True, help="Skip (and report) bad fields instead of stopping.")
@overwrite_option
@cli_layer.one_line_errors(tensorflow=False)
def hpa_command(in_dir, out_dir, size, labels_path, test_fraction, seed, skip_bad, overwrite):
    """Merge HPA stains (<id>_red/_green/_blue[/_yellow]) of IN_DIR into RGB PNGs in OUT_DIR.

    R = microtubules (red), G = protein (green), B = DAPI (blue); yellow is discarded.
    """
    from data import hpa
    from data.io import ImageError, staged_folder, write_png, write_text
    from data.layout import file_name

    fields = hpa.group_stain_files(in_dir)
    labels = hpa.read_labels_csv(labels_path) if labels_path else None
    bad = {}

    def reject(field_id, err):
        if not skip_bad:
            raise click.ClickException(str(err))
        bad[field_id] = str(err)
        click.echo(f"skipped {err}", err=True)

    # cheap checks first, so a missing stain or label stops the run before any work
    targets = {}
    for field_id, stains in fields.items():
        try:
            err = hpa.missing_stains(field_id, stains)
            if err:
                raise err
            if labels is not None:
                targets[field_id] = hpa.first_label(field_id, labels, labels_path)
        except hpa.FieldError as err:
            reject(field_id, err)
    good = [i for i in fields if i not in bad]
    if labels is not None:
        train_ids, test_ids = hpa.split_ids(good, test_fraction, seed)
        split_of = {**{i: "train" for i in train_ids}, **{i: "test" for i in test_ids}}
    rows = []
    with staged_folder(out_dir, overwrite) as tmp:
        with click.progressbar(good, label="Merging HPA fields", file=sys.stderr) as bar:
            for field_id in bar:
                try:
                    rgb = hpa.merge_field(field_id, fields[field_id], size)
                except (hpa.FieldError, ImageError) as err:
                    reject(field_id, err)
                    continue
                if labels is None:
                    write_png(tmp / f"{field_id}.png", rgb)
                else:
                    rel = Path(split_of[field_id]) / file_name(targets[field_id], field_id)
                    write_png(tmp / rel, rgb)
                    rows.append((field_id, labels[field_id], split_of[field_id], rel.as_posix()))
        n_ok = len(good) - sum(1 for i in good if i in bad)
        if n_ok == 0:
            raise click.ClickException(f"{in_dir}: no field could be merged ({len(bad)} bad)")
        if labels is not None:
            write_text(tmp / "labels.csv", labels_csv(rows))
    click.echo(f"wrote {n_ok} field(s) to {out_dir}" + (f", skipped {len(bad)} bad field(s)" if bad else ""))


@main.command("demo")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--n", default=1300, show_default=True, type=click.IntRange(min=1), help="Images in both splits.")
@click.option("--test-fraction", default=TEST_FRACTION, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--seed", default=0, show_default=True)
@click.option("--labels", "with_labels", is_flag=True,
              help="Also write each field's nuclei and cell instance labels (uint16 TIFF, 0 = background) to "
                   "OUT_DIR/labels/{nuclei,cells}/{train,test}/NN_<id>.tif.")
@overwrite_option
@cli_layer.one_line_errors(tensorflow=False)
def demo_command(out_dir, n, test_fraction, seed, with_labels, overwrite):
    """Write the embedded demo data set in the original layout: OUT_DIR/{train,test}/NN_<id>.png."""
    from data import synthetic
    from data.io import staged_folder, write_png, write_text, write_tiff
    from data.layout import LABEL_KINDS, file_name, label_path

    rows = []
    with staged_folder(out_dir, overwrite) as tmp:
        for split in ("train", "test"):
            images, labels, *instances = synthetic.demo_split(split, n, test_fraction, seed, with_labels=True)
            ids = synthetic.split_indices(split, n, test_fraction, seed)
            with click.progressbar(range(len(labels)), label=f"Writing {split}",
                                   file=sys.stderr) as bar:
                for k in bar:
                    rel = Path(split) / file_name(labels[k], f"demo{ids[k]:05d}")
                    write_png(tmp / rel, images[k])
                    if with_labels:
                        for kind, stack in zip(LABEL_KINDS, instances):
                            path = label_path(tmp, split, rel, kind)
                            path.parent.mkdir(parents=True, exist_ok=True)
                            write_tiff(path, stack[k])
                    rows.append((f"demo{ids[k]:05d}", [int(labels[k])], split, rel.as_posix()))
        write_text(tmp / "labels.csv", labels_csv(rows))
    also = " with nuclei and cell labels" if with_labels else ""
    click.echo(f"wrote {len(rows)} demo image(s) in {N_CLASSES} classes{also} to {out_dir}")


@main.command("masks")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--n", default=100, show_default=True, type=click.IntRange(min=1), help="Number of label images.")
@click.option("--size", default=256, show_default=True, type=click.IntRange(min=8, max=MAX_SIZE),
              help="Side in pixels.")
@click.option("--like", type=click.Path(path_type=Path), default=None,
              help="Real instance label image (2-D, integer, one connected region per nucleus) to fit density, "
                   "area and axis ratio from.")
@click.option("--seed", default=0, show_default=True)
@click.option("--max-overlap", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Largest hidden fraction of a nucleus [default: that of the statistics, 0.1 for the defaults].")
@overwrite_option
@cli_layer.one_line_errors(tensorflow=False)
def masks_command(out_dir, n, size, like, seed, max_overlap, overwrite):
    """Write random ellipse nuclei instance labels (uint16 TIFF, 0 = background) to OUT_DIR/NNNN.tif."""
    from data import masks
    from data.io import staged_folder, write_json, write_tiff

    stats = masks.DEFAULT_STATS if like is None else masks.fit_label_file(like)
    if max_overlap is not None:
        stats = stats.replace(max_overlap=max_overlap)
    counts = []
    with staged_folder(out_dir, overwrite) as tmp:
        with click.progressbar(range(n), label="Drawing masks", file=sys.stderr) as bar:
            for i in bar:
                labels = masks.random_ellipse_labels((size, size), stats, np.random.default_rng((seed, i)))
                write_tiff(tmp / f"{i:04d}.tif", labels)
                counts.append(int(labels.max()))
        write_json(tmp / "mask_stats.json", {"stats": stats.to_dict(), "like": str(like) if like else None,
                                             "seed": seed, "size": size, "n": n,
                                             "nuclei_per_image_mean": float(np.mean(counts))})
    click.echo(f"wrote {n} label image(s) to {out_dir} (mean {np.mean(counts):.1f} nuclei per image)")


cli = main  # the name the tests and older scripts use


if __name__ == "__main__":
    main()

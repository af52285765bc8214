"""How hard and how HPA-like the demo data are: 4x bicubic/nearest scores, power-spectrum slopes, label statistics.

    python benchmarks/demo_realism.py [--n 1300] [--seed 0] [--limit N] [--grid docs/demo_fields.png]

For the demo test split (as ``msrgan.evaluate`` sees it: LR = bicubic 4x
downscale in [-1, 1], upscaled by ``tf.image.resize``, scored on 8-bit RGB)
prints the nearest and bicubic PSNR/SSIM, the radially averaged power
spectrum slope of each channel (``data.spectrum``), the cells and nuclei per
field and the nuclei's equivalent diameters from the instance labels, and the
generation time. For reference it prints the DAPI slope of the real nuclei
image that StarDist ships (``stardist.data.test_image_nuclei_2d``), area-resized
so that its nuclei have the demo's mean size. Targets (issue 22): bicubic
within ~1.5 dB of the 22.4 dB measured on real CYTO 2017 fields. ``--grid`` also
writes two fields of each class under the class names, and a third row with
the first field's nuclei labels drawn as outlines.
"""

import time

import click
import cv2
import numpy as np

from data import spectrum, synthetic


def _mean_std(values):
    v = np.asarray(values, float)
    return f"{v.mean():.3f} +- {v.std():.3f}"


def real_nuclei_slope(diameter):
    """DAPI slope of StarDist's real nuclei image (2-D, 512 px) resized so its nuclei are ``diameter`` px across."""
    from skimage.measure import regionprops
    from stardist.data import test_image_nuclei_2d

    image, labels = test_image_nuclei_2d(return_mask=True)
    real_d = np.median([p.equivalent_diameter_area for p in regionprops(labels)])
    side = int(round(image.shape[0] * diameter / real_d))
    small = cv2.resize(image.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    tiles = [small[y:y + 96, x:x + 96] for y in range(0, side - 95, 96) for x in range(0, side - 95, 96)]
    return [spectrum.spectrum_slope(t) for t in tiles], real_d, side


@click.command()
@click.option("--n", default=1300, show_default=True, help="Demo images in both splits (the test split is 10 %).")
@click.option("--seed", default=0, show_default=True)
@click.option("--limit", default=0, help="Score only the first LIMIT test images (0 = all).")
@click.option("--grid", type=click.Path(dir_okay=False), default=None, help="Also write a PNG of fields by class.")
def main(n, seed, limit, grid):
    from msrgan.evaluation import evaluate

    synthetic.clear_cache()
    t = time.perf_counter()
    images, labels, nuclei, cells = synthetic.demo_split("test", n=n, seed=seed, with_labels=True)
    per_field = (time.perf_counter() - t) / len(images)
    if grid:
        write_grid(grid, images, labels, nuclei)
    if limit:
        images, nuclei, cells = images[:limit], nuclei[:limit], cells[:limit]
    print(f"demo test split: {len(images)} fields (n={n}, seed={seed}); generation {1000 * per_field:.1f} ms/field")
    scores, _ = evaluate({}, list(images), n_show=0)
    for method, s in scores.summary().items():
        print(f"  4x {method:8s} PSNR {s['psnr']['mean']:.2f} +- {s['psnr']['std']:.2f} dB, "
              f"SSIM {s['ssim']['mean']:.4f} +- {s['ssim']['std']:.4f}")
    for c, name in enumerate(("R microtubules", "G protein", "B DAPI")):
        print(f"  spectrum slope {name:15s} {_mean_std([spectrum.spectrum_slope(im[..., c]) for im in images])}")
    n_cells = [len(np.unique(c)) - 1 for c in cells]
    n_nuclei = [len(np.unique(m)) - 1 for m in nuclei]
    areas = np.concatenate([np.bincount(m.ravel())[1:] for m in nuclei])
    diam = 2 * np.sqrt(areas[areas > 0] / np.pi)
    print(f"  cells per field {_mean_std(n_cells)}, nuclei per field {_mean_std(n_nuclei)}")
    print(f"  nucleus equivalent diameter (px) median {np.median(diam):.1f}, "
          f"5-95 % {np.percentile(diam, 5):.1f}-{np.percentile(diam, 95):.1f} (border-cut nuclei included)")
    whole = [2 * np.sqrt(a / np.pi) for m in nuclei for i, a in enumerate(np.bincount(m.ravel())) if i and a
             and not _touches_border(m == i)]
    print(f"  whole nuclei (not cut by the border): median diameter {np.median(whole):.1f} px")
    slopes, real_d, side = real_nuclei_slope(float(np.median(whole)))
    print(f"  reference: StarDist's real nuclei image (median nucleus {real_d:.1f} px, resized to {side} px): "
          f"DAPI slope {_mean_std(slopes)} over {len(slopes)} tiles of 96 px")


def write_grid(path, images, labels, nuclei):
    """Two fields per class present (columns named by class) and the first one's nuclei outlines in white."""
    from skimage.segmentation import find_boundaries

    from data import CLASS_NAMES, io
    from msrgan.comparison import comparison_figure

    present = [(f"{k:02d} " + CLASS_NAMES[k].replace(" ", "\n", 1), np.flatnonzero(labels == k))
               for k in range(len(CLASS_NAMES)) if (labels == k).any()]
    rows = [{name: images[idx[j % len(idx)]] for name, idx in present} for j in range(2)]
    outlined = {}
    for name, idx in present:
        img = images[idx[0]].copy()
        img[find_boundaries(nuclei[idx[0]], mode="inner")] = 255
        outlined[name] = img
    io.write_png(path, comparison_figure([*rows, outlined], [name for name, _ in present], cell_inches=1.0))
    print(f"wrote {path}")


def _touches_border(mask):
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


if __name__ == "__main__":
    main()

"""The statistics of a simulated HPA field of view, named, with the reason for each number.

All lengths are pixels of the 96 x 96 output, i.e. of a CYTO 2017 / Human
Protein Atlas field (2048 x 2048 px, ~0.08 um/px at 63x) merged R/G/B and
area-resized to 96 x 96 as ``data.prepare hpa`` and the original do: one
output pixel covers ~21 x 21 camera pixels, ~1.7 um. A ``(low, high)`` pair
is the range of a uniform draw per field or per cell. Each field's help text
(``FieldStats.__dataclass_fields__[name].metadata["help"]``) is its reason;
docs/data.md prints them as a table.
"""

from __future__ import annotations

import dataclasses

from data.engine.config import Config, param


@dataclasses.dataclass(frozen=True)
class FieldStats(Config):
    """What a demo field looks like (the defaults are the demo's)."""

    cells_per_field: tuple = param(
        (10, 30), "a CYTO 2017 field (63x, 2048 px) holds some 10-30 U-2 OS / A-431 / U-251 MG cells; with the "
        "confluence this sets the cell size, ~17-30 px across at 96 px")
    confluence: tuple = param(
        (0.65, 1.0), "share of its Voronoi region a cell reaches out to: 1 = touching its neighbours on all sides, "
        "0.65 = gaps of background between cells, as in sub-confluent wells")
    cell_elongation: tuple = param(
        (1.0, 1.6), "long / short axis of a cell's extent: HPA cell lines range from round to spindle-shaped")
    nucleus_diameter: tuple = param(
        (10.0, 17.0), "10-20 um nuclei at ~1.7 um per output pixel after the 21x area resize (issue 22: 10-20 px), "
        "capped by the cell: a nucleus fills at most 60 % of its cell's width")
    nucleus_axis_ratio: tuple = param(
        (0.65, 0.95), "interphase nuclei are ellipses, minor/major 0.6-1 (the StarDist demo labels: 0.63 +- 0.14)")
    nucleoli_per_nucleus: tuple = param(
        (1, 4), "1-4 nucleoli per interphase nucleus, dim in DAPI (no DNA in the nucleolus)")
    nucleolus_diameter: tuple = param((1.5, 3.0), "nucleoli are 2-5 um across")
    chromatin_texture: float = param(
        0.25, "relative std of DAPI inside a nucleus: heterochromatin foci and granularity at the pixel scale")
    mitotic_fraction: float = param(
        0.06, "share of cells in mitosis (condensed, brighter, smaller DNA): ~5 % in growing cultures")
    microtubules_per_cell: tuple = param(
        (30, 60), "visible filaments per cell: closer than one output pixel near the nucleus, they merge into the "
        "fine, branching texture of the red channel")
    microtubule_contrast: float = param(
        0.5, "share of the red signal in filaments rather than the diffuse tubulin background of the cytoplasm")
    illumination_falloff: tuple = param(
        (0.0, 0.35), "vignetting of the field: the corners 0-35 % darker than the centre")
    crosstalk: tuple = param(
        (0.0, 0.06), "bleed-through between neighbouring channels (blue->green, red->green, green->red)")
    background: tuple = param(
        (0.01, 0.05), "camera offset and out-of-focus light left after the HPA's background subtraction")
    photons: tuple = param(
        (1000.0, 5000.0), "photons per unit intensity in an output pixel: shot noise after 21 x 21 binning")
    read_noise: float = param(0.008, "camera read noise after binning, in units of the full scale")
    psf_sigma: float = param(
        0.45, "the optical PSF (~0.25 um) is far below an output pixel; what is left is the blur of focus "
        "variation, a Gaussian of this sigma in output pixels (with the two numbers above it sets how hard 4x SR "
        "is: bicubic 4x ~22-23 dB, as on real CYTO 2017 fields)")

    def problems(self):
        out = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple) and not (len(v) == 2 and 0 <= v[0] <= v[1]):
                out.append(f"{f.name}={v!r} (want (low, high) with 0 <= low <= high)")
            elif not isinstance(v, tuple) and v < 0:
                out.append(f"{f.name}={v!r} (want >= 0)")
        return out

    def reasons(self):
        """``{name: (value, reason)}`` for every statistic, in declaration order."""
        return {f.name: (getattr(self, f.name), f.metadata["help"]) for f in dataclasses.fields(self)}


DEFAULT_STATS = FieldStats()
"""The demo's statistics (the dataclass defaults)."""

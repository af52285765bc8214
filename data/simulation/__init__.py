"""The demo-data simulator: HPA-like fluorescence fields of view with exact instance labels (pure numpy + cv2).

- :mod:`data.simulation.stats`: :class:`FieldStats`, the named statistics of a field and the reason for each number;
- :mod:`data.simulation.draw`: sub-pixel drawing primitives on the supersampled canvas;
- :mod:`data.simulation.geometry`: touching, irregular cells and their nuclei (the instance labels);
- :mod:`data.simulation.patterns`: the 13 protein-localisation patterns of the green channel;
- :mod:`data.simulation.field`: one field: channels, illumination, cross-talk, area resize, noise.

:mod:`data.synthetic` builds the demo's class-balanced train/test splits from these fields.
"""

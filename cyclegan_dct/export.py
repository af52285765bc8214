"""bioimage.io model package of a saved CycleGAN mask -> image generator: ``python -m cyclegan_dct.export``.

Example::

    python -m cyclegan_dct.export backup/cyclegan_dct/generator_a2b.keras bioimageio/cyclegan --authors "Ada Lovelace"

The package is described in :mod:`data.packaging.modelzoo` and :mod:`cyclegan_dct.modelzoo`.
"""

from data.packaging.command import export_command

main = export_command("the mask -> image generator MODEL (generator_a2b.keras)",
                      "CycleGAN-DCT nuclei mask to image generator",
                      "cyclegan_dct:load_generator", "cyclegan_dct.modelzoo:package_descr",
                      forms="cyclegan_dct.layers:INFERENCE_FORMS")

if __name__ == "__main__":
    main()

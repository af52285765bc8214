"""Write a bioimage.io model package of a saved mSRGAN generator: ``python -m msrgan.export``.

Example::

    python -m msrgan.export backup/msrgan/generator.keras bioimageio/msrgan --authors "Ada Lovelace, Alan Turing"

The package (``rdf.yaml``, ``model.keras``, ``tf_saved_model.zip``, test
tensors, README, cover, the run's ``config.json``) is described in
:mod:`data.packaging.modelzoo` and :mod:`msrgan.modelzoo`. It is built in a hidden
folder beside OUT_DIR and moved in place only when complete.
"""

import click

from data.packaging.command import export_command

INPUT_BITS = click.option("--input-bits", type=click.Choice(["8", "16"]), default="8",
                          help="8: uint8 input scaled by x/127.5-1 (the training convention); 16: uint16 input scaled "
                               "by per-image percentiles 2/99.8.")

main = export_command("the generator MODEL (.keras)", "mSRGAN 4x super-resolution generator",
                      "msrgan:load_generator", "msrgan.modelzoo:package_descr",
                      extra_options=[(INPUT_BITS, "input_bits", int)], forms="msrgan.layers:INFERENCE_FORMS")

if __name__ == "__main__":
    main()

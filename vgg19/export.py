"""Write a bioimage.io model package of a saved miniVGG19: ``python -m vgg19.export``.

Example::

    python -m vgg19.export backup/vgg19/minivgg19.keras bioimageio/minivgg19 --authors "Ada Lovelace"

The package is described in :mod:`data.packaging.modelzoo` and :mod:`vgg19.modelzoo`.
"""

from data.packaging.command import export_command

main = export_command("the miniVGG19 classifier MODEL (.keras)", "miniVGG19 protein localisation classifier",
                      "vgg19:load_model", "vgg19.modelzoo:package_descr")

if __name__ == "__main__":
    main()

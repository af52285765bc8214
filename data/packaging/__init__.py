"""Packaging trained networks for users: the one float32 ``.keras`` export and loader
(:mod:`data.packaging.keras_export`), bioimage.io model packages (:mod:`data.packaging.modelzoo`) and the one
``python -m <package>.export`` command (:mod:`data.packaging.command`)."""

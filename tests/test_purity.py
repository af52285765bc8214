"""Honest purity: the pure-numpy modules, the config modules and the CLI modules import no TensorFlow or Keras.

Each module is imported in a fresh interpreter where a meta-path finder raises
on ``tensorflow`` and ``keras`` (so a package ``__init__`` that imports keras
fails too). CLI modules are imported, not run: they load TensorFlow in the
command body only, after click has parsed the arguments.
"""

import subprocess
import sys

import pytest

PURE = [
    "data.io", "data.metrics", "data.masks", "data.layout", "data.synthetic", "data.hpa",
    "msrgan.tiling", "msrgan.comparison", "msrgan.figures", "vgg19.confusion",
    "cyclegan_dct.measures", "cyclegan_dct.domains",
]
CONFIGS = ["data.config", "vgg19.config", "msrgan.config", "cyclegan_dct.config"]
CLIS = []

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"blocked import of {name}")
sys.meta_path.insert(0, Block())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules)
"""


def _import_blocked(modules):
    return subprocess.run([sys.executable, "-c", BLOCKER, *modules], capture_output=True, text=True)


def test_blocker_catches_a_tensorflow_import():
    res = _import_blocked(["data.pipeline"])
    assert res.returncode != 0 and "blocked import of tensorflow" in res.stderr


@pytest.mark.parametrize("module", PURE + CONFIGS + CLIS)
def test_module_imports_without_tensorflow(module):
    res = _import_blocked([module])
    assert res.returncode == 0, res.stderr[-2000:]

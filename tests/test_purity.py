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
    "data.io", "data.metrics", "data.stats", "data.masks", "data.layout", "data.synthetic", "data.hpa",
    "msrgan.tiling", "msrgan.comparison", "msrgan.figures", "vgg19.confusion",
    "cyclegan_dct.measures", "cyclegan_dct.domains", "cyclegan_dct.stats", "cyclegan_dct.polarity",
    "data.packaging.modelzoo", "data.packaging.package_readme", "cyclegan_dct.ablation_report",
    "msrgan.modelzoo", "vgg19.modelzoo", "cyclegan_dct.modelzoo", "data.segmentation", "data.stardist_training",
    "msrgan.segmentation", "msrgan.segmentation_data", "msrgan.segmentation_report",
]
CONFIGS = ["data.engine.config", "vgg19.config", "msrgan.config", "cyclegan_dct.config"]
PLUMBING = ["data.cli", "data.engine.errors", "data.cli.quiet", "benchmarks.flops", "benchmarks.separability",
            "data.engine", "data.engine.recipe", "data.engine.image_recipe", "data.packaging", "vgg19", "msrgan",
            "cyclegan_dct"]
CLIS = [
    "data.prepare", "vgg19.train", "vgg19.evaluate", "msrgan.train", "msrgan.evaluate", "msrgan.predict",
    "cyclegan_dct.train", "cyclegan_dct.generate", "cyclegan_dct.stego", "cyclegan_dct.evaluate",
    "cyclegan_dct.ablate", "msrgan.export", "vgg19.export", "cyclegan_dct.export",
]
"""Every CLI module (``python -m <module>``; console scripts in setup.cfg)."""

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"blocked import of {name}")
sys.meta_path.insert(0, Block())
import importlib
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as e:
        failed.append(f"{name}: {e}")
assert not failed, failed
assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules)
"""

pytestmark = pytest.mark.slow  # each test starts a Python subprocess


def _import_blocked(modules):
    return subprocess.run([sys.executable, "-c", BLOCKER, *modules], capture_output=True, text=True)


def test_blocker_catches_a_tensorflow_import():
    res = _import_blocked(["data.pipeline"])
    assert res.returncode != 0 and "data.pipeline: blocked import of tensorflow" in res.stderr


@pytest.mark.parametrize("modules", [PURE, CONFIGS, PLUMBING, CLIS], ids=["pure", "configs", "plumbing", "clis"])
def test_modules_import_without_tensorflow(modules):
    """One interpreter per group: the blocker raises on any tensorflow/keras import, whichever module makes it."""
    res = _import_blocked(modules)
    assert res.returncode == 0, res.stderr[-3000:]


def test_every_cli_answers_help_without_tensorflow():
    """``-h`` of every CLI (and of each ``data.prepare`` subcommand) with TensorFlow blocked: it never loads it."""
    script = BLOCKER.replace("""for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as e:
        failed.append(f"{name}: {e}")""", """
from click.testing import CliRunner
for name in sys.argv[1:]:
    module, _, sub = name.partition(":")
    res = CliRunner().invoke(importlib.import_module(module).main, ([sub] if sub else []) + ["-h"])
    assert res.exit_code == 0 and "Usage:" in res.output, (name, res.output, res.exception)
""")
    subs = ["data.prepare:hpa", "data.prepare:demo", "data.prepare:masks"]
    res = subprocess.run([sys.executable, "-c", script, *CLIS, *subs], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


def test_console_scripts_are_installed_for_every_cli():
    """``make install`` (pip install -e) puts one console script per CLI beside the interpreter."""
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    scripts = dict(line.split(" = ") for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines())
    assert sorted(v.split(":")[0] for v in scripts.values()) == sorted(CLIS)
    bindir = Path(sys.executable).parent
    missing = [name for name in scripts if not (bindir / name).is_file()]
    assert not missing, f"not installed (run make install): {missing}"

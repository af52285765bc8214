"""The installed packages win over same-named plain folders in the working directory.

Users of an ML toolkit often have a ``data/`` folder. With setuptools' default
editable finder such a folder is imported as a namespace package ahead of
ours and every CLI fails; ``make install`` therefore uses the path-based
(``editable_mode=compat``) install, and a regular ``pip install .`` is not affected.
"""

import subprocess
import sys

import pytest

PACKAGES = ("data", "vgg19", "msrgan", "cyclegan_dct")

pytestmark = pytest.mark.slow  # each test starts a Python subprocess


@pytest.mark.parametrize("module", ["data.prepare", "msrgan.train", "cyclegan_dct.train", "vgg19.evaluate"])
def test_cli_runs_from_a_folder_with_same_named_empty_folders(tmp_path, module):
    for name in PACKAGES:
        (tmp_path / name).mkdir()
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_the_package_imported_from_such_a_folder_is_ours(tmp_path):
    for name in PACKAGES:
        (tmp_path / name).mkdir()
    code = "import data, msrgan; print(data.__file__, msrgan.__file__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path) not in result.stdout and "__init__.py" in result.stdout

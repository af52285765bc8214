"""data.spectrum: the power-spectrum slope of known signals, and the realism benchmark on a tiny split."""

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from data import spectrum


def _power_law_noise(alpha, size=96, seed=0):
    """Gaussian noise whose power spectrum falls as f^alpha."""
    rng = np.random.default_rng(seed)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size)))
    f[0, 0] = 1
    amplitude = f ** (alpha / 2)
    return np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) * amplitude))


@pytest.mark.parametrize("alpha", [0.0, -1.0, -2.0, -3.0])
def test_slope_of_power_law_noise(alpha):
    slopes = [spectrum.spectrum_slope(_power_law_noise(alpha, seed=s)) for s in range(8)]
    assert abs(np.mean(slopes) - alpha) < 0.25, slopes


def test_spectrum_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="2-D"):
        spectrum.radial_power_spectrum(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="band"):
        spectrum.spectrum_slope(np.random.default_rng(0).random((96, 96)), band=(0.8, 0.9))


@pytest.mark.slow  # TensorFlow and StarDist start helper processes
def test_realism_benchmark_runs_on_a_tiny_split(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import demo_realism

    grid = tmp_path / "grid.png"
    result = CliRunner().invoke(demo_realism.main, ["--n", "26", "--limit", "2", "--grid", str(grid)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "4x bicubic" in out and "4x nearest" in out and "spectrum slope B DAPI" in out
    assert "StarDist's real nuclei image" in out and grid.stat().st_size > 10_000
    bicubic = float(out.split("4x bicubic")[1].split("PSNR")[1].split("+-")[0])
    nearest = float(out.split("4x nearest")[1].split("PSNR")[1].split("+-")[0])
    assert 15 < nearest < bicubic < 30

"""Round trips of data.io: 8- and 16-bit PNG/TIFF, 1-4 channels, value conventions."""

import numpy as np
import pytest

from data import io


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_round_trip(tmp_path, suffix, dtype, channels):
    rng = np.random.default_rng(0)
    shape = (17, 23) if channels is None else (17, 23, channels)
    img = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    path = tmp_path / f"img{suffix}"
    io.write_image(path, img)
    back = io.read_image(path)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, img)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left


def test_png_colour_order_is_rgb(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 200  # red
    io.write_png(tmp_path / "r.png", img)
    import cv2

    bgr = cv2.imread(str(tmp_path / "r.png"))
    assert bgr[0, 0, 2] == 200 and bgr[0, 0, 0] == 0  # stored as a real red PNG
    assert io.read_image(tmp_path / "r.png")[0, 0, 0] == 200


def test_model_range_conventions():
    u8 = np.array([0, 255], np.uint8)
    np.testing.assert_allclose(io.to_model_range(u8), [-1, 1])
    u16 = np.array([0, 65535], np.uint16)
    np.testing.assert_allclose(io.to_model_range(u16), [-1, 1])
    ramp = np.arange(1000, dtype=np.uint16)
    x = io.to_model_range(ramp, pmin=2, pmax=99.8)
    assert x.min() == -1 and x.max() == 1 and x[508] == pytest.approx(0, abs=0.01)
    np.testing.assert_array_equal(io.from_model_range(io.to_model_range(u8)), u8)
    np.testing.assert_array_equal(io.from_model_range(io.to_model_range(u16), np.uint16), u16)


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(io.ImageError, match="bad.png"):
        io.read_image(bad)
    with pytest.raises(io.ImageError, match="nothere.tif"):
        io.read_image(tmp_path / "nothere.tif")
    with pytest.raises(io.ImageError, match="unsupported"):
        io.read_image(tmp_path / "x.jpg")


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        io.write_png(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    with pytest.raises(RuntimeError):
        with io.atomic_path(tmp_path / "g.tif") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []

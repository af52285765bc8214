"""Every exported network opens with plain ``keras.models.load_model`` (nothing of ours imported) under each Keras
backend and gives the TensorFlow outputs: the mSRGAN generator (the original's and the residual-bicubic one), the
SRCNN, the CycleGAN mask -> image generator and the miniVGG19 (issue 26)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

RUN_ELSEWHERE = """
import json, sys
import numpy as np
import keras
names = json.load(open("names.json"))
for name in names:
    model = keras.models.load_model(name + ".keras")
    np.save(name + ".out.npy", np.asarray(model(np.load(name + ".in.npy"))))
print("BACKEND", keras.backend.backend(), "TF", any(k.split(".")[0] == "tensorflow" for k in sys.modules),
      "OURS", sorted({k.split(".")[0] for k in sys.modules} & {"msrgan", "data", "vgg19", "cyclegan_dct"}))
# the DCT filter's keras.ops form (registered: it needs our module) on this backend
sys.path.insert(0, sys.argv[1])
from cyclegan_dct.layers import DCTMatrixLowPass
np.save("dct.out.npy", np.asarray(DCTMatrixLowPass(0.5)(np.load("dct.in.npy"))))
"""


def _random(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def _networks():
    import cyclegan_dct
    import msrgan
    import vgg19
    from cyclegan_dct.layers import INFERENCE_FORMS as CYCLEGAN_FORMS
    from msrgan.layers import INFERENCE_FORMS as MSRGAN_FORMS

    keras.utils.set_random_seed(0)
    rgb = (2, 9, 11, 3)
    return {  # name: (network, export forms, test input)
        "msrgan": (msrgan.build_generator((None, None, 3), n_blocks=1, filters=8), MSRGAN_FORMS, rgb),
        "msrgan_residual": (msrgan.build_generator((None, None, 3), n_blocks=1, filters=8, residual_bicubic=True),
                            MSRGAN_FORMS, rgb),
        "srcnn": (msrgan.build_srcnn((None, None, 3)), MSRGAN_FORMS, rgb),
        "cyclegan_g": (cyclegan_dct.build_generator(channels=1, n_blocks=1, filters=4), CYCLEGAN_FORMS,
                       (2, 32, 28, 1)),
        "minivgg19": (vgg19.build_model(input_shape=(32, 32, 3), base_filters=4, dense_units=16), {}, (1, 32, 32, 3)),
    }


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from cyclegan_dct.layers import DCTLowPass
    from data.packaging.keras_export import export_model

    folder = tmp_path_factory.mktemp("exports")
    expected = {}
    for i, (name, (net, forms, shape)) in enumerate(_networks().items()):
        export_model(net, folder / f"{name}.keras", forms=forms)
        x = _random(shape, i)
        np.save(folder / f"{name}.in.npy", x)
        expected[name] = np.asarray(net(x, training=False))
    (folder / "names.json").write_text(json.dumps(sorted(expected)))
    x = _random((2, 24, 20, 3), 9)
    np.save(folder / "dct.in.npy", x)
    expected["dct"] = np.asarray(DCTLowPass(0.5)(x))
    return folder, expected


@pytest.mark.slow  # a fresh interpreter per backend
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_exports_open_with_plain_keras_on_every_backend(exports, backend):
    """Tolerance 1e-5: float32 convolutions and group-norm moments sum in another order under XLA (JAX) than under
    oneDNN (TensorFlow); measured at most 3.3e-6. Nothing of ours is imported to load the exports, and no
    TensorFlow under JAX."""
    folder, expected = exports
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.run([sys.executable, "-c", RUN_ELSEWHERE, str(REPO)], cwd=folder, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"BACKEND {backend} TF {backend == 'tensorflow'} OURS []" in proc.stdout, proc.stdout
    for name, want in expected.items():
        np.testing.assert_allclose(np.load(folder / f"{name}.out.npy"), want, atol=1e-5, err_msg=name)

"""bioimage.io model packages (data.packaging.modelzoo): the mSRGAN generator (msrgan.export, the primary one),
the miniVGG19 classifier (vgg19.export) and the CycleGAN mask -> image generator (cyclegan_dct.export).

The official validator (bioimageio.spec / bioimageio.core, the optional extra
``.[bioimageio]``) is used when it is installed; the package's structure and
the SavedModel-without-our-code equivalence are tested always.
"""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import msrgan
from data import io
from msrgan import export

FILES = ["README.md", "config.json", "cover.png", "model.keras", "rdf.yaml", "sample_lr.png", "sample_sr.png",
         "test_lr.npy", "test_sr.npy", "tf_saved_model.zip"]


# Each test writes a whole package (Keras model, SavedModel, test tensors): the module is slow as a whole.
pytestmark = pytest.mark.slow

def _tiny_generator():
    import keras

    keras.utils.set_random_seed(5)
    g = msrgan.build_generator(input_shape=(None, None, 3), n_blocks=1, filters=8)
    # non-trivial BN statistics and PReLU slopes, so inference-mode layers matter in the comparison
    rng = np.random.default_rng(0)
    for layer in g.layers:
        for w in layer.weights:
            if "moving" in w.path or "alpha" in w.path:
                w.assign(rng.uniform(0.2, 1.5, w.shape).astype("float32"))
    return g


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    _tiny_generator().save(run / "generator.keras")
    config = msrgan.MSRGANConfig(n_blocks=1, filters=8, epochs=3, steps_per_epoch=7).to_dict()
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.fixture(scope="module")
def package(run_dir):
    out = run_dir.parent / "package"
    r = CliRunner().invoke(export.main, [str(run_dir / "generator.keras"), str(out), "--name", "tiny mSRGAN",
                                         "--authors", "Ada Lovelace, Alan Turing", "--license", "CC-BY-4.0"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_package_has_every_file_and_a_consistent_rdf(package, run_dir):
    assert sorted(p.name for p in package.iterdir()) == FILES
    assert not [p for p in package.parent.iterdir() if p.name.startswith(".package.")]  # no staging left
    rdf = json.loads((package / "rdf.yaml").read_text())  # JSON syntax, valid YAML
    assert rdf["type"] == "model" and rdf["format_version"].startswith("0.5.")
    assert rdf["name"] == "tiny mSRGAN" and rdf["license"] == "CC-BY-4.0"
    assert [a["name"] for a in rdf["authors"]] == ["Ada Lovelace", "Alan Turing"]
    assert {"doi": "10.1109/CVPR.2017.19"}.items() <= rdf["cite"][1].items()
    (inp,), (out,) = rdf["inputs"], rdf["outputs"]
    assert [a["type"] for a in inp["axes"]] == ["batch", "space", "space", "channel"]
    for a in out["axes"][1:3]:  # output spacing 1/4 of the input's: 4x the size (size = ref * 1 / 0.25)
        assert a["size"] == {"tensor_id": "lr", "axis_id": a["id"]} and a["scale"] == 0.25
    gain = [p for p in inp["preprocessing"] if p["id"] == "scale_linear"][0]["kwargs"]
    assert gain == {"gain": 1 / 127.5, "offset": -1.0}
    assert inp["preprocessing"][-1] == {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}
    keras_w, tf_w = rdf["weights"]["keras_v3"], rdf["weights"]["tensorflow_saved_model_bundle"]
    assert keras_w["backend"][0] == "tensorflow" and keras_w["keras_version"].startswith("3.")
    assert tf_w["parent"] == "keras_v3" and tf_w["tensorflow_version"]
    entries = [keras_w, tf_w, inp["test_tensor"], out["test_tensor"], *rdf["attachments"]]
    for e in entries:
        assert e["sha256"] == _sha(package / e["source"]), e["source"]
    assert json.loads((package / "config.json").read_text()) == json.loads((run_dir / "config.json").read_text())
    with zipfile.ZipFile(package / "tf_saved_model.zip") as zf:
        assert "saved_model.pb" in zf.namelist()


def test_test_tensors_are_a_real_demo_image_through_the_keras_model(package, run_dir):
    from data import synthetic

    lr = np.load(package / "test_lr.npy")
    sr = np.load(package / "test_sr.npy")
    assert lr.dtype == np.uint8 and lr.shape == (1, 24, 24, 3)
    assert sr.dtype == np.float32 and sr.shape == (1, 96, 96, 3)
    hr = synthetic.demo_split("test", n=1300)[0][0]
    # the LR is the training's 4x bicubic downscale of that test image, quantised to 8 bits
    from data.pipeline import downscale

    expected = io.from_model_range(downscale(io.to_model_range(hr)[None], 4).numpy()[0], np.uint8)
    assert np.abs(expected.astype(int) - lr[0]).max() <= 1
    # and not some other image's: block means of the HR agree far better than another test image's
    other = synthetic.demo_split("test", n=1300)[0][1].reshape(24, 4, 24, 4, 3).mean(axis=(1, 3))
    blocks = hr.reshape(24, 4, 24, 4, 3).mean(axis=(1, 3))
    assert np.abs(blocks - lr[0]).mean() < 0.5 * np.abs(other - lr[0]).mean()
    g = msrgan.load_generator(run_dir / "generator.keras")
    y = np.asarray(g(lr.astype(np.float32) / 127.5 - 1, training=False))
    np.testing.assert_allclose(sr, np.clip(y * 127.5 + 127.5, 0, 255), atol=1e-3)
    cover = io.read_image(package / "cover.png")
    assert cover.shape == (96, 288, 3)
    np.testing.assert_array_equal(cover[:, 192:], io.from_model_range(io.to_model_range(hr)))
    readme = (package / "README.md").read_text()
    assert "built-in Keras 3 layers only" in readme and "TensorFlow alone" in readme
    assert "| `steps_per_epoch` | 7 |" in readme and "10.1109/CVPR.2017.19" in readme


SAVED_MODEL_SCRIPT = textwrap.dedent("""
    import sys, zipfile
    OURS = ("data", "msrgan", "vgg19", "cyclegan_dct")
    class Blocker:  # our packages cannot be imported at all in this process
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in OURS:
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Blocker())
    import numpy as np
    import tensorflow as tf
    pkg, out = sys.argv[1], sys.argv[2]
    zipfile.ZipFile(pkg + "/tf_saved_model.zip").extractall(out + "/sm")
    m = tf.saved_model.load(out + "/sm")
    x = np.load(out + "/x.npy")
    key = sys.argv[3]
    serve = m.serve(tf.constant(x))[key].numpy()
    sig = m.signatures["serving_default"](tf.constant(x))[key].numpy()
    np.save(out + "/serve.npy", serve)
    np.save(out + "/sig.npy", sig)
    ours = sorted(k for k in sys.modules if k.split(".")[0] in OURS)
    print("OURS", ours)
""")


def saved_model_outputs(package, x, output_id, tmp_path):
    """``(serve, serving_default)`` outputs of the package's SavedModel on ``x``, computed by TensorFlow alone
    in a process where our packages cannot be imported."""
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", SAVED_MODEL_SCRIPT, str(package), str(tmp_path), output_id],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OURS []" in proc.stdout  # none of our packages (TensorFlow itself imports keras, without our layers)
    return np.load(tmp_path / "serve.npy"), np.load(tmp_path / "sig.npy")


def test_saved_model_runs_with_tensorflow_alone_and_matches_keras(package, run_dir, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 29, 37, 3)).astype(np.float32)  # any size and batch, not only the test tensor
    g = msrgan.load_generator(run_dir / "generator.keras")
    want = np.asarray(g(x, training=False))
    assert np.abs(want).max() > 0.05
    for got in saved_model_outputs(package, x, "sr", tmp_path):
        assert got.shape == (2, 116, 148, 3)
        # the same float32 graph run by other kernels/fusion (grappler vs Keras' call): round-off only;
        # measured max 1.2e-7 on the full-size generator, 1e-5 is 0.001 of an 8-bit grey level
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def _run(args):
    return CliRunner().invoke(export.main, [str(a) for a in args])


def test_missing_model_file_one_line_exit_1_nothing_written(tmp_path):
    out = tmp_path / "pkg"
    r = _run([tmp_path / "nope.keras", out])
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "nope.keras") in lines[0]
    assert sorted(os.listdir(tmp_path)) == []


def test_model_that_is_not_a_generator_is_refused(tmp_path):
    import keras

    inp = keras.Input((32, 32, 3))
    clf = keras.Model(inp, keras.layers.Dense(13)(keras.layers.GlobalAveragePooling2D()(inp)))
    clf.save(tmp_path / "classifier.keras")
    out = tmp_path / "pkg"
    r = _run([tmp_path / "classifier.keras", out])
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "classifier.keras") in lines[0], r.output
    assert sorted(os.listdir(tmp_path)) == ["classifier.keras"]


def test_existing_out_dir_refused_without_overwrite_and_a_failed_write_leaves_nothing(tmp_path, run_dir,
                                                                                     monkeypatch):
    from data.packaging import modelzoo

    out = tmp_path / "pkg"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = _run([run_dir / "generator.keras", out])
    assert r.exit_code == 1 and "--overwrite" in r.output and str(out) in r.output
    assert sorted(os.listdir(out)) == ["keep.txt"]

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(modelzoo, "export_saved_model", boom)
    r = _run([run_dir / "generator.keras", out, "--overwrite"])
    assert r.exit_code == 1 and "disk full" in r.output
    assert sorted(os.listdir(tmp_path)) == ["pkg"] and sorted(os.listdir(out)) == ["keep.txt"]


def test_overwrite_replaces_the_old_package(tmp_path, run_dir):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "old.txt").write_text("old")
    r = _run([run_dir / "generator.keras", out, "--overwrite"])
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(out)) == FILES and sorted(os.listdir(tmp_path)) == ["pkg"]


# ---------------------------------------------------------------- the official bioimage.io tools (optional extra)

def _installed(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


needs_spec = pytest.mark.skipif(not (_installed("bioimageio.spec") and _installed("bioimageio.core")),
                                reason="bioimageio.spec/core not installed (pip install -e '.[bioimageio]')")
full_validation = pytest.mark.skipif(
    os.environ.get("GANMICRO_FULL_VALIDATION") != "1",
    reason="more official-validator runs (16-107 s each); GANMICRO_FULL_VALIDATION=1 runs them")
"""The default run keeps one ``bioimageio.core`` run (the mSRGAN package, both weight formats); the same
validator on the other packages and through its CLI runs only when asked, to keep the suite's time."""


def _bioimageio(code, tmp_path):
    """Run ``code`` in a fresh, plain interpreter (nothing of ours on its path): bioimageio.core sets KERAS_BACKEND
    (default torch) at import; we ask for tensorflow, the backend the weights were written with.

    The working directory is ``tmp_path`` (bioimageio.core unzips weights into ``./bioimageio_unzipped_tf_weights``).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=env)


@needs_spec
def test_rdf_validates_with_bioimageio_spec(package, tmp_path):
    proc = _bioimageio(f"""
        from bioimageio.spec import load_description
        d = load_description({str(package / 'rdf.yaml')!r}, perform_io_checks=True)
        s = d.validation_summary
        print("STATUS", s.status, type(d).__name__)
        for det in s.details:
            for e in det.errors:
                print("ERROR", det.name, e.loc, e.msg)
    """, tmp_path)
    assert "STATUS valid-format ModelDescr" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


@needs_spec
@full_validation
@pytest.mark.slow
def test_bioimageio_cli_passes_the_saved_model_without_our_packages(package, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    summary = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-m", "bioimageio.core", "test", str(package / "rdf.yaml"),
                           "--weight-format", "tensorflow_saved_model_bundle", "--summary", str(summary)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert json.loads(summary.read_text())["status"] == "passed"


# ---------------------------------------------------------------- miniVGG19 and CycleGAN packages


@pytest.fixture(scope="module")
def vgg_package(tmp_path_factory):
    import keras

    import vgg19
    from vgg19 import export as vgg_export

    run = tmp_path_factory.mktemp("vggrun")
    keras.utils.set_random_seed(1)
    vgg19.build_model(input_shape=(32, 32, 3), base_filters=4, dense_units=16).save(run / "minivgg19.keras")
    (run / "export.json").write_text(json.dumps({  # data.engine.loop's export record
        "epoch": 3, "step": 21, "monitor": "val_accuracy", "mode": "max", "value": 0.25,
        "logs": {"val_accuracy": 0.25}, "files": ["minivgg19.keras"]}))
    out = run.parent / "vgg_package"
    r = CliRunner().invoke(vgg_export.main, [str(run / "minivgg19.keras"), str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return run, out


def test_vgg19_package_and_its_saved_model(vgg_package, tmp_path):
    import vgg19

    run, out = vgg_package
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "cover.png", "model.keras", "rdf.yaml",
                                                     "sample_image.png", "test_image.npy",
                                                     "test_probabilities.npy", "tf_saved_model.zip"]
    rdf = json.loads((out / "rdf.yaml").read_text())
    (outp,) = rdf["outputs"]
    assert outp["postprocessing"][0] == {"id": "softmax", "kwargs": {"axis": "channel"}}
    assert len(outp["axes"][1]["channel_names"]) == 13 and outp["axes"][1]["channel_names"][0] == "nucleus"
    image = np.load(out / "test_image.npy")
    assert image.shape == (1, 32, 32, 3) and image.dtype == np.uint8  # the demo test image, resized to the model
    probs = np.load(out / "test_probabilities.npy")
    assert probs.shape == (1, 13) and abs(float(probs.sum()) - 1) < 1e-5
    model = vgg19.load_model(run / "minivgg19.keras")
    x = image.astype(np.float32) / 127.5 - 1
    logits = np.asarray(model(x, training=False))
    np.testing.assert_allclose(probs, np.exp(logits) / np.exp(logits).sum(), atol=1e-6)
    serve, sig = saved_model_outputs(out, x, "probabilities", tmp_path)
    np.testing.assert_allclose(serve, logits, rtol=0, atol=1e-5)
    np.testing.assert_allclose(sig, logits, rtol=0, atol=1e-5)
    readme = (out / "README.md").read_text()
    assert "| `monitor` | val_accuracy |" in readme and "| `value` | 0.25 |" in readme


def test_vgg19_export_refuses_a_generator(run_dir, tmp_path):
    from vgg19 import export as vgg_export

    r = CliRunner().invoke(vgg_export.main, [str(run_dir / "generator.keras"), str(tmp_path / "pkg")])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert str(run_dir / "generator.keras") in r.output and "not a miniVGG19 classifier" in r.output
    assert not (tmp_path / "pkg").exists()


@pytest.fixture(scope="module")
def cyclegan_package(tmp_path_factory):
    import keras

    import cyclegan_dct
    from cyclegan_dct import export as cg_export

    run = tmp_path_factory.mktemp("cgrun")
    keras.utils.set_random_seed(1)
    cyclegan_dct.build_generator(channels=1, n_blocks=1, filters=4, name="generator_a2b").save(
        run / "generator_a2b.keras")
    cyclegan_dct.build_generator(channels=1, n_blocks=1, filters=4, name="generator_b2a").save(
        run / "generator_b2a.keras")
    (run / "config.json").write_text(json.dumps(cyclegan_dct.CycleGANConfig(n_blocks=1, filters=4).to_dict()))
    out = run.parent / "cg_package"
    r = CliRunner().invoke(cg_export.main, [str(run / "generator_a2b.keras"), str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return run, out


def test_cyclegan_package_and_its_saved_model(cyclegan_package, tmp_path):
    import cyclegan_dct

    run, out = cyclegan_package
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "cover.png", "model.keras",
                                                     "rdf.yaml", "sample_mask.png", "test_image.npy",
                                                     "test_mask.npy", "tf_saved_model.zip"]
    mask = np.load(out / "test_mask.npy")
    assert mask.dtype == np.uint16 and mask.shape == (1, 128, 128, 1) and mask.max() > 5  # instance labels
    g = cyclegan_dct.load_generator(run / "generator_a2b.keras")
    x = np.where(mask > 0, 1.0, -1.0).astype(np.float32)
    y = np.asarray(g(x, training=False))
    np.testing.assert_allclose(np.load(out / "test_image.npy"), np.clip(y * 0.5 + 0.5, 0, 1), atol=1e-5)
    serve, sig = saved_model_outputs(out, x, "image", tmp_path)
    np.testing.assert_allclose(serve, y, rtol=0, atol=1e-5)
    np.testing.assert_allclose(sig, y, rtol=0, atol=1e-5)
    assert "opens it without gan-microscopy" in (out / "README.md").read_text()


def test_cyclegan_export_refuses_the_image_to_mask_generator(cyclegan_package, tmp_path):
    from cyclegan_dct import export as cg_export

    run, _ = cyclegan_package
    r = CliRunner().invoke(cg_export.main, [str(run / "generator_b2a.keras"), str(tmp_path / "pkg")])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert str(run / "generator_b2a.keras") in r.output and "generator_a2b.keras" in r.output
    assert not (tmp_path / "pkg").exists()


@needs_spec
@full_validation
@pytest.mark.slow
def test_bioimageio_cli_passes_the_vgg19_package_in_every_format_without_our_packages(vgg_package, tmp_path):
    _, out = vgg_package
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    summary = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-m", "bioimageio.core", "test", str(out / "rdf.yaml"),
                           "--summary", str(summary)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    s = json.loads(summary.read_text())
    assert s["status"] == "passed"
    assert {"keras_v3", "tensorflow_saved_model_bundle"} <= {d["loc"][1] for d in s["details"]
                                                             if len(d.get("loc", ())) > 1 and d["loc"][0] == "weights"}


@pytest.fixture(scope="module")
def srcnn_package(tmp_path_factory):
    import keras

    run = tmp_path_factory.mktemp("srcnnrun")
    keras.utils.set_random_seed(2)
    msrgan.build_srcnn((None, None, 3)).save(run / "srcnn.keras")
    out = run.parent / "srcnn_package"
    r = CliRunner().invoke(export.main, [str(run / "srcnn.keras"), str(out), "--name", "SRCNN"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


@needs_spec
def test_bioimageio_core_passes_every_package_in_both_formats_in_a_plain_process(package, srcnn_package, vgg_package,
                                                                                  cyclegan_package, tmp_path):
    # the official validator with nothing of ours imported: every export holds built-in Keras layers only
    packages = {"msrgan": package, "srcnn": srcnn_package, "minivgg19": vgg_package[1], "cyclegan": cyclegan_package[1]}
    folders = {name: str(folder / "rdf.yaml") for name, folder in packages.items()}
    proc = _bioimageio(f"""
        import sys
        from bioimageio.core import test_model
        for name, rdf in {folders!r}.items():
            s = test_model(rdf)
            print("STATUS", name, s.status)
            for det in s.details:
                print("DETAIL", name, det.status, det.name)
        ours = ("msrgan", "data", "vgg19", "cyclegan_dct")
        print("PROJECT", sorted(m for m in sys.modules if m.split(".")[0] in ours))
    """, tmp_path)
    out = proc.stdout
    for name in packages:
        assert f"STATUS {name} passed" in out, out[-4000:] + proc.stderr[-3000:]
        for fmt in ("keras_v3", "tensorflow_saved_model_bundle"):
            assert f"DETAIL {name} passed Reproduce test outputs from test inputs ({fmt})" in out, (name, fmt)
    assert "PROJECT []" in out  # nothing of ours was imported


@pytest.fixture(scope="module")
def package16(run_dir):
    out = run_dir.parent / "package16"
    r = CliRunner().invoke(export.main, [str(run_dir / "generator.keras"), str(out), "--input-bits", "16"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


def test_16bit_package_uses_percentile_scaling(package16, run_dir):
    rdf = json.loads((package16 / "rdf.yaml").read_text())
    (inp,), (out,) = rdf["inputs"], rdf["outputs"]
    assert inp["data"] == {"type": "uint16"} and out["data"]["range"] == [0.0, 1.0]
    scale_range = [p for p in inp["preprocessing"] if p["id"] == "scale_range"][0]["kwargs"]
    assert scale_range == {"axes": ["y", "x"], "min_percentile": 2.0, "max_percentile": 99.8}
    lr = np.load(package16 / "test_lr.npy")
    assert lr.dtype == np.uint16 and lr.shape == (1, 24, 24, 3) and lr.max() > 255
    lo, hi = np.percentile(lr.astype(np.float32), [2.0, 99.8], axis=(1, 2), keepdims=True)
    x = np.clip((lr - lo) / (hi - lo + 1e-6), 0, 1) * 2 - 1
    y = np.asarray(msrgan.load_generator(run_dir / "generator.keras")(x.astype(np.float32), training=False))
    np.testing.assert_allclose(np.load(package16 / "test_sr.npy"), np.clip(y * 0.5 + 0.5, 0, 1), atol=1e-5)


@needs_spec
@full_validation
@pytest.mark.slow
def test_bioimageio_core_reproduces_the_16bit_package(package16, tmp_path):
    # our numpy emulation of the spec's scale_range must agree with bioimageio.core's
    proc = _bioimageio(f"""
        from bioimageio.core import test_model
        print("STATUS", test_model({str(package16 / 'rdf.yaml')!r}).status)
    """, tmp_path)
    assert "STATUS passed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]

"""The labelled-B reference segmenter (cyclegan_dct.reference) and the downstream study's records and pairs
(cyclegan_dct.downstream): refusals, training once per seed, loading it again, segmenting model-range images."""

import json

import numpy as np
import pytest

from cyclegan_dct import downstream, reference
from data.io import write_json
from data.stardist_training import StarDistConfig


def test_only_a_labelled_domain_b_has_a_reference(tmp_path):
    with pytest.raises(ValueError, match="--images .*needs a domain B with instance labels"):
        reference.labelled_domain_b(str(tmp_path))
    with pytest.raises(ValueError, match="--images None"):
        reference.labelled_domain_b(None)
    x, y = reference.labelled_domain_b("simulated")
    assert len(x) == len(y) == 200 and x[0].shape == y[0].shape and y[0].max() > 5


def test_load_stardist_refuses_a_folder_without_a_model(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}: not a StarDist model folder"):
        reference.load_stardist(tmp_path)


class FakeTraining:
    def __init__(self, monkeypatch):
        self.trained, self.loaded = [], []
        monkeypatch.setattr(reference, "train_and_score", self.train)
        monkeypatch.setattr(reference, "load_stardist", lambda path: self.loaded.append(str(path)) or "loaded")
        monkeypatch.setattr(reference, "labelled_domain_b", lambda images: ([np.zeros((8, 8))] * 3, [None] * 3))
        monkeypatch.setattr(reference, "named_tests", lambda names: {n: None for n in names})

    def train(self, x, y, folder, config, tests, label, about):
        self.trained.append((str(folder), config.seed, label))
        result = {"label": label, "budget": config.to_dict(), "test_sets": {t: {} for t in tests},
                  "stardist_model": str(folder / "stardist" / "model")}
        write_json(folder / "evaluation.json", result)
        return result, "trained"


def test_reference_is_trained_once_per_seed_and_test_sets(tmp_path, monkeypatch):
    fake = FakeTraining(monkeypatch)
    config = StarDistConfig(seed=3)
    r, model = reference.reference(tmp_path / "s3", config, ["simulated", "stardist"])
    assert model == "trained" and fake.trained == [(str(tmp_path / "s3"), 3, "labelled B")]
    r2, model2 = reference.reference(tmp_path / "s3", config, ["simulated", "stardist"])  # resumed: loaded
    assert model2 == "loaded" and len(fake.trained) == 1 and r2 == json.loads(json.dumps(r))
    assert fake.loaded == [str(tmp_path / "s3" / "stardist" / "model")]
    reference.reference(tmp_path / "s3", config.replace(seed=4), ["simulated", "stardist"])  # another seed
    reference.reference(tmp_path / "s3", config.replace(seed=4), ["simulated"])  # other test sets
    assert len(fake.trained) == 3


def test_segmenter_takes_model_range_images_without_border_exclusion(monkeypatch):
    seen = []

    class Model:
        def predict_instances(self, img, show_tile_progress, predict_kwargs):
            seen.append((img.shape, float(img.min()), float(img.max()), predict_kwargs))
            return np.ones(img.shape, np.int32), None

    labels = reference.segmenter(Model())(np.linspace(-1, 1, 2 * 16 * 16).reshape(2, 16, 16, 1))
    assert len(labels) == 2 and labels[0].shape == (16, 16)
    assert [s[0] for s in seen] == [(16, 16)] * 2 and all(s[3] == {"b": 0} for s in seen)
    assert all(s[1] < 0.05 and s[2] > 0.95 for s in seen)  # percentile-normalised like StarDist's training


def test_downstream_comparisons_cover_the_three_questions():
    pairs = downstream.comparisons(["vanilla", "dct0.5"], ["cycled", "input"])
    assert pairs[:2] == [("dct0.5 F(G(m))", "vanilla F(G(m))"), ("dct0.5 m", "vanilla m")]
    assert ("vanilla F(G(m))", "vanilla m") in pairs and ("dct0.5 F(G(m))", "dct0.5 m") in pairs
    assert [p for p in pairs if p[1] == "labelled B"] == [(a, "labelled B") for a in (
        "vanilla F(G(m))", "vanilla m", "dct0.5 F(G(m))", "dct0.5 m")]
    assert downstream.parse_arms("both") == ["cycled", "input"] and downstream.parse_arms("input") == ["input"]
    with pytest.raises(ValueError, match="--masks"):
        downstream.parse_arms("labels")


def test_parse_test_sets():
    from cyclegan_dct.evaluation import parse_test_sets

    assert parse_test_sets("simulated, stardist") == ["simulated", "stardist"]
    assert parse_test_sets("stardist") == ["stardist"]
    for bad in ("", "real", "simulated,simulated"):
        with pytest.raises(ValueError, match="--test-data"):
            parse_test_sets(bad)

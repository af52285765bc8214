"""cyclegan_dct.ablate --seeds: one run per (cutoff, seed), seeded per run, summary and paired tests in
ablation.json, and resume of an interrupted ablation without redoing the finished runs (no training here:
the train/generate/stego/evaluate steps are replaced by recording fakes)."""

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cyclegan_dct import ablate, ablation, stats
from cyclegan_dct.config import CycleGANConfig
from data.io import write_json

F1 = {(1.0, 0): 0.40, (1.0, 1): 0.50, (1.0, 2): 0.60, (0.5, 0): 0.50, (0.5, 1): 0.80, (0.5, 2): 0.80}


class Fakes:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def install(self, monkeypatch):
        monkeypatch.setattr(ablation, "_run", self.train)
        monkeypatch.setattr(ablation, "generate", self.generate)
        monkeypatch.setattr(ablation, "run_stego", self.stego)
        monkeypatch.setattr(ablation, "run_evaluation", self.evaluate)
        monkeypatch.setattr(ablation, "reference", self.reference)
        monkeypatch.setattr(ablation, "segmenter", lambda model: f"segmenter of {model}")

    def train(self, cmd, what, log_file=None, threads=None, tag=None):
        self.logs = getattr(self, "logs", []) + [(log_file, threads, tag)]
        model_dir = cmd[cmd.index("--backup-dir") + 1]
        seed = int(cmd[cmd.index("--seed") + 1])
        cutoff = 1.0 if "--no-dct" in cmd else float(cmd[cmd.index("--dct-cutoff") + 1])
        if self.fail_on == (cutoff, seed):
            raise ValueError(f"{what} failed (simulated interruption)")
        self.calls.append(("train", cutoff, seed))
        write_json(Path(model_dir) / "config.json",
                   CycleGANConfig(dct=cutoff < 1, dct_cutoff=min(cutoff, 1.0), seed=seed).to_dict())
        return 1.0

    def generate(self, model_dir, n, out, size, seed, also_unfiltered=False):
        self.calls.append(("generate", str(model_dir), seed) + (("unfiltered",) if also_unfiltered else ()))

    def stego(self, model_dir, out, n, size, seed, segment=None):
        self.calls.append(("stego", str(model_dir), seed) + (("segmented",) if segment else ()))
        cutoff = ablation.model_cutoff(model_dir)
        dice = {"dice": {"mean": 0.9, "std": 0.0, "n": n}}
        f1 = {"f1": 0.5, "ap": 0.3, "n_a": 10, "n_b": 9}
        return {"agreement": {"input_vs_cycled": dice, "input_vs_otsu": dice, "cycled_vs_otsu": dice},
                "instance_agreement": {"input_vs_cycled": f1, "input_vs_otsu": f1, "cycled_vs_otsu": f1},
                "perturbations": {"jpeg75": {"vs_clean": {"mean": 0.99 - 0.1 * (seed % 2) * (1 - cutoff)}},
                                  "blur1": {"vs_clean": {"mean": 0.95}}},
                "sensitivity": [{"sigma": s, "dice_mean": 0.9 - 0.01 * s * (1 + cutoff),
                                 "dice_vs_clean_mean": 1.0 - 0.01 * s * cutoff - 0.001 * seed}
                                for s in (0, 1, 2, 4, 8)],
                "high_frequency_energy": {"cutoff": 0.5, "generated": {"fraction": {"mean": 0.05}},
                                          "real": {"fraction": {"mean": 0.05}}},
                "polarity": {"correlation": {"mean": 0.8}, "inverted_fraction": 0.0}}

    def evaluate(self, syn, out, config, masks, label, images_folder="images", test_sets=None):
        cutoff = 1.0 if label.startswith("vanilla") else 0.5
        self.calls.append(("evaluate", label, config.seed, images_folder))
        f1 = F1[(cutoff, config.seed)] / (2 if images_folder == "images_unfiltered" else 1) - 0.1 * (masks == "input")
        metrics = {"precision": f1, "recall": f1, "f1": f1, "ap": f1 / 2, "mean_f1": f1}
        # the second test set: the same scores, 0.3 lower
        sets = {t: {"source": t, "n_images": 1, "metrics": {k: v - 0.3 * i for k, v in metrics.items()}}
                for i, t in enumerate(test_sets or ())}
        return {"metrics": metrics, "test_sets": sets, "wall_time_s": {"train": 1.0}}

    def reference(self, folder, config, test_sets, images):
        """The labelled-B StarDist of a seed: F1 0.9 on the first test set, 0.6 on the second."""
        self.calls.append(("reference", str(folder), config.seed))
        metrics = {"f1": 0.9, "ap": 0.8, "mean_f1": 0.7}
        return ({"test_sets": {t: {"metrics": {k: v - 0.3 * i for k, v in metrics.items()}}
                               for i, t in enumerate(test_sets)}}, "stardist model")


def _args(out):
    return ["--cutoffs", "1.0,0.5", "--seeds", "0,1,2", "--out", str(out), "--sd-epochs", "1",
            "--sd-steps-per-epoch", "1"]


def test_parse_seeds():
    assert ablation.parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("", "0,0", "a"):
        with pytest.raises(ValueError):
            ablation.parse_seeds(bad)


def test_seed_loop_statistics_and_resume(tmp_path, monkeypatch):
    out = tmp_path / "abl"
    first = Fakes(fail_on=(0.5, 1))  # interrupted at the 4th of 6 runs (seed-major order)
    first.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, _args(out))
    assert res.exit_code != 0 and "simulated interruption" in res.output
    assert [c for c in first.calls if c[0] == "train"] == [("train", 1.0, 0), ("train", 0.5, 0), ("train", 1.0, 1)]
    # every step of a run uses that run's seed, StarDist included
    assert ("evaluate", "vanilla_s1", 1, "images") in first.calls
    assert ("generate", str(out / "models" / "vanilla_s1"), 1) in first.calls

    again = Fakes()
    again.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, _args(out))
    assert res.exit_code == 0, res.output + repr(res.exception)
    trained = [c for c in again.calls if c[0] == "train"]
    assert trained == [("train", 0.5, 1), ("train", 1.0, 2), ("train", 0.5, 2)]  # finished runs not redone
    r = json.loads((out / "ablation.json").read_text())
    assert r["seeds"] == [0, 1, 2] and len(r["runs"]) == 6
    assert sorted((x["cutoff"], x["seed"]) for x in r["runs"]) == sorted(F1)
    assert r["summary"]["vanilla"]["f1"]["mean"] == pytest.approx(0.5)
    assert r["summary"]["vanilla"]["f1"]["std"] == pytest.approx(0.1)
    assert r["summary"]["dct0.5"]["f1"]["n"] == 3
    t = r["tests"]["dct0.5"]["f1"]
    assert t["mean_diff"] == pytest.approx(0.2) and t["test"] == "ttest_rel" and t["seeds"] == [0, 1, 2]
    assert t["p_ttest_rel"] == pytest.approx(1 - (12 / 14) ** 0.5, rel=1e-6)
    assert r["tests"]["dct0.5"]["sensitivity.2"]["mean_diff"] == pytest.approx(0.01)  # 0.87 - 0.86
    md = (out / "ablation.md").read_text()
    assert "## Over seeds" in md and "| dct0.5 - vanilla | F1@0.5 | +0.200 |" in md
    assert (out / "ablation.png").is_file()


def test_also_unfiltered_adds_stardist_on_g_of_m_for_dct_runs(tmp_path, monkeypatch):
    out = tmp_path / "abl"
    fakes = Fakes()
    fakes.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, [*_args(out), "--seeds", "0,1", "--also-unfiltered"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    evals = [c for c in fakes.calls if c[0] == "evaluate"]
    assert ("evaluate", "dct_0.5_s1 G(m)", 1, "images_unfiltered") in evals
    assert not any(c[1].startswith("vanilla") and c[3] == "images_unfiltered" for c in evals)
    assert all(c[-1] == "unfiltered" for c in fakes.calls if c[0] == "generate")
    r = json.loads((out / "ablation.json").read_text())
    dct = [x for x in r["runs"] if x["cutoff"] == 0.5]
    assert [x["f1_unfiltered"] for x in sorted(dct, key=lambda x: x["seed"])] == [0.25, 0.40]
    assert all("f1_unfiltered" not in x for x in r["runs"] if x["cutoff"] == 1.0)
    assert r["summary"]["dct0.5"]["f1_unfiltered"]["mean"] == pytest.approx(0.325)
    assert "f1_unfiltered" not in r["tests"]["dct0.5"]  # only the headline metrics are tested
    assert "StarDist on G(m)" in (out / "ablation.md").read_text()


def test_no_downstream_over_seeds_tests_the_stego_measures(tmp_path, monkeypatch):
    """--no-downstream: no synthetic pairs, no StarDist; the paired tests cover the stego measures, with the t and
    the bootstrap intervals, and the table shows '-' for the StarDist scores."""
    out = tmp_path / "abl"
    fakes = Fakes()
    fakes.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, [*_args(out), "--no-downstream"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert not [c for c in fakes.calls if c[0] in ("generate", "evaluate")]
    r = json.loads((out / "ablation.json").read_text())
    assert all(x["f1"] is None and x["stardist_train_s"] is None for x in r["runs"])
    t = r["tests"]["dct0.5"]
    # F1/AP are not tested without a downstream run, the StarDist agreement not without a reference segmenter
    assert set(t) == {m for m in stats.STEGO_METRICS if "stardist" not in m}
    # noise sigma 8: vanilla 1 - 0.08 - 0.001 s, DCT 0.5 1 - 0.04 - 0.001 s: every paired difference is +0.04
    assert t["noise_vs_clean.8"]["mean_diff"] == pytest.approx(0.04)
    # JPEG: DCT 0.5 - vanilla = 0, -0.05, 0 over seeds 0, 1, 2
    assert t["jpeg_vs_clean"]["mean_diff"] == pytest.approx(-0.05 / 3)
    assert t["jpeg_vs_clean"]["boot_low"] <= t["jpeg_vs_clean"]["mean_diff"] <= t["jpeg_vs_clean"]["boot_high"]
    assert r["wall_time_s"]["runs"] == 6
    md = (out / "ablation.md").read_text()
    assert "95 % CI (bootstrap)" in md and "| - | - | - |" in md


def test_only_splits_an_ablation_over_processes(tmp_path, monkeypatch):
    out = tmp_path / "abl"
    fakes = Fakes()
    fakes.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, [*_args(out), "--only", "dct_0.5_s2,vanilla_s1"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert [c for c in fakes.calls if c[0] == "train"] == [("train", 1.0, 1), ("train", 0.5, 2)]
    assert sorted(p.name for p in (out / "records").iterdir()) == ["dct_0.5_s2.json", "vanilla_s1.json"]
    assert not (out / "ablation.json").exists() and "once every run is recorded" in res.output
    res = CliRunner().invoke(ablate.main, _args(out))  # collects: trains only the four missing runs
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert len([c for c in fakes.calls if c[0] == "train"]) == 6
    assert len(json.loads((out / "ablation.json").read_text())["runs"]) == 6
    res = CliRunner().invoke(ablate.main, [*_args(out), "--only", "dct_0.25_s0"])
    assert res.exit_code != 0 and "--only" in res.output


def test_downstream_arms_and_reference_over_seeds(tmp_path, monkeypatch):
    """--masks both --reference --test-data simulated,stardist: per run StarDist on (G(m), F(G(m))) and on
    (G(m), m), per seed one labelled-B reference (trained once, segmenting G(m) in the stego measures), each scored
    on both test sets; the downstream tests pair DCT - vanilla per arm, cycled - input, every arm - labelled B."""
    out = tmp_path / "abl"
    fakes = Fakes()
    fakes.install(monkeypatch)
    res = CliRunner().invoke(ablate.main, [*_args(out), "--masks", "both", "--reference", "--test-data",
                                           "simulated,stardist"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert [c for c in fakes.calls if c[0] == "reference"] == [
        ("reference", str(out / "reference" / f"s{s}"), s) for s in (0, 1, 2)]  # once per seed, seeded
    assert all(c[-1] == "segmented" for c in fakes.calls if c[0] == "stego")
    evals = [c[1] for c in fakes.calls if c[0] == "evaluate"]
    assert evals[:2] == ["vanilla_s0", "vanilla_s0 input"] and len(evals) == 12
    r = json.loads((out / "ablation.json").read_text())
    row = next(x for x in r["runs"] if x["name"] == "dct_0.5_s1")
    assert row["downstream"]["cycled"]["simulated"]["f1"] == pytest.approx(0.8)
    assert row["downstream"]["input"]["stardist"]["f1"] == pytest.approx(0.4)
    assert row["reference"]["simulated"]["f1"] == pytest.approx(0.9) and row["f1"] == pytest.approx(0.8)
    d = r["downstream"]
    assert d["test_sets"] == ["simulated", "stardist"]
    assert d["summary"]["labelled B"]["stardist.f1"]["mean"] == pytest.approx(0.6)
    assert d["summary"]["labelled B"]["stardist.f1"]["n"] == 3  # one reference per seed, not per run

    def test(variant, baseline, test_set="simulated", metric="f1"):
        (t,) = [t for t in d["tests"] if (t["variant"], t["baseline"], t["test_set"], t["metric"])
                == (variant, baseline, test_set, metric)]
        return t

    assert test("dct0.5 F(G(m))", "vanilla F(G(m))")["mean_diff"] == pytest.approx(0.2)  # as the F1 column
    assert test("dct0.5 m", "vanilla m", "stardist")["mean_diff"] == pytest.approx(0.2)
    assert test("vanilla F(G(m))", "vanilla m")["mean_diff"] == pytest.approx(0.1)
    t = test("vanilla F(G(m))", "labelled B", metric="ap")  # AP: 0.25 against 0.8 in every seed
    assert t["mean_diff"] == pytest.approx(-0.55) and t["seeds"] == [0, 1, 2]
    md = (out / "ablation.md").read_text()
    assert "## Downstream over seeds" in md and "| dct0.5 F(G(m)) - vanilla F(G(m)) | simulated | f1 | +0.200 |" in md
    assert "| seed 2 | labelled B | 0.900 / 0.800 | 0.600 / 0.500 |" in md


def test_jobs_trains_the_pending_runs_at_once_then_measures_them(tmp_path, monkeypatch):
    """--jobs 2: the runs to process are trained first, two at a time with half the cores each and their output
    in logs/<run>/train.log; the measures then use them, and recorded runs are not trained again."""
    out = tmp_path / "abl"
    fakes = Fakes()
    fakes.install(monkeypatch)
    monkeypatch.setattr(ablation.os, "cpu_count", lambda: 4)
    res = CliRunner().invoke(ablate.main, [*_args(out), "--only", "vanilla_s0,dct_0.5_s0", "--jobs", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert sorted(c[1:] for c in fakes.calls if c[0] == "train") == [(0.5, 0), (1.0, 0)]
    assert sorted(fakes.logs) == [(out / "logs" / n / "train.log", 2, n) for n in ("dct_0.5_s0", "vanilla_s0")]
    assert [c[0] for c in fakes.calls[2:]].count("stego") == 2  # measured after both trainings
    res = CliRunner().invoke(ablate.main, [*_args(out), "--jobs", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert len([c for c in fakes.calls if c[0] == "train"]) == 6
    assert json.loads((out / "records" / "vanilla_s0.json").read_text())["train_s"] == 1.0


@pytest.mark.slow  # starts subprocesses (two short Pythons)
def test_run_logged_keeps_the_output_and_names_it_on_failure(tmp_path):
    """A training run in parallel writes its output to its log file; a failure names the step and the log."""
    log_file = tmp_path / "logs" / "run" / "train.log"
    ok = [sys.executable, "-c", "import os; print('step 1'); print('threads', os.environ['TF_NUM_INTRAOP_THREADS'])"]
    assert ablation._run(ok, "training run", log_file, threads=3, tag="run") >= 0
    assert log_file.read_text() == "step 1\nthreads 3\n"
    bad = [sys.executable, "-c", "import sys; print('broken'); sys.exit(3)"]
    with pytest.raises(ValueError, match=r"training run failed with exit status 3 \(its output: .*train.log\)"):
        ablation._run(bad, "training run", log_file)
    assert log_file.read_text().endswith("broken\n")

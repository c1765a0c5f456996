"""Applications and their subcommands: denoise, features, detect, sample, tune."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from compressor.bundle import load_bundle, save_bundle
from compressor.training import TrainingConfig, train
from latentwire.cli import main
from tests.training import without_learned_model

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
WINDOW = 32


@pytest.fixture(scope="module", autouse=True)
def no_learned_codec():
    """The applications use the autoencoder alone: training here skips the learned probability model."""
    with without_learned_model():
        yield


@pytest.fixture(scope="module")
def ecg_csv(tmp_path_factory) -> Path:
    src = DATA_DIR / "ecg_mitdb100" / "mitdb100_adu.csv"
    if not src.is_file():
        pytest.skip(f"shared data file ecg_mitdb100/mitdb100_adu.csv not found under {DATA_DIR}")
    lines = src.read_text().splitlines()[: 1 + WINDOW * 700 + 5]  # header, 700 records and a partial tail
    path = tmp_path_factory.mktemp("data") / "ecg.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def bundles(ecg_csv, tmp_path_factory):
    from compressor.data import load_records

    rs = load_records(ecg_csv, window=WINDOW)
    out = {}
    for name in ("vanilla", "variational"):
        bundle, _ = train(
            rs.records[:600],
            window=rs.window,
            channels=rs.channels,
            columns=rs.columns,
            shape=rs.shape,
            config=TrainingConfig(model=name, epochs=8, batch_size=32, latent_dim=8),
            progress=False,
        )
        path = tmp_path_factory.mktemp(name) / "bundle"
        save_bundle(bundle, path)
        out[name] = path
    return out


def test_denoise_command_reports_gain_and_writes_table(ecg_csv, bundles, tmp_path, capsys):
    out = tmp_path / "clean.csv"
    assert (
        main(
            [
                "denoise",
                "--model",
                str(bundles["vanilla"]),
                "--data",
                str(ecg_csv),
                "--noise-std",
                "0.5",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 700 and report["gain_db"] > 0
    assert {"psnr_savgol_db", "psnr_wavelet_db", "gain_savgol_db", "gain_wavelet_db"} <= set(report)
    assert report["noise"] == "known" and report["method"].startswith("SURE-chosen blend")
    lines = out.read_text().splitlines()
    assert lines[0] == "MLII,V5" and len(lines) == 1 + 700 * WINDOW


def test_denoise_library_function(ecg_csv, bundles):
    from compressor.applications.denoise import denoise, psnr_gain
    from compressor.data import load_records

    bundle = load_bundle(bundles["vanilla"])
    records = load_records(ecg_csv, window=WINDOW).records[600:]
    cleaned = denoise(bundle, records)
    assert cleaned.shape == records.shape and cleaned.dtype == np.float32
    with_nan = records.copy()
    with_nan[0, 3] = np.nan
    np.testing.assert_allclose(denoise(bundle, with_nan)[1:], cleaned[1:], rtol=1e-5)
    assert np.isnan(denoise(bundle, with_nan)[0, 3])
    gain = psnr_gain(bundle, records, 0.5)
    assert gain["gain_db"] == pytest.approx(gain["psnr_denoised_db"] - gain["psnr_noisy_db"])
    assert np.isfinite(gain["psnr_denoised_db"])


def test_denoise_blend_never_worse_than_noisy_on_heldback_records(ecg_csv, bundles):
    from compressor.applications.denoise import LEVELS, psnr_gain
    from compressor.data import load_records

    bundle = load_bundle(bundles["vanilla"])
    blend = bundle.denoise_blend
    assert len(blend.weights) == len(LEVELS) and blend.sigma_keys == sorted(blend.sigma_keys)
    assert min(blend.heldback_gain_db) >= 0.0
    records = load_records(ecg_csv, window=WINDOW).records[600:]
    for std in (0.05, 0.5, 1.0):
        report = psnr_gain(bundle, records, std, seed=7)
        assert report["gain_db"] > -0.1
        assert report["gain_db"] >= max(report["gain_savgol_db"], report["gain_wavelet_db"]) - 0.5
    old = dataclasses.replace(bundle, denoise_blend=None)  # a bundle from before the blend: the model alone
    assert psnr_gain(old, records, 0.5)["method"] == "model reconstruction"


def test_denoise_with_known_noise_chooses_its_blend_by_sure(ecg_csv, bundles):
    from compressor.applications.denoise import KNOWN_CANDIDATES, psnr_gain
    from compressor.data import load_records

    bundle = load_bundle(bundles["vanilla"])
    records = load_records(ecg_csv, window=WINDOW).records[600:]
    for std in (0.05, 0.5, 1.0):
        report = psnr_gain(bundle, records, std, seed=7, known=True)
        assert report["noise"] == "known" and report["method"].startswith("SURE-chosen blend")
        assert len(report["weights"]) == bundle.normalizer.channels
        assert all(len(w) == len(KNOWN_CANDIDATES) for w in report["weights"])
        assert report["gain_db"] > 0
        best = max(report["gain_savgol_db"], report["gain_wavelet_db"], report["gain_wavelet_known_sigma_db"])
        assert report["gain_db"] >= best - 0.05, report
        # the estimate needs no clean data and lands near the measured gain
        assert report["estimated_gain_db"] == pytest.approx(report["gain_db"], abs=0.5)


def test_denoise_with_known_noise_is_never_worse_than_the_input_where_nothing_helps(ecg_csv, bundles):
    from compressor.applications.denoise import denoise, denoise_report
    from compressor.quality import measure

    bundle = load_bundle(bundles["vanilla"])
    rng = np.random.default_rng(5)
    scale = np.tile(bundle.normalizer.scale, WINDOW).astype(np.float64)
    offset = np.tile(bundle.normalizer.offset, WINDOW)
    # white records at twice the training spread: neither the model nor a smoother can help them
    clean = (offset + 2 * scale * rng.standard_normal((100, WINDOW * 2))).astype(np.float32)
    sigma = 0.3 * bundle.normalizer.scale
    noisy = (clean + np.tile(sigma, WINDOW) * rng.standard_normal(clean.shape)).astype(np.float32)
    psnr_noisy = measure(clean, noisy).psnr_db
    assert measure(clean, denoise(bundle, noisy, sigma)).psnr_db >= psnr_noisy - 0.02
    assert measure(clean, denoise(bundle, noisy)).psnr_db < psnr_noisy - 0.5  # the estimated path loses here
    cleaned, info = denoise_report(bundle, noisy, sigma)
    assert info["estimated_gain_db"] >= 0 and np.all(np.isfinite(cleaned))
    # a constant record said to carry noise: SURE comes out negative, no gain can be estimated
    flat = np.tile(offset, (20, 1)).astype(np.float32)
    cleaned, info = denoise_report(bundle, flat, bundle.normalizer.scale)
    assert info["estimated_gain_db"] is None
    np.testing.assert_allclose(cleaned, flat, rtol=1e-5, atol=1e-3 * float(bundle.normalizer.scale.max()))


def test_denoise_command_noise_paths(ecg_csv, bundles, capsys):
    base = ["denoise", "--model", str(bundles["vanilla"]), "--data", str(ecg_csv), "--json"]
    assert main([*base, "--noise-std", "0.5"]) == 0
    known = json.loads(capsys.readouterr().out)
    assert (
        known["noise"] == "known" and "estimated_gain_db" in known and "gain_wavelet_known_sigma_db" in known
    )
    assert main([*base, "--noise-std", "0.5", "--estimated-noise"]) == 0
    estimated = json.loads(capsys.readouterr().out)
    assert estimated["noise"] == "estimated" and estimated["method"].startswith("least-squares blend")
    assert estimated["psnr_noisy_db"] == pytest.approx(known["psnr_noisy_db"])
    # data already noisy, its noise std given per channel in data units
    assert main([*base, "--sigma", "3,4"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert given["noise"] == "known" and given["psnr_reconstruction_vs_input_db"] > 30
    assert main([*base]) == 0
    assert json.loads(capsys.readouterr().out)["noise"] == "estimated"
    assert main([*base, "--sigma", "1,2,3"]) == 2  # two channels
    assert main([*base, "--sigma", "x"]) == 2
    assert "--sigma" in capsys.readouterr().err


def test_detect_locates_an_anomaly_in_time(ecg_csv, bundles, tmp_path, capsys):
    table = np.loadtxt(ecg_csv, delimiter=",", skiprows=1)[: WINDOW * 700]
    table[WINDOW * 640 + 7 : WINDOW * 640 + 13, 0] = table[WINDOW * 640 + 7, 0]  # a short flat stretch
    table[WINDOW * 640 + 7 : WINDOW * 640 + 13, 0] += 300.0
    path = tmp_path / "anomalous.csv"
    np.savetxt(path, table, delimiter=",", header="MLII,V5", comments="", fmt="%g")
    args = ["detect", "--model", str(bundles["vanilla"]), "--data", str(path), "--stride", "2", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["location"]["row"]
    assert WINDOW * 640 + 7 - 4 <= row <= WINDOW * 640 + 13 + 4 and report["location"]["record"] == 640
    assert report["stride"] == 2 and len(report["point_scores"]) == len(report["likelihood"]) == len(table)
    start, end = WINDOW * 640 + 7, WINDOW * 640 + 12
    # the likelihood is causal: its flagged span starts inside the anomaly and may outlast it a little
    assert any(s["start"] <= end + 8 and s["end"] >= start for s in report["spans"]), report["spans"]
    assert main(args[:-1]) == 0
    assert f"located anomaly: row {row}" in capsys.readouterr().out


def test_features_command_npy_and_csv(ecg_csv, bundles, tmp_path):
    from compressor.applications.features import features
    from compressor.data import load_records

    npy, csv_out = tmp_path / "z.npy", tmp_path / "z.csv"
    assert (
        main(["features", "--model", str(bundles["vanilla"]), "--data", str(ecg_csv), "--out", str(npy)]) == 0
    )
    assert (
        main(["features", "--model", str(bundles["vanilla"]), "--data", str(ecg_csv), "--out", str(csv_out)])
        == 0
    )
    z = np.load(npy)
    assert z.shape == (700, 8)
    records = load_records(ecg_csv, window=WINDOW).records
    np.testing.assert_allclose(z, features(load_bundle(bundles["vanilla"]), records), rtol=1e-6)
    rows = csv_out.read_text().splitlines()
    assert rows[0] == ",".join(f"z{i}" for i in range(8)) and len(rows) == 701
    np.testing.assert_allclose(np.loadtxt(csv_out, delimiter=",", skiprows=1), z, rtol=1e-6, atol=1e-6)


def test_detect_command_json_flags_injected_anomalies(ecg_csv, bundles, tmp_path, capsys):
    table = np.loadtxt(ecg_csv, delimiter=",", skiprows=1)[: WINDOW * 700]
    table[WINDOW * 650 : WINDOW * 651] += 400.0  # a 2 mV step in record 650
    table[WINDOW * 680 + 5, 0] = 3000.0  # a spike in record 680
    path = tmp_path / "anomalous.csv"
    np.savetxt(path, table, delimiter=",", header="MLII,V5", comments="", fmt="%g")
    assert main(["detect", "--model", str(bundles["vanilla"]), "--data", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["scores"]) == 700
    assert report["threshold"] == load_bundle(bundles["vanilla"]).anomaly.threshold
    assert {650, 680} <= set(report["anomalies"])
    assert len(report["anomalies"]) < 0.1 * 700
    assert report["anomalies"] == sorted(report["anomalies"])
    alarms = report["alarms"]  # the streaming detector: an alarm at the step's start and at the new extreme
    assert any(WINDOW * 650 <= a < WINDOW * 650 + 8 for a in alarms) and WINDOW * 680 + 5 in alarms, alarms
    assert len(alarms) < 20
    assert main(["detect", "--model", str(bundles["vanilla"]), "--data", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "index\tscore\tanomaly" and lines[2 + 650].endswith("\t1")
    assert f"# streaming alarms at rows: {' '.join(map(str, alarms))}" in lines


def test_score_library_function(ecg_csv, bundles):
    from compressor.applications.anomaly import score
    from compressor.data import load_records

    bundle = load_bundle(bundles["vanilla"])
    records = load_records(ecg_csv, window=WINDOW).records
    scores, flags = score(bundle, records)
    assert scores.shape == flags.shape == (700,)
    assert flags[:600].mean() < 0.05  # training data: about 1% above the 99th percentile of validation
    records[3, 0] = np.inf
    scores, flags = score(bundle, records)
    assert scores[3] == np.inf and flags[3]


def test_sample_command(bundles, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert (
        main(["sample", "--model", str(bundles["variational"]), "-n", "5", "--out", str(out), "--seed", "3"])
        == 0
    )
    draws = np.load(out)
    assert draws.shape == (5, WINDOW * 2) and np.isfinite(draws).all()
    assert (
        main(["sample", "--model", str(bundles["variational"]), "-n", "2", "--out", str(tmp_path / "s.csv")])
        == 0
    )
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "MLII,V5"
    assert main(["sample", "--model", str(bundles["vanilla"]), "-n", "2"]) == 2  # no prior to sample from
    assert "variational" in capsys.readouterr().err


def test_mmd_separates_distributions():
    from compressor.applications.generate import mmd_rbf

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 4)), rng.standard_normal((200, 4))
    assert mmd_rbf(a, b) < 0.02 < mmd_rbf(a, b + 1.0)


def tune(ecg_csv, *options: str) -> int:
    """``latentwire tune`` on the first 300 ECG windows; returns its exit code."""
    return main(["tune", "--data", str(ecg_csv), "--window", str(WINDOW), "--max-records", "300", *options])


def test_tune_command_picks_smallest_meeting_target(ecg_csv, tmp_path, capsys):
    out = tmp_path / "tuned"
    code = tune(
        ecg_csv, "--latent-dims", "2,8", "--depths", "1", "--epochs", "3", "--target-psnr", "5",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["latent_dim"] for t in report["trials"]] == [2]  # met at 2: larger sizes skipped
    assert report["best"]["meets_target"] and load_bundle(out).latent_dim == 2
    code = tune(ecg_csv, "--latent-dims", "2", "--depths", "1,2", "--epochs", "2", "--target-rmse", "1e-6")
    assert code == 1
    assert capsys.readouterr().out.count("missed") == 2


def test_depth_units():
    from compressor.applications.tuning import depth_units

    assert depth_units(128, 8, 1) == [64]
    assert depth_units(128, 8, 3) == [64, 32, 16]
    assert depth_units(128, 8, 0) == []


def test_unreadable_denoise_section_is_ignored():
    from compressor.denoise_blend import DenoiseBlend

    assert DenoiseBlend.from_json(None) is None
    assert DenoiseBlend.from_json({"candidates": ["noisy"], "levels": [0.1]}) is None
    assert (
        DenoiseBlend.from_json({"candidates": ["a", "b"], "levels": [1], "sigma_keys": [1], "weights": [[1]]})
        is None
    )
    good = {"candidates": ["a"], "levels": [1.0], "sigma_keys": [0.5], "weights": [[1.0]]}
    assert DenoiseBlend.from_json(DenoiseBlend.from_json(good).to_json()) == DenoiseBlend.from_json(good)

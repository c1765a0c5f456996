"""``latentwire evaluate``: one JSON object with every codec's figures; the plot is a PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentwire.cli import main

KEYS = {"ratio", "max_abs_error", "nrmse", "psnr_db", "encode_mb_s", "decode_mb_s"}


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory: pytest.TempPathFactory, digits: np.ndarray):  # noqa: ANN201
    path = tmp_path_factory.mktemp("eval") / "digits.npy"
    np.save(path, digits[1500:1600])
    return path


def evaluate_json(bundle_dir, data, capsys: pytest.CaptureFixture[str], *options: str) -> dict:
    """Run ``latentwire evaluate --json`` against zstd and Lorenzo+ANS; its exit code must be 0."""
    argv = ["evaluate", "--model", str(bundle_dir), "--data", str(data), "--json"]
    assert main([*argv, *options, "--baselines", "zstd,lorenzo-ans"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_schema_bounded(digits_bundle_dir, digits_file, capsys: pytest.CaptureFixture[str]) -> None:
    out = evaluate_json(digits_bundle_dir, digits_file, capsys, "--error-bound", "0.05", "--relative")
    assert set(out) == {"records", "error_bound", "codecs"}
    assert out["records"] == 100
    assert set(out["codecs"]) == {"latentwire", "latentwire-classical", "zstd", "lorenzo-ans"}
    for figures in out["codecs"].values():
        assert set(figures) == KEYS
    lw = out["codecs"]["latentwire"]
    assert lw["max_abs_error"] <= out["error_bound"]
    assert out["codecs"]["latentwire-classical"]["max_abs_error"] <= out["error_bound"]
    assert lw["ratio"] > out["codecs"]["zstd"]["ratio"]


def test_fixed_rate_and_plot(
    digits_bundle_dir, digits_file, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "rd.png"
    out = evaluate_json(digits_bundle_dir, digits_file, capsys, "--plot", str(plot))
    assert out["error_bound"] is None
    codecs = out["codecs"]
    assert set(codecs) == {"latentwire", "zstd", "lorenzo-ans", "lorenzo-ans@psnr"}  # zstd is lossless
    assert set(codecs["latentwire"]) == KEYS
    # at latentwire's max error, Lorenzo+ANS reconstructs worse on average; at equal PSNR it is held to
    # latentwire's quality (its bound searched on all 100 records here, so the PSNR holds exactly)
    lw, same_err, same_psnr = codecs["latentwire"], codecs["lorenzo-ans"], codecs["lorenzo-ans@psnr"]
    assert same_err["max_abs_error"] <= lw["max_abs_error"]
    assert same_psnr["psnr_db"] >= lw["psnr_db"] > same_err["psnr_db"]
    assert same_psnr["ratio"] < same_err["ratio"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_equal_psnr_bound_is_the_largest_that_meets_the_target(digits: np.ndarray) -> None:
    from compressor.baselines import available_baselines
    from compressor.evaluation import MATCH_STEPS, _baseline, equal_psnr_bound

    lorenzo = available_baselines(["lorenzo-ans"])["lorenzo-ans"]
    records = np.ascontiguousarray(digits[:200], np.float32)
    for target, start in ((30.0, 0.01), (30.0, 50.0), (45.0, 1.0)):
        bound = equal_psnr_bound(lorenzo, records, (64,), target, start)
        assert _baseline(lorenzo, records, (64,), bound).psnr_db >= target
        # the search ends with a bracket of at most 2**(1/2**MATCH_STEPS): just past it, the target fails
        past = bound * 2 ** (1 / 2**MATCH_STEPS) * 1.001
        assert _baseline(lorenzo, records, (64,), past).psnr_db < target


def test_wrong_record_size_is_a_clear_error(
    digits_bundle_dir, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.npy"
    np.save(path, np.zeros((4, 10), np.float32))
    assert main(["evaluate", "--model", str(digits_bundle_dir), "--data", str(path)]) == 2
    assert "expects 64" in capsys.readouterr().err


def test_classical_codec_has_no_learned_part_and_decodes_within_the_bound(digits_bundle_dir) -> None:
    import numpy as np

    from compressor.bundle import load_bundle
    from compressor.codec import Codec
    from compressor.envelope import unpack

    bundle = load_bundle(digits_bundle_dir)
    classical = Codec(bundle, error_bound=0.5, learned=False)
    assert classical.bounded_coder.params.autoencoder is None and not classical.bounded_coder.params.tables
    assert Codec(bundle, error_bound=0.5).bounded_coder.params.autoencoder is not None
    records = np.random.default_rng(0).integers(0, 17, (20, bundle.record_size)).astype(np.float32)
    encoded = classical.encode(records)
    decoded = np.stack(Codec(bundle, learned=False).decode([unpack(p) for p in encoded.payloads]))
    assert np.array_equal(decoded, encoded.decoded)
    assert np.abs(decoded - records).max() <= 0.5


def test_lossless_reconstructs_exactly_and_writes_kind_9(
    digits_bundle_dir, digits_file, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--lossless`` on integer pixels: every value comes back exactly, and the codec the encoding commands
    build from the option writes its learned records as kind 9 (the lossless bound, no header)."""
    from compressor.bundle import load_bundle
    from compressor.envelope import LEARNED_KINDS, Kind, unpack
    from latentwire.cli import build_parser
    from latentwire.cli.options import codec_from_args

    out = evaluate_json(digits_bundle_dir, digits_file, capsys, "--lossless")
    assert out["error_bound"] == 0.49  # just below half the quantum of 1
    assert out["codecs"]["latentwire"]["max_abs_error"] == 0
    assert out["codecs"]["latentwire"]["ratio"] > out["codecs"]["zstd"]["ratio"]
    args = build_parser().parse_args(
        [
            "produce",
            "--model",
            str(digits_bundle_dir),
            "--data",
            str(digits_file),
            "--topic",
            "t",
            "--lossless",
        ]
    )
    codec = codec_from_args(load_bundle(digits_bundle_dir), args)
    records = np.load(digits_file)
    encoded = codec.encode(records)
    kinds = [unpack(p).kind for p in encoded.payloads]
    learned = [k for k in kinds if k in LEARNED_KINDS]
    assert len(learned) > len(kinds) // 2 and set(learned) == {Kind.LEARNED3_LOSSLESS}
    assert all(p[1] >> 4 == 8 for p in encoded.payloads)  # every whole record framed as wire version 8
    assert np.array_equal(np.stack(codec.decode([unpack(p) for p in encoded.payloads])), records)


def test_lossless_and_error_bound_exclude_each_other(
    digits_bundle_dir, digits_file, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    argv = ["evaluate", "--model", str(digits_bundle_dir), "--data", str(digits_file), "--lossless"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--error-bound", "0.1"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    monkeypatch.setenv("LATENTWIRE_ERROR_BOUND", "0.1")  # a bound from the environment, --lossless given
    assert main(argv) == 2
    assert "--lossless and --error-bound are both set" in capsys.readouterr().err

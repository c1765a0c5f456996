"""``latentwire denoise``: clean records with the model blended with classical smoothers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from compressor.errors import ConfigError
from latentwire.cli.data_options import add_data_options
from latentwire.cli.options import add_option

ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "denoise",
        help="clean records with the model blended with classical smoothers (best with a denoising bundle)",
        description=(
            "Clean every record of --data and write it in the file's layout (CSV: one row per time step).\n"
            "The cleaned record is a blend of the record itself, the model's reconstruction, a\n"
            "Savitzky-Golay filter and wavelet shrinkage. How the blend is chosen depends on what is known\n"
            "about the noise (the report's 'noise' says which path ran):\n"
            "  known:     with --sigma (your sensor's noise std) or --noise-std, the weights are chosen on\n"
            "             the records being cleaned, per channel, by Stein's unbiased risk estimate (SURE):\n"
            "             no clean data needed, and the estimated error is never above the noise's own;\n"
            "             the report gives the SURE-estimated gain.\n"
            "  estimated: otherwise, weights fitted at training time on held-back records, looked up by\n"
            "             each record's estimated noise level (an estimate the signal's own fast changes\n"
            "             can fool: give --sigma when you know it).\n"
            "With --noise-std S, Gaussian noise of S x each channel's training std is first added to the\n"
            "data (and its std is known to the denoiser unless --estimated-noise) and the PSNR against the\n"
            "originals is reported for the noisy, the denoised, the Savitzky-Golay (order 2, 11 taps) and\n"
            "the wavelet-shrinkage (db4, BayesShrink, noise estimated; also given the known std)\n"
            "records: run it on held-back data to compare."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_data_options(p)
    add_option(p, "--out", default=None, help="cleaned records to write (.csv or .npy); default: report only")
    add_option(
        p, "--noise-std", type=float, default=None, help="add this much noise first and report the PSNR gain"
    )
    add_option(
        p,
        "--sigma",
        default=None,
        help="noise std already in the data, in data units: one value or one per channel, comma separated "
        "(with --noise-std both add up)",
    )
    add_option(
        p,
        "--estimated-noise",
        action="store_true",
        default=False,
        help="ignore the noise std --noise-std adds: the path for data of unknown noise",
    )
    add_option(p, "--seed", type=int, default=0, help="seed of the added noise")
    add_option(p, "--json", action="store_true", default=False, help="print the report as JSON")
    p.set_defaults(func=run)


def _known_sigma(args: argparse.Namespace, bundle: Any) -> np.ndarray | None:
    """The noise std the denoiser is told, per channel in data units, or None when unknown."""
    from compressor.applications.denoise import noise_std

    parts = []
    if args.sigma is not None:
        try:
            given = [float(v) for v in str(args.sigma).split(",")]
        except ValueError as exc:
            raise ConfigError(f"--sigma {args.sigma!r}: give numbers, comma separated") from exc
        parts.append(noise_std(bundle, given, bundle.normalizer.channels))
    if args.noise_std and not args.estimated_noise:
        parts.append(args.noise_std * bundle.normalizer.scale.astype(np.float64))
    return np.sqrt(sum(p**2 for p in parts)) if parts else None


def run(args: argparse.Namespace) -> int:
    from compressor.applications.denoise import add_noise, compare, denoise_report
    from compressor.quality import measure
    from latentwire.cli.array_io import as_table, bundle_and_records, write_array

    bundle, data = bundle_and_records(args)
    clean = data.records
    sigma = _known_sigma(args, bundle)
    noisy = add_noise(bundle, clean, args.noise_std, args.seed) if args.noise_std else clean
    report: dict = {"records": int(len(clean)), "model": bundle.model_name, "model_id": bundle.model_id}
    cleaned, info = denoise_report(bundle, noisy, sigma)
    if args.noise_std:
        report.update(noise_std=args.noise_std, **compare(bundle, clean, noisy, sigma, (cleaned, info)))
    if not args.noise_std:
        report.update(info)
        report["psnr_reconstruction_vs_input_db"] = measure(clean, cleaned).psnr_db
    if args.out:
        table, header = as_table(bundle, cleaned)
        write_array(args.out, table, header)
        report["out"] = str(args.out)
    path = f"noise {report['noise']}"
    if report.get("estimated_gain_db") is not None:
        path += f", SURE-estimated gain {report['estimated_gain_db']:+.2f} dB"
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.noise_std:
        print(
            f"{report['records']} records, noise std {args.noise_std}: "
            f"PSNR noisy {report['psnr_noisy_db']:.2f} dB, "
            f"denoised {report['psnr_denoised_db']:.2f} dB (gain {report['gain_db']:+.2f} dB), "
            f"Savitzky-Golay {report['psnr_savgol_db']:.2f} dB ({report['gain_savgol_db']:+.2f}), "
            f"wavelet shrinkage {report['psnr_wavelet_db']:.2f} dB ({report['gain_wavelet_db']:+.2f}); "
            f"{report['method']} ({path})"
        )
    else:
        print(
            f"{report['records']} records denoised "
            f"(PSNR vs input {report['psnr_reconstruction_vs_input_db']:.2f} dB; {path})",
            file=sys.stderr if not args.out else sys.stdout,
        )
    return 0

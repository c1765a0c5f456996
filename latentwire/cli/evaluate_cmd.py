"""``latentwire evaluate``: compress a file as a producer would, decode as a consumer would, compare."""

from __future__ import annotations

import argparse
import json
import math

from latentwire.cli.data_options import add_data_options, load_from_args
from latentwire.cli.options import add_error_bound_options, add_option, error_bound_from_args

ORDER = 25


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "evaluate",
        help="measure ratio, error and speed against zstd, ZFP, SZ3, Lorenzo+ANS, libaec, FLAC and pcodec",
        description=(
            "Compress every record of a file as the producer would (one Kafka record each, framing\n"
            "included), decode it as the consumer would, and report for latentwire and the baselines zstd\n"
            "(lossless, level 3), zfp (fixed accuracy, max error within the bound), sz3 (absolute bound),\n"
            "lorenzo-ans (previous-value prediction, residual in bins of 2E, ANS) and the lossless anchors\n"
            "libaec (CCSDS 121.0), flac (FLAC frames) and pcodec: ratio, max abs error, NRMSE, PSNR and\n"
            "encode/decode MB/s of raw float32. With --error-bound, latentwire-classical is the same codec\n"
            "with every learned part off (the learned gain); --lossless codes every value exactly (data\n"
            "with a quantum). Without either, latentwire runs in fixed-rate mode and the lossy baselines\n"
            "get its max error as their bound; each is also shown at equal quality (NAME@psnr: the largest\n"
            "bound whose PSNR is at least latentwire's), since a fixed-rate model bounds no single value."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_data_options(p)
    add_error_bound_options(p)
    add_option(
        p,
        "--baselines",
        type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
        default=None,
        help="comma-separated baselines (default: zstd,zfp,sz3,lorenzo-ans,libaec,flac,pcodec; missing "
        "packages are skipped)",
    )
    add_option(p, "--json", action="store_true", default=False, help="print exactly one JSON object")
    add_option(
        p,
        "--plot",
        default=None,
        help="write rate-distortion curves (bits/value vs max error and PSNR, a sweep of bounds) to this PNG",
    )
    p.set_defaults(func=run)


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def run(args: argparse.Namespace) -> int:
    import sys

    from compressor.bundle import load_bundle
    from compressor.error_bound import ErrorBound
    from compressor.errors import ConfigError
    from compressor.evaluation import AT_PSNR, DEFAULT_SWEEP, evaluate, plot_rate_distortion, sweep

    bundle = load_bundle(args.model)
    is_csv = str(args.data).lower().endswith((".csv", ".csv.gz"))
    columns = list(bundle.columns) if is_csv and bundle.columns and bundle.window > 1 else None
    data = load_from_args(args, window=bundle.window, columns=columns)
    if data.record_size != bundle.record_size:
        raise ConfigError(
            f"{args.data} gives records of {data.record_size} values; model {bundle.model_id[:8]} expects "
            f"{bundle.record_size}"
        )
    if len(data) == 0:
        raise ConfigError(f"{args.data} holds no full record")
    if args.relative and args.error_bound is None:
        raise ConfigError("--relative needs --error-bound")
    bound = error_bound_from_args(bundle, args)
    report = evaluate(bundle, data.records, bound, args.baselines)
    for name, reason in report["skipped"].items():
        print(f"note: baseline {name} skipped: {reason}", file=sys.stderr)
    if args.plot:
        if bound is not None:
            bounds = [ErrorBound(bound.value * f) for f in (10, 3, 1, 0.3, 0.1)]
        else:
            bounds = [ErrorBound.resolve(bundle, e, True) for e in DEFAULT_SWEEP]
        curves = sweep(bundle, data.records, bounds, args.baselines)
        plot_rate_distortion(curves, args.plot, title=f"{args.data} ({len(data)} records)")
    if args.json:
        out = {
            "records": report["records"],
            "error_bound": None if bound is None else bound.value,
            "codecs": {
                name: {k: _clean(v) for k, v in res.to_json().items()}
                for name, res in report["codecs"].items()
            },
        }
        print(json.dumps(out))
        return 0
    mode = "fixed rate" if bound is None else f"error bound {bound.value:.6g}"
    if args.lossless:
        mode = f"lossless ({mode}, below half the data's quantum)"
    print(f"{report['records']} records of {bundle.record_size} values, latentwire {mode}")
    print(
        "  {:<20} {:>8} {:>11} {:>10} {:>8} {:>9} {:>9}".format(
            "codec", "ratio", "max err", "NRMSE", "PSNR dB", "enc MB/s", "dec MB/s"
        )
    )
    for name, res in report["codecs"].items():
        print(
            f"  {name:<20} {res.ratio:>8.2f} {res.max_abs_error:>11.4g} {res.nrmse:>10.3g} "
            f"{res.psnr_db:>8.1f} {res.encode_mb_s:>9.1f} {res.decode_mb_s:>9.1f}"
        )
    if bound is None and any(name.endswith(AT_PSNR) for name in report["codecs"]):
        print(
            f"  (NAME{AT_PSNR}: the baseline at the largest bound whose PSNR is at least latentwire's; the rows "
            "without it get latentwire's max error as their bound)"
        )
    if args.plot:
        print(f"rate-distortion plot written to {args.plot}")
    return 0

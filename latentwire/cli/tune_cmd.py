"""``latentwire tune``: pick the latent size and depth with the fewest bytes per record meeting a target."""

from __future__ import annotations

import argparse
import json
import sys

from latentwire.cli.data_options import add_data_options
from latentwire.cli.options import add_option

ORDER = 25


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "tune",
        help="search latent size and depth for the smallest payload that meets a quality target",
        description=(
            "Train one model per latent size x depth (dense hidden layers) and keep the one with the fewest\n"
            "bytes per record on the wire whose held-back records (the last 20%) meet the target:\n"
            "  --target-rmse E / --target-psnr P   fixed-rate codec: RMSE at most E, PSNR at least P dB\n"
            "  --error-bound E                     error-bounded codec: every value within E, so the\n"
            "                                      smallest bounded payload wins\n"
            "Latent sizes are tried in increasing order; in fixed-rate mode larger ones are skipped once a\n"
            "size meets the target. Prints a table of every trial; --out writes the chosen bundle."
        ),
        formatter_class=HelpFormatter,
    )
    add_data_options(p)
    add_option(p, "--model", default="vanilla", help="autoencoder variant")
    add_option(
        p,
        "--latent-dims",
        type=_ints,
        default=None,
        help="latent sizes to try (default 2,4,8,16,32,64 below D)",
    )
    add_option(p, "--depths", type=_ints, default=[1, 2], help="numbers of hidden layers to try")
    add_option(p, "--target-rmse", type=float, default=None, help="largest acceptable held-back RMSE")
    add_option(p, "--target-psnr", type=float, default=None, help="smallest acceptable held-back PSNR (dB)")
    add_option(
        p, "--error-bound", type=float, default=None, help="absolute error bound (error-bounded codec)"
    )
    add_option(p, "--epochs", type=int, default=30, help="maximum epochs per trial")
    add_option(p, "--latent-bits", type=int, default=8, help="bits per quantized latent value")
    add_option(p, "--out", default=None, help="write the chosen bundle to this directory")
    add_option(p, "--json", action="store_true", default=False, help="print the trials as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.applications.tuning import tune
    from compressor.bundle import save_bundle
    from compressor.error_bound import ErrorBound
    from latentwire.cli.data_options import load_from_args

    data = load_from_args(args)
    result = tune(
        data.records,
        window=data.window,
        channels=data.channels,
        columns=data.columns,
        shape=data.shape,
        model=args.model,
        latent_dims=args.latent_dims,
        depths=tuple(args.depths),
        target_rmse=args.target_rmse,
        target_psnr=args.target_psnr,
        error_bound=ErrorBound.of(args.error_bound),
        epochs=args.epochs,
        latent_bits=args.latent_bits,
    )
    model_id = save_bundle(result.bundle, args.out) if args.out and result.bundle is not None else None
    if args.json:
        print(
            json.dumps(
                {
                    "trials": [t.to_json() for t in result.trials],
                    "best": result.best.to_json() if result.best else None,
                    "model_id": model_id,
                },
                indent=2,
            )
        )
    else:
        print(
            f"{'latent':>6} {'depth':>5} {'hidden':>14} {'bytes/rec':>9} {'RMSE':>10} {'PSNR dB':>8} "
            f"{'max|err|':>10} {'s':>6}  target"
        )
        for t in result.trials:
            mark = "*" if result.best is t else ""
            print(
                f"{t.latent_dim:6d} {t.depth:5d} {','.join(map(str, t.hidden)):>14} "
                f"{t.bytes_per_record:9.1f} "
                f"{t.rmse:10.4g} {t.psnr_db:8.2f} {t.max_abs_error:10.4g} {t.seconds:6.1f}  "
                f"{'met' if t.meets_target else 'missed'}{mark}"
            )
        if result.best is None:
            print(
                "no trial met the target: try larger --latent-dims, more --epochs or a looser target",
                file=sys.stderr,
            )
        else:
            b = result.best
            print(
                f"chosen: latent {b.latent_dim}, depth {b.depth}, {b.bytes_per_record:.1f} bytes/record"
                + (f", bundle {model_id[:12]} written to {args.out}" if model_id else "")
            )
    return 0 if result.best is not None else 1

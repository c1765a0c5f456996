"""``latentwire train``: fit an autoencoder on a file and write a model bundle."""

from __future__ import annotations

import argparse
import json
import sys

from compressor.cli.data_options import add_data_options, load_from_args
from compressor.cli.options import add_option

ORDER = 20


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed: object = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def register(sub: argparse._SubParsersAction) -> None:
    from compressor.cli import HelpFormatter

    p = sub.add_parser(
        "train",
        help="train an autoencoder and write a model bundle",
        description=(
            "Train an autoencoder on the records of a file and write a model bundle: the Keras encoder and\n"
            "decoder, normalization and quantization parameters, and a manifest whose SHA-256 content hash\n"
            "is the model id. The last --validation-split of the records is held back for early stopping and\n"
            "for the summary's reconstruction figures."
        ),
        formatter_class=HelpFormatter,
    )
    add_data_options(p)
    add_option(p, "--out", required=True, help="bundle directory to write (replaced if it exists)")
    add_option(p, "--model", default="vanilla", help="autoencoder variant (see docs/models.md)")
    add_option(
        p, "--latent-dim", type=int, default=None, help="latent size (default: record size / 8, 2..64)"
    )
    add_option(p, "--latent-bits", type=int, default=8, help="bits per quantized latent value (1..16)")
    add_option(
        p, "--epochs", type=int, default=100, help="maximum epochs (early stopping usually ends sooner)"
    )
    add_option(p, "--batch-size", type=int, default=128, help="training batch size")
    add_option(
        p, "--validation-split", type=float, default=0.2, help="fraction of records held back, from the end"
    )
    add_option(p, "--patience", type=int, default=8, help="early-stopping patience in epochs")
    add_option(p, "--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    add_option(p, "--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--option",
        dest="model_options",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="variant-specific setting (JSON value), repeatable, e.g. --option noise_std=0.2",
    )
    add_option(p, "--json", action="store_true", default=False, help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.bundle import save_bundle
    from compressor.training import TrainingConfig, train

    data = load_from_args(args)
    if data.tail is not None:
        print(
            f"note: the final partial window ({data.tail_length} values) is left out of training",
            file=sys.stderr,
        )
    config = TrainingConfig(
        model=args.model,
        latent_dim=args.latent_dim,
        latent_bits=args.latent_bits,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        patience=args.patience,
        learning_rate=args.learning_rate,
        seed=args.seed,
        options=dict(args.model_options),
    )
    bundle, summary = train(
        data.records,
        window=data.window,
        channels=data.channels,
        columns=data.columns,
        shape=data.shape,
        config=config,
    )
    model_id = save_bundle(bundle, args.out)
    report = {"model_id": model_id, "bundle": str(args.out), **summary.to_json()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model {model_id[:12]} ({summary.model}) written to {args.out}")
    print(
        f"  records       {summary.records} ({summary.train_records} train, {summary.validation_records} held back"
        + (f", {summary.skipped_non_finite} with NaN/Inf skipped" if summary.skipped_non_finite else "")
        + ")"
    )
    print(
        f"  record size   {summary.record_size} values -> latent {summary.latent_dim} x {summary.latent_bits} bits"
    )
    print(f"  epochs        {summary.epochs_run}, {summary.seconds:.1f} s")
    print(
        f"  loss          train {summary.train_loss:.4g}, validation {summary.validation_loss:.4g} "
        f"(gap {100 * summary.train_validation_gap:+.0f}%)"
        + ("  WARNING: large gap, likely overfitting" if summary.overfitting else "")
    )
    print(
        f"  held back     RMSE {summary.heldback_rmse:.4g}, max |error| {summary.heldback_max_abs_error:.4g}, "
        f"PSNR {summary.heldback_psnr_db:.1f} dB"
    )
    print(
        f"  compression   {summary.bytes_per_record:.1f} bytes/record on the wire, "
        f"ratio {summary.compression_ratio:.1f}x vs float32"
    )
    return 0

"""``latentwire features``: write each record's latent vector (learned features)."""

from __future__ import annotations

import argparse

from latentwire.cli.data_options import add_data_options
from latentwire.cli.options import add_option

ORDER = 51


def register(sub: argparse._SubParsersAction) -> None:
    from latentwire.cli import HelpFormatter

    p = sub.add_parser(
        "features",
        help="write the latent vector of every record (learned features) to .npy or .csv",
        description=(
            "Encode every record of --data and write its unquantized latent vector (for a variational\n"
            "model, the posterior mean): one row per record, in file order, columns z0..z{L-1}."
        ),
        formatter_class=HelpFormatter,
    )
    add_option(p, "--model", required=True, help="model bundle directory")
    add_data_options(p)
    add_option(p, "--out", required=True, help="output file (.npy or .csv; - for CSV on stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compressor.applications.features import features
    from latentwire.cli.array_io import bundle_and_records, write_array

    bundle, data = bundle_and_records(args)
    z = features(bundle, data.records)
    write_array(args.out, z, [f"z{i}" for i in range(z.shape[1])])
    return 0

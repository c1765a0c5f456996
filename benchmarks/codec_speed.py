"""Encode and decode speed of the error-bounded codec on batches of records, per core.

Run ``python -m benchmarks.codec_speed`` (``--help`` for options). A model is trained at ``latentwire train``
defaults on the first half of a shared data set (or loaded with ``--model``), and the second half is coded in
batches of ``--batch`` records (256 by default) by one producer codec and decoded by one consumer codec, as
a batching producer and consumer do. Speeds are raw float32 megabytes per second of CPU time of this
process (``time.process_time``, BLAS on one thread), the best of ``--repeats`` passes: on a machine shared
with other work, CPU time is the codec's own cost where wall time is not. Wall-time figures are printed too.
Each row also gives the share of records coded by the learned model (envelope kind 3 or 6) and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

# the target is per core: keep BLAS (the autoencoder's encoder) on one thread
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from benchmarks.codec_benchmark import (  # noqa: E402
    DATA,
    SERIES,
    _series_sets,
    _train,
    _windows,
    lossless_bound,
)

SECTION = "codec-speed"
#: data sets coded here besides the benchmark's series: a NAB series of integer counts (lossless applies)
EXTRA = {"NAB Twitter volume AAPL": ("nab/data/realTweets/Twitter_volume_AAPL.csv", None)}
ANALYSIS = """\
What changed since the codec of commit 0d92f2b (up to commit 3774b82), all with the same bytes (golden
vectors, and every stream of four trained models at 1e-2, 1e-3 and lossless, clean, with huge, NaN and
Inf values, one record at a time and damaged, compared byte for byte with the old codec, decoded values
bit for bit):

- The MLP's first layer is one BLAS matrix product (`np.dot` inside the compiled kernel) per block of 256
  feature rows: at the encoder all rows of a column of every record of the batch, at the decoder every
  record at one position. Where float64 is exact for a column (every partial sum an integer below 2**53),
  any summation order gives the same integers; the second layer runs branch-free on the float64 sums
  (floor by a power-of-two scale, capped) with int32 x int32 products. The encoder's predictions on 256
  MIT-BIH records at 1e-3: 120-121 -> 85-87 ns per value (kernel calls, best of 15, the old and the new
  kernel alternately in one process).
- The encoder's scale classes after row 0 come from arrays of every |residual| and |change| of a record
  and a running sum for the column's last 8 residuals (66 -> 27 ns per value on MIT-BIH); the decoder
  weighs the same context magnitudes as it reads them, without gathering them into an array per value.
- The decoder finds a symbol between the bounds of its 256-slot bucket (an index of 257 entries per class,
  built per call where the batch has more values than the index has entries) instead of a binary search
  of the class's whole 512-entry cumulative table, whose dependent reads miss the L1 cache. The learned
  decoder alone on the same records: 229-243 ns per value with the old kernel, 193-201 after the first
  two changes, 155-158 with all of them (in the same process, alternately).
- Where the learned payloads have saved under 2 % of the classical bytes over 256 compared records (the
  lossless rows of Daphnet and ETTh1, 0 % learned), the classical coder codes every record and the learned
  coder one record in 64, as the classical coder was already sampled where it does not pay: those rows
  no longer run both coders on every record (5.4 -> 13.2 and 8.4 -> 18.2 MB/s encoding).
- The consumer checks one whole learned envelope per batch and lets the others of its kind through, as
  it did for fixed-rate ones.

Where the time still goes (MIT-BIH at 1e-3, 256 records, CPU ns per value, best of 20 calls at load
average about 2): encoding 186-192, of which the kernel's predictions and classes 116-123 (its MLP 70-90 with
the matrix product 40-58, the features 18-26, the classes 27), the rANS encoder and the streams' bytes
about 22, quantizing and the records' decoded values about 20, the classical coder on the one record in 64
that keeps the choice measured 13-14 (1.1 ms for 4 records, nearly all per-call overhead), envelopes 2;
decoding 176, of which the learned decoder 170. The rows the classical coder carries are bound by it: it
encodes 256 MIT-BIH records at 1e-3 in 22 ms (340 ns per value; numpy calls per predictor and class) and
decodes a record at a time in Python over constriction calls."""
log = logging.getLogger("codec_speed")


def _best(call, batches: list, repeats: int) -> tuple[float, float, list]:  # noqa: ANN001
    """(CPU seconds, wall seconds, results) of the fastest of ``repeats`` passes over ``batches``."""
    cpu = wall = float("inf")
    out: list = []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = [call(b) for b in batches]
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, out


def measure(bundle, records: np.ndarray, error_bound, batch: int, repeats: int) -> dict:  # noqa: ANN001
    """Speeds, kind-3 share and ratio of coding ``records`` (N, D) in batches of ``batch``."""
    from compressor.codec import Codec
    from compressor.envelope import LEARNED_KINDS, unpack

    producer = Codec(bundle, error_bound=error_bound)
    consumer = Codec(bundle)
    consumer.decode([unpack(p) for p in producer.encode(records[:2]).payloads])  # first-call setup
    # whole batches only (one batch of every record when there are fewer)
    batches = [records[i : i + batch] for i in range(0, max(len(records) - batch, 0) + 1, batch)]
    enc_cpu, enc_wall, encoded = _best(producer.encode_payloads, batches, repeats)
    envelopes = [[unpack(p) for p in payloads] for payloads in encoded]
    dec_cpu, dec_wall, decoded = _best(consumer.decode, envelopes, repeats)
    coded = np.concatenate([np.stack(d) for d in decoded])
    original = np.concatenate(batches)
    err = float(np.abs(coded.astype(np.float64) - original).max())
    mb = original.nbytes / 1e6
    kinds = [e.kind for batch_envs in envelopes for e in batch_envs]
    size = sum(len(p) for payloads in encoded for p in payloads)
    return {
        "records": len(original),
        "enc_mb_s": mb / enc_cpu,
        "dec_mb_s": mb / dec_cpu,
        "enc_wall_mb_s": mb / enc_wall,
        "dec_wall_mb_s": mb / dec_wall,
        "learned_share": sum(k in LEARNED_KINDS for k in kinds) / len(kinds),
        "ratio": original.nbytes / size,
        "max_err_over_e": err / error_bound.value,
    }


def _sets(names: list[str], window: int, model_dir: str | None, batch: int):  # noqa: ANN202
    from compressor.bundle import load_bundle, save_bundle

    for label in names:
        if label == "MNIST t10k":
            from compressor.data import load_records

            rs = load_records(DATA / "mnist_t10k" / "t10k-images-idx3-ubyte.gz")
            train, test = rs.records[:5000], rs.records[-5000:]
            args: tuple = (1, rs.channels, rs.columns, rs.shape)
        else:
            path = DATA / {**SERIES, **EXTRA}[label][0]
            train, test, channels, columns, shape = _series_sets(path, window)
            test = _coded_half(path, window, channels, batch)
            args = (window, channels, columns, shape)
        cache = (
            Path(model_dir) / label.replace(" ", "_").replace("(", "").replace(")", "") if model_dir else None
        )
        if cache is not None and (cache / "manifest.json").exists():
            bundle = load_bundle(cache)
        else:
            bundle = _train(train, *args)
            if cache is not None:
                save_bundle(bundle, cache)
        yield label, bundle, np.ascontiguousarray(test, np.float32)


def _coded_half(path: Path, window: int, channels: int, batch: int) -> np.ndarray:
    """The records coded: windows of the second half of a series, side by side, or overlapping (the
    largest stride that yields two batches) where side by side they fill fewer than two batches."""
    from compressor.data import load_records

    rows = load_records(path, window=1).records.reshape(-1, channels)
    second = rows[len(rows) // 2 :]
    stride = window
    if (len(second) - window) // window + 1 < 2 * batch:
        stride = max(1, (len(second) - window) // (2 * batch - 1))
    return _windows(second, window, stride)


def _shown(argv: list[str] | None) -> list[str]:
    """The command's arguments as shown with its figures: without the model cache and ``--write``, which
    change no figure (and would show a local path)."""
    out: list[str] = []
    skip = False
    for a in sys.argv[1:] if argv is None else argv:
        if skip:
            skip = False
        elif a == "--models":
            skip = True
        elif not a.startswith("--models=") and a != "--write":
            out.append(f"'{a}'" if " " in a else a)
    return out


def main(argv: list[str] | None = None) -> int:
    from compressor.error_bound import ErrorBound

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--datasets",
        default="MIT-BIH 100 (2 leads)",
        help=f"comma-separated, of {[*SERIES, *EXTRA, 'MNIST t10k']}",
    )
    p.add_argument("--window", type=int, default=128)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--records", type=int, default=2048, help="records coded per pass at most")
    p.add_argument("--bounds", default="1e-2,1e-3,lossless", help="relative bounds, and/or lossless")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--models", default=None, help="folder to keep trained models in and reuse them from")
    p.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not DATA.is_dir():
        print(f"shared data folder {DATA} is absent (set LATENTWIRE_DATA_DIR)", file=sys.stderr)
        return 1
    rows = []
    for label, bundle, test in _sets(args.datasets.split(","), args.window, args.models, args.batch):
        test = test[: args.records]
        for name in args.bounds.split(","):
            bound = (
                lossless_bound(bundle)
                if name == "lossless"
                else ErrorBound.resolve(bundle, float(name), True)
            )
            if bound is None:
                continue
            row = {"data": label, "e": name, **measure(bundle, test, bound, args.batch, args.repeats)}
            log.info("%s", row)
            rows.append(row)
    from benchmarks.report import markdown_table

    header = [
        "data",
        "e",
        "records",
        "enc MB/s",
        "dec MB/s",
        "enc wall",
        "dec wall",
        "learned",
        "ratio",
        "err/E",
    ]
    keys = ["data", "e", "records", "enc_mb_s", "dec_mb_s", "enc_wall_mb_s", "dec_wall_mb_s"]
    table = [
        [r[k] for k in keys] + [f"{100 * r['learned_share']:.0f} %", r["ratio"], r["max_err_over_e"]]
        for r in rows
    ]
    command = "python -m benchmarks.codec_speed" + "".join(f" {a}" for a in _shown(argv))
    text = "\n".join(
        [
            "## Codec speed",
            "",
            f"Produced by `{command.strip()}`, batches of {args.batch} records, one core.",
            "MB/s of raw float32 per CPU second of the process (best of the passes; the machine is shared,",
            "so wall-time figures, also shown, vary with other work). `learned`: records coded by the",
            "learned model (kind 3 or 6). `err/E`: worst decoded error over the bound. Series whose second",
            "half holds fewer than two batches of windows side by side are coded as overlapping windows.",
            "",
            markdown_table(header, table),
            "",
            f"Load average of the machine (2 cores) at the end of the run: {os.getloadavg()[0]:.1f}.",
            "",
            ANALYSIS,
        ]
    )
    print(text)
    if args.write:
        from benchmarks.report import replace_section

        replace_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

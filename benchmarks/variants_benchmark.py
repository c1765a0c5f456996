"""Every autoencoder variant on real data: training time, codec throughput, reconstruction, and the
figures of each application (denoising gain, feature quality, sample quality).

* compression, cost and denoising: MIT-BIH ECG record 100 (``ecg_mitdb100/mitdb100_adu.csv``, both
  leads), records of 64 samples x 2 leads; the first 80% of records train (the last 20% of those for
  validation/early stopping), the last 20% are held back for every figure.
* features: MNIST t10k, each variant trained on the first 8,000 images; logistic regression
  (scikit-learn) is fitted on the latents (or raw pixels) of those 8,000 and tested on the last 2,000.
* sampling: the variational model's samples against held-back ECG records: squared MMD (Gaussian kernel,
  median bandwidth) and the mean per-feature two-sample KS statistic; references are the training records
  themselves (what "as good as real data" looks like) and independent Gaussian noise with each feature's
  mean and standard deviation (a naive generator).

    python benchmarks/variants_benchmark.py            # writes the variants section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA_DIR = Path(
    os.environ.get("LATENTWIRE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
CONFIGS = [
    ("vanilla", {}),
    ("vanilla", {"arch": "conv"}),
    ("variational", {}),
    ("denoising", {}),
    ("sparse", {}),
    ("contractive", {}),
]


def label(name: str, options: dict) -> str:
    return name + (" (conv)" if options.get("arch") == "conv" else "")


def throughput(fn, records: np.ndarray, repeat: int = 7) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(records)
        best = min(best, time.perf_counter() - t)
    return len(records) / best


def compression(args: argparse.Namespace) -> tuple[list[dict], dict]:
    from compressor.applications.denoise import psnr_gain
    from compressor.codec import Codec
    from compressor.data import load_records
    from compressor.envelope import unpack
    from compressor.quality import measure
    from compressor.training import TrainingConfig, train

    rs = load_records(DATA_DIR / "ecg_mitdb100" / "mitdb100_adu.csv", window=64, max_records=args.ecg_records)
    cut = int(len(rs) * 0.8)
    fit, held = rs.records[:cut], rs.records[cut:]
    rows, bundles = [], {}
    for name, options in CONFIGS:
        config = TrainingConfig(model=name, latent_dim=16, epochs=args.epochs, batch_size=64, options=options)
        bundle, summary = train(
            fit, window=rs.window, channels=rs.channels, columns=rs.columns, config=config, progress=False
        )
        bundle.model_id = "ab" * 32
        codec = Codec(bundle)
        encoded = codec.encode(held)
        envelopes = [unpack(p) for p in encoded.payloads]
        q = measure(held, encoded.decoded)
        rows.append(
            {
                "variant": label(name, options),
                "train_s": summary.seconds,
                "epochs": summary.epochs_run,
                "encode_rec_s": throughput(codec.encode, held),
                "decode_rec_s": throughput(codec.decode, envelopes),
                "backend": codec._encoder.backend,
                "bytes_per_record": float(np.mean([len(p) for p in encoded.payloads])),
                "ratio": held.shape[1] * 4 / float(np.mean([len(p) for p in encoded.payloads])),
                "rmse_adu": float(np.sqrt(np.mean(q.rmse**2))),
                "psnr_db": q.psnr_db,
                "denoise": psnr_gain(bundle, held, args.noise_std, seed=1),
                "anomaly_threshold": bundle.anomaly.threshold,
            }
        )
        bundles[label(name, options)] = bundle
        print(json.dumps(rows[-1]), flush=True)
    return rows, {"bundles": bundles, "fit": fit, "held": held, "records": len(rs), "d": held.shape[1]}


def feature_quality(args: argparse.Namespace) -> list[dict]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from compressor.applications.features import features
    from compressor.data import load_labels_idx, load_records
    from compressor.training import TrainingConfig, train

    images = load_records(DATA_DIR / "mnist_t10k" / "t10k-images-idx3-ubyte.gz").records
    labels = load_labels_idx(DATA_DIR / "mnist_t10k" / "t10k-labels-idx1-ubyte.gz")
    x_fit, y_fit, x_test, y_test = images[:8000], labels[:8000], images[8000:], labels[8000:]

    def accuracy(a: np.ndarray, b: np.ndarray) -> float:
        scaler = StandardScaler().fit(a)
        clf = LogisticRegression(max_iter=2000).fit(scaler.transform(a), y_fit)
        return float(clf.score(scaler.transform(b), y_test))

    rows = [{"features": "raw pixels (784)", "dims": 784, "accuracy": accuracy(x_fit, x_test)}]
    print(json.dumps(rows[-1]), flush=True)
    for name, options in CONFIGS:
        if options:
            continue
        config = TrainingConfig(
            model=name, latent_dim=32, epochs=args.mnist_epochs, batch_size=128, options=options
        )
        bundle, _ = train(x_fit, window=1, channels=784, config=config, progress=False)
        rows.append(
            {
                "features": f"{name} latents",
                "dims": 32,
                "accuracy": accuracy(features(bundle, x_fit), features(bundle, x_test)),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def sample_quality(ctx: dict) -> list[dict]:
    from scipy.stats import ks_2samp

    from compressor.applications.generate import mmd_rbf, sample

    held, fit = ctx["held"], ctx["fit"]
    rng = np.random.default_rng(0)
    n = len(held)
    scale = fit.std(axis=0)
    candidates = {
        "VAE samples (variational)": sample(ctx["bundles"]["variational"], n, seed=0),
        "reference: real training records": fit[rng.choice(len(fit), n, replace=False)],
        "baseline: independent Gaussian per feature": fit.mean(axis=0)
        + scale * rng.standard_normal(held.shape),
    }
    rows = []
    for name, x in candidates.items():
        ks = float(np.mean([ks_2samp(x[:, j], held[:, j]).statistic for j in range(held.shape[1])]))
        rows.append({"generator": name, "mmd2": mmd_rbf(x / scale, held / scale), "mean_ks": ks})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def write_docs(
    comp: list[dict],
    ctx: dict,
    feats: list[dict],
    samples: list[dict],
    args: argparse.Namespace,
    nab: dict | None,
) -> None:
    from benchmarks.report import markdown_table, replace_section

    cmd = "python benchmarks/variants_benchmark.py" + (
        f" --epochs {args.epochs}" if args.epochs != 40 else ""
    )
    body = [
        "## Autoencoder variants and applications",
        "",
        f"Produced by `{cmd}` on a 2-core shared CPU (timings are indicative). ECG: MIT-BIH record 100, "
        f"{ctx['records']} records of 64 samples x 2 leads (D = {ctx['d']}), latent 16 x 8 bits, first 80% "
        "to train (early stopping on its last 20%), figures on the held-back last 20%.",
        "",
        "### Compression and computational cost",
        "",
        markdown_table(
            [
                "variant",
                "train s",
                "epochs",
                "encode rec/s",
                "decode rec/s",
                "inference",
                "bytes/rec",
                "ratio",
                "RMSE (ADU)",
                "PSNR dB",
            ],
            [
                [
                    r["variant"],
                    r["train_s"],
                    r["epochs"],
                    r["encode_rec_s"],
                    r["decode_rec_s"],
                    r["backend"],
                    r["bytes_per_record"],
                    r["ratio"],
                    r["rmse_adu"],
                    r["psnr_db"],
                ]
                for r in comp
            ],
        ),
        "",
        "Throughput: best of 7 passes over the held-back records with `Codec.encode` / `Codec.decode`, "
        "one batch each. Every dense variant has the same inference graph (noise, sampling and penalties "
        "exist only in training), so their differences in rec/s are contention from other jobs on the shared "
        "CPU, not the model; training time is where the variants differ (the contractive Jacobian, the VAE's "
        "two heads, conv layers).",
        "",
        f"### Denoising (Gaussian noise of {args.noise_std} x each lead's std added to held-back records)",
        "",
        markdown_table(
            ["variant", "PSNR noisy dB", "PSNR denoised dB", "gain dB"],
            [
                [
                    r["variant"],
                    r["denoise"]["psnr_noisy_db"],
                    r["denoise"]["psnr_denoised_db"],
                    r["denoise"]["gain_db"],
                ]
                for r in comp
            ],
        ),
        "",
        f"CLI equivalent: `latentwire denoise --model BUNDLE --data HELD_BACK.csv --window 64 --noise-std "
        f"{args.noise_std}`.",
        "",
        f"### Feature learning (MNIST t10k, {args.mnist_epochs} epochs, logistic regression on 8,000, "
        "tested on 2,000)",
        "",
        markdown_table(
            ["features", "dims", "test accuracy"], [[r["features"], r["dims"], r["accuracy"]] for r in feats]
        ),
        "",
        "### Generative modelling (variational model, ECG; lower is closer to held-back records)",
        "",
        markdown_table(
            ["generator", "MMD^2 (standardized)", "mean per-feature KS"],
            [[r["generator"], r["mmd2"], r["mean_ks"]] for r in samples],
        ),
    ]
    if nab:
        body += ["", nab["markdown"]]
    replace_section("variants-benchmark", "\n".join(body))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--mnist-epochs", type=int, default=15)
    p.add_argument("--ecg-records", type=int, default=5000)
    p.add_argument("--noise-std", type=float, default=0.5)
    p.add_argument(
        "--nab-json", default=None, help="NAB results written by nab_benchmark.py --json, to include"
    )
    p.add_argument("--no-docs", action="store_true", help="print only, do not rewrite docs/benchmarks.md")
    args = p.parse_args(argv)
    if not (DATA_DIR / "ecg_mitdb100" / "mitdb100_adu.csv").is_file():
        print(f"shared data not found under {DATA_DIR} (set LATENTWIRE_DATA_DIR)", file=sys.stderr)
        return 0
    comp, ctx = compression(args)
    samples = sample_quality(ctx)
    feats = feature_quality(args)
    nab = None
    if args.nab_json:
        from benchmarks.nab_benchmark import markdown as nab_markdown

        nab = {"markdown": nab_markdown(json.loads(Path(args.nab_json).read_text()))}
    if not args.no_docs:
        write_docs(comp, ctx, feats, samples, args, nab)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

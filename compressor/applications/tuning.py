"""Choice of architecture: search latent size and depth for the smallest payload that meets a target.

Each trial trains a bundle (:func:`compressor.training.train`) and encodes the held-back records with the
bundle's codec: fixed rate (quality target ``target_rmse`` or ``target_psnr`` on the held-back records),
or error-bounded (``error_bound``: every decoded value within the bound, so the question is only which
model gives the fewest bytes per record). Latent sizes are tried from small to large; once a latent
size meets the target, larger ones are skipped in fixed-rate mode (their payload can only be bigger).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compressor.error_bound import ErrorBound
from compressor.errors import ConfigError

__all__ = ["Trial", "TuneResult", "depth_units", "tune"]


@dataclass(frozen=True)
class Trial:
    """One model tried by :func:`tune`, measured on held-back records.

    Arguments:
        latent_dim (int): latent values per record.
        depth (int): hidden layers between the input and the latent layer.
        hidden (tuple[int, ...]): their sizes, from the input side.
        bytes_per_record (float): mean payload size.
        rmse (float): root mean squared error over the held-back records.
        psnr_db (float): peak signal-to-noise ratio over them, in dB.
        max_abs_error (float): largest absolute error of any value.
        seconds (float): time to train and measure this trial.
        meets_target (bool): whether the trial meets the target it was tuned for.
    """

    latent_dim: int
    depth: int
    hidden: tuple[int, ...]
    bytes_per_record: float
    rmse: float
    psnr_db: float
    max_abs_error: float
    seconds: float
    meets_target: bool

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class TuneResult:
    """What :func:`tune` found.

    Arguments:
        bundle (Bundle | None): the chosen bundle, or None if no trial met the target.
        best (Trial | None): the chosen trial (fewest bytes per record among those meeting the target).
        trials (list[Trial]): every trial, in the order run.
    """

    bundle: Any
    best: Trial | None
    trials: list[Trial]


def depth_units(input_dim: int, latent_dim: int, depth: int) -> list[int]:
    """``depth`` hidden layer sizes tapering geometrically from about input_dim/2 towards 2 x latent_dim."""
    if depth < 1:
        return []
    top = max(min(input_dim // 2, 512), 2 * latent_dim, 16)
    bottom = max(2 * latent_dim, 16)
    if depth == 1:
        return [top]
    ratio = (bottom / top) ** (1 / (depth - 1))
    return [max(int(round(top * ratio**i)), bottom) for i in range(depth)]


def tune(
    records: np.ndarray,
    *,
    window: int,
    channels: int,
    columns: tuple[str, ...] = (),
    shape: tuple[int, ...] = (),
    model: str = "vanilla",
    latent_dims: list[int] | None = None,
    depths: tuple[int, ...] = (1, 2),
    target_rmse: float | None = None,
    target_psnr: float | None = None,
    error_bound: ErrorBound | None = None,
    epochs: int = 30,
    latent_bits: int = 8,
    options: dict | None = None,
    progress: bool | None = None,
    on_trial: Any = None,
) -> TuneResult:
    """Train one bundle per (latent size, depth) and keep the one with the fewest bytes per record that
    meets the target. ``on_trial(trial)`` is called after each trial."""
    from compressor.codec import Codec
    from compressor.progress import bar
    from compressor.quality import measure
    from compressor.training import TrainingConfig, train

    if error_bound is None and target_rmse is None and target_psnr is None:
        raise ConfigError("give a target: --target-rmse, --target-psnr or --error-bound")
    d = records.shape[1]
    sizes = sorted(set(latent_dims or [s for s in (2, 4, 8, 16, 32, 64) if s < d] or [1]))
    plan = [(z, k) for z in sizes for k in depths]
    trials: list[Trial] = []
    best: tuple[Trial, Any] | None = None
    met_at: int | None = None
    held_back = records[-max(int(round(len(records) * 0.2)), 1) :]
    with bar(len(plan), "tuning", enabled=progress, unit="model") as progress_bar:
        for latent, depth in plan:
            if met_at is not None and latent > met_at and error_bound is None:
                progress_bar.update(1)
                continue
            started = time.monotonic()
            hidden = depth_units(d, latent, depth)
            config = TrainingConfig(
                model=model,
                latent_dim=latent,
                latent_bits=latent_bits,
                epochs=epochs,
                options={**(options or {}), "hidden": hidden},
            )
            bundle, _ = train(
                records,
                window=window,
                channels=channels,
                columns=columns,
                shape=shape,
                config=config,
                progress=False,
            )
            codec = Codec(bundle, error_bound=error_bound)
            encoded = codec.encode(held_back)
            quality = measure(held_back, encoded.decoded)
            rmse = float(np.sqrt(np.mean(quality.rmse**2)))
            if error_bound is not None:
                meets = quality.worst <= error_bound.value * (1 + 1e-6)
            else:
                meets = (target_rmse is None or rmse <= target_rmse) and (
                    target_psnr is None or quality.psnr_db >= target_psnr
                )
            trial = Trial(
                latent,
                depth,
                tuple(hidden),
                float(np.mean([len(p) for p in encoded.payloads])),
                rmse,
                quality.psnr_db,
                quality.worst,
                time.monotonic() - started,
                bool(meets),
            )
            trials.append(trial)
            if on_trial is not None:
                on_trial(trial)
            if meets:
                met_at = latent if met_at is None else min(met_at, latent)
                key = (trial.bytes_per_record, -trial.psnr_db)
                if best is None or key < (best[0].bytes_per_record, -best[0].psnr_db):
                    best = (trial, bundle)
            progress_bar.update(1)
    return TuneResult(bundle=best[1] if best else None, best=best[0] if best else None, trials=trials)

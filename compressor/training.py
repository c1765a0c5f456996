"""Train an autoencoder on records and freeze everything the codec needs into a bundle."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from compressor.bundle import Bundle
from compressor.capacity import Capacity, choose, default_latent_dim, smaller
from compressor.errors import ConfigError, DataError
from compressor.normalization import Normalizer
from compressor.quantization import LatentQuantizer

__all__ = ["TrainingConfig", "TrainingSummary", "default_latent_dim", "train"]

log = logging.getLogger(__name__)

#: the train/validation gap (relative to validation loss) past which the summary warns of overfitting
OVERFIT_GAP = 0.5


@dataclass(frozen=True)
class TrainingConfig:
    """How :func:`train` trains a model.

    Arguments:
        model (str): registered model variant. Default: ``"vanilla"``.
        latent_dim (int | None): latent values per record. Default: None, chosen from the record size and
            the number of training records (:func:`compressor.capacity.choose`).
        latent_bits (int): bits per quantized latent value. Default: 8.
        epochs (int | None): most epochs to train. Default: None, 100 or fewer for large training sets
            (:func:`compressor.capacity.choose`).
        batch_size (int): records per training step. Default: 128.
        validation_split (float): share of the records held back for validation, in ``(0, 0.9)``.
            Default: 0.2.
        patience (int): epochs without a better validation loss before training stops. Default: 8.
        learning_rate (float): the optimizer's learning rate. Default: 0.001.
        seed (int): seed of weights, shuffling and noise. Default: 0.
        options (dict): options of the model variant. Default: empty.
    """

    model: str = "vanilla"
    latent_dim: int | None = None
    latent_bits: int = 8
    epochs: int | None = None
    batch_size: int = 128
    validation_split: float = 0.2
    patience: int = 8
    learning_rate: float = 1e-3
    seed: int = 0
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.validation_split < 0.9:
            raise ConfigError(f"validation split must be in (0, 0.9), got {self.validation_split}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.latent_dim is not None and self.latent_dim < 1:
            raise ConfigError(f"latent dim must be positive, got {self.latent_dim}")


@dataclass
class TrainingSummary:
    """What :func:`train` did and how the model does on its held-back (validation) records.

    Arguments:
        model (str): the model variant.
        records (int): records given, including those skipped.
        skipped_non_finite (int): records left out for holding NaN or Inf.
        train_records (int): records trained on.
        validation_records (int): records held back.
        record_size (int): values per record.
        latent_dim (int): latent values per record.
        latent_bits (int): bits per quantized latent value.
        epochs_run (int): epochs trained before early stopping.
        train_loss (float): training loss at the best epoch.
        validation_loss (float): validation loss at the best epoch.
        train_validation_gap (float): ``(validation - train) / validation`` loss.
        overfitting (bool): whether that gap is past the warning level (after any retraining).
        capacity (dict): the chosen :class:`compressor.capacity.Capacity` (latent size, hidden widths,
            weight decay, epochs) and the reason, including a retraining after overfitting.
        retrained (bool): whether overfitting made training start again with a smaller model.
        heldback_rmse (float): root mean squared error of the held-back records after coding.
        heldback_max_abs_error (float): their largest absolute error.
        heldback_psnr_db (float): their peak signal-to-noise ratio, in dB.
        bytes_per_record (float): mean payload size of the held-back records.
        compression_ratio (float): raw float32 bytes over that.
        seconds (float): time taken.
    """

    model: str
    records: int
    skipped_non_finite: int
    train_records: int
    validation_records: int
    record_size: int
    latent_dim: int
    latent_bits: int
    epochs_run: int
    train_loss: float
    validation_loss: float
    train_validation_gap: float
    overfitting: bool
    capacity: dict
    retrained: bool
    heldback_rmse: float
    heldback_max_abs_error: float
    heldback_psnr_db: float
    bytes_per_record: float
    compression_ratio: float
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def _gap(train_loss: float, val_loss: float) -> float:
    return float((val_loss - train_loss) / max(val_loss, 1e-12))


def _fit(
    config: TrainingConfig,
    capacity: Capacity,
    window: int,
    channels: int,
    x_fit: np.ndarray,
    x_val: np.ndarray,
    progress: bool | None,
) -> tuple[Any, float, float, int]:
    """A model of ``capacity`` trained with early stopping: ``(autoencoder, train loss, validation loss,
    epochs run)``, the losses at the best epoch."""
    from compressor.backend import keras
    from compressor.models import ModelSpec, build_model
    from compressor.progress import keras_epoch_bar

    keras.utils.set_random_seed(config.seed)
    spec = ModelSpec(
        input_dim=x_fit.shape[1],
        latent_dim=capacity.latent_dim,
        window=window,
        channels=channels,
        options={
            "learning_rate": config.learning_rate,
            **config.options,
            "hidden": list(capacity.hidden),
            "weight_decay": capacity.weight_decay,
        },
    )
    ae = build_model(config.model, spec)
    history = ae.trainer.fit(
        x_fit,
        x_fit,
        validation_data=(x_val, x_val),
        epochs=capacity.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            ),
            keras_epoch_bar(capacity.epochs, enabled=progress),
        ],
    )
    losses = history.history
    best = int(np.argmin(losses["val_loss"]))
    return ae, float(losses["loss"][best]), float(losses["val_loss"][best]), len(losses["loss"])


def train(
    records: np.ndarray,
    *,
    window: int,
    channels: int,
    columns: tuple[str, ...] = (),
    shape: tuple[int, ...] = (),
    config: TrainingConfig | None = None,
    progress: bool | None = None,
) -> tuple[Bundle, TrainingSummary]:
    """Fit ``config.model`` on ``records`` (N, D); the last ``validation_split`` of records is held back."""
    from compressor.codec import Codec
    from compressor.quality import measure

    config = config or TrainingConfig()
    started = time.monotonic()
    records = np.asarray(records, dtype=np.float32)
    if records.ndim != 2:
        raise DataError(f"training needs a 2-D array of records, got shape {records.shape}")
    finite = np.isfinite(records).all(axis=1)
    skipped = int((~finite).sum())
    if skipped:
        log.warning("left %d record(s) holding NaN/Inf out of training", skipped)
    records = records[finite]
    n_val = int(round(len(records) * config.validation_split))
    if len(records) - n_val < 8 or n_val < 1:
        raise DataError(f"too few usable records to train and validate: {len(records)} (need at least 10)")
    fit_part, val_part = records[:-n_val], records[-n_val:]

    normalizer = Normalizer.fit(fit_part, channels)
    x_fit, x_val = normalizer.forward(fit_part), normalizer.forward(val_part)
    d = records.shape[1]
    capacity = choose(
        len(fit_part),
        d,
        batch_size=config.batch_size,
        latent_dim=config.latent_dim,
        hidden=tuple(config.options["hidden"]) if "hidden" in config.options else None,
        weight_decay=config.options.get("weight_decay"),
        epochs=config.epochs,
    )
    ae, train_loss, val_loss, epochs_run = _fit(config, capacity, window, channels, x_fit, x_val, progress)
    gap = _gap(train_loss, val_loss)
    retrained = False
    automatic = config.latent_dim is None and "hidden" not in config.options
    if gap > OVERFIT_GAP and automatic and capacity.latent_dim > 2:
        # overfitting changes the choice: a smaller, more regularised model, kept if it validates better
        smaller_capacity = smaller(capacity, f"validation loss {100 * gap:.0f}% above training loss")
        log.info("overfitting (gap %.0f%%): %s", 100 * gap, smaller_capacity.reason)
        second = _fit(config, smaller_capacity, window, channels, x_fit, x_val, progress)
        retrained = True
        if second[2] < val_loss:
            ae, train_loss, val_loss, epochs_run = second
            capacity = smaller_capacity
        else:
            capacity = replace(
                capacity, reason=f"{smaller_capacity.reason}, which validated worse: kept the first"
            )
        gap = _gap(train_loss, val_loss)
    latent_dim = capacity.latent_dim

    from compressor.inference import Predictor

    fit_latents = Predictor(ae.encoder)(x_fit)
    quantizer = LatentQuantizer.fit(fit_latents, bits=config.latent_bits)
    bundle = Bundle(
        encoder=ae.encoder,
        decoder=ae.decoder,
        normalizer=normalizer,
        quantizer=quantizer,
        model_name=config.model,
        window=window,
        channels=channels,
        columns=tuple(columns),
        shape=tuple(shape),
        model_id="0" * 64,  # provisional until saved; the codec only needs the 4 wire bytes
    )
    from compressor.anomaly import calibrate, reference_sample

    # the anomaly threshold: a high quantile of the held-back records' reconstruction errors
    bundle.anomaly = calibrate(ae.encoder, ae.decoder, x_val)
    # the training windows detection compares a series' windows with (nearest-neighbour distance)
    bundle.reference = reference_sample(records)
    from compressor.applications.denoise import fit_blend

    # denoising: weights of the model and classical smoothers per noise level, fitted on held-back records
    bundle.denoise_blend = fit_blend(ae.encoder, ae.decoder, normalizer, val_part, window, config.seed)
    from compressor.bounded.hints import fit_hints
    from compressor.bounded.predictors import record_layout
    from compressor.bounded.stats import BoundedStats, fit_stats, latent_counts

    # statistics the error-bounded codec expects at the consumer (value ranges, residual scales, latent codes)
    layout = record_layout(d, window, channels, tuple(shape))
    stats = fit_stats(records, layout)
    stats["latent_counts"] = latent_counts(quantizer.quantize(fit_latents))
    bundle.bounded_stats = BoundedStats.from_json(stats)
    # where the error-bounded encoder's effort pays on held-back records (never changes what decodes)
    stats.update(fit_hints(bundle, val_part))
    bundle.bounded_stats = BoundedStats.from_json(stats)
    from compressor.learned.bundle import fit_learned

    # the learned probability model (envelope kind 3), kept only if it shrinks held-back records
    bundle.learned = fit_learned(bundle, records[: len(fit_part)], val_part)
    encoded = Codec(bundle).encode(val_part)
    quality = measure(val_part, encoded.decoded)
    bytes_per_record = float(np.mean([len(p) for p in encoded.payloads]))
    summary = TrainingSummary(
        model=config.model,
        records=int(len(records) + skipped),
        skipped_non_finite=skipped,
        train_records=int(len(fit_part)),
        validation_records=int(n_val),
        record_size=d,
        latent_dim=latent_dim,
        latent_bits=config.latent_bits,
        epochs_run=epochs_run,
        train_loss=train_loss,
        validation_loss=val_loss,
        train_validation_gap=float(gap),
        overfitting=bool(gap > OVERFIT_GAP),
        capacity=capacity.to_json(),
        retrained=retrained,
        heldback_rmse=float(np.sqrt(np.mean(quality.rmse**2))),
        heldback_max_abs_error=quality.worst,
        heldback_psnr_db=quality.psnr_db,
        bytes_per_record=bytes_per_record,
        compression_ratio=float(d * 4 / bytes_per_record),
        seconds=time.monotonic() - started,
    )
    if summary.overfitting:
        log.warning(
            "validation loss is %.0f%% above training loss even after choosing a smaller model: the held-back "
            "records may differ from the training ones (more data or a smaller --latent-dim may help)",
            100 * gap,
        )
    bundle.training = summary.to_json()
    return bundle, summary

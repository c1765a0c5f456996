"""Model capacity chosen from the data: latent size, hidden widths, weight decay and epochs.

A few records of many values are easy to memorise, so the defaults shrink the model as records get few:

* latent size: one value per eight inputs (2 to 64), and at most one per eight training records;
* hidden widths: two dense layers tapering from the input towards the latent size
  (:func:`compressor.models.vanilla.hidden_units`), each no wider than the number of training records
  (but at least twice the latent size and 16);
* weight decay (L2 on the dense kernels): none when the training set holds at least :data:`AMPLE` values
  per weight, ``1e-4`` below that, ``1e-3`` when it holds fewer values than weights;
* epochs: at most 100, and at most about :data:`STEP_BUDGET` optimiser steps in all (so large files train
  in minutes), at least 20; early stopping usually ends training sooner.

When validation shows overfitting, :func:`smaller` gives the next choice: half the latent size and
widths, ten times the weight decay (at least ``1e-4``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

__all__ = ["AMPLE", "STEP_BUDGET", "Capacity", "choose", "default_latent_dim", "smaller"]

#: training values per weight above which no weight decay is used
AMPLE = 10.0
#: about how many optimiser steps training may take at the default number of epochs
STEP_BUDGET = 2000
MAX_EPOCHS = 100
MIN_EPOCHS = 20


@dataclass(frozen=True)
class Capacity:
    """A model size and training length, and why.

    Arguments:
        latent_dim (int): latent values per record.
        hidden (tuple[int, ...]): dense hidden layer widths from the input side.
        weight_decay (float): L2 penalty on the dense kernels.
        epochs (int): most epochs to train.
        reason (str): how they were chosen, for the training summary.
    """

    latent_dim: int
    hidden: tuple[int, ...]
    weight_decay: float
    epochs: int
    reason: str

    def to_json(self) -> dict:
        return asdict(self)


def default_latent_dim(record_size: int) -> int:
    """One latent value per eight inputs, between 2 and 64."""
    return int(min(max(record_size // 8, 2), 64))


def _weights(record_size: int, latent: int, hidden: tuple[int, ...]) -> int:
    sizes = (record_size, *hidden, latent)
    return 2 * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))


def _decay(values: int, weights: int) -> float:
    if values >= AMPLE * weights:
        return 0.0
    return 1e-4 if values >= weights else 1e-3


def choose(
    n_train: int,
    record_size: int,
    *,
    batch_size: int = 128,
    latent_dim: int | None = None,
    hidden: tuple[int, ...] | None = None,
    weight_decay: float | None = None,
    epochs: int | None = None,
) -> Capacity:
    """The capacity for ``n_train`` training records of ``record_size`` values; given values are kept."""
    from compressor.models.vanilla import hidden_units

    notes = []
    latent = latent_dim or default_latent_dim(record_size)
    if latent_dim is None and latent > max(2, n_train // 8):
        latent = max(2, n_train // 8)
        notes.append(f"latent capped at one per 8 of the {n_train} training records")
    if hidden is None:
        cap = max(n_train, 2 * latent, 16)
        full = hidden_units(record_size, latent)
        hidden = tuple(min(h, cap) for h in full)
        if tuple(full) != hidden:
            notes.append(f"hidden widths capped at {cap} (training records)")
    values, weights = n_train * record_size, _weights(record_size, latent, tuple(hidden))
    if weight_decay is None:
        weight_decay = _decay(values, weights)
        notes.append(f"{values / weights:.2g} training values per weight -> weight decay {weight_decay:g}")
    if epochs is None:
        steps = max(1, math.ceil(n_train / batch_size))
        epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, STEP_BUDGET // steps)))
        if epochs < MAX_EPOCHS:
            notes.append(f"at most {epochs} epochs ({steps} steps each, budget {STEP_BUDGET} steps)")
    return Capacity(
        int(latent), tuple(int(h) for h in hidden), float(weight_decay), int(epochs), "; ".join(notes)
    )


def smaller(capacity: Capacity, why: str) -> Capacity:
    """The next choice after overfitting: half the latent size and widths, ten times the weight decay."""
    latent = max(2, capacity.latent_dim // 2)
    hidden = tuple(max(h // 2, 2 * latent, 16) for h in capacity.hidden)
    decay = max(1e-4, 10 * capacity.weight_decay)
    return replace(
        capacity,
        latent_dim=latent,
        hidden=hidden,
        weight_decay=decay,
        reason=f"{capacity.reason}; {why}: retrained with latent {latent}, hidden {list(hidden)}, "
        f"weight decay {decay:g}",
    )

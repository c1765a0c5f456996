"""Counts where a count is the coarser step: the grid of learned kind 11 (wire version 9).

A kind-8 record codes every value on one grid of its bound: the plain grid of ``2E`` or the data's lattice.
Where a column holds counts a driver converted and rounded (:mod:`compressor.bounded.fine_lattice`) and one
count is no finer than that grid's step, the grid puts several positions between two counts that no value
takes, and the coder pays for them: Daphnet's accelerometers move in counts of 9.1 to 10.1 units, and rel
1e-3 codes them on a plain step of 3.98. Kind 10 codes counts only at the lossless bound, every column exact.

A kind-11 record codes those columns as their counts (exact values) and the others on the record's grid,
as kind 8 does: per column, the learned model's step is one count or the grid step, and the integers it
codes are the counts or the grid integers. Its header is kind 8's (bound and grid); the kind says which
columns go as counts, and producer and consumer derive them from the bundle and the header alone, with IEEE
operations (one product and one quotient per column, the same as :meth:`BoundedParameters.steps
<compressor.bounded.parameters.BoundedParameters.steps>` computes for kind 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compressor.bounded import grid
from compressor.bounded.parameters import BoundedParameters

__all__ = ["COUNTED", "CountedGrid", "base_of", "counted_grid"]

#: grid ids of kind-11 records, by the grid of their other columns: ``COUNTED[grid.PLAIN]``,
#: ``COUNTED[grid.LATTICE]`` (distinct from the bounded coder's grids 0 to 2)
COUNTED = (3, 4)


@dataclass(frozen=True)
class CountedGrid:
    """The grid of kind-11 records of one bound and base grid.

    Arguments:
        steps (np.ndarray): (cols,) float64, the step the learned model codes each column on: one count,
            or the base grid's step.
        value_steps (np.ndarray): (D,) float64, per value the step of the grid integers counts are taken
            from and values rebuilt with: the quantum in counted columns, the base grid's step elsewhere.
        fine (tuple[np.ndarray, ...]): (D,) each, ``(p, r, off, mirror)`` of the fine lattice per value
            (identity outside the counted columns).
    """

    steps: np.ndarray
    value_steps: np.ndarray
    fine: tuple[np.ndarray, ...]


def counted_grid(params: BoundedParameters, code: int, base: int) -> CountedGrid | None:
    """The kind-11 grid of bound ``code`` over ``base`` (``grid.PLAIN`` or ``grid.LATTICE``), or None where
    no column has a fine lattice whose count is at least the base grid's step (or the base is the lattice
    and the model knows no quantum)."""
    if params.fine is None or params.quanta is None:
        return None
    p, r, _, _, has = params.fine
    base_steps = params.steps(code, base)
    with np.errstate(invalid="ignore"):
        count = params.quanta * p.astype(np.float64) / r.astype(np.float64)
        columns = has & np.isfinite(count) & (count >= base_steps)
    if not columns.any():
        return None
    return CountedGrid(
        steps=np.where(columns, count, base_steps),
        value_steps=np.tile(np.where(columns, params.quanta, base_steps), params.rows),
        fine=params.fine_values(columns),
    )


def base_of(grid_id: int) -> int:
    """The base grid (``grid.PLAIN`` or ``grid.LATTICE``) of a kind-11 grid id."""
    return grid.PLAIN if grid_id == COUNTED[grid.PLAIN] else grid.LATTICE

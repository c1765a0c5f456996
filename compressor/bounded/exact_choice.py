"""When coding exactly is the cheaper way to meet a bound.

On data with a quantum (:mod:`compressor.bounded.lattice`), a bound of a few quanta puts a grid of about
``2E`` on values that sit only on every ``u``-th position, or, for counts a driver converted and rounded
(:mod:`compressor.bounded.fine_lattice`), on every ``c``-th with ``c`` far above ``u``: ETTh1's loads are
stored to 3 decimals (``u = 0.001``) but move in counts of about 0.03 to 0.07, so a bound of 0.0044 codes
them on a step of 0.009 and spends 2 to 3 bits per value on positions no value takes. The lossless bound
codes each value's own lattice point (or count) instead: error 0, within any bound at least as large as
the lossless one, and often in fewer bits.

Often, not always: a column without a fine lattice costs more bits exactly (step ``u``) than on the
asked grid, and how many depends on how well the coder predicts it, which the model's statistics do not
tell reliably (on Daphnet at rel 1e-3 an estimate from the training residual scales favoured lossless by
3 %; coding showed it 5 % larger). So the choice is measured: :class:`ExactChoice` codes the first
:data:`TRIAL` records at both bounds, keeps the smaller payloads while it does, and then codes at the
bound that was smaller in total, trying again every :data:`RECHECK` records (a stream changes).
:func:`lossless_may_pay` decides whether a trial is worth running at all: only where the asked grid is
at least as fine as the lossless one in some column.

A record coded exactly names the lossless bound: a consumer of any version decodes it as it decodes any
lossless record, and its guarantee is tighter than the one asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from compressor.bounded import grid
from compressor.bounded.parameters import BoundedParameters

__all__ = ["RECHECK", "TRIAL", "ExactChoice", "lossless_may_pay"]

#: records coded at both bounds before the choice is made
TRIAL = 64
#: records coded after a choice before it is tried again
RECHECK = 1 << 16

Coded = TypeVar("Coded", bound=tuple)


def lossless_may_pay(params: BoundedParameters, code: int, lossless_code: int) -> bool:
    """Whether records of bound ``code`` may cost fewer bits at ``lossless_code`` (the bound code of
    :meth:`ErrorBound.lossless <compressor.error_bound.ErrorBound.lossless>`): the lossless bound is no
    larger, every column has a quantum, and in some column the asked bound codes on a step no coarser
    than the lossless one."""
    quanta = params.quanta
    if quanta is None or not np.isfinite(quanta).all():
        return False
    if grid.bound_from_code(lossless_code) > grid.bound_from_code(code):
        return False
    return bool((_coded_steps(params, code) <= _coded_steps(params, lossless_code)).any())


def _coded_steps(params: BoundedParameters, code: int) -> np.ndarray:
    """Per column the step values are coded on at bound ``code``: the lattice step, or the step of one
    count where the column goes as counts on its fine lattice."""
    return params.steps(code, grid.FINE if params.fine is not None else grid.LATTICE)


class ExactChoice:
    """The bound one producer codes a requested bound at: the asked one or the lossless one, measured.

    Arguments:
        asked (Any): the requested :class:`~compressor.error_bound.ErrorBound`.
        lossless (Any): the model's lossless bound, no larger than ``asked``.
    """

    def __init__(self, asked: Any, lossless: Any) -> None:
        self.asked = asked
        self.lossless = lossless
        #: True: code exactly; False: at the asked bound; None: on trial (both, the smaller kept)
        self.exact: bool | None = None
        self._asked_bytes = self._exact_bytes = 0  # over the current trial
        self._tried = 0
        self._since = 0

    @property
    def on_trial(self) -> bool:
        return self.exact is None

    @property
    def bound(self) -> Any:
        """The bound to code at outside a trial (the asked one during it)."""
        return self.lossless if self.exact else self.asked

    def coded(self, n: int) -> None:
        """Note ``n`` records coded at :attr:`bound`; after :data:`RECHECK` of them the next batch is a
        trial again."""
        self._since += n
        if self._since >= RECHECK:
            self.exact, self._since = None, 0

    def keep(self, asked: Coded, exact: Coded) -> Coded:
        """Of one batch coded at both bounds (each a tuple whose first item is the list of payload
        bodies), the one with fewer bytes in all (the asked one on a tie), counted toward the trial."""
        asked_size, exact_size = _total(asked[0]), _total(exact[0])
        self._asked_bytes += asked_size
        self._exact_bytes += exact_size
        self._tried += len(asked[0])
        if self._tried >= TRIAL:
            self.exact = self._exact_bytes < self._asked_bytes
            self._asked_bytes = self._exact_bytes = self._tried = 0
        return exact if exact_size < asked_size else asked


def _total(bodies: Sequence[bytes]) -> int:
    return sum(len(b) for b in bodies)

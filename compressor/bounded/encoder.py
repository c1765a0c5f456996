"""The producer side of the error-bounded codec: records to payload bodies, with the bound checked.

Encoding a batch: quantize every value to the grid of the bound (values off the grid are kept raw), compute
the residuals of every predictor, pick per record the predictor with the fewest estimated bits (the
autoencoder ones as :mod:`~compressor.bounded.probe` decides), choose a scale class per block, and write
each record's ANS stream. The values returned as decoded are rebuilt exactly as the consumer will.

Two grids: the plain grid of step ``2E`` (envelope kind 1), and, when the model knows the data's quantum
and the bound is close to or below it, the data's lattice (kind 2, :func:`grid.lattice_steps`). A record
goes on the lattice unless that would store more of its values raw than the plain grid (its values left
the lattice the model was trained on). Where the lattice is finer than ``2E`` somewhere, only its fitted
tables can make it pay: the encoder compares both grids record by record until it has seen
:data:`LEARN` records at that bound, then follows the majority (or the preference measured at training).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compressor.bounded import context, fine_lattice, grid, linear, payload, predictors, symbols
from compressor.bounded.autoencoder import AE_PREDICTORS
from compressor.bounded.one_record import OneRecord
from compressor.bounded.parameters import BoundedParameters
from compressor.bounded.probe import AutoencoderProbe
from compressor.bounded.record_kernel import quantize_one
from compressor.bounded.tables import ESCAPE, RADIUS, fitted_counts

if TYPE_CHECKING:
    from compressor.error_bound import ErrorBound

__all__ = ["LEARN", "MAX_OFF_FINE", "BoundedEncoder"]

#: a record goes as counts on the fine lattice if at most this fraction of its values are off it (raw)
MAX_OFF_FINE = 1 / 64
#: where the grid is a choice, records compared one by one before the encoder settles on the majority's
LEARN = 32


class BoundedEncoder:
    """Encodes records of one model; learns, across batches, where to spend effort (never the bits' meaning).

    Arguments:
        params (BoundedParameters): the model's shared coding parameters (with the encoder hints measured
            at training).
    """

    def __init__(self, params: BoundedParameters) -> None:
        self.params = params
        self.probe = (
            AutoencoderProbe(params, never_won=params.autoencoder_never_won)
            if params.autoencoder is not None
            else None
        )
        #: bound code -> the grid to use where the policy is "choose": measured at training for the preset
        #: bounds, learned from the first records for others
        self.prefer_lattice: dict[int, bool] = dict(params.lattice_preference)
        self._grid_votes: dict[int, tuple[int, int]] = {}
        self._table_costs: dict[tuple[int, int], np.ndarray] = {}
        self._policies: dict[int, str] = {}
        self._one = OneRecord(self)

    def encode(
        self, records: np.ndarray, error_bound: ErrorBound
    ) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """Payload bodies, the exact values a consumer will decode, and the grid of each record (int8:
        ``grid.PLAIN``, kind 1; ``grid.LATTICE``, kind 2; ``grid.FINE``, counts on the fine lattice, kind
        7), for float32 ``records`` (N, D)."""
        x = np.asarray(records, dtype=np.float32)
        n = x.shape[0]
        code = error_bound.code
        if n == 1:
            single = self._one.encode(np.ascontiguousarray(x[0]), code)
            if single is not None:
                return single
        policy = self.grid_policy(code) if n else "plain"
        if policy == "choose" and code in self.prefer_lattice:
            policy = "lattice" if self.prefer_lattice[code] else "plain"
        plain = lattice = None
        if policy != "plain":
            lattice = self.quantize(x, code, True)
        if policy != "lattice" or lattice[1].any():
            plain = self.quantize(x, code, False)
        on_lattice = np.zeros(n, dtype=bool)
        if policy == "lattice":
            # the lattice is no finer than 2E (or has proven cheaper): every record goes on it, unless that
            # would store more of its values raw than the plain grid (beyond the slack of a lossless bound)
            on_lattice = ~lattice[1].any(axis=1)
            if not on_lattice.all():
                on_lattice = lattice[1].sum(axis=1) <= plain[1].sum(axis=1) + self.lattice_slack(code)
        elif policy == "choose":
            on_lattice = self.estimate_bits(lattice, code, True) < self.estimate_bits(plain, code, False)
            self._learn_preference(code, on_lattice)
        grids = on_lattice.astype(np.int8)
        quantized = {grid.PLAIN: plain, grid.LATTICE: lattice}
        if on_lattice.any() and self.params.uses_fine(code):
            quantized[grid.FINE], fine = self.counts(*lattice, code)
            grids[on_lattice & fine] = grid.FINE
        present = [g for g in (grid.PLAIN, grid.LATTICE, grid.FINE) if (grids == g).any()]
        if len(present) == 1:
            bodies, decoded = self._encode_grid(x, *quantized[present[0]], code, present[0])
            return bodies, decoded, grids
        out: list[bytes] = [b""] * n
        decoded = np.empty_like(x)
        for g in present:
            q_all, raw_all = quantized[g]
            idx = np.flatnonzero(grids == g)
            part, values = self._encode_grid(x[idx], q_all[idx], raw_all[idx], code, g)
            decoded[idx] = values
            for i, body in zip(idx.tolist(), part, strict=True):
                out[i] = body
        return out, decoded, grids

    def counts(
        self, q: np.ndarray, raw: np.ndarray, code: int
    ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """Grid integers on the lattice ``q`` (N, D) as counts on the fine lattice, with the values off it
        (or raw already) marked raw, and which records may go as counts: those with at most
        :data:`MAX_OFF_FINE` of their values off the fine lattice (each costs a raw value)."""
        k, exact = fine_lattice.to_counts(q, *self.params.fine_flat(code))
        off = ~exact & ~raw
        raw = raw | off
        k[raw] = 0
        return (k, raw), off.sum(axis=1) <= max(1, int(MAX_OFF_FINE * q.shape[1]))

    def quantize(self, x: np.ndarray, code: int, lattice: bool) -> tuple[np.ndarray, np.ndarray]:
        """:func:`grid.quantize` of records ``x`` (N, D) on the plain grid or the lattice of bound ``code``."""
        step, bound = self.step_flat(code, lattice), grid.bound_from_code(code)
        if x.shape[0] == 1 and x.dtype == np.float32:
            q, raw, _ = quantize_one(np.ascontiguousarray(x[0]), step, bound)
            return q[None], raw[None]
        return grid.quantize(x, bound, step)

    def step_flat(self, code: int, lattice: int) -> np.ndarray:
        """The grid step of every value of a record (D,) at bound ``code``: :meth:`BoundedParameters.step_flat`."""
        return self.params.step_flat(code, lattice)

    def lattice_slack(self, code: int) -> int:
        """How many more values than on the plain grid a record may store raw on the lattice and still go
        on it. Where the lattice step is every column's quantum (a bound under half of it) the lattice
        rebuilds every value exactly: a lossless record, worth up to :data:`MAX_OFF_FINE` of its values
        raw (a rare value written at a finer resolution); elsewhere none."""
        p = self.params
        if p.quanta is None or not np.array_equal(p.steps(code, True), p.quanta):
            return 0
        return max(1, int(MAX_OFF_FINE * p.size))

    def grid_policy(self, code: int) -> str:
        """How the encoder picks the grid at bound ``code``: ``"plain"`` (no lattice, or one finer than 2E
        somewhere without fitted tables to pay for it), ``"lattice"`` (no finer than 2E anywhere: always at
        least as cheap), or ``"choose"`` (finer somewhere, but its fitted tables may make it cheaper). A pure
        function of the parameters, kept per bound."""
        policy = self._policies.get(code)
        if policy is None:
            policy = self._policies[code] = self._grid_policy(code)
        return policy

    def _grid_policy(self, code: int) -> str:
        p = self.params
        if not p.uses_lattice(code):
            return "plain"
        if (p.steps(code, True) >= p.steps(code)).all():
            return "lattice"
        return "choose" if p.table_multiplier(code) is not None else "plain"

    def estimate_bits(self, quantized: tuple[np.ndarray, np.ndarray], code: int, lattice: bool) -> np.ndarray:
        """Estimated bits per record on one grid: the best simple predictor, raw values at 48 bits each."""
        q, raw, center = self._on_grid(*quantized, code, lattice)
        bits, _, _ = self._search(q, center, code, lattice)
        return bits + 48.0 * raw.sum(axis=(1, 2))

    def _on_grid(
        self, q: np.ndarray, raw: np.ndarray, code: int, lattice: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grid integers (N, rows, cols) with raw positions filled, the raw mask, and the grid's center."""
        p = self.params
        n = q.shape[0]
        q = q.reshape(n, p.rows, p.cols)
        raw = raw.reshape(n, p.rows, p.cols)
        center = p.center(code, lattice)
        if raw.any():
            q = _fill(q, raw, center)
        return q, raw, center

    def _learn_preference(self, code: int, on_lattice: np.ndarray) -> None:
        """Per-record choices until :data:`LEARN` records have been compared, then the majority's grid."""
        seen, wins = self._grid_votes.get(code, (0, 0))
        seen, wins = seen + len(on_lattice), wins + int(on_lattice.sum())
        self._grid_votes[code] = (seen, wins)
        if seen >= LEARN:
            self.prefer_lattice[code] = 2 * wins >= seen

    def _search(
        self, q: np.ndarray, center: np.ndarray, code: int, lattice: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per record, the cheapest simple predictor by the quick estimate (best class per block, no
        switching cost; or, on a lattice with fitted tables, the table): bits, slot and residuals in scan
        order (N, cols, rows)."""
        params = self.params
        n = q.shape[0]
        best_bits = np.full(n, np.inf)
        best_pred = np.zeros(n, dtype=np.int64)
        best_r = np.zeros((n, params.cols, params.rows), dtype=np.int64)
        tables = lattice == grid.LATTICE and params.table_multiplier(code) is not None
        for p, name in enumerate(params.predictors):
            if name in AE_PREDICTORS:
                continue
            r = predictors.forward(name, q, center).transpose(0, 2, 1)  # scan order: (N, cols, rows)
            candidates = [(p, context.greedy_bits(*context.block_sums(r)))]
            if tables and name in params.tables:
                # the same residuals coded with the fitted table (slot len(predictors) + p)
                cost = self._table_cost(code, p)
                tbits = cost[np.clip(r, -RADIUS - 1, RADIUS + 1) + RADIUS + 1].sum(axis=(1, 2))
                candidates.append((len(params.predictors) + p, tbits))
            self._keep_better(candidates, r, best_bits, best_pred, best_r)
        slot = params.linear_slot(lattice)
        if slot is not None:
            r = linear.forward(q, params.linear, center).transpose(0, 2, 1)
            bits = context.greedy_bits(*context.block_sums(r))
            self._keep_better([(slot, bits)], r, best_bits, best_pred, best_r)
        return best_bits, best_pred, best_r

    @staticmethod
    def _keep_better(
        candidates: list, r: np.ndarray, best_bits: np.ndarray, best_pred: np.ndarray, best_r: np.ndarray
    ) -> None:
        """Per record, take each ``(slot, bits)`` candidate (residuals ``r``) where it beats the best so far."""
        for slot, bits in candidates:
            better = bits < best_bits
            if better.any():
                best_bits[better] = bits[better]
                best_pred[better] = slot
                best_r[better] = r[better]

    def _encode_grid(
        self, x: np.ndarray, q: np.ndarray, raw: np.ndarray, code: int, lattice: bool
    ) -> tuple[list[bytes], np.ndarray]:
        """Encode records ``x`` already quantized on one grid (``q``, ``raw`` from :func:`grid.quantize`)."""
        params = self.params
        n = x.shape[0]
        q, raw, center = self._on_grid(q, raw, code, lattice)
        has_raw = raw.any(axis=(1, 2))
        # 1. predictor per record, from a quick estimate
        best_bits, best_pred, best_r = self._search(q, center, code, lattice)
        codes = None
        if self.probe is not None and lattice != grid.FINE:
            codes = self.probe.improve(x, q, self.step_flat(code, lattice), best_bits, best_pred, best_r)
        decoded = params.rebuild(q.reshape(n, -1), code, lattice)
        raw_flat = raw.reshape(n, -1)
        if has_raw.any():
            decoded[raw_flat] = x[raw_flat]
        r_flat = best_r.reshape(n, -1)
        by_table = best_pred >= len(params.predictors)
        if params.linear is not None:
            by_table &= best_pred != params.linear_slot(lattice)
        prepared: list[payload.Prepared] = [None] * n  # type: ignore[list-item]
        if by_table.any():
            idx = np.flatnonzero(by_table)
            for i, rec in zip(
                idx.tolist(),
                symbols.by_table(
                    params, code, best_pred[idx], has_raw[idx], r_flat[idx], raw_flat[idx], x[idx]
                ),
                strict=True,
            ):
                prepared[i] = rec
        if not by_table.all():
            # 2. scale classes of the chosen residuals, with switching costs
            idx = np.flatnonzero(~by_table)
            sums, lengths = context.block_sums(best_r[idx])
            classes, _ = context.choose_classes(sums, lengths)
            part = symbols.by_classes(
                params,
                code,
                lattice,
                best_pred[idx],
                has_raw[idx],
                classes,
                r_flat[idx],
                raw_flat[idx],
                x[idx],
            )
            for i, rec in zip(idx.tolist(), part, strict=True):
                prepared[i] = rec
        size = params.size
        model = params.mode_model(lattice, params.version7)
        presets = params.presets_for(params.version7)
        latent_models = None
        if codes is not None:
            latent_models = params.autoencoder.models
            first_ae = len(predictors.PREDICTORS)
            for i, rec in enumerate(prepared):
                if first_ae <= best_pred[i] < len(params.predictors):
                    rec.latent = codes[i]
        bodies = [payload.encode_prepared(rec, size, model, presets, latent_models) for rec in prepared]
        return bodies, decoded

    def _table_cost(self, code: int, p: int) -> np.ndarray:
        """Estimated bits of a residual under a fitted table, indexed by ``clip(r, -R-1, R+1) + R + 1``."""
        m = self.params.table_multiplier(code)
        cost = self._table_costs.get((m, p))
        if cost is None:
            counts = np.asarray(fitted_counts(self.params.tables[predictors.PREDICTORS[p]], m), np.float64)
            bits = -np.log2(counts / counts.sum())
            escape = bits[ESCAPE] + 24.0  # the escape symbol and the value after it, roughly
            cost = self._table_costs[(m, p)] = np.concatenate([[escape], bits[:ESCAPE], [escape]])
        return cost


def _fill(q: np.ndarray, raw: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Give raw positions the previous valid value of their column (the center before the first one)."""
    rows = np.arange(q.shape[1])[None, :, None]
    idx = np.where(raw, -1, rows)
    idx = np.maximum.accumulate(idx, axis=1)
    prev = np.take_along_axis(q, np.maximum(idx, 0), axis=1)
    filled = np.where(idx >= 0, prev, center[None])
    return np.where(raw, filled, q)

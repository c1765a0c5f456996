"""The error-bounded codec of one model: records <-> kind-1 payload bodies, with a guaranteed L-inf bound.

Encoding a batch: quantize every value to the grid of the bound (values off the grid are kept raw), compute
the residuals of every predictor, pick per record the predictor with the fewest estimated bits, choose a
scale class per block, and write each record's ANS stream. Decoding rebuilds the grid integers with integer
cumulative sums and scales them back with one IEEE-exact product per value, so every consumer decodes the
same bits the producer checked.

Two grids: the plain grid of step ``2E`` (envelope kind 1), and, when the bundle knows the data's quantum
and the bound is close to or below it, the data's lattice (kind 2, :func:`grid.lattice_steps`). A record
goes on the lattice unless that would store more of its values raw than the plain grid (its values left
the lattice the model was trained on).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from compressor.bounded import context, grid, payload, predictors
from compressor.bounded.autoencoder import (
    AE_PREDICTORS,
    AutoencoderPredictor,
    ae_forward,
    ae_inverse,
    autoencoder_of,
)
from compressor.bounded.stats import PREFERENCE_KEY, STATS_KEY, WIN_RATE_KEY
from compressor.bounded.tables import CLASSES, ESCAPE, RADIUS, SHIFT, fitted_counts, fitted_model
from compressor.errors import EnvelopeError

if TYPE_CHECKING:
    from compressor.error_bound import ErrorBound

__all__ = [
    "AE_PREDICTORS",
    "AutoencoderPredictor",
    "BoundedCodec",
    "codec_for_bundle",
]

log = logging.getLogger(__name__)

_NO_RAW_WEIGHT = 1 << 20
#: batches larger than this try the autoencoder on a sample of half as many records first (smaller ones on
#: one record)
_PROBE = 16
#: after this many records in a row without an autoencoder win, every batch samples 1 record in _PROBE
_PATIENCE = 64
_RAW_WEIGHT = 1 << 10
#: where the grid is a choice, records compared one by one before the encoder settles on the majority's
_LEARN = 32


class BoundedCodec:
    """Error-bounded coding for records of ``layout`` = (rows, cols) values.

    Arguments:
        layout (tuple[int, int]): ``(rows, cols)`` of a record's values.
        offset (np.ndarray): ``(D,)`` per-value training mean.
        stats (dict[str, Any] | None): the bundle's bounded statistics (residual scales, tables, quanta).
            Default: None, none.
        fallback_scale (np.ndarray | None): per-value scale used when ``stats`` has no residual scales.
            Default: None.
        presets (Sequence[float]): bounds a record names with a few bits instead of a 16-bit code.
            Default: none.
        autoencoder (AutoencoderPredictor | None): the model's autoencoder predictor, if its decoder has
            an exact integer form. Default: None, simple predictors only.
        quanta (Sequence[float | None] | None): per column, the step of the lattice the data lies on
            (None where there is none). Default: None, the plain grid only.
    """

    def __init__(
        self,
        layout: tuple[int, int],
        offset: np.ndarray,
        stats: dict[str, Any] | None = None,
        fallback_scale: np.ndarray | None = None,
        presets: Sequence[float] = (),
        autoencoder: AutoencoderPredictor | None = None,
        quanta: Sequence[float | None] | None = None,
    ) -> None:
        self.rows, self.cols = int(layout[0]), int(layout[1])
        self.size = self.rows * self.cols
        self.blocks = -(-self.rows // context.BLOCK)
        self.offset = np.asarray(offset, dtype=np.float32).astype(np.float64).reshape(self.rows, self.cols)
        self._offset_flat = np.asarray(offset, dtype=np.float32).reshape(-1)
        self.autoencoder = autoencoder
        self.predictors = predictors.PREDICTORS + (AE_PREDICTORS if autoencoder is not None else ())
        stats = stats or {}
        scales = stats.get("residual_scale", {})
        self._scales: dict[str, np.ndarray] = {}
        for name in self.predictors:
            if name in AE_PREDICTORS:
                base = "center" if name == "ae" else "delta"
                self._scales[name] = self._scales[base] * 0.5  # the autoencoder removes part of it
                continue
            if name in scales and len(scales[name]) == self.cols:
                self._scales[name] = np.asarray(scales[name], dtype=np.float64)
            elif fallback_scale is not None:
                self._scales[name] = (
                    np.asarray(fallback_scale, np.float32).astype(np.float64)[: self.cols] * 0.5
                )
            else:
                self._scales[name] = np.full(self.cols, np.nan)
        import constriction

        #: kind-2 records may also code every residual of a simple predictor with a fitted table
        tables = stats.get("lattice_tables")
        self.tables: dict[str, Any] = tables if isinstance(tables, dict) else {}
        table_slots = len(predictors.PREDICTORS) if self.tables else 0
        self._mode_models = {
            lattice: constriction.stream.model.Categorical(
                np.asarray(
                    [_NO_RAW_WEIGHT, _RAW_WEIGHT] * (len(self.predictors) + (table_slots if lattice else 0)),
                    np.float64,
                ),
                perfect=False,
            )
            for lattice in (False, True)
        }
        self._mode_counts = {False: 2 * len(self.predictors), True: 2 * (len(self.predictors) + table_slots)}
        codes: list[int] = []
        for bound in presets:
            try:
                code = grid.bound_code(bound)
            except Exception:  # noqa: BLE001 - a degenerate range gives no usable preset
                continue
            if code not in codes:
                codes.append(code)
        #: bound codes a record names with a few bits instead of 16 (relative bounds of the training range)
        self.presets = tuple(codes)
        self.quanta: np.ndarray | None = None
        if isinstance(quanta, list | tuple | np.ndarray) and len(quanta) == self.cols:
            try:
                u = np.asarray([np.nan if v is None else float(v) for v in quanta], dtype=np.float64)
            except (TypeError, ValueError):
                log.warning("the model's quantum statistics are unreadable; coding on the plain grid only")
                u = np.full(self.cols, np.nan)
            if (np.isfinite(u) & (u > 0)).any():
                self.quanta = u
        self._steps: dict[tuple[int, bool], np.ndarray] = {}
        self._centers: dict[tuple[int, bool], np.ndarray] = {}
        # records since the autoencoder last won (steers sampling only); a model whose autoencoder never won
        # on its own validation records starts out sampling sparsely
        self._ae_losses = _PATIENCE if stats.get(WIN_RATE_KEY) == 0 else 0
        self._since_probe = 0  # records since the autoencoder was last tried, once it keeps losing
        self._kexp: dict[tuple[int, bool, int], np.ndarray] = {}
        self._multipliers: dict[int, int | None] = {}
        # bound code -> the grid to use where the policy is "choose": measured at training for the preset
        # bounds, learned from the first records for others
        self._prefer_lattice: dict[int, bool] = {}
        preference = stats.get(PREFERENCE_KEY)
        if isinstance(preference, dict):
            for key, value in preference.items():
                if str(key).isdigit() and isinstance(value, bool):
                    self._prefer_lattice[int(key)] = value
        self._grid_votes: dict[int, tuple[int, int]] = {}
        self._kexp_all: dict[tuple[int, bool], np.ndarray] = {}
        self._table_models: dict[tuple[int, int], Any] = {}
        self._table_costs: dict[tuple[int, int], np.ndarray] = {}

    # ------------------------------------------------------------------ shared by encoder and decoder

    def steps(self, code: int, lattice: bool = False) -> np.ndarray:
        """Grid step per column (cols,) float64 of bound ``code``: ``2E``, or on the data's lattice."""
        key = (code, lattice)
        s = self._steps.get(key)
        if s is None:
            bound = grid.bound_from_code(code)
            if lattice:
                if self.quanta is None:
                    raise EnvelopeError(
                        "record is coded on the data's lattice, but the model knows no quantum"
                    )
                s = grid.lattice_steps(bound, self.quanta)
            else:
                s = np.full(self.cols, 2.0 * bound)
            self._steps[key] = s
        return s

    def uses_lattice(self, code: int) -> bool:
        """Whether the lattice differs from the plain grid in some column at bound ``code``."""
        return self.quanta is not None and bool((self.steps(code, True) != self.steps(code)).any())

    def table_multiplier(self, code: int) -> int | None:
        """The common odd multiplier ``m`` of every column's lattice step at bound ``code`` (the fitted tables
        then apply, aggregated to ``m`` quanta), or None when a column is on the plain grid or they differ."""
        if code not in self._multipliers:
            m = None
            if self.tables and self.uses_lattice(code):
                steps, plain = self.steps(code, True), self.steps(code)
                ratio = np.rint(steps / self.quanta)
                if (steps != plain).all() and (ratio == ratio[0]).all() and 1 <= ratio[0] <= 2 * RADIUS + 1:
                    m = int(ratio[0])
            self._multipliers[code] = m
        return self._multipliers[code]

    def table(self, code: int, predictor: int):  # noqa: ANN201 - a constriction Categorical
        """The fitted table of simple ``predictor`` on the lattice of bound ``code``."""
        m = self.table_multiplier(code)
        key = (m or 0, predictor)
        model = self._table_models.get(key)
        if model is None:
            spec = self.tables.get(predictors.PREDICTORS[predictor]) if m is not None else None
            if spec is None:
                raise EnvelopeError(
                    "record is coded with a fitted table the model does not have at this bound"
                )
            try:
                model = self._table_models[key] = fitted_model(spec, m)
            except (KeyError, TypeError, ValueError) as exc:
                raise EnvelopeError(f"the model's fitted residual table is unusable: {exc}") from exc
        return model

    def center(self, code: int, lattice: bool = False) -> np.ndarray:
        """Training mean on the grid of bound ``code``: (rows, cols) int64, elementwise IEEE ops only."""
        c = self._centers.get((code, lattice))
        if c is None:
            step = self.steps(code, lattice)
            with np.errstate(over="ignore", invalid="ignore"):
                c = np.clip(np.rint(self.offset / step), -grid.MAX_GRID, grid.MAX_GRID)
            c = np.where(np.isfinite(c), c, 0).astype(np.int64)
            self._centers[(code, lattice)] = c
        return c

    def expected_classes(self, code: int, predictor: int, lattice: bool = False) -> np.ndarray:
        key = (code, lattice, predictor)
        k = self._kexp.get(key)
        if k is None:
            k = context.expected_class(self._scales[self.predictors[predictor]], self.steps(code, lattice))
            self._kexp[key] = k
        return k

    # ------------------------------------------------------------------ encoder

    def encode(
        self, records: np.ndarray, error_bound: ErrorBound
    ) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """Payload bodies, the exact values a consumer will decode, and which records are on the data's
        lattice (envelope kind 2; the others are kind 1), for float32 ``records`` (N, D)."""
        x = np.asarray(records, dtype=np.float32)
        n = x.shape[0]
        code = error_bound.code
        policy = self.grid_policy(code) if n else "plain"
        if policy == "choose" and code in self._prefer_lattice:
            policy = "lattice" if self._prefer_lattice[code] else "plain"
        plain = lattice = None
        if policy != "plain":
            lattice = self.quantize(x, code, True)
        if policy != "lattice" or lattice[1].any():
            plain = self.quantize(x, code, False)
        on_lattice = np.zeros(n, dtype=bool)
        if policy == "lattice":
            # the lattice is no finer than 2E (or has proven cheaper): every record goes on it, unless that
            # would store more of its values raw than the plain grid
            on_lattice = ~lattice[1].any(axis=1)
            if not on_lattice.all():
                on_lattice = lattice[1].sum(axis=1) <= plain[1].sum(axis=1)
        elif policy == "choose":
            on_lattice = self.estimate_bits(lattice, code, True) < self.estimate_bits(plain, code, False)
            self._learn_preference(code, on_lattice)
        if not on_lattice.any():
            bodies, decoded = self._encode_grid(x, *plain, code, False)
            return bodies, decoded, on_lattice
        if on_lattice.all():
            bodies, decoded = self._encode_grid(x, *lattice, code, True)
            return bodies, decoded, on_lattice
        out: list[bytes] = [b""] * n
        decoded = np.empty_like(x)
        for flag, (q_all, raw_all) in ((False, plain), (True, lattice)):
            idx = np.flatnonzero(on_lattice == flag)
            part, values = self._encode_grid(x[idx], q_all[idx], raw_all[idx], code, flag)
            decoded[idx] = values
            for i, body in zip(idx.tolist(), part, strict=True):
                out[i] = body
        return out, decoded, on_lattice

    def quantize(self, x: np.ndarray, code: int, lattice: bool) -> tuple[np.ndarray, np.ndarray]:
        """:func:`grid.quantize` of records ``x`` (N, D) on the plain grid or the lattice of bound ``code``."""
        return grid.quantize(x, grid.bound_from_code(code), np.tile(self.steps(code, lattice), self.rows))

    def grid_policy(self, code: int) -> str:
        """How the encoder picks the grid at bound ``code``: ``"plain"`` (no lattice, or one finer than 2E
        somewhere without fitted tables to pay for it), ``"lattice"`` (no finer than 2E anywhere: always at
        least as cheap), or ``"choose"`` (finer somewhere, but its fitted tables may make it cheaper)."""
        if not self.uses_lattice(code):
            return "plain"
        if (self.steps(code, True) >= self.steps(code)).all():
            return "lattice"
        return "choose" if self.table_multiplier(code) is not None else "plain"

    def estimate_bits(self, quantized: tuple[np.ndarray, np.ndarray], code: int, lattice: bool) -> np.ndarray:
        """Estimated bits per record on one grid: the best simple predictor, raw values at 48 bits each."""
        q, raw, center = self._on_grid(*quantized, code, lattice)
        bits, _, _ = self._search(q, center, code, lattice)
        return bits + 48.0 * raw.sum(axis=(1, 2))

    def _on_grid(
        self, q: np.ndarray, raw: np.ndarray, code: int, lattice: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grid integers (N, rows, cols) with raw positions filled, the raw mask, and the grid's center."""
        n = q.shape[0]
        q = q.reshape(n, self.rows, self.cols)
        raw = raw.reshape(n, self.rows, self.cols)
        center = self.center(code, lattice)
        if raw.any():
            q = self._fill(q, raw, center)
        return q, raw, center

    def _learn_preference(self, code: int, on_lattice: np.ndarray) -> None:
        """Per-record choices until :data:`_LEARN` records have been compared, then the majority's grid."""
        seen, wins = self._grid_votes.get(code, (0, 0))
        seen, wins = seen + len(on_lattice), wins + int(on_lattice.sum())
        self._grid_votes[code] = (seen, wins)
        if seen >= _LEARN:
            self._prefer_lattice[code] = 2 * wins >= seen

    def _search(
        self, q: np.ndarray, center: np.ndarray, code: int, lattice: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per record, the cheapest simple predictor by the quick estimate (best class per block, no
        switching cost; or, on a lattice with fitted tables, the table): bits, slot and residuals in scan
        order (N, cols, rows)."""
        n = q.shape[0]
        best_bits = np.full(n, np.inf)
        best_pred = np.zeros(n, dtype=np.int64)
        best_r = np.zeros((n, self.cols, self.rows), dtype=np.int64)
        tables = lattice and self.table_multiplier(code) is not None
        for p, name in enumerate(self.predictors):
            if name in AE_PREDICTORS:
                continue
            r = predictors.forward(name, q, center).transpose(0, 2, 1)  # scan order: (N, cols, rows)
            candidates = [(p, context.greedy_bits(*context.block_sums(r)))]
            if tables and name in self.tables:
                # the same residuals coded with the fitted table (slot len(predictors) + p)
                cost = self._table_cost(code, p)
                tbits = cost[np.clip(r, -RADIUS - 1, RADIUS + 1) + RADIUS + 1].sum(axis=(1, 2))
                candidates.append((len(self.predictors) + p, tbits))
            for slot, bits in candidates:
                better = bits < best_bits
                if better.any():
                    best_bits[better] = bits[better]
                    best_pred[better] = slot
                    best_r[better] = r[better]
        return best_bits, best_pred, best_r

    def _encode_grid(
        self, x: np.ndarray, q: np.ndarray, raw: np.ndarray, code: int, lattice: bool
    ) -> tuple[list[bytes], np.ndarray]:
        """Encode records ``x`` already quantized on one grid (``q``, ``raw`` from :func:`grid.quantize`)."""
        n = x.shape[0]
        step_flat = np.tile(self.steps(code, lattice), self.rows)
        q, raw, center = self._on_grid(q, raw, code, lattice)
        has_raw = raw.any(axis=(1, 2))
        # 1. predictor per record, from a quick estimate
        best_bits, best_pred, best_r = self._search(q, center, code, lattice)
        codes = None
        if self.autoencoder is not None:
            # AE-SZ's rule, per record: the autoencoder only where it beats the simple predictors, latent
            # included. A batch tries it on a sample first (half of _PROBE records, one in a batch of at most
            # _PROBE; once it has lost on _PATIENCE records in a row, 1 record in _PROBE, across batches) and
            # on every record only if it wins somewhere in the sample.
            rows = np.arange(n)
            sample = _PROBE // 2 if n > _PROBE else min(n - 1, 1)
            if self._ae_losses >= _PATIENCE:
                self._since_probe += n
                sample = n // _PROBE if self._since_probe < _PROBE else max(1, n // _PROBE)
                if sample:
                    self._since_probe = 0
                else:
                    rows = rows[:0]
            if sample:
                probe = np.unique(np.linspace(0, n - 1, sample).astype(np.int64))
                won = self._ae_candidates(x, q, step_flat, probe, best_bits, best_pred, best_r, None)
                if not won.any():
                    rows = np.zeros(0, np.int64)
                    self._ae_losses += len(probe)
            if rows.size:
                codes = np.zeros((n, self.autoencoder.fixed.layers[0][0].shape[0]), dtype=np.int64)
                won = self._ae_candidates(x, q, step_flat, rows, best_bits, best_pred, best_r, codes)
                self._ae_losses = 0 if won.any() else self._ae_losses + n
        decoded = grid.rebuild(q.reshape(n, -1), step_flat)
        raw_flat = raw.reshape(n, -1)
        if has_raw.any():
            decoded[raw_flat] = x[raw_flat]
        r_flat = best_r.reshape(n, -1)
        by_table = best_pred >= len(self.predictors)
        prepared: list[payload.Prepared] = [None] * n  # type: ignore[list-item]
        if by_table.any():
            idx = np.flatnonzero(by_table)
            for i, rec in zip(
                idx.tolist(),
                self._prepare_table(code, best_pred[idx], has_raw[idx], r_flat[idx], raw_flat[idx], x[idx]),
                strict=True,
            ):
                prepared[i] = rec
        if not by_table.all():
            # 2. scale classes of the chosen residuals, with switching costs
            idx = np.flatnonzero(~by_table)
            sums, lengths = context.block_sums(best_r[idx])
            classes, _ = context.choose_classes(sums, lengths)
            part = self._prepare(
                code, lattice, best_pred[idx], has_raw[idx], classes, r_flat[idx], raw_flat[idx], x[idx]
            )
            for i, rec in zip(idx.tolist(), part, strict=True):
                prepared[i] = rec
        size = self.size
        model = self._mode_models[lattice]
        presets = self.presets
        latent_models = None
        if codes is not None:
            latent_models = self.autoencoder.models
            first_ae = len(predictors.PREDICTORS)
            for i, rec in enumerate(prepared):
                if first_ae <= best_pred[i] < len(self.predictors):
                    rec.latent = codes[i]
        bodies = [payload.encode_prepared(rec, size, model, presets, latent_models) for rec in prepared]
        return bodies, decoded

    def _prepare(  # noqa: PLR0913
        self,
        code: int,
        lattice: bool,
        pred: np.ndarray,
        has_raw: np.ndarray,
        classes: np.ndarray,
        r: np.ndarray,
        raw_flat: np.ndarray,
        x: np.ndarray,
    ) -> list[payload.Prepared]:
        """Group every record's symbols by class, vectorized over the batch."""
        n = len(pred)
        vclass = context.value_classes(classes, self.rows)  # (N, D) scan order
        order = np.argsort(vclass, axis=1, kind="stable")
        vs = np.sort(vclass, axis=1)
        rs = r[np.arange(n)[:, None], order]
        shift = np.asarray(SHIFT, dtype=np.int64)[vs]
        hi = rs >> shift
        big = np.abs(hi) > RADIUS
        idx = np.where(big, ESCAPE, hi + RADIUS).astype(np.int32)
        lo = (rs & ((np.int64(1) << shift) - 1)).astype(np.int32)
        # class boundaries in each record's sorted order: where the sorted class changes
        change = np.ones((n, vs.shape[1]), dtype=bool)
        change[:, 1:] = vs[:, 1:] != vs[:, :-1]
        rec_i, start = np.nonzero(change)
        group_k = vs[rec_i, start].tolist()
        bounds = np.searchsorted(rec_i, np.arange(n + 1)).tolist()
        start = start.tolist()
        kexp = self._kexp_all.get((code, lattice))
        if kexp is None:
            kexp = np.stack([self.expected_classes(code, p, lattice) for p in range(len(self.predictors))])
            self._kexp_all[(code, lattice)] = kexp
        first = (classes[:, :, 0] + (CLASSES - 1) - kexp[pred]).astype(np.int32)
        steps = (np.diff(classes, axis=2) + (CLASSES - 1)).astype(np.int32).reshape(n, -1)
        any_big = big.any(axis=1).tolist()
        modes = (2 * pred + has_raw).tolist()
        raw_any = has_raw.tolist()
        bits = x.view(np.uint32)
        width = vs.shape[1]
        out = []
        for i in range(n):
            g0, g1 = bounds[i], bounds[i + 1]
            idx_i, lo_i = idx[i], lo[i]
            groups = []
            for g in range(g0, g1):
                k = group_k[g]
                a = start[g]
                e = start[g + 1] if g + 1 < g1 else width
                groups.append((k, idx_i[a:e], lo_i[a:e] if SHIFT[k] else None))
            rec = payload.Prepared(
                code, modes[i], first[i], steps[i], groups, hi[i][big[i]].tolist() if any_big[i] else []
            )
            out.append(_with_raw(rec, raw_flat[i], bits[i]) if raw_any[i] else rec)
        return out

    def _table_cost(self, code: int, p: int) -> np.ndarray:
        """Estimated bits of a residual under a fitted table, indexed by ``clip(r, -R-1, R+1) + R + 1``."""
        m = self.table_multiplier(code)
        cost = self._table_costs.get((m, p))
        if cost is None:
            counts = np.asarray(fitted_counts(self.tables[predictors.PREDICTORS[p]], m), np.float64)
            bits = -np.log2(counts / counts.sum())
            escape = bits[ESCAPE] + 24.0  # the escape symbol and the value after it, roughly
            cost = self._table_costs[(m, p)] = np.concatenate([[escape], bits[:ESCAPE], [escape]])
        return cost

    def _prepare_table(
        self,
        code: int,
        slot: np.ndarray,
        has_raw: np.ndarray,
        r: np.ndarray,
        raw_flat: np.ndarray,
        x: np.ndarray,
    ) -> list[payload.Prepared]:
        """Records coded with a fitted table: every residual one symbol of it, in scan order."""
        big = np.abs(r) > RADIUS
        idx = np.where(big, ESCAPE, r + RADIUS).astype(np.int32)
        bits = x.view(np.uint32)
        empty = np.zeros(0, np.int32)
        out = []
        for i in range(len(slot)):
            p = int(slot[i]) - len(self.predictors)
            rec = payload.Prepared(
                code,
                2 * int(slot[i]) + int(has_raw[i]),
                empty,
                empty,
                [(-1, idx[i], None)],
                r[i][big[i]].tolist() if big[i].any() else [],
                table=self.table(code, p),
            )
            out.append(_with_raw(rec, raw_flat[i], bits[i]) if has_raw[i] else rec)
        return out

    def _ae_candidates(  # noqa: PLR0913
        self,
        x: np.ndarray,
        q: np.ndarray,
        step_flat: np.ndarray,
        rows: np.ndarray,
        best_bits: np.ndarray,
        best_pred: np.ndarray,
        best_r: np.ndarray,
        codes_out: np.ndarray | None,
    ) -> np.ndarray:
        """Try the autoencoder predictors on ``rows``; with ``codes_out`` keep the winners (in place).
        Returns which of ``rows`` the autoencoder wins."""
        ae = self.autoencoder
        xs = x[rows]
        codes = ae.encode_codes(np.where(np.isfinite(xs), xs, self._offset_flat))
        pred = ae.fixed.predict_grid(codes, step_flat).reshape(len(rows), self.rows, self.cols)
        latent_bits = ae.code_bits(codes)
        won = np.zeros(len(rows), dtype=bool)
        for p, name in enumerate(self.predictors):
            if name not in AE_PREDICTORS:
                continue
            r = ae_forward(name, q[rows], pred).transpose(0, 2, 1)
            bits = context.greedy_bits(*context.block_sums(r)) + latent_bits
            better = bits < best_bits[rows]
            won |= better
            if codes_out is not None and better.any():
                idx = rows[better]
                best_bits[idx] = bits[better]
                best_pred[idx] = p
                best_r[idx] = r[better]
                codes_out[idx] = codes[better]
        return won

    def _latent_models_of(self, mode: int) -> list | None:
        slot = mode >> 1
        if (
            self.autoencoder is not None
            and slot < len(self.predictors)
            and self.predictors[slot] in AE_PREDICTORS
        ):
            return self.autoencoder.models
        return None

    def _table_of(self, code: int, mode: int):  # noqa: ANN202
        slot = mode >> 1
        return self.table(code, slot - len(self.predictors)) if slot >= len(self.predictors) else None

    def _fill(self, q: np.ndarray, raw: np.ndarray, center: np.ndarray) -> np.ndarray:
        """Give raw positions the previous valid value of their column (the center before the first one)."""
        rows = np.arange(self.rows)[None, :, None]
        idx = np.where(raw, -1, rows)
        idx = np.maximum.accumulate(idx, axis=1)
        prev = np.take_along_axis(q, np.maximum(idx, 0), axis=1)
        filled = np.where(idx >= 0, prev, center[None])
        return np.where(raw, filled, q)

    # ------------------------------------------------------------------ decoder

    def mode_of(self, body: bytes, lattice: bool = False) -> int:
        """The mode symbol of a payload (slot * 2 + has_raw; see :mod:`compressor.bounded.payload`)."""
        import constriction

        coder = constriction.stream.stack.AnsCoder(payload.words_from_bytes(body))
        payload.read_bound(coder, self.presets)
        return int(coder.decode(self._mode_models[lattice]))

    def read_bound(self, body: bytes) -> float:
        """The bound a payload was coded with, from its first symbols."""
        import constriction

        try:
            coder = constriction.stream.stack.AnsCoder(payload.words_from_bytes(body))
            return grid.bound_from_code(payload.read_bound(coder, self.presets))
        except (ValueError, RuntimeError) as exc:
            raise EnvelopeError(f"bounded payload does not decode: {exc}") from exc

    def decode(
        self, bodies: Sequence[bytes], on_lattice: Sequence[bool] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decoded records (N, D) float32 and the bound each record was coded with (N,) float64;
        ``on_lattice[i]`` says record ``i`` is coded on the data's lattice (envelope kind 2)."""
        n = len(bodies)
        flags = [False] * n if on_lattice is None else [bool(f) for f in on_lattice]
        if len(flags) != n:
            raise ValueError(f"{n} bodies but {len(flags)} lattice flags")
        out = np.empty((n, self.size), dtype=np.float32)
        bounds = np.empty(n, dtype=np.float64)
        groups: dict[tuple[int, bool, int], list[int]] = defaultdict(list)
        residuals = np.empty((n, self.cols, self.rows), dtype=np.int64)
        raws: list[tuple[int, np.ndarray, np.ndarray]] = []
        latents: dict[int, np.ndarray] = {}
        for i, body in enumerate(bodies):
            if not body:
                raise EnvelopeError("bounded payload is empty")
            lattice = flags[i]
            if lattice and self.quanta is None:
                raise EnvelopeError("record is coded on the data's lattice, but the model knows no quantum")
            rec = payload.decode_record(
                body,
                self.rows,
                self.cols,
                self.blocks,
                lambda code, mode, lattice=lattice: self.expected_classes(code, mode >> 1, lattice),
                self._latent_models_of,
                self._mode_counts[lattice],
                self._mode_models[lattice],
                self.presets,
                self._table_of if lattice else None,
            )
            residuals[i] = rec.residuals.reshape(self.cols, self.rows)
            if rec.latent is not None:
                latents[i] = rec.latent
            slot = rec.mode >> 1
            groups[
                (
                    rec.bound_code,
                    lattice,
                    slot if slot < len(self.predictors) else slot - len(self.predictors),
                )
            ].append(i)
            bounds[i] = grid.bound_from_code(rec.bound_code)
            if rec.mode & 1:
                if rec.raw_positions.size and rec.raw_positions.max() >= self.size:
                    raise EnvelopeError("bounded payload places a raw value outside the record")
                raws.append((i, rec.raw_positions, rec.raw_bits))
        for (code, lattice, p), members in groups.items():
            idx = np.asarray(members)
            r = residuals[idx].transpose(0, 2, 1)
            name = self.predictors[p]
            step_flat = np.tile(self.steps(code, lattice), self.rows)
            if name in AE_PREDICTORS:
                codes = np.stack([latents[i] for i in members])
                pred = self.autoencoder.fixed.predict_grid(codes, step_flat)
                q = ae_inverse(name, r, pred.reshape(len(idx), self.rows, self.cols))
            else:
                q = predictors.inverse(name, r, self.center(code, lattice))
            if np.abs(q).max(initial=0) > 4 * grid.MAX_GRID:
                raise EnvelopeError("bounded payload rebuilds values off the grid (corrupt)")
            out[idx] = grid.rebuild(q.reshape(len(idx), -1), step_flat)
        view = out.view(np.uint32)
        for i, pos, bits in raws:
            view[i, pos] = bits
        return out, bounds


def _with_raw(rec: payload.Prepared, raw: np.ndarray, bits: np.ndarray) -> payload.Prepared:
    """``rec`` with the positions and float32 bits of its raw values (``raw``: the record's mask)."""
    pos = np.flatnonzero(raw)
    rec.raw_positions = pos
    rec.raw_bits = bits[pos]
    return rec


#: training statistics a classical codec keeps (layout, value ranges for the presets, the data's quantum)
CLASSICAL_STATS = ("layout", "value_min", "value_max", "quantum")


def codec_for_bundle(bundle: Any, learned: bool = True) -> BoundedCodec:
    """The bounded codec of a model bundle: its record layout, training means and statistics.

    ``learned=False`` switches every learned part off (the autoencoder predictor, the fitted residual
    tables and scales, the encoder hints) and keeps only :data:`CLASSICAL_STATS`: what evaluation reports as
    ``latentwire-classical``, so the learned gain is visible. Its records decode only with a codec built the
    same way (the expected scale class of a column comes from the statistics).
    """
    layout = predictors.record_layout(bundle.record_size, bundle.window, bundle.channels, tuple(bundle.shape))
    d = layout[0] * layout[1]
    norm = bundle.normalizer
    offset = np.tile(np.asarray(norm.offset, np.float32), d // norm.channels)
    scale = np.tile(np.asarray(norm.scale, np.float32), d // norm.channels).reshape(layout)[0]
    stats = (bundle.extra or {}).get(STATS_KEY) or {}
    if stats.get("layout") not in (None, list(layout)):
        log.warning(
            "bounded statistics of model %s are for another layout; ignoring them", bundle.model_id[:8]
        )
        stats = {}
    if not learned:
        stats = {key: stats[key] for key in CLASSICAL_STATS if key in stats}
    from compressor.bounded.stats import smallest_range, value_ranges

    # the absolute values ErrorBound.resolve(bundle, rel, relative=True) gives
    unit = smallest_range(value_ranges(bundle))
    presets = [] if unit is None else [rel * unit for rel in RELATIVE_PRESETS]
    return BoundedCodec(
        layout,
        offset,
        stats,
        fallback_scale=scale,
        presets=presets,
        autoencoder=autoencoder_of(bundle, stats) if learned else None,
        quanta=stats.get("quantum"),
    )


#: relative bounds whose absolute value a record names in ~3.6 bits instead of 16
RELATIVE_PRESETS = (1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4)

"""The error-bounded encoder on a batch of one record: what a per-record serializer calls.

:class:`OneRecord` runs the batch encoder's steps for a single record with the compiled loops of
:mod:`~compressor.bounded.record_kernel` (grid, predictors, estimates, scale classes, symbol groups) and the
same autoencoder probe, and hands the symbols to the same stream writer, so the payload is the batch
encoder's, byte for byte. Where the batch encoder would compare grids or fitted tables, or a record has more
blocks than the kernels handle, or may go as counts on the fine lattice, it declines (returns None) before touching any state, and the batch code
encodes the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compressor.bounded import grid, payload, predictors
from compressor.bounded.context import _SWITCH, BLOCK
from compressor.bounded.record_kernel import MAX_BLOCKS, quantize_one, rebuild_one, search_one, symbols_one
from compressor.bounded.tables import SHIFT, class_cost_coefficients

if TYPE_CHECKING:
    from compressor.bounded.encoder import BoundedEncoder

__all__ = ["OneRecord"]

_SHIFTS = np.asarray(SHIFT, dtype=np.int64)
#: the class-step penalties of :func:`context.choose_classes`, computed the same way
_PENALTY = _SWITCH * np.abs(np.arange(-3, 4, dtype=np.float64))


class OneRecord:
    """Single-record encoding for one :class:`~compressor.bounded.encoder.BoundedEncoder` (shares its
    parameters, probe and learned grid preferences).

    Arguments:
        encoder (BoundedEncoder): the encoder whose state and caches this path shares.
    """

    def __init__(self, encoder: BoundedEncoder) -> None:
        self.encoder = encoder
        params = encoder.params
        self._fits = params.cols * params.blocks <= MAX_BLOCKS
        self._a, self._b, _ = class_cost_coefficients()
        self._no_linear = np.zeros((params.cols, 0), np.int64)

    def encode(self, x: np.ndarray, code: int) -> tuple[list[bytes], np.ndarray, np.ndarray] | None:
        """What :meth:`BoundedEncoder.encode` returns for the float32 record ``x`` (D,) at bound ``code``,
        or None (nothing changed) where the batch code must encode it."""
        enc, p = self.encoder, self.encoder.params
        if not self._fits or p.uses_fine(code):
            return None  # (records that may go as counts on the fine lattice: the batch code)
        policy = enc.grid_policy(code)
        if policy == "choose":
            if code not in enc.prefer_lattice:
                return None  # the grids are still being compared record by record
            policy = "lattice" if enc.prefer_lattice[code] else "plain"
        bound = grid.bound_from_code(code)
        lattice = policy == "lattice"
        q, raw, n_raw = quantize_one(x, enc.step_flat(code, lattice), bound)
        if lattice and n_raw:
            # on the lattice unless that stores more values raw than the plain grid (beyond a lossless slack)
            plain = quantize_one(x, enc.step_flat(code, False), bound)
            if n_raw > plain[2] + enc.lattice_slack(code):
                (q, raw, n_raw), lattice = plain, False
        if lattice and p.table_multiplier(code) is not None:
            return None  # fitted tables compete: the batch code estimates them
        return self._encode_grid(x, q, raw, n_raw, code, lattice)

    def _encode_grid(  # noqa: PLR0913
        self, x: np.ndarray, q: np.ndarray, raw: np.ndarray, n_raw: int, code: int, lattice: bool
    ) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        enc, p = self.encoder, self.encoder.params
        step_flat = enc.step_flat(code, lattice)
        # 1. the cheapest simple predictor by the quick estimate
        slot = p.linear_slot(lattice)
        qg, best_bits, best_pred, best_r = search_one(
            q, raw, n_raw, p.center(code, lattice), BLOCK, self._a, self._b,
            self._no_linear if slot is None else p.linear, -1 if slot is None else slot,
        )  # fmt: skip
        codes = None
        if enc.probe is not None:
            bits_a = np.array([best_bits])
            pred_a = np.array([best_pred], dtype=np.int64)
            r_a = best_r[None].copy()
            codes = enc.probe.improve(x[None], qg[None], step_flat, bits_a, pred_a, r_a)
            best_pred, best_r = int(pred_a[0]), r_a[0]
        decoded = rebuild_one(qg.reshape(-1), step_flat, raw, x)
        # 2. scale classes of the chosen residuals, with switching costs, and the symbols they group
        kexp = p.expected_classes_all(code, lattice)[best_pred]
        idx, lo, group_k, group_start, escapes, first, steps = symbols_one(
            best_r, BLOCK, self._a, self._b, _PENALTY, _SHIFTS, kexp
        )
        ends = [*group_start[1:].tolist(), idx.shape[0]]
        groups = [
            (k, idx[a:e], lo[a:e] if SHIFT[k] else None)
            for k, a, e in zip(group_k.tolist(), group_start.tolist(), ends, strict=True)
        ]
        rec = payload.Prepared(code, 2 * best_pred + int(n_raw > 0), first, steps, groups, escapes.tolist())
        if n_raw:
            rec.raw_positions = np.flatnonzero(raw)
            rec.raw_bits = x.view(np.uint32)[rec.raw_positions]
        latent_models = None
        if codes is not None:
            latent_models = p.autoencoder.models
            if len(predictors.PREDICTORS) <= best_pred < len(p.predictors):
                rec.latent = codes[0]
        body = payload.encode_prepared(
            rec, p.size, p.mode_model(lattice, p.version7), p.presets_for(p.version7), latent_models
        )
        return [body], decoded[None], np.array([lattice])

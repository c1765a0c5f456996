"""The consumer side of the error-bounded codec: payload bodies back to records, bit-exactly.

Each body is read as one ANS stream (:func:`payload.decode_record`); records are then grouped by bound,
grid and predictor, their grid integers rebuilt with the predictor's exact inverse (integer cumulative
sums, or the autoencoder's integer forward pass), and scaled back with one IEEE-exact product per value
(:func:`grid.rebuild`). Raw values are put back bit for bit. Nothing here depends on what the encoder
learned while coding, only on the shared :class:`~compressor.bounded.parameters.BoundedParameters`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from compressor.bounded import grid, linear, payload, predictors
from compressor.bounded.autoencoder import AE_PREDICTORS, ae_inverse
from compressor.bounded.parameters import BoundedParameters
from compressor.errors import EnvelopeError

__all__ = ["BoundedDecoder"]


class BoundedDecoder:
    """Decodes error-bounded payload bodies of one model.

    Arguments:
        params (BoundedParameters): the model's shared coding parameters.
    """

    def __init__(self, params: BoundedParameters) -> None:
        self.params = params

    def mode_of(self, body: bytes, lattice: bool = False, version7: bool | None = None) -> int:
        """The mode symbol of a payload (slot * 2 + has_raw; see :mod:`compressor.bounded.payload`), with
        the alphabets of wire version 7 or before (``version7``; default: as this model writes them)."""
        import constriction

        v7 = self._version7(version7)
        coder = constriction.stream.stack.AnsCoder(payload.words_from_bytes(body))
        payload.read_bound(coder, self.params.presets_for(v7))
        return int(coder.decode(self.params.mode_model(lattice, v7)))

    def _version7(self, flag: bool | None) -> bool:
        """Whether a record uses the version-7 alphabets (None: as this model writes them, a record marked 8);
        refuse one marked 7 where the model has no version-7 layout."""
        if flag is None:
            return self.params.version7
        if flag and not self.params.version7:
            raise EnvelopeError(
                "record is marked wire version 7 (a fitted linear predictor or a lossless preset bound), but "
                "the model has neither"
            )
        return bool(flag)

    def read_bound(self, body: bytes, version7: bool | None = None) -> float:
        """The bound a payload was coded with, from its first symbols."""
        import constriction

        presets = self.params.presets_for(self._version7(version7))
        try:
            coder = constriction.stream.stack.AnsCoder(payload.words_from_bytes(body))
            return grid.bound_from_code(payload.read_bound(coder, presets))
        except (ValueError, RuntimeError) as exc:
            raise EnvelopeError(f"bounded payload does not decode: {exc}") from exc

    def decode(
        self,
        bodies: Sequence[bytes],
        grids: Sequence[int] | None = None,
        version7: Sequence[bool | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decoded records (N, D) float32 and the bound each record was coded with (N,) float64;
        ``grids[i]`` is the grid record ``i`` is coded on: ``grid.PLAIN`` (envelope kind 1, also False),
        ``grid.LATTICE`` (kind 2, also True) or ``grid.FINE`` (kind 7, counts on the fine lattice);
        ``version7[i]`` whether its envelope is marked wire version 7 (the alphabets with the fitted linear
        predictor's slot and the lossless preset bound, where the model has them), None for as this model
        writes them (a record marked 8). Default: all None."""
        p = self.params
        n = len(bodies)
        flags = [grid.PLAIN] * n if grids is None else [int(g) for g in grids]
        if len(flags) != n:
            raise ValueError(f"{n} bodies but {len(flags)} grids")
        if any(g not in (grid.PLAIN, grid.LATTICE, grid.FINE) for g in flags):
            raise ValueError("a record's grid must be PLAIN, LATTICE or FINE")
        out = np.empty((n, p.size), dtype=np.float32)
        bounds = np.empty(n, dtype=np.float64)
        groups: dict[tuple[int, int, str], list[int]] = defaultdict(list)
        v7 = [self._version7(None)] * n if version7 is None else [self._version7(f) for f in version7]
        if len(v7) != n:
            raise ValueError(f"{n} bodies but {len(v7)} wire-version flags")
        residuals = np.empty((n, p.cols, p.rows), dtype=np.int64)
        raws: list[tuple[int, np.ndarray, np.ndarray]] = []
        latents: dict[int, np.ndarray] = {}
        for i, body in enumerate(bodies):
            if not body:
                raise EnvelopeError("bounded payload is empty")
            lattice = flags[i]
            if lattice and p.quanta is None:
                raise EnvelopeError("record is coded on the data's lattice, but the model knows no quantum")
            if lattice == grid.FINE and p.fine is None:
                raise EnvelopeError("record is coded as counts, but the model knows no fine lattice")
            rec = payload.decode_record(
                body,
                p.rows,
                p.cols,
                p.blocks,
                lambda code, mode, lattice=lattice: p.expected_classes(code, mode >> 1, lattice),
                lambda mode, lattice=lattice: p.latent_models_of(mode, lattice),
                2 * p.slots(lattice, v7[i]),
                p.mode_model(lattice, v7[i]),
                p.presets_for(v7[i]),
                p.table_of if lattice == grid.LATTICE else None,
            )
            residuals[i] = rec.residuals.reshape(p.cols, p.rows)
            if rec.latent is not None:
                latents[i] = rec.latent
            groups[(rec.bound_code, lattice, p.slot_name(rec.mode >> 1, lattice))].append(i)
            bounds[i] = grid.bound_from_code(rec.bound_code)
            if rec.mode & 1:
                if rec.raw_positions.size and rec.raw_positions.max() >= p.size:
                    raise EnvelopeError("bounded payload places a raw value outside the record")
                raws.append((i, rec.raw_positions, rec.raw_bits))
        for (code, lattice, name), members in groups.items():
            idx = np.asarray(members)
            r = residuals[idx].transpose(0, 2, 1)
            if lattice == grid.FINE and not p.uses_fine(code):
                raise EnvelopeError(
                    "record is coded as counts at a bound where the model has no fine lattice"
                )
            if name in AE_PREDICTORS:
                codes = np.stack([latents[i] for i in members])
                pred = p.autoencoder.fixed.predict_grid(codes, p.step_flat(code, lattice))
                q = ae_inverse(name, r, pred.reshape(len(idx), p.rows, p.cols))
            elif name == "linear":
                q = linear.inverse(r, p.linear, p.center(code, lattice))
            else:
                q = predictors.inverse(name, r, p.center(code, lattice))
            if np.abs(q).max(initial=0) > 4 * grid.MAX_GRID:
                raise EnvelopeError("bounded payload rebuilds values off the grid (corrupt)")
            out[idx] = p.rebuild(q.reshape(len(idx), -1), code, lattice)
        view = out.view(np.uint32)
        for i, pos, bits in raws:
            view[i, pos] = bits
        return out, bounds

"""The coding parameters producer and consumer share for one model, and what follows from them per bound.

Fixed when the bundle is loaded: the record layout, the training mean, the predictors (the autoencoder
ones only when the bundle has an autoencoder), each predictor's residual scale per column, the preset
bounds, the data's quantum per column, the fitted residual tables and the mode tables. Derived per bound
code and memoized: the grid step per column (``2E``, or on the data's lattice), the training mean on that
grid, the expected scale class per predictor and column, and the fitted-table multiplier. Every value is a
pure function of the parameters, so the encoder and the decoder compute the same ones. The encoder hints
measured at training (:mod:`compressor.bounded.hints`) are read here too; only the encoder uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from compressor.bounded import context, fine_lattice, grid, linear, predictors
from compressor.bounded.autoencoder import AE_PREDICTORS, AutoencoderPredictor
from compressor.bounded.stats import LAYOUT_KEY, PREFERENCE_KEY, WIN_RATE_KEY
from compressor.bounded.tables import RADIUS, fitted_model
from compressor.envelope import CLASSICAL_VERSION
from compressor.errors import EnvelopeError

__all__ = ["BoundedParameters", "fine_parameters"]

log = logging.getLogger(__name__)

_NO_RAW_WEIGHT = 1 << 20
_RAW_WEIGHT = 1 << 10


class BoundedParameters:
    """The shared coding parameters of records of ``layout`` = (rows, cols) values.

    Arguments:
        layout (tuple[int, int]): ``(rows, cols)`` of a record's values, in scan order.
        offset (np.ndarray): ``(D,)`` per-value training mean.
        stats (dict[str, Any] | None): the bundle's bounded statistics (residual scales, fitted tables,
            quanta, encoder hints; :mod:`compressor.bounded.stats`). Default: None, none.
        fallback_scale (np.ndarray | None): per-value scale used where ``stats`` has no residual scales.
            Default: None.
        presets (Sequence[float]): bounds a record names with a few bits instead of a 16-bit code
            (unusable ones are skipped). Default: none.
        autoencoder (AutoencoderPredictor | None): the model's autoencoder predictor, if its decoder has
            an exact integer form. Default: None, simple predictors only.
        quanta (Sequence[float | None] | None): per column, the step of the lattice the data lies on
            (None where there is none); kind-2 records need it. Default: None, the plain grid only.
        fine (Sequence[Sequence[int] | None] | None): per column, the fine lattice ``[p, r, off, mirror]``
            inside the quantum (None where there is none; :mod:`compressor.bounded.fine_lattice`); kind-7
            records need it. Default: None, none.
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
        fine: Sequence[Sequence[int] | None] | None = None,
    ) -> None:
        self.rows, self.cols = int(layout[0]), int(layout[1])
        self.size = self.rows * self.cols
        self.blocks = -(-self.rows // context.BLOCK)
        self.offset = np.asarray(offset, dtype=np.float32).astype(np.float64).reshape(self.rows, self.cols)
        self.offset_flat = np.asarray(offset, dtype=np.float32).reshape(-1)
        self.autoencoder = autoencoder
        self.predictors = predictors.PREDICTORS + (AE_PREDICTORS if autoencoder is not None else ())
        stats = stats or {}
        scales = stats.get("residual_scale", {})
        self.scales: dict[str, np.ndarray] = {}
        for name in self.predictors:
            if name in AE_PREDICTORS:
                base = "center" if name == "ae" else "delta"
                self.scales[name] = self.scales[base] * 0.5  # the autoencoder removes part of it
                continue
            if name in scales and len(scales[name]) == self.cols:
                self.scales[name] = np.asarray(scales[name], dtype=np.float64)
            elif fallback_scale is not None:
                self.scales[name] = (
                    np.asarray(fallback_scale, np.float32).astype(np.float64)[: self.cols] * 0.5
                )
            else:
                self.scales[name] = np.full(self.cols, np.nan)
        #: kind-2 records may also code every residual of a simple predictor with a fitted table
        tables = stats.get("lattice_tables")
        self.tables: dict[str, Any] = tables if isinstance(tables, dict) else {}
        self._table_slots = len(predictors.PREDICTORS) if self.tables else 0
        #: trained with the version-7 classical layout (statistic ``layout_version``): the fitted linear
        #: predictor's mode slot and the lossless bound as a preset, where the model has them
        layout7 = stats.get(LAYOUT_KEY) == CLASSICAL_VERSION
        #: the fitted linear predictor's coefficients (cols, P) (:mod:`compressor.bounded.linear`), or None:
        #: with it, version-7 mode alphabets end with its slot
        self.linear = linear.coefficients(stats.get("linear_predictor"), self.cols) if layout7 else None
        if self.linear is not None and len(scales.get("linear", ())) != self.cols:
            self.linear = None
        if self.linear is not None:
            self.scales["linear"] = np.asarray(scales["linear"], dtype=np.float64)
        self._mode_models: dict[tuple[int, bool], Any] = {}
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
        #: the bound code of :meth:`ErrorBound.lossless <compressor.error_bound.ErrorBound.lossless>` (every
        #: column has a quantum), a preset of version-7 records where it is not one already; else None
        self.lossless_code: int | None = None
        if layout7 and self.quanta is not None and np.isfinite(self.quanta).all():
            code = grid.bound_code(grid.LOSSLESS_FRACTION * float(self.quanta.min()))
            self.lossless_code = None if code in self.presets else code
        #: this model's kind-1, 2 and 7 records use the version-7 alphabets (and are marked so)
        self.version7 = self.linear is not None or self.lossless_code is not None
        #: per column ``(p, r, off, mirror)`` of the fine lattice (identity where none), or None
        self.fine = fine_parameters(fine, self.cols) if self.quanta is not None else None
        self._fine_flat: dict[int, tuple[np.ndarray, ...] | None] = {}
        self._step_flat: dict[tuple[int, int], np.ndarray] = {}
        #: encoder hint: the autoencoder never won on the model's own validation records
        self.autoencoder_never_won = stats.get(WIN_RATE_KEY) == 0
        #: encoder hint: bound code -> whether the lattice beat the plain grid where it is finer (presets)
        self.lattice_preference: dict[int, bool] = {}
        preference = stats.get(PREFERENCE_KEY)
        if isinstance(preference, dict):
            for key, value in preference.items():
                if str(key).isdigit() and isinstance(value, bool):
                    self.lattice_preference[int(key)] = value
        self._steps: dict[tuple[int, bool], np.ndarray] = {}
        self._centers: dict[tuple[int, bool], np.ndarray] = {}
        self._kexp: dict[tuple[int, bool, int], np.ndarray] = {}
        self._kexp_all: dict[tuple[int, bool], np.ndarray] = {}
        self._multipliers: dict[int, int | None] = {}
        self._table_models: dict[tuple[int, int], Any] = {}

    def steps(self, code: int, lattice: int = grid.PLAIN) -> np.ndarray:
        """Grid step per column (cols,) float64 of bound ``code``: ``2E``, or on the data's lattice, or
        (``lattice`` = ``grid.FINE``) the value step of one count where the fine lattice applies."""
        key = (code, lattice)
        s = self._steps.get(key)
        if s is None:
            bound = grid.bound_from_code(code)
            if lattice == grid.FINE:
                s = self.steps(code, grid.LATTICE).copy()
                cols = self.fine_columns(code)
                p, r = self.fine[0].astype(np.float64), self.fine[1].astype(np.float64)
                s[cols] = s[cols] * p[cols] / r[cols]
            elif lattice:
                if self.quanta is None:
                    raise EnvelopeError(
                        "record is coded on the data's lattice, but the model knows no quantum"
                    )
                s = grid.lattice_steps(bound, self.quanta)
            else:
                s = np.full(self.cols, 2.0 * bound)
            self._steps[key] = s
        return s

    def fine_columns(self, code: int) -> np.ndarray:
        """The columns (cols,) bool coded as counts at bound ``code``: those with a fine lattice whose
        lattice step is the quantum itself (lossless there)."""
        if self.fine is None:
            return np.zeros(self.cols, dtype=bool)
        steps = self.steps(code, grid.LATTICE)
        return self.fine[4] & (steps == self.quanta)

    def uses_fine(self, code: int) -> bool:
        """Whether kind-7 records (counts on the fine lattice) exist at bound ``code``."""
        return self.fine_flat(code) is not None

    def fine_flat(self, code: int) -> tuple[np.ndarray, ...] | None:
        """``(p, r, off, mirror)`` of every value of a record (D,) at bound ``code`` (identity on the
        columns not coded as counts), or None when no column is."""
        if code not in self._fine_flat:
            cols = self.fine_columns(code)
            self._fine_flat[code] = self.fine_values(cols) if cols.any() else None
        return self._fine_flat[code]

    def fine_values(self, columns: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(p, r, off, mirror)`` of every value of a record (D,): the fine lattice in ``columns`` (cols,)
        bool, the identity elsewhere (:func:`fine_lattice.to_counts` then keeps those values as they are)."""
        return tuple(
            np.tile(np.where(columns, a, ident), self.rows)
            for a, ident in zip(self.fine[:4], (1, 1, 0, False), strict=True)
        )

    def step_flat(self, code: int, lattice: int) -> np.ndarray:
        """The grid step of every value of a record (D,) at bound ``code`` (the per-column steps, tiled;
        computed once per bound and grid)."""
        key = (code, lattice)
        step = self._step_flat.get(key)
        if step is None:
            step = self._step_flat[key] = np.tile(self.steps(code, lattice), self.rows)
        return step

    def rebuild(self, q: np.ndarray, code: int, lattice: int) -> np.ndarray:
        """Float32 values of grid integers ``q`` (N, D) of bound ``code`` (counts on the fine lattice
        become grid integers on the lattice first): :func:`grid.rebuild`."""
        if lattice == grid.FINE:
            q = fine_lattice.from_counts(q, *self.fine_flat(code))
            lattice = grid.LATTICE
        return grid.rebuild(q, self.step_flat(code, lattice))

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

    def center(self, code: int, lattice: int = grid.PLAIN) -> np.ndarray:
        """Training mean on the grid of bound ``code``: (rows, cols) int64, elementwise IEEE ops only (on
        the fine lattice: the count of the lattice's center, integer ops only)."""
        c = self._centers.get((code, lattice))
        if c is None and lattice == grid.FINE:
            flat = self.fine_flat(code)
            if flat is None:
                raise EnvelopeError("record is coded as counts, but the model knows no fine lattice")
            c = fine_lattice.to_counts(self.center(code, grid.LATTICE).reshape(-1), *flat)[0]
            c = self._centers[(code, lattice)] = c.reshape(self.rows, self.cols)
        if c is None:
            step = self.steps(code, lattice)
            with np.errstate(over="ignore", invalid="ignore"):
                c = np.clip(np.rint(self.offset / step), -grid.MAX_GRID, grid.MAX_GRID)
            c = np.where(np.isfinite(c), c, 0).astype(np.int64)
            self._centers[(code, lattice)] = c
        return c

    def slots(self, lattice: int, version7: bool = False) -> int:
        """The predictor slots of records on ``lattice``: the simple predictors, the autoencoder ones (not
        on the fine lattice), the fitted-table slots (on the data's lattice only), and in ``version7``
        records the fitted linear predictor's, last, where the model has one."""
        if lattice == grid.FINE:
            n = len(predictors.PREDICTORS)
        else:
            n = len(self.predictors) + (self._table_slots if lattice else 0)
        return n + int(version7 and self.linear is not None)

    def presets_for(self, version7: bool) -> tuple[int, ...]:
        """The preset bound codes a record names in a few bits: :attr:`presets`, and in ``version7`` records
        the lossless bound after them where the model has one."""
        if version7 and self.lossless_code is not None:
            return (*self.presets, self.lossless_code)
        return self.presets

    def linear_slot(self, lattice: int) -> int | None:
        """The fitted linear predictor's slot on ``lattice``, or None where the model has none."""
        return None if self.linear is None else self.slots(lattice)

    def mode_model(self, lattice: int, version7: bool):  # noqa: ANN201 - a constriction Categorical
        """The mode symbol's table on ``lattice``: ``slot * 2 + has_raw`` over :meth:`slots`."""
        key = (int(lattice), bool(version7 and self.linear is not None))
        model = self._mode_models.get(key)
        if model is None:
            import constriction

            weights = np.asarray([_NO_RAW_WEIGHT, _RAW_WEIGHT] * self.slots(lattice, version7), np.float64)
            model = constriction.stream.model.Categorical(weights, perfect=False)
            self._mode_models[key] = model
        return model

    def expected_classes(self, code: int, predictor: int, lattice: bool = False) -> np.ndarray:
        """The scale class per column that the first block of a record is coded against (``predictor``: a
        slot of :meth:`slots`; the linear one's where the model has it)."""
        key = (code, lattice, predictor)
        k = self._kexp.get(key)
        if k is None:
            name = "linear" if predictor == self.linear_slot(lattice) else self.predictors[predictor]
            k = context.expected_class(self.scales[name], self.steps(code, lattice))
            self._kexp[key] = k
        return k

    def expected_classes_all(self, code: int, lattice: bool) -> np.ndarray:
        """:meth:`expected_classes` of every slot a record coded with scale classes may name, stacked
        (slots, cols); rows of fitted-table slots (coded without classes) are zeros."""
        kexp = self._kexp_all.get((code, lattice))
        if kexp is None:
            n = self.slots(lattice, self.linear is not None)
            kexp = np.zeros((n, self.cols), np.int64)
            for p in range(n):
                if p < len(self.predictors) or p == self.linear_slot(lattice):
                    kexp[p] = self.expected_classes(code, p, lattice)
            self._kexp_all[(code, lattice)] = kexp
        return kexp

    def latent_models_of(self, mode: int, lattice: int = grid.PLAIN) -> list | None:
        """The latent code tables a record of ``mode`` on ``lattice`` carries (autoencoder predictors, never
        on the fine lattice, where the linear predictor may take the first autoencoder slot), else None."""
        if self.autoencoder is not None and self.slot_name(mode >> 1, lattice) in AE_PREDICTORS:
            return self.autoencoder.models
        return None

    def table_of(self, code: int, mode: int):  # noqa: ANN201 - a constriction Categorical or None
        """The fitted table a kind-2 record of ``mode`` is coded with, or None for scale classes."""
        slot = mode >> 1
        if slot < len(self.predictors) or slot == self.linear_slot(grid.LATTICE):
            return None
        return self.table(code, slot - len(self.predictors))

    def slot_name(self, slot: int, lattice: int) -> str:
        """The predictor a record's ``slot`` on ``lattice`` names (a fitted-table slot: its simple
        predictor's; the linear slot: ``"linear"``)."""
        if slot == self.linear_slot(lattice):
            return "linear"
        if slot < (len(predictors.PREDICTORS) if lattice == grid.FINE else len(self.predictors)):
            return self.predictors[slot]
        return predictors.PREDICTORS[slot - len(self.predictors)]


def fine_parameters(fine: Any, cols: int) -> tuple[np.ndarray, ...] | None:
    """Per column ``p, r, off`` (int64), ``mirror`` and whether it has a fine lattice (bool), identity
    where it has none, from the statistic ``fine_lattice``; None when no column has a usable one."""
    if not isinstance(fine, list | tuple) or len(fine) != cols:
        return None
    p, r = np.ones(cols, np.int64), np.ones(cols, np.int64)
    off, mirror, has = np.zeros(cols, np.int64), np.zeros(cols, bool), np.zeros(cols, bool)
    for c, spec in enumerate(fine):
        if spec is None:
            continue
        if not fine_lattice.valid(spec):
            log.warning("the model's fine lattice of column %d is unreadable; coding without it", c)
            continue
        p[c], r[c], off[c], mirror[c], has[c] = int(spec[0]), int(spec[1]), int(spec[2]), bool(spec[3]), True
    return (p, r, off, mirror, has) if has.any() else None

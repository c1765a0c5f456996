"""The learned probability model as stored in a bundle, and its exact integer form at a given grid.

Stored (plain JSON, in the bundle's ``learned`` section): the MLP's float32 weights over dimensionless
features (every column divided by its own scale ``sigma``), per column the training mean, the typical first
value's deviation and residual magnitude (data units), and one table of residual frequencies per scale
class (integers summing to ``2**16``, fitted at training in grid units pooled over several bounds: a class
stands for a residual magnitude, whatever the bound).

At a grid of steps ``s`` (one per column) the integer weights follow from the stored numbers by IEEE
elementwise operations (one product or quotient, then ``rint``), so producer and consumer derive the same
integers from the same JSON on any machine.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compressor.errors import BundleError
from compressor.learned.kernel import (
    CLIP,
    CONTEXT_FEATURES,
    CTX,
    CW_BITS,
    CW_CAP,
    ESC,
    FEATURE_COLUMN,
    M_BITS,
    N_CONTEXT,
    N_DIFF,
    N_FEAT,
    NSYM,
    Q_CAP,
    SEASON,
    XC,
    R,
)
from compressor.learned.mlp import float_exact

__all__ = [
    "CLASSES",
    "SHIFTS",
    "THRESHOLDS",
    "VERSIONS",
    "KernelParams",
    "LearnedModel",
    "classes_of",
    "context_ratio",
    "frequencies",
    "table_layout_of",
]

CLASSES = 44
#: class k holds contexts with 4 * sum|r| in [THRESHOLDS[k-1], THRESHOLDS[k]): round(9.6 * 2**(k/2)), so the
#: mean |r| of class k is about 0.3 * 2**(k/2) (literals: no math library decides a class)
THRESHOLDS = np.array(
    [
        10, 14, 19, 27, 38, 54, 77, 109, 154, 217, 307, 434, 614, 869, 1229, 1738, 2458, 3476, 4915, 6951,
        9830, 13902, 19661, 27805, 39322, 55609, 78643, 111218, 157286, 222437, 314573, 444873, 629146,
        889746, 1258291, 1779492, 2516582, 3558985, 5033165, 7117970, 10066330, 14235940, 20132659,
    ],
    np.int64,
)  # fmt: skip
#: low bits coded uniformly per class (the table then spans about 24 mean residuals)
SHIFTS = np.array([0] * 13 + [k // 2 for k in range(2, 33)], np.int64)
assert len(THRESHOLDS) == CLASSES - 1 and len(SHIFTS) == CLASSES
#: model version 2 (kind 6) adds three classes below the first threshold, for contexts that expect
#: almost no residual (a background the whole neighbourhood agrees on)
LOW_THRESHOLDS = (1, 3, 6)
#: the model versions this build reads: 1 (kind 3), 2 (kind 6, the richer context), 3 (kind 8: version 2's
#: model, its streams started at state 1 with a final state of 0 to 4 bytes, see :mod:`compressor.learned.coder`)
#: and 4 (version 3's records with a seasonal term in the prediction: a build that reads version 3 only
#: refuses the bundle instead of mispredicting)
VERSIONS = (1, 2, 3, 4)
#: the longest period a version-4 model's seasonal term may name (rows)
MAX_PERIOD = 1 << 16
#: sign contexts a version-3 model may split each class's table into (see kernel._table)
SIGN_SETS = (1, 3, 9)
#: parts of the range between the limits a version-3 model may split each table into (kernel._table)
LEVEL_SETS = (1, 8, 32)


@functools.cache
def classes_of(version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(thresholds, shifts, nominal mean |r >> shift|)`` of the scale classes of model ``version``
    (computed once per version; read-only arrays)."""
    low = len(LOW_THRESHOLDS) if version >= 2 else 0
    thresholds = np.concatenate([np.array(LOW_THRESHOLDS[:low], np.int64), THRESHOLDS])
    shifts = np.concatenate([np.zeros(low, np.int64), SHIFTS])
    mean = (
        np.concatenate([np.array([0.015, 0.06, 0.14][:low]), 0.3 * 2 ** (np.arange(CLASSES) / 2)])
        / 2.0**shifts
    )
    return _read_only(thresholds, shifts, mean)


@functools.cache
def table_layout_of(
    version: int, sided: bool, signs: int = 1, levels: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(shifts, nominal mean, side)`` per table of model ``version`` (as :func:`kernel._table` numbers
    them): the scale classes, and when ``sided`` the classes again for predictions at the low limit (side
    1) and at the high one (side -1); each class's entry ``signs * levels`` times in a row, one per sign
    context and level (version 3; computed once; read-only arrays)."""
    _, shifts, means = classes_of(version)
    sides = (0, 1, -1) if sided else (0,)
    n, per = len(sides), signs * levels
    return _read_only(
        np.repeat(np.tile(shifts, n), per),
        np.repeat(np.tile(means, n), per),
        np.repeat(np.array(sides, np.int64), len(shifts) * per),
    )


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.setflags(write=False)
    return arrays


_W_BITS = 24  # target magnitude of the largest first-layer weight
_MIN_SHIFT, _MAX_SHIFT = 8, 40


def frequencies(table: dict[str, Any]) -> np.ndarray:
    """The (NSYM,) int64 frequencies of one stored class table (``low``, ``freq``, ``escape``; every entry
    not listed is 1), checked to sum to ``2**16``."""
    full = np.ones(NSYM, np.int64)
    low = int(table["low"])
    freq = np.asarray(table["freq"], np.int64)
    if low < 0 or low + len(freq) > ESC or (freq < 1).any():
        raise BundleError("learned model: a residual table is out of range")
    full[low : low + len(freq)] = freq
    full[ESC] = int(table["escape"])
    if full[ESC] < 1 or int(full.sum()) != 1 << M_BITS:
        raise BundleError("learned model: a residual table does not sum to 2**16")
    return full


@dataclass(frozen=True)
class KernelParams:
    """The integer arrays the compiled kernel reads, for one grid.

    Arguments:
        w1 (np.ndarray): (cols, N_FEAT, H) int32 first-layer weights (version 1: the level rows 0).
        b1 (np.ndarray): (cols, H) int64 biases (the column's one-hot folded in).
        w2 (np.ndarray): (cols, H) int64 output weights.
        b2 (np.ndarray): (cols,) int64 output biases.
        hshift (np.ndarray): (cols,) hidden-layer shift to units of ``2**-8``.
        center (np.ndarray): (cols,) prediction of row 0.
        default (np.ndarray): (cols,) residual magnitude assumed before the record.
        cross (np.ndarray): (cols, XC) int64 weights of the earlier columns' current-row changes (units
            ``2**-20``).
        first_slope (np.ndarray): (cols,) int64 weight of the previous column's deviation on row 0 (units
            ``2**-20``).
        context (np.ndarray): (2, cols, N_CONTEXT) int64 scale-context weights, row 0 and later rows
            (units ``2**-CW_BITS``).
        level (np.ndarray): (cols,) int64 the level features' zero (the training mean).
        low (np.ndarray): (cols,) int64 the smallest prediction (version 1: ``-2**42``).
        high (np.ndarray): (cols,) int64 the largest prediction (version 1: ``2**42``).
        signs (int): sign contexts per scale class: 1 (before version 3), 3 or 9. Default: 1.
        levels (int): levels of the prediction per sign context: 1 (before version 3), 8 or 32. Default: 1.
        season (np.ndarray | None): (cols, SEASON) int64 weights of the column's changes one period back
            (units ``2**-20``), or None: none (before version 4). Default: None.
        period (int): the period in rows those changes are taken at, 0 for none. Default: 0.

    Derived: ``w1f`` and ``b1f``, the first layer as float64, and ``exact`` (cols,), whether float64
    computes a column's hidden layer exactly (:func:`~compressor.learned.mlp.float_exact`).
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    hshift: np.ndarray
    center: np.ndarray
    default: np.ndarray
    cross: np.ndarray
    first_slope: np.ndarray
    context: np.ndarray
    level: np.ndarray
    low: np.ndarray
    high: np.ndarray
    signs: int = 1
    levels: int = 1
    season: np.ndarray | None = None
    period: int = 0
    w1f: np.ndarray = field(init=False, repr=False)
    b1f: np.ndarray = field(init=False, repr=False)
    exact: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.season is None:
            object.__setattr__(self, "season", np.zeros((len(self.center), SEASON), np.int64))
        object.__setattr__(self, "w1f", self.w1.astype(np.float64))
        object.__setattr__(self, "b1f", self.b1.astype(np.float64))
        object.__setattr__(self, "exact", float_exact(self.w1, self.b1, CLIP))

    def predictor_args(self) -> tuple:
        """The arrays in the order the kernel reads them (:func:`~compressor.learned.kernel.residuals`)."""
        return (
            self.w1,
            self.b1,
            self.w2,
            self.b2,
            self.hshift,
            self.center,
            self.default,
            self.cross,
            self.first_slope,
            self.context,
            self.level,
            self.low,
            self.high,
            self.w1f,
            self.b1f,
            self.exact,
            np.int64(self.signs),
            np.int64(self.levels),
            self.season,
            np.int64(self.period),
        )


@dataclass
class LearnedModel:
    """A trained conditional model (see the module docstring).

    Arguments:
        w1 (np.ndarray): (N_DIFF + onehot, H) float32 first-layer weights over dimensionless features.
        b1 (np.ndarray): (H,) float32.
        w2 (np.ndarray): (H,) float32.
        b2 (float): output bias (dimensionless).
        sigma (np.ndarray): (cols,) per-column scale of the features and the prediction (data units).
        mean (np.ndarray): (cols,) training mean (data units).
        first_dev (np.ndarray): (cols,) mean |first value - mean| (data units).
        residual (np.ndarray): (cols,) mean |residual| of the MLP (data units).
        tables (list[dict[str, Any]]): one stored residual table per scale class.
        summary (dict[str, Any]): held-back measurements from training. Default: empty.
        version (int): 1 (kind 3: row 0 from ``mean``, the class from the column's own residuals), 2
            (kind 6: the fields below, three more classes) or 3 (kind 8: version 2's model, shorter
            streams). Default: 1.
        first_mean (np.ndarray | None): (cols,) mean of row 0 (data units), its prediction. Version 2.
            Default: None.
        spread (np.ndarray | None): (cols,) the unit of the level features (data units). Version 2.
            Default: None.
        first_slope (np.ndarray | None): (cols,) row 0 of column ``c`` moves by this times the deviation
            of column ``c-1`` from its ``first_mean`` (data units per data unit). Version 2. Default: None.
        cross (np.ndarray | None): (cols, XC) the prediction of column ``c`` moves by ``cross[c, j]``
            times the current-row change of column ``c-1-j`` (data units per data unit). Version 2.
            Default: None.
        context (np.ndarray | None): (1 + cols, N_CONTEXT) scale-context weights of row 0 (every column),
            then of the later rows of each column: ``4 *`` the expected |residual| in grid units is their
            sum over the context magnitudes (see :data:`~compressor.learned.kernel.CONTEXT_FEATURES`; each
            magnitude in grid units of its own column, brought to the coded column's by the ratio of
            steps; row 0's bias is in units of ``32 * first_dev / step``). Version 2. Default: None.
        limits (np.ndarray | None): (2, cols) the smallest and largest value of the training data (data
            units): every prediction is limited to them (on the grid), or None, unlimited. Version 2.
            Default: None.
        signs (int): each scale class's table split by the sign of the residual one row up (3) and also
            of the one to the left (9), or not (1). Version 3. Default: 1.
        levels (int): each of those split again by where the prediction sits between the limits, in 8
            or 32 equal parts, or not (1; always without limits). Version 3. Default: 1.
        table_map (np.ndarray | None): (len(table_layout),) the stored table of each table, or None:
            one stored table each. With sign contexts or levels, a context's own table is stored only
            where training saw it often; the others map to their class's table over all its contexts
            (stored first). Version 3. Default: None.
        period (int): the period in rows of the seasonal term, 0 for none (every version below 4).
            Default: 0.
        season (np.ndarray | None): (cols, SEASON) the prediction of column ``c`` moves by ``season[c, j]``
            times the column's change into row ``t - period + 1 - j`` (dimensionless: the same column).
            Version 4 (with ``period`` >= 2). Default: None.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    sigma: np.ndarray
    mean: np.ndarray
    first_dev: np.ndarray
    residual: np.ndarray
    tables: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    first_mean: np.ndarray | None = None
    spread: np.ndarray | None = None
    first_slope: np.ndarray | None = None
    cross: np.ndarray | None = None
    context: np.ndarray | None = None
    limits: np.ndarray | None = None
    signs: int = 1
    levels: int = 1
    table_map: np.ndarray | None = None
    period: int = 0
    season: np.ndarray | None = None
    _params: dict[bytes, KernelParams] = field(default_factory=dict, repr=False, init=False)
    _freq: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, init=False)
    _stored: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, init=False)

    @property
    def cols(self) -> int:
        return len(self.sigma)

    @property
    def n_features(self) -> int:
        """Features the MLP reads before the column one-hot: the differences, and from version 2 the
        levels."""
        return N_DIFF if self.version < 2 else N_FEAT

    @property
    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(thresholds, shifts, nominal mean)`` of this model's scale classes."""
        return classes_of(self.version)

    @property
    def table_layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(shifts, nominal mean, side)`` per table, before the table map: the scale classes, and with
        ``limits`` the classes again for predictions at the low limit (side 1: residuals >= 0) and at the
        high one (side -1: residuals <= 0), each split by sign context and level."""
        return table_layout_of(self.version, self.limits is not None, self.signs, self.levels)

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """``(map, shifts)``: the stored table of each table (int64) and the low bits of each stored
        table (every table mapped to one shares its class)."""
        if self._stored is None:
            full = self.table_layout[0]
            tmap = np.arange(len(full), dtype=np.int64) if self.table_map is None else self.table_map
            shifts = np.zeros(len(self.tables), np.int64)
            shifts[tmap] = full
            self._stored = (tmap, shifts)
        return self._stored

    def to_json(self) -> dict[str, Any]:
        out = {
            "w1": self.w1.astype(np.float32).tolist(),
            "b1": self.b1.astype(np.float32).tolist(),
            "w2": self.w2.astype(np.float32).tolist(),
            "b2": float(np.float32(self.b2)),
            "sigma": [float(v) for v in self.sigma],
            "mean": [float(v) for v in self.mean],
            "first_dev": [float(v) for v in self.first_dev],
            "residual": [float(v) for v in self.residual],
            "tables": self.tables,
            "summary": self.summary,
        }
        if self.version >= 2:
            out["version"] = self.version
            out["first_mean"] = [float(v) for v in self.first_mean]
            out["spread"] = [float(v) for v in self.spread]
            out["first_slope"] = [float(v) for v in self.first_slope]
            out["cross"] = np.asarray(self.cross, np.float64).tolist()
            out["context"] = np.asarray(self.context, np.float64).tolist()
            out["limits"] = None if self.limits is None else np.asarray(self.limits, np.float64).tolist()
        if self.version >= 3:
            out["signs"] = self.signs
            out["levels"] = self.levels
            if self.table_map is not None:
                out["table_map"] = [int(v) for v in self.table_map]
        if self.version >= 4:
            out["period"] = int(self.period)
            out["season"] = np.asarray(self.season, np.float64).tolist()
        return out

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> LearnedModel:
        version = spec.get("version", 1) if isinstance(spec, dict) else 1
        if version not in VERSIONS:
            raise BundleError(
                f"learned model version {version} is not supported by this build (it reads versions "
                f"{', '.join(map(str, VERSIONS))}); upgrade the consumer"
            )
        try:
            extra = {}
            if version >= 2:
                extra = {
                    "first_mean": np.asarray(spec["first_mean"], np.float64),
                    "spread": np.asarray(spec["spread"], np.float64),
                    "first_slope": np.asarray(spec["first_slope"], np.float64),
                    "cross": np.asarray(spec["cross"], np.float64),
                    "context": np.asarray(spec["context"], np.float64),
                    "limits": None if spec["limits"] is None else np.asarray(spec["limits"], np.float64),
                }
            if version >= 3:
                extra["signs"] = spec.get("signs", 1)
                extra["levels"] = spec.get("levels", 1)
                for key, allowed in (("signs", SIGN_SETS), ("levels", LEVEL_SETS)):
                    if extra[key] not in allowed or isinstance(extra[key], bool):
                        raise BundleError(f"learned model: {key} {extra[key]!r}, not one of {allowed}")
                if spec.get("table_map") is not None:
                    extra["table_map"] = np.asarray(spec["table_map"], np.int64)
            if version >= 4:
                extra["period"] = spec["period"]
                extra["season"] = np.asarray(spec["season"], np.float64)
            model = cls(
                w1=np.asarray(spec["w1"], np.float32),
                b1=np.asarray(spec["b1"], np.float32),
                w2=np.asarray(spec["w2"], np.float32),
                b2=float(np.float32(spec["b2"])),
                sigma=np.asarray(spec["sigma"], np.float64),
                mean=np.asarray(spec["mean"], np.float64),
                first_dev=np.asarray(spec["first_dev"], np.float64),
                residual=np.asarray(spec["residual"], np.float64),
                tables=list(spec["tables"]),
                summary=dict(spec.get("summary", {})),
                version=version,
                **extra,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"learned model is unreadable: {exc}") from exc
        cols, hidden = model.cols, model.w1.shape[1] if model.w1.ndim == 2 else 0
        if (
            model.w1.ndim != 2
            or model.w1.shape[0] != model.n_features + min(cols, 16)
            or model.b1.shape != (hidden,)
            or model.w2.shape != (hidden,)
            or not all(len(a) == cols for a in (model.mean, model.first_dev, model.residual))
            or not _tables_ok(model)
            or not (np.isfinite(model.sigma).all() and (model.sigma > 0).all())
            or (version >= 2 and not _version2_shapes_ok(model))
            or (version >= 4 and not _season_ok(model))
        ):
            raise BundleError("learned model has inconsistent shapes")
        model.freq_tables()  # checks every table
        return model

    def freq_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``(freq, cum)`` of the stored tables: (tables, NSYM) int32 twice (every entry below ``2**17``;
        half the cache footprint of int64, which counts where a model stores hundreds of tables)."""
        if self._freq is None:
            freq = np.stack([frequencies(t) for t in self.tables])
            cum = np.zeros_like(freq)
            cum[:, 1:] = np.cumsum(freq, axis=1)[:, :-1]
            self._freq = (freq.astype(np.int32), cum.astype(np.int32))
        return self._freq

    def params(self, steps: np.ndarray) -> KernelParams:
        """The integer predictor at grid steps ``steps`` (cols,) float64 (cached per grid)."""
        steps = np.asarray(steps, np.float64)
        key = steps.tobytes()
        p = self._params.get(key)
        if p is None:
            p = self._params[key] = self._integer_params(steps)
        return p

    def _integer_params(self, steps: np.ndarray) -> KernelParams:
        cols, hidden = self.cols, self.w1.shape[1]
        w1f = self.w1.astype(np.float64)
        nf = self.n_features
        w1 = np.zeros((cols, N_FEAT, hidden), np.int32)
        b1 = np.zeros((cols, hidden), np.int64)
        w2 = np.zeros((cols, hidden), np.int64)
        b2 = np.zeros(cols, np.int64)
        hshift = np.zeros(cols, np.int64)
        for c in range(cols):
            scale = np.zeros(nf)
            for i, dc in enumerate(FEATURE_COLUMN[:nf]):
                src = c + dc
                if 0 <= src < cols:  # one grid unit in the feature's units (levels: in units of spread)
                    scale[i] = steps[src] / (self.sigma[src] if i < N_DIFF else self.spread[src])
            with np.errstate(over="ignore", invalid="ignore"):
                real = _finite(w1f[:nf] * scale[:, None])
            bias = w1f[nf + min(c, 15)] + self.b1.astype(np.float64)
            biggest = float(np.abs(real).max(initial=0.0))
            mant, exp = math.frexp(biggest)  # exact: biggest = mant * 2**exp, mant in [0.5, 1)
            bits = _W_BITS - (exp if mant > 0.5 else exp - 1) if biggest > 0 else _MAX_SHIFT
            a = min(max(bits, _MIN_SHIFT), _MAX_SHIFT)
            w1[c, :nf] = np.clip(np.rint(np.ldexp(real, a)), -(2**30), 2**30)
            b1[c] = np.clip(np.rint(np.ldexp(bias, a)), -(2**50), 2**50)
            hshift[c] = a - 8
            with np.errstate(over="ignore", invalid="ignore"):
                out = self.sigma[c] / steps[c]  # one unit of the prediction in grid units
                w2[c] = np.clip(
                    np.rint(_finite(np.ldexp(self.w2.astype(np.float64) * out, 12))), -(2**30), 2**30
                )
                b2[c] = int(
                    np.clip(np.rint(_finite(np.ldexp(np.float64(self.b2) * out, 20))), -(2**56), 2**56)
                )
        with np.errstate(over="ignore", invalid="ignore"):
            center = np.rint((self.mean if self.version < 2 else self.first_mean) / steps)
            default = np.rint(self.residual / steps)
            first = np.rint(4 * CTX * self.first_dev / steps)
            level = np.rint(self.mean / steps)
        cap = float(2**40)
        level = np.where(np.isfinite(level), np.clip(level, -cap, cap), 0).astype(np.int64)
        center = np.where(np.isfinite(center), np.clip(center, -cap, cap), 0).astype(np.int64)
        default = np.where(np.isfinite(default), np.clip(default, 0, 2**27), 0).astype(np.int64)
        first = np.where(np.isfinite(first), np.clip(first, 0, 2**40), 0).astype(np.int64)
        cross = np.zeros((cols, XC), np.int64)
        first_slope = np.zeros(cols, np.int64)
        context = np.zeros((2, cols, N_CONTEXT), np.int64)
        if self.version < 2:  # the class of row 0 from first_dev, later ones from 4 * sum|r| of the column
            context[0, :, 0] = first << CW_BITS
            context[1, :, 1] = 4 << CW_BITS
        else:
            ratios = context_ratio(steps)
            for c in range(cols):
                ratio = ratios[c]
                context[0, c] = _fixed(self.context[0] * ratio, CW_BITS, 0, CW_CAP)
                context[1, c] = _fixed(self.context[1 + c] * ratio, CW_BITS, 0, CW_CAP)
                context[0, c, 0] = _fixed(self.context[0, 0] * first[c], CW_BITS, 0, CW_CAP << 16)
                if c > 0:
                    first_slope[c] = _fixed(
                        self.first_slope[c] * (steps[c - 1] / steps[c]), 20, -(2**30), 2**30
                    )
                    src = steps[np.arange(c - 1, max(c - 1 - XC, -1), -1)]
                    cross[c, : len(src)] = _fixed(
                        self.cross[c, : len(src)] * (src / steps[c]), 20, -(2**30), 2**30
                    )
        low = np.full(cols, -Q_CAP, np.int64)
        high = np.full(cols, Q_CAP, np.int64)
        if self.limits is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                lim = np.rint(self.limits / steps)
            lim = np.where(np.isfinite(lim), np.clip(lim, -Q_CAP, Q_CAP), [[-Q_CAP], [Q_CAP]])
            low, high = lim.astype(np.int64)
        season = None
        if self.version >= 4:
            season = _fixed(self.season, 20, -(2**30), 2**30)
        return KernelParams(
            w1, b1, w2, b2, hshift, center, default, cross, first_slope, context, level, low, high, self.signs,
            self.levels, season, self.period,
        )  # fmt: skip


def context_ratio(steps: np.ndarray) -> np.ndarray:
    """(cols, N_CONTEXT) the factor that brings each context magnitude of column ``c`` to the grid units of
    ``c`` (0 where the column it reads does not exist)."""
    cols = len(steps)
    return np.array(
        [
            [steps[c + dc] / steps[c] if 0 <= c + dc < cols else 0.0 for _, dc in CONTEXT_FEATURES]
            for c in range(cols)
        ]
    )


def _fixed(real: Any, bits: int, low: float, high: float) -> Any:
    """``rint(real * 2**bits)`` clipped to ``[low, high]`` as int64 (NaN as 0): one IEEE product, exact."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.clip(np.rint(np.ldexp(_finite(np.asarray(real, np.float64)), bits)), low, high)
    return v.astype(np.int64)


def _tables_ok(model: LearnedModel) -> bool:
    """Whether ``model`` stores one table per table, or maps every table to a stored one of its class
    (levels only with limits)."""
    full = model.table_layout[0]
    if model.levels > 1 and model.limits is None:
        return False
    if model.table_map is None:
        return len(model.tables) == len(full)
    tmap = model.table_map
    if tmap.shape != full.shape or (tmap < 0).any() or (tmap >= len(model.tables)).any():
        return False
    return bool((model.stored()[1][tmap] == full).all())


def _version2_shapes_ok(model: LearnedModel) -> bool:
    cols = model.cols
    return (
        model.first_mean.shape == (cols,)
        and model.spread.shape == (cols,)
        and bool((model.spread > 0).all())
        and model.first_slope.shape == (cols,)
        and model.cross.shape == (cols, XC)
        and model.context.shape == (1 + cols, N_CONTEXT)
        and (
            model.limits is None
            or (model.limits.shape == (2, cols) and bool(np.isfinite(model.limits).all()))
        )
        and all(
            np.isfinite(a).all() for a in (model.first_mean, model.first_slope, model.cross, model.context)
        )
    )


def _season_ok(model: LearnedModel) -> bool:
    """Whether a version-4 model's seasonal term reads only decoded values of its own record."""
    period = model.period
    return (
        isinstance(period, int)
        and not isinstance(period, bool)
        and 2 <= period <= MAX_PERIOD
        and model.season.shape == (model.cols, SEASON)
        and bool(np.isfinite(model.season).all())
    )


def _finite(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN as 0 and infinities as +-2**62 (clipped afterwards): a bound so large or small that
    a product overflows still yields defined integers on both sides."""
    return np.nan_to_num(a, nan=0.0, posinf=2.0**62, neginf=-(2.0**62))


def fit_table(
    counts: np.ndarray,
    mean: float,
    side: int = 0,
    prior_weight: float = 64.0,
    prior: np.ndarray | None = None,
) -> dict[str, Any]:
    """Stored table of a class from symbol ``counts`` (NSYM,), mixed with a geometric prior of the class's
    nominal magnitude ``mean`` (of ``r >> shift``; so rare classes still code well): two-sided, or with
    ``side`` 1 / -1 on the non-negative / non-positive residuals only; or with ``prior`` (NSYM,)
    probabilities instead."""
    if prior is None:
        theta = mean / (1 + mean)
        span = np.arange(-R, R + 1, dtype=np.float64)
        prior = theta ** np.abs(span) * (span * side >= 0)
        prior = np.append(prior, prior.sum() * 1e-3)
        prior /= prior.sum()
    counts = np.asarray(counts, np.float64)
    p = (counts + prior_weight * prior) / (counts.sum() + prior_weight)
    budget = (1 << M_BITS) - NSYM
    f = 1 + np.floor(p * budget).astype(np.int64)
    f[int(np.argmax(f))] += (1 << M_BITS) - int(f.sum())
    body = f[:ESC]
    nz = np.flatnonzero(body > 1)
    low, high = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (R, R + 1)
    return {"low": low, "freq": [int(v) for v in body[low:high]], "escape": int(f[ESC])}

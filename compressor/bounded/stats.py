"""Training-time statistics the error-bounded codec keeps in the bundle (:class:`BoundedStats`, the
manifest's ``codec.bounded`` section, ``bundle.bounded_stats``).

Per column of the record layout: the value range (for ``--relative`` bounds), the mean absolute residual
of every predictor (to expect a scale class for the first block of a record, so records need no per-record
scale bytes), the data's quantum (``null`` when the values sit on no lattice; see
:mod:`compressor.bounded.lattice`) and, when every column has one, each simple predictor's residual
histogram on that lattice (the fitted tables of kind-2 records), and where the values are sensor counts
converted and rounded, the fine lattice inside the quantum (:mod:`compressor.bounded.fine_lattice`; the
counts of kind-7 records). All plain JSON floats, so producer and consumer read identical numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from compressor.bounded import fine_lattice, grid, linear
from compressor.bounded.lattice import column_quanta
from compressor.bounded.predictors import PREDICTORS, forward
from compressor.bounded.tables import RADIUS
from compressor.envelope import CLASSICAL_VERSION

__all__ = [
    "LAYOUT_KEY",
    "PREFERENCE_KEY",
    "BoundedStats",
    "WIN_RATE_KEY",
    "fit_stats",
    "latent_counts",
    "lattice_tables",
    "smallest_range",
    "value_ranges",
]

#: encoder hints measured at training (see :mod:`compressor.bounded.hints`); they never change what a
#: consumer decodes. The fraction of held-back records on which the autoencoder predictor won:
WIN_RATE_KEY = "autoencoder_win_rate"
#: per preset bound code (a string key), whether the data's lattice beat the plain grid where it is finer:
PREFERENCE_KEY = "lattice_preference"
#: the wire version whose classical alphabets a bundle's kind-1, 2 and 7 records use (7: the fitted linear
#: predictor's mode slot and the lossless preset bound, where the bundle has them); absent before version 7
LAYOUT_KEY = "layout_version"
#: the fraction of training records held back to check a fine lattice found on the others
HELD_BACK = 0.2

log = logging.getLogger(__name__)


def _frozen(value: Any) -> Any:
    """A JSON value made read-only: lists become tuples, objects read-only mappings."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _plain(value: Any) -> Any:
    """The JSON value :func:`_frozen` was made from."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


#: the JSON type each statistic must have; a statistic of another type is unreadable and left out
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "layout": list,
    "value_min": list,
    "value_max": list,
    "residual_scale": dict,
    "quantum": list,
    "fine_lattice": list,
    "lattice_tables": dict,
    "linear_predictor": dict,
    "latent_counts": list,
    LAYOUT_KEY: int,
    WIN_RATE_KEY: (int, float),
    PREFERENCE_KEY: dict,
}


@dataclass(frozen=True)
class BoundedStats:
    """The error-bounded codec's training statistics of a bundle (the manifest's ``codec.bounded``
    section). Every field is None when the bundle does not have it; lists are tuples and objects read-only
    mappings of exactly the JSON values, so a bundle saves the section it was loaded with.

    Arguments:
        layout (tuple[int, int] | None): the record layout ``(rows, cols)`` the statistics were measured on.
            Default: None, absent.
        value_min (tuple[float, ...] | None): per column, the smallest training value. Default: None, absent.
        value_max (tuple[float, ...] | None): per column, the largest training value. Default: None, absent.
        residual_scale (Mapping[str, tuple[float, ...]] | None): per simple predictor, the mean absolute
            residual of each column. Default: None, absent.
        quantum (tuple[float | None, ...] | None): per column, the data's quantum (None where the values sit
            on no lattice). Default: None, absent.
        fine_lattice (tuple[tuple | None, ...] | None): per column, the fine lattice ``[p, r, off, mirror]``
            inside its quantum (None where there is none; :mod:`compressor.bounded.fine_lattice`). Default:
            None, absent.
        lattice_tables (Mapping[str, Mapping[str, Any]] | None): per simple predictor, its residual
            histogram on the lattice (``low``, ``counts``, ``escape``). Default: None, absent.
        linear_predictor (Mapping[str, Any] | None): the fitted linear predictor's coefficients
            (``bits``, ``coef`` per column; :mod:`compressor.bounded.linear`). Default: None, absent.
        latent_counts (tuple[Mapping[str, Any], ...] | None): per latent dimension, the histogram of
            training codes (``low``, ``counts``). Default: None, absent.
        autoencoder_win_rate (float | None): encoder hint, the fraction of held-back records the
            autoencoder predictor won. Default: None, absent.
        lattice_preference (Mapping[str, bool] | None): encoder hint, per preset bound code (a string),
            whether the lattice paid. Default: None, absent.
        layout_version (int | None): the wire version whose classical alphabets the bundle's records use
            (7 from the build that introduced it; :data:`LAYOUT_KEY`). Default: None, version 6's.
    """

    layout: tuple[int, int] | None = None
    value_min: tuple[float, ...] | None = None
    value_max: tuple[float, ...] | None = None
    residual_scale: Mapping[str, tuple[float, ...]] | None = None
    quantum: tuple[float | None, ...] | None = None
    fine_lattice: tuple[tuple | None, ...] | None = None
    lattice_tables: Mapping[str, Mapping[str, Any]] | None = None
    linear_predictor: Mapping[str, Any] | None = None
    latent_counts: tuple[Mapping[str, Any], ...] | None = None
    autoencoder_win_rate: float | None = None
    lattice_preference: Mapping[str, bool] | None = None
    layout_version: int | None = None

    @classmethod
    def from_json(cls, section: Any) -> BoundedStats | None:
        """The statistics in a manifest section, or None when there is none or it is unreadable (not an
        object, or a statistic of the wrong JSON type): the codec then codes without statistics."""
        if section is None:
            return None
        if not isinstance(section, dict):
            log.warning("the bundle's bounded statistics are unreadable; coding without them")
            return None
        values = {}
        for name, kind in _JSON_TYPES.items():
            value = section.get(name)
            if value is None:
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                log.warning(
                    "the bundle's bounded statistic %s is unreadable; coding without statistics", name
                )
                return None
            values[name] = _frozen(value)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The manifest section: the statistics the bundle has, as plain JSON values."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = _plain(value)
        return out

    @property
    def value_ranges(self) -> np.ndarray | None:
        """Per column, the training value range (max - min); None without the value statistics."""
        if not self.value_min or not self.value_max:
            return None
        return np.asarray(self.value_max, dtype=np.float64) - np.asarray(self.value_min, dtype=np.float64)


def fit_stats(records: np.ndarray, layout: tuple[int, int]) -> dict[str, Any]:
    """Statistics of finite training ``records`` (N, D) laid out as ``layout`` = (rows, cols)."""
    rows, cols = layout
    x = np.asarray(records, dtype=np.float64).reshape(-1, rows, cols)
    x = x[np.isfinite(x).all(axis=(1, 2))]
    if len(x) == 0:
        return {}
    center = x.mean(axis=0)
    scales = {}
    for name in PREDICTORS:
        r = np.abs(forward(name, x, center))
        scales[name] = [float(v) for v in r.mean(axis=(0, 1))]
    fitted = linear.fit_linear(x)
    if fitted is not None:
        scales["linear"] = fitted[1]
    quanta = column_quanta(x)
    out = {
        LAYOUT_KEY: CLASSICAL_VERSION,
        "layout": [rows, cols],
        "value_min": [float(v) for v in x.min(axis=(0, 1))],
        "value_max": [float(v) for v in x.max(axis=(0, 1))],
        "residual_scale": scales,
        "quantum": quanta,
    }
    if fitted is not None:
        out["linear_predictor"] = fitted[0]
    fine = column_fine_lattices(x, quanta)
    if any(f is not None for f in fine):
        out["fine_lattice"] = fine
    if all(u is not None for u in quanta):
        out["lattice_tables"] = lattice_tables(x, np.asarray(quanta, dtype=np.float64))
    return out


def column_fine_lattices(x: np.ndarray, quanta: list[float | None]) -> list[list | None]:
    """Per column of finite records ``x`` (N, rows, cols) with a quantum, its fine lattice
    ``[p, r, off, mirror]`` (:func:`fine_lattice.detect_fine` on the first records) if it also holds on
    the records held back (the last :data:`HELD_BACK` of them) and makes their delta residuals cheaper, else
    None."""
    n = x.shape[0]
    fit = max(1, n - max(1, int(HELD_BACK * n))) if n > 1 else n
    out: list[list | None] = []
    for c, u in enumerate(quanta):
        found = None
        if u is not None:
            q = np.rint(x[:, :, c] / u)
            if np.abs(q).max(initial=0) < grid.MAX_GRID:
                q = q.astype(np.int64)
                found = fine_lattice.detect_fine(q[:fit])
                if found is not None and not _fine_pays(q[fit:] if fit < n else q, found):
                    found = None
        out.append(None if found is None else [*found[:3], bool(found[3])])
    return out


def _fine_pays(q: np.ndarray, fine: tuple[int, int, int, bool]) -> bool:
    """Whether counts on ``fine`` hold on (nearly) all of the grid integers ``q`` (records, rows) and make
    their delta residuals cheaper (log2 of the magnitude, a stand-in for their coded size)."""
    k, exact = fine_lattice.to_counts(q, *fine)
    if exact.mean() < fine_lattice.min_fit(fine[1]) or q.shape[1] < 2:
        return False
    cost_q = np.log2(1.0 + np.abs(np.diff(q, axis=1))).sum()
    cost_k = np.log2(1.0 + np.abs(np.diff(k, axis=1))).sum()
    return bool(cost_k < cost_q)


def lattice_tables(x: np.ndarray, quanta: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per simple predictor, the histogram of its residuals on the data's lattice (units of the quantum),
    over ``[-RADIUS, RADIUS]`` trimmed to its nonzero span, plus the count beyond (the escape)."""
    q = np.rint(x / quanta)
    center = np.rint(x.mean(axis=0) / quanta)
    out = {}
    for name in PREDICTORS:
        r = forward(name, q, center)
        inside = r[np.abs(r) <= RADIUS].astype(np.int64)
        counts = np.bincount(inside - inside.min(), minlength=1) if inside.size else np.zeros(1, np.int64)
        low = int(inside.min()) if inside.size else 0
        nz = np.flatnonzero(counts)
        first, last = (int(nz[0]), int(nz[-1])) if nz.size else (0, 0)
        out[name] = {
            "low": low + first,
            "counts": [int(c) for c in counts[first : last + 1]],
            "escape": int(r.size - inside.size),
        }
    return out


def value_ranges(bundle: Any) -> np.ndarray | None:
    """Per-column training value range (max - min) of a bundle, or None if it has no bounded statistics."""
    stats = bundle.bounded_stats
    return None if stats is None else stats.value_ranges


def smallest_range(ranges: np.ndarray | None) -> float | None:
    """The smallest positive one of :func:`value_ranges` (what a relative bound is a fraction of, so it
    holds on every column), or None if there are no ranges or no positive one."""
    if ranges is None or not (ranges > 0).any():
        return None
    return float(ranges[ranges > 0].min())


def latent_counts(codes: np.ndarray) -> list[dict[str, Any]]:
    """Per latent dimension, the histogram of training codes (trimmed to its nonzero span)."""
    out = []
    for column in np.asarray(codes, dtype=np.int64).T:
        low, high = int(column.min()), int(column.max())
        counts = np.bincount(column - low, minlength=high - low + 1)
        out.append({"low": low, "counts": [int(c) for c in counts]})
    return out

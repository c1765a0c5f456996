"""Stein's unbiased risk estimate (SURE) and the blend of denoisers it chooses when the noise is known.

For noisy values ``y = x + e`` with independent Gaussian noise ``e_i`` of known std ``sigma_i`` and a
(weakly) differentiable denoiser ``f``, Stein (1981) showed that

    SURE(f) = ||f(y) - y||^2 - sum_i sigma_i^2 + 2 sum_i sigma_i^2 df_i/dy_i

has the expectation of the true squared error ``||f(y) - x||^2``: no clean signal is needed. The last sum is
the *weighted divergence* of ``f``. For a linear smoother it is exact (the filter's diagonal, see
:func:`linear_divergence`); for anything else it is estimated by Monte Carlo (:func:`mc_divergence`):
``E[(sigma b) . (f(y + eps sigma b) - f(y)) / eps]`` over random +-1 probes ``b``.

For a blend ``m + sum_k w_k (f_k - m)`` of candidates ``f_k`` around a fixed centre ``m`` (the training
mean), SURE is quadratic in the weights ``w``, so the weights of least estimated risk solve a small linear
system (:func:`sure_weights`). The noisy record itself (``f = y``, weighted divergence ``sum sigma_i^2``)
is one candidate, so the chosen blend's estimated risk is never above the noise's own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["blend", "linear_divergence", "mc_divergence", "sure", "sure_weights"]

#: Monte-Carlo probes per divergence estimate
PROBES = 8
#: finite-difference step, in units of each value's noise std
EPS = 1e-2


def _per_group(values: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """Sums of ``values`` (N, D) over records and over the positions of each group (``groups`` (D,))."""
    return np.bincount(groups, weights=np.asarray(values, np.float64).sum(axis=0), minlength=count)


def linear_divergence(
    diagonal: np.ndarray, sigma: np.ndarray, records: int, groups: np.ndarray, count: int
) -> np.ndarray:
    """Weighted divergence per group of a linear smoother whose matrix has ``diagonal`` (D,) for each of
    ``records`` records with noise std ``sigma`` (D,)."""
    return records * _per_group((np.asarray(sigma, np.float64) ** 2 * diagonal)[None], groups, count)


def mc_divergence(
    f: Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    sigma: np.ndarray,
    groups: np.ndarray,
    count: int,
    fy: np.ndarray | None = None,
    probes: int = PROBES,
    eps: float = EPS,
    seed: int = 0,
) -> np.ndarray:
    """Monte-Carlo weighted divergence per group of ``f`` at ``y`` (N, D), noise std ``sigma`` (D,);
    ``fy`` is ``f(y)`` when already computed."""
    y = np.asarray(y, np.float64)
    fy = np.asarray(f(y) if fy is None else fy, np.float64)
    rng = np.random.default_rng(seed)
    total = np.zeros(count)
    for _ in range(probes):
        step = eps * np.asarray(sigma, np.float64) * rng.choice((-1.0, 1.0), size=y.shape)
        total += _per_group(step * (np.asarray(f(y + step), np.float64) - fy), groups, count) / eps**2
    return total / probes


def sure(
    blended: np.ndarray, y: np.ndarray, sigma: np.ndarray, divergence: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """SURE per group of denoised values ``blended`` (N, D) of ``y`` (N, D), noise std ``sigma`` (D,),
    given the denoiser's weighted divergence per group."""
    count = len(divergence)
    resid = _per_group((np.asarray(blended, np.float64) - np.asarray(y, np.float64)) ** 2, groups, count)
    noise = len(y) * _per_group((np.asarray(sigma, np.float64) ** 2)[None], groups, count)
    return resid - noise + 2 * np.asarray(divergence, np.float64)


def blend(candidates: np.ndarray, centre: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``centre + sum_k w_k (f_k - centre)`` (N, D), each position weighted by its group's ``weights`` (G, K)."""
    w = weights[groups].T  # (K, D)
    return centre + np.einsum("knd,kd->nd", np.asarray(candidates, np.float64) - centre, w)


def sure_weights(
    candidates: np.ndarray,
    y: np.ndarray,
    centre: np.ndarray,
    divergences: np.ndarray,
    groups: np.ndarray,
    nonnegative: bool = True,
) -> np.ndarray:
    """Weights (G, K) of least SURE for each group of positions.

    Arguments:
        candidates: (K, N, D) denoised versions of ``y`` (N, D).
        centre: (D,) what the blend is centred on, ``m`` in ``m + sum_k w_k (f_k - m)``.
        divergences: (K, G) weighted divergence of each candidate in each group.
        groups: (D,) the group of each position.
        nonnegative: no negative weights. Candidates that differ little (two wavelet shrinkages) would
            otherwise be weighted against each other on the estimate's own errors (Monte-Carlo
            divergences, the noise draw) and the true error come out above the estimated one.
    """
    from scipy.optimize import nnls

    k, count = divergences.shape
    f = np.asarray(candidates, np.float64) - centre
    t = np.asarray(y, np.float64) - centre
    weights = np.zeros((count, k))
    for g in range(count):
        at = groups == g
        fg = f[:, :, at].reshape(k, -1)
        gram = fg @ fg.T
        rhs = fg @ t[:, at].ravel() - divergences[:, g]
        ridge = 1e-9 * max(float(np.trace(gram)), 1e-300) * np.eye(k)
        if nonnegative:
            # w'Gw - 2 w'r = ||R w - R^-T r||^2 + const with G = R'R: non-negative least squares
            upper = np.linalg.cholesky(gram + ridge).T
            weights[g] = nnls(upper, np.linalg.solve(upper.T, rhs))[0]
        else:
            weights[g] = np.linalg.lstsq(gram + ridge, rhs, rcond=None)[0]
    return weights

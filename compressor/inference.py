"""Fast batch inference for Keras models, without eager per-call overhead.

A chain of ``Dense`` layers (the common case) runs as NumPy matrix products: about ten microseconds for a
single row, so even a per-record serializer is cheap. Any other architecture runs through one traced
``tf.function`` per model, called on whole batches.

The NumPy form of a chain, its :data:`DensePlan`, is saved in the bundle next to the Keras files
(:func:`save_plan`, :func:`load_plan`), so a producer or consumer of such a model runs it without
importing Keras or TensorFlow at all (seconds of every process start).

The matrix products of a batch run with BLAS on the calling thread only. These models are small (a
W=128 model's 4,096-record batch is 44 million multiply-adds): OpenBLAS's worker threads cost more in
hand-offs than they save, and far more when the cores are shared: measured on 2 busy cores, a decoder
call on 4,096 records took 19.6 ms of CPU time (72 ms wall) with OpenBLAS's 2 threads and 2.7 ms
(9.6 ms wall) with one. The limit is set for the call and restored after it (a concurrent BLAS call in
another thread may run on one thread meanwhile).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import ThreadpoolController

if TYPE_CHECKING:
    from compressor.backend import keras

__all__ = ["DensePlan", "Predictor", "dense_plan", "load_plan", "save_plan"]

#: a chain of Dense layers as ``(kernel, bias, activation name)`` per layer, float32
DensePlan = list[tuple[np.ndarray, np.ndarray, str]]

log = logging.getLogger(__name__)

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, out=x),
    "tanh": np.tanh,
    "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),  # the logistic function, without exp overflow
}
#: layers that do nothing at inference time
_IDENTITY = (
    "InputLayer",
    "Dropout",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools (found once: the search reads every loaded library)."""
    return ThreadpoolController()


def dense_plan(model: keras.Model) -> DensePlan | None:
    """Weights of a plain chain of Dense layers, or None if the model is anything else."""
    from compressor.backend import keras

    plan: DensePlan = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in _IDENTITY:
            continue
        if kind == "Dense":
            act = keras.activations.serialize(layer.activation)
            act_name = act if isinstance(act, str) else act.get("config", act.get("class_name", "?"))
            if act_name not in _ACTIVATIONS or not layer.use_bias:
                return None
            kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
            plan.append((kernel, bias, act_name))
        else:
            return None
    # a functional model is a chain only if each layer feeds the next one
    return plan or None


def save_plan(path: Path, plan: DensePlan) -> None:
    """Write ``plan`` as an ``.npz`` of plain arrays (no pickle): ``kernel_i``, ``bias_i``,
    ``activations``."""
    arrays: dict[str, np.ndarray] = {"activations": np.array([act for _, _, act in plan])}
    for i, (kernel, bias, _) in enumerate(plan):
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def load_plan(path: Path) -> DensePlan:
    """Read a plan written by :func:`save_plan`; ValueError if it is not one."""
    with np.load(path, allow_pickle=False) as arrays:
        acts = [str(a) for a in arrays["activations"]]
        plan = [
            (arrays[f"kernel_{i}"].astype(np.float32), arrays[f"bias_{i}"].astype(np.float32), act)
            for i, act in enumerate(acts)
        ]
    width = None if not plan else plan[0][0].shape[0]
    for kernel, bias, act in plan:
        if act not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}")
        if kernel.ndim != 2 or kernel.shape[0] != width or bias.shape != (kernel.shape[1],):
            raise ValueError(f"layer shapes do not chain: kernel {kernel.shape}, bias {bias.shape}")
        width = kernel.shape[1]
    if not plan:
        raise ValueError("no layers")
    return plan


class Predictor:
    """Call a Keras model on a batch of float32 rows and get a NumPy array back.

    A chain of Dense layers runs as NumPy matrix products; any other model runs as a traced function.

    Arguments:
        model (keras.Model | None): the model to call, e.g. a bundle's encoder or decoder. Default: None
            (then ``plan`` is required).
        plan (DensePlan | None): the model's Dense chain, already checked against it (from the bundle):
            then ``model`` is only kept (it may be None, or a model not loaded yet) and Keras is not
            needed. Default: None, read from ``model``.
    """

    def __init__(self, model: Any = None, plan: DensePlan | None = None) -> None:
        if model is None and plan is None:
            raise ValueError("a Predictor needs a model or a plan")
        self.model = model
        self._plan = plan
        if plan is None:
            self._plan = dense_plan(model)
            if self._plan is not None and not self._plan_matches(model):
                self._plan = None
        self._graph = None if self._plan is not None else self._trace(model)
        log.debug("predictor uses %s", "numpy" if self._plan else "tf.function")

    @property
    def backend(self) -> str:
        return "numpy" if self._plan is not None else "tf.function"

    def _run_plan(self, x: np.ndarray) -> np.ndarray:
        h = x
        for kernel, bias, act in self._plan:
            h = _ACTIVATIONS[act](h @ kernel + bias)
        return np.asarray(h, dtype=np.float32)

    def one(self, x: np.ndarray) -> np.ndarray:
        """The output (K,) of one contiguous float32 row ``x`` (D,): what a per-record serializer calls.

        A Dense chain runs as vector-matrix products, the bias added and the activation applied in place
        (measured: 15 us instead of 24 us for a 128-64-32-16 chain), with the same values as a batch of
        one row (BLAS's vector and single-row kernels sum in the same order).
        """
        if self._plan is None:
            return self(x[None, :])[0]
        h = x
        for kernel, bias, act in self._plan:
            h = np.dot(h, kernel)
            h += bias
            h = _ACTIVATIONS[act](h)
        return h if h.dtype == np.float32 else h.astype(np.float32)

    @property
    def plan(self) -> DensePlan | None:
        """The Dense chain it runs, or None when it runs a traced function."""
        return self._plan

    def _plan_matches(self, model: keras.Model) -> bool:
        """Check the NumPy plan against Keras on random rows (guards against non-chain topologies)."""
        probe = np.random.default_rng(0).standard_normal((4, model.inputs[0].shape[-1])).astype(np.float32)
        expected = np.asarray(model(probe, training=False), dtype=np.float32)
        return bool(np.allclose(self(probe), expected, rtol=1e-4, atol=1e-4))

    @staticmethod
    def _trace(model: keras.Model):  # noqa: ANN205 - a tf.function
        import tensorflow as tf

        dim = model.inputs[0].shape[-1]

        @tf.function(input_signature=[tf.TensorSpec([None, dim], tf.float32)], reduce_retracing=True)
        def run(x):  # noqa: ANN001, ANN202
            return model(x, training=False)

        return run

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim == 1:
            return self(x[None, :])[0]
        if self._plan is not None:
            if x.shape[0] == 1:  # one row: BLAS does not thread it
                return self.one(x[0])[None, :]
            with _blas_controller().limit(limits=1, user_api="blas"):
                return self._run_plan(x)
        assert self._graph is not None
        return np.asarray(self._graph(x), dtype=np.float32)

"""Fast batch inference for Keras models, without eager per-call overhead.

A chain of ``Dense`` layers (the common case) runs as NumPy matrix products: about ten microseconds for a
single row, so even a per-record serializer is cheap. Any other architecture runs through one traced
``tf.function`` per model, called on whole batches.

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

import numpy as np
from threadpoolctl import ThreadpoolController

from compressor.backend import keras

__all__ = ["Predictor"]

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


def _dense_plan(model: keras.Model) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """Weights of a plain chain of Dense layers, or None if the model is anything else."""
    plan: list[tuple[np.ndarray, np.ndarray, str]] = []
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


class Predictor:
    """Call a Keras model on a batch of float32 rows and get a NumPy array back.

    A chain of Dense layers runs as NumPy matrix products; any other model runs as a traced function.

    Arguments:
        model (keras.Model): the model to call, e.g. a bundle's encoder or decoder.
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self._plan = _dense_plan(model)
        if self._plan is not None and not self._plan_matches(model):
            self._plan = None
        self._graph = None if self._plan is not None else self._trace(model)
        log.debug("predictor for %s uses %s", model.name, "numpy" if self._plan else "tf.function")

    @property
    def backend(self) -> str:
        return "numpy" if self._plan is not None else "tf.function"

    def _run_plan(self, x: np.ndarray) -> np.ndarray:
        h = x
        for kernel, bias, act in self._plan:
            h = _ACTIVATIONS[act](h @ kernel + bias)
        return np.asarray(h, dtype=np.float32)

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
                return self._run_plan(x)
            with _blas_controller().limit(limits=1, user_api="blas"):
                return self._run_plan(x)
        assert self._graph is not None
        return np.asarray(self._graph(x), dtype=np.float32)

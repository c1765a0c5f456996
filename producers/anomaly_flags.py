"""Which records of a stream are anomalous: an anomaly likelihood per stream, or the fixed threshold.

Every record's score (its reconstruction error, :func:`compressor.anomaly.scores_of`) gets an anomaly
likelihood from the scores of the records before it in the same stream, a (topic, model) pair:
:class:`~compressor.applications.likelihood.StreamingLikelihood`, the same numbers ``latentwire detect``
computes offline. Under the ``likelihood`` rule (the default) a record is flagged when its likelihood
reaches ``level``; under the ``threshold`` rule when its score exceeds the threshold calibrated at
training time, as before the likelihood existed. The state is bounded: each stream keeps its last
``HISTORY + SHORT`` log-scores, and only the ``max_streams`` streams seen most recently are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from compressor.applications.likelihood import LEVEL, StreamingLikelihood
from compressor.errors import ConfigError

__all__ = ["RULES", "AnomalyFlagger", "Flags"]

#: how records are flagged: by their anomaly likelihood (default) or by the calibrated threshold
RULES = ("likelihood", "threshold")


@dataclass(frozen=True)
class Flags:
    """The verdict on one batch of a stream.

    Arguments:
        flags (np.ndarray): ``(N,)`` bool, the records flagged under the rule.
        likelihood (np.ndarray): ``(N,)`` each record's anomaly likelihood, from earlier records only.
    """

    flags: np.ndarray
    likelihood: np.ndarray


class AnomalyFlagger:
    """Flags records by the rule, keeping an anomaly likelihood per stream.

    Arguments:
        rule (str): ``"likelihood"`` or ``"threshold"``. Default: ``"likelihood"``.
        threshold (float | None): the calibrated score threshold; required by the ``threshold`` rule.
            Default: None.
        level (float): likelihood at or above which the ``likelihood`` rule flags. Default:
            :data:`~compressor.applications.likelihood.LEVEL`.
        max_streams (int): streams whose history is kept; the least recently seen is dropped past it.
            Default: 64.
    """

    def __init__(
        self,
        rule: str = "likelihood",
        threshold: float | None = None,
        level: float = LEVEL,
        max_streams: int = 64,
    ) -> None:
        if rule not in RULES:
            raise ConfigError(f"anomaly rule {rule!r} is not one of {', '.join(RULES)}")
        if rule == "threshold" and threshold is None:
            raise ConfigError("the threshold anomaly rule needs a calibrated threshold: retrain the model")
        if not 0.0 < level <= 1.0:
            raise ConfigError(f"anomaly likelihood level must be in (0, 1], got {level}")
        if max_streams < 1:
            raise ConfigError(f"max_streams must be at least 1, got {max_streams}")
        self.rule = rule
        self.threshold = threshold
        self.level = level
        self.max_streams = max_streams
        self._streams: OrderedDict[tuple[str, str], StreamingLikelihood] = OrderedDict()

    def __call__(self, stream: tuple[str, str], scores: np.ndarray) -> Flags:
        """Likelihood and flags of ``scores``, the next records of ``stream`` (topic, model id) in order."""
        state = self._streams.pop(stream, None) or StreamingLikelihood()
        self._streams[stream] = state
        while len(self._streams) > self.max_streams:
            self._streams.popitem(last=False)
        scores = np.asarray(scores, np.float64)
        like = np.array([state.update(float(s)) for s in scores], np.float64)
        if self.rule == "likelihood":
            flags = like >= self.level
        else:
            flags = scores > self.threshold
        return Flags(flags, like)

    @property
    def streams(self) -> int:
        """Streams whose history is kept now."""
        return len(self._streams)

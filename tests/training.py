"""Training for tests whose model only has to exist: the learned probability model left out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def without_learned_model() -> Iterator[None]:
    """``train`` inside skips fitting the learned probability model (envelope kind 3; a third or more of a
    small ``train``): the bundle records ``"reason": "skipped"`` and its codec uses kinds 1 and 2, as a
    bundle where the learned model does not pay. For tests about something else; ``test_learned.py`` and
    the bundles that tests of the learned codec train keep it."""
    from compressor.learned.bundle import LearnedSection

    def skip(bundle, fit_records, heldback):
        return LearnedSection.from_json(
            {"layout": [bundle.window, bundle.channels], "heldback": {}, "reason": "skipped"}
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("compressor.learned.bundle.fit_learned", skip)
        yield

"""The garbage collector is paused over a batch and left as the application had it."""

from __future__ import annotations

import gc

import pytest

from streaming.gc_pause import collection_paused


def test_paused_inside_and_enabled_again_after_a_batch_even_one_that_raises() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_the_application_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
